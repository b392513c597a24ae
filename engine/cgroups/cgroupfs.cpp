#include "cgroups/cgroupfs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"

namespace berth::cgroups::detail {

void write_value(const fs::path& file, std::string_view value) {
    auto fail = [&](int err) {
        std::string subject = file.string();
        subject += ", \"";
        subject += value;
        subject += '"';
        sys::throw_errno("write", subject, err);
    };
    int fd = sys::retry_eintr([&] { return ::open(file.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC); });
    if (fd < 0) fail(errno);
    sys::unique_fd owner(fd);
    ssize_t n = sys::retry_eintr([&] { return ::write(fd, value.data(), value.size()); });
    if (n < 0) fail(errno);
    // Cgroup files take the whole value in one write; a short write means it was not taken.
    if (static_cast<size_t>(n) != value.size()) fail(EIO);
}

std::string read_value(const fs::path& file) {
    return std::string(str::trim(sys::read_file(file)));
}

std::optional<std::string> read_value_if_exists(const fs::path& file) {
    auto s = sys::read_file_if_exists(file);
    if (!s) return std::nullopt;
    return std::string(str::trim(*s));
}

namespace {
[[noreturn]] void corrupt(const fs::path& file, std::string_view text) {
    throw_error(Errc::corrupt, "parse " + file.string() + ": unexpected \"" + std::string(text) + "\"");
}
}  // namespace

std::optional<std::uint64_t> read_uint_or_max(const fs::path& file) {
    auto s = read_value(file);
    if (s == "max") return std::nullopt;
    auto v = str::parse_uint(s);
    if (!v) corrupt(file, s);
    return *v;
}

std::uint64_t read_uint(const fs::path& file) {
    auto s = read_value(file);
    auto v = str::parse_uint(s);
    if (!v) corrupt(file, s);
    return *v;
}

std::int64_t read_int(const fs::path& file) {
    auto s = read_value(file);
    auto v = str::parse_int(s);
    if (!v) {
        // Above INT64_MAX cannot be a limit anyone set: treat as unlimited.
        if (str::parse_uint(s)) return -1;
        corrupt(file, s);
    }
    return *v;
}

std::map<std::string, std::uint64_t> parse_keyed(std::string_view text) {
    std::map<std::string, std::uint64_t> out;
    for (auto& line : str::split(text, '\n')) {
        auto t = str::trim(line);
        auto sp = t.find(' ');
        if (sp == std::string_view::npos) continue;
        auto key = t.substr(0, sp);
        auto val = str::trim(t.substr(sp + 1));
        std::uint64_t v = 0;
        auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), v);
        if (ec != std::errc() || p != val.data() + val.size()) continue;
        out[std::string(key)] = v;
    }
    return out;
}

std::map<std::string, std::uint64_t> read_keyed(const fs::path& file) {
    return parse_keyed(sys::read_file(file));
}

std::map<std::string, std::uint64_t> read_keyed_if_exists(const fs::path& file) {
    auto s = sys::read_file_if_exists(file);
    if (!s) return {};
    return parse_keyed(*s);
}

std::vector<pid_t> read_pids(const fs::path& procs_file) {
    std::vector<pid_t> out;
    auto s = sys::read_file_if_exists(procs_file);
    if (!s) return out;
    for (auto& line : str::split(*s, '\n')) {
        auto t = str::trim(line);
        if (t.empty()) continue;
        auto v = str::parse_int(t);
        if (!v || *v <= 0) corrupt(procs_file, t);
        out.push_back(static_cast<pid_t>(*v));
    }
    return out;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    using clock = std::chrono::steady_clock;
    auto deadline = clock::now() + timeout;
    long delay_ms = 1;
    for (;;) {
        if (pred()) return true;
        if (clock::now() >= deadline) return pred();
        struct timespec ts {
            0, delay_ms * 1000000L
        };
        ::nanosleep(&ts, nullptr);
        if (delay_ms < 20) delay_ms *= 2;
    }
}

bool make_dir(const fs::path& dir) {
    if (::mkdir(dir.c_str(), 0755) == 0) return true;
    if (errno == EEXIST && sys::is_dir(dir)) return false;
    sys::throw_errno("mkdir", dir.string());
}

void remove_dir(const fs::path& dir, std::chrono::milliseconds busy_timeout) {
    int err = 0;
    wait_until(
        [&] {
            if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) {
                err = 0;
                return true;
            }
            err = errno;
            return err != EBUSY;  // only "still populated" is worth waiting for
        },
        busy_timeout);
    if (err != 0) sys::throw_errno("rmdir", dir.string(), err);
}

std::string to_string(std::int64_t v) {
    return std::to_string(v);
}

}  // namespace berth::cgroups::detail
