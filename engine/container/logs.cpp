// docker logs: the json-file log (rotated files oldest first), filtered, optionally followed
// until the container stops for good.
#include <sys/inotify.h>
#include <poll.h>
#include <unistd.h>

#include <deque>
#include <fstream>

#include "container/engine.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/time.hpp"

namespace berth::container {

namespace {

struct Entry {
    int stream;
    std::int64_t time;
    std::string line;
};

std::optional<Entry> parse_line(const std::string& l) {
    try {
        auto j = json::parse(l);
        Entry e;
        e.stream = j.value("stream", "stdout") == "stderr" ? 2 : 1;
        e.time = sys::parse_rfc3339(j.value("time", "")).value_or(0);
        e.line = j.value("log", "");
        return e;
    } catch (const json::exception&) {
        return std::nullopt;  // a line cut by a crash: skipped, as Docker does
    }
}

}  // namespace

void Engine::logs(const std::string& id_or_name, const LogOptions& opts,
                  const std::function<void(int, std::int64_t, std::string_view)>& out) {
    auto c = records_.get(id_or_name);
    if (c.host_config.log_type != "json-file" && c.host_config.log_type != "local")
        throw Error(Errc::unsupported, "configured logging driver does not support reading");
    auto path = records_.log_path(c.id);
    auto wanted = [&](const Entry& e) {
        if ((e.stream == 1 && !opts.stdout_) || (e.stream == 2 && !opts.stderr_)) return false;
        if (opts.since && e.time < *opts.since) return false;
        if (opts.until && e.time > *opts.until) return false;
        return true;
    };

    std::vector<std::filesystem::path> files;
    for (int i = 9; i >= 1; --i) {
        auto p = path;
        p += "." + std::to_string(i);
        if (sys::exists(p)) files.push_back(p);
    }
    std::deque<Entry> tail;
    auto emit = [&](Entry&& e) {
        if (!wanted(e)) return;
        if (opts.tail) {
            if (*opts.tail == 0) return;
            tail.push_back(std::move(e));
            if (static_cast<std::int64_t>(tail.size()) > *opts.tail) tail.pop_front();
        } else {
            out(e.stream, e.time, e.line);
        }
    };
    for (auto& f : files) {
        std::ifstream in(f);
        std::string l;
        while (std::getline(in, l))
            if (auto e = parse_line(l)) emit(std::move(*e));
    }
    std::ifstream in(path);
    std::string l;
    std::streamoff pos = 0;
    while (std::getline(in, l)) {
        if (in.eof()) break;  // a line without its newline is still being written
        pos = in.tellg();
        if (auto e = parse_line(l)) emit(std::move(*e));
    }
    for (auto& e : tail) out(e.stream, e.time, e.line);
    tail.clear();
    if (!opts.follow) return;

    // Follow: read what is appended until the shim is gone and the file drained.
    sys::unique_fd ino(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (ino) ::inotify_add_watch(ino.get(), path.c_str(), IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF);
    int final_passes = 0;
    for (;;) {
        std::ifstream f(path);
        f.seekg(0, std::ios::end);
        auto size = f.tellg();
        if (size < pos) pos = 0;  // rotated: start of the new file
        f.seekg(pos);
        while (std::getline(f, l)) {
            if (f.eof()) break;  // no newline yet: read again next time
            pos = f.tellg();
            if (auto e = parse_line(l))
                if (wanted(*e)) out(e->stream, e->time, e->line);
        }
        bool alive = records_.shim_alive(c.id);
        if (!alive) {
            // One last read after the shim is gone, then stop.
            if (++final_passes > 1) return;
            continue;
        }
        pollfd p{ino.get(), POLLIN, 0};
        ::poll(&p, 1, 200);
        char buf[4096];
        while (ino && ::read(ino.get(), buf, sizeof buf) > 0) {
        }
    }
}

}  // namespace berth::container
