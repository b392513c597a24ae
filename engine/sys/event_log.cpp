#include "sys/event_log.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"

namespace berth::sys {

namespace {

constexpr std::int64_t kDefaultLimit = 1 << 20;

int open_log(const fs::path& path) {
    return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

// Moves a full log to log.1. The flock makes it one rotation per full log: a writer that waited
// for it finds the log already replaced (another inode) and leaves it alone.
void rotate(const fs::path& dir, const struct stat& seen, std::int64_t limit) {
    unique_fd lock(::open((dir / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!lock || ::flock(lock.get(), LOCK_EX) < 0) return;
    struct stat now;
    auto path = dir / "log";
    if (::stat(path.c_str(), &now) < 0 || now.st_ino != seen.st_ino || now.st_size < limit) return;
    ::rename(path.c_str(), (dir / "log.1").c_str());
}

}  // namespace

std::string encode_event(const Event& e) {
    ojson j = ojson::object();
    if (e.type == "container" || e.type == "image") {
        j["status"] = e.action;
        j["id"] = e.id;
        if (e.type == "container") {
            auto it = e.attrs.find("image");
            if (it != e.attrs.end()) j["from"] = it->second;
        }
    }
    j["Type"] = e.type;
    j["Action"] = e.action;
    ojson attrs = ojson::object();
    for (const auto& [k, v] : e.attrs) attrs[k] = v;
    j["Actor"] = {{"ID", e.id}, {"Attributes", std::move(attrs)}};
    j["scope"] = "local";
    j["time"] = e.time_ns / 1'000'000'000;
    j["timeNano"] = e.time_ns;
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<Event> decode_event(std::string_view line) {
    auto j = json::parse(line.begin(), line.end(), nullptr, false);
    if (!j.is_object()) return std::nullopt;
    auto str = [](const json& o, const char* k) -> std::string {
        auto it = o.find(k);
        return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    Event e;
    e.type = str(j, "Type");
    e.action = str(j, "Action");
    if (e.type.empty() || e.action.empty()) return std::nullopt;
    if (auto a = j.find("Actor"); a != j.end() && a->is_object()) {
        e.id = str(*a, "ID");
        if (auto at = a->find("Attributes"); at != a->end() && at->is_object())
            for (auto& [k, v] : at->items())
                if (v.is_string()) e.attrs[k] = v.get<std::string>();
    }
    if (auto t = j.find("timeNano"); t != j.end() && t->is_number_integer()) {
        e.time_ns = t->get<std::int64_t>();
    } else if (auto s = j.find("time"); s != j.end() && s->is_number_integer()) {
        e.time_ns = s->get<std::int64_t>() * 1'000'000'000;
    }
    return e;
}

fs::path event_log_dir(const fs::path& root) { return root / "events"; }

std::int64_t event_log_limit() {
    const char* v = std::getenv("BERTH_EVENTS_MAX_SIZE");
    auto b = v ? str::parse_bytes(v) : std::nullopt;
    return b && *b > 0 ? *b : kDefaultLimit;
}

void emit_event(const fs::path& root, Event e) noexcept {
    try {
        if (!e.time_ns) e.time_ns = now_ns();
        std::string line = encode_event(e);
        line += '\n';
        auto dir = event_log_dir(root);
        auto path = dir / "log";
        unique_fd fd(open_log(path));
        if (!fd && errno == ENOENT) {
            mkdirs(dir, 0700);
            fd.reset(open_log(path));
        }
        if (!fd) return;
        struct stat st;
        auto limit = event_log_limit();
        if (::fstat(fd.get(), &st) == 0 && st.st_size >= limit) {
            rotate(dir, st, limit);
            fd.reset(open_log(path));
            if (!fd) return;
        }
        // One write: O_APPEND makes it land whole at the end, whoever else is writing.
        [[maybe_unused]] auto n = ::write(fd.get(), line.data(), line.size());
    } catch (...) {
    }
}

void emit_event(const fs::path& root, std::string_view type, std::string_view action, std::string_view id,
                std::map<std::string, std::string> attrs) noexcept {
    try {
        Event e;
        e.type = type;
        e.action = action;
        e.id = id;
        e.attrs = std::move(attrs);
        emit_event(root, std::move(e));
    } catch (...) {
    }
}

namespace {

// Follows one file of the log: what was read, and the line not yet complete.
struct LogFile {
    unique_fd fd;
    ino_t ino = 0;
    std::string partial;

    bool open(const fs::path& path) {
        fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        struct stat st;
        if (!fd || ::fstat(fd.get(), &st) < 0) {
            fd.reset();
            return false;
        }
        ino = st.st_ino;
        partial.clear();
        return true;
    }

    // Reads to EOF, calling out per complete line; false when out asked to stop.
    bool drain(const std::function<bool(const Event&)>& out) {
        if (!fd) return true;
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(fd.get(), buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return true;
            partial.append(buf, static_cast<size_t>(n));
            size_t start = 0, nl;
            while ((nl = partial.find('\n', start)) != std::string::npos) {
                auto ev = decode_event(std::string_view(partial).substr(start, nl - start));
                start = nl + 1;
                if (ev && !out(*ev)) return false;
            }
            partial.erase(0, start);
        }
    }
};

}  // namespace

void read_events(const fs::path& root, bool replay, bool follow, std::int64_t stop_at_ns,
                 const std::function<bool(const Event&)>& out) {
    auto dir = event_log_dir(root);
    auto path = dir / "log";
    unique_fd ino;
    if (follow) {
        mkdirs(dir, 0700);
        // Watch before reading, so nothing written in between is missed.
        ino.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
        if (!ino) throw_errno("inotify_init1");
        if (::inotify_add_watch(ino.get(), dir.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_DELETE_SELF) < 0)
            throw_errno("inotify_add_watch", dir.string());
    }
    LogFile cur;
    cur.open(path);
    if (replay) {
        LogFile old;
        // A rotation between the two opens makes log.1 the file already open as cur.
        if (old.open(dir / "log.1") && (!cur.fd || old.ino != cur.ino) && !old.drain(out)) return;
        if (!cur.drain(out)) return;
    } else if (cur.fd) {
        ::lseek(cur.fd.get(), 0, SEEK_END);
    }
    if (!follow) return;
    for (;;) {
        int timeout = -1;
        if (stop_at_ns) {
            auto left = stop_at_ns - now_ns();
            if (left <= 0) return;
            timeout = static_cast<int>(left / 1'000'000 + 1);
        }
        pollfd p{ino.get(), POLLIN, 0};
        int r = ::poll(&p, 1, timeout);
        if (r < 0 && errno != EINTR) throw_errno("poll");
        if (r <= 0) continue;
        // The directory went away (the root was deleted): nothing will be written there again.
        alignas(inotify_event) char buf[4096];
        ssize_t n;
        while ((n = ::read(ino.get(), buf, sizeof buf)) > 0)
            for (char* p = buf; p < buf + n; p += sizeof(inotify_event) + reinterpret_cast<inotify_event*>(p)->len)
                if (reinterpret_cast<inotify_event*>(p)->mask & (IN_IGNORED | IN_DELETE_SELF)) return;
        if (!cur.drain(out)) return;
        // Rotated (or created): finish the old file, then read the new one from its start.
        struct stat st;
        if (::stat(path.c_str(), &st) == 0) {
            if (!cur.fd || st.st_ino != cur.ino) {
                if (!cur.drain(out)) return;
                if (cur.open(path) && !cur.drain(out)) return;
            }
        } else if (cur.fd) {
            // The log is gone (deleted, or mid-rotation): let go of it. An open file pins its
            // directory's dentry, and so would keep the directory's removal from being reported.
            if (!cur.drain(out)) return;
            cur.fd.reset();
        }
    }
}

}  // namespace berth::sys
