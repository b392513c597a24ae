#pragma once
// Shared by the privileged cgroup tests: a fixture that owns a unique cgroup parent
// ("berth-test-<pid>") and cleans it up even when a test fails, and children that join a
// cgroup the way the container's child will (writing "0" into procs_files() themselves, after
// fork, with paths prepared beforehand) and report back through a pipe.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "cgroups/cgroups.hpp"
#include "sys/fs.hpp"

namespace cgtest {

namespace fs = std::filesystem;
using namespace berth;

// Polls check until it is true or timeout passes (never a bare sleep in a test).
inline bool eventually(const std::function<bool()>& check, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (check()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return check();
        struct timespec ts {
            0, 5 * 1000000L
        };
        ::nanosleep(&ts, nullptr);
    }
}

// Reads up to n bytes from fd, waiting at most timeout for each chunk. Returns what came.
inline std::string read_some(int fd, std::size_t n, std::chrono::milliseconds timeout) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < n) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        struct pollfd p {
            fd, POLLIN, 0
        };
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r <= 0) break;
        char buf[256];
        ssize_t got = ::read(fd, buf, std::min(sizeof buf, n - out.size()));
        if (got <= 0) break;
        out.append(buf, static_cast<size_t>(got));
    }
    return out;
}

// Everything readable right now (non-blocking drain).
inline std::string drain(int fd) {
    std::string out;
    for (;;) {
        struct pollfd p {
            fd, POLLIN, 0
        };
        if (::poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) return out;
        char buf[4096];
        ssize_t got = ::read(fd, buf, sizeof buf);
        if (got <= 0) return out;
        out.append(buf, static_cast<size_t>(got));
    }
}

struct Child {
    pid_t pid = -1;
    int fd = -1;  // read end of the child's report pipe
};

class Fixture {
public:
    Fixture() : parent_("berth-test-" + std::to_string(::getpid())) {
        layout_ = cgroups::detect();
        // Grandchildren (a fork bomb's) are reparented to us, so we can reap them all.
        ::prctl(PR_SET_CHILD_SUBREAPER, 1);
        sweep();
    }
    ~Fixture() {
        for (auto& c : children_) {
            if (c.pid > 0) ::kill(c.pid, SIGKILL);
            if (c.fd >= 0) ::close(c.fd);
        }
        sweep();
        reap_all();
    }

    const cgroups::Layout& layout() const { return layout_; }
    const std::string& parent() const { return parent_; }
    std::string name(const char* what) const { return std::string(what) + "-" + std::to_string(::getpid()); }
    void also_clean(const fs::path& hierarchy_root) { extra_roots_.push_back(hierarchy_root); }

    // Forks a child that joins cg by writing "0" to each of its procs files (paths prepared
    // here, before fork), reports 'J' (or 'E' and the errno), then runs body(report fd) and
    // exits 0. Returns once the child has joined.
    Child spawn(const cgroups::Cgroup& cg, const std::function<void(int)>& body) {
        std::vector<std::string> files;
        for (auto& f : cg.procs_files()) files.push_back(f.string());
        std::vector<const char*> paths;
        for (auto& f : files) paths.push_back(f.c_str());
        int p[2];
        if (::pipe2(p, O_CLOEXEC) < 0) throw std::runtime_error("pipe2 failed");
        pid_t pid = ::fork();
        if (pid < 0) throw std::runtime_error("fork failed");
        if (pid == 0) {
            // Catch2's fatal-signal handlers would report a signalled child as a failed test.
            for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
            ::close(p[0]);
            auto r = cgroups::join_self(paths.data(), paths.size());
            if (r.err != 0) {
                char msg[2] = {'E', static_cast<char>(r.err)};
                (void)!::write(p[1], msg, 2);
                ::_exit(100);
            }
            (void)!::write(p[1], "J", 1);
            try {
                body(p[1]);
            } catch (...) {
                ::_exit(101);
            }
            ::_exit(0);
        }
        ::close(p[1]);
        Child c{pid, p[0]};
        children_.push_back(c);
        auto joined = read_some(c.fd, 1, std::chrono::seconds(5));
        if (joined != "J") throw std::runtime_error("child did not join its cgroup: \"" + joined + "\"");
        return c;
    }

    // A child forked by the test itself, killed and reaped by the fixture if the test fails.
    Child track(pid_t pid) {
        Child c{pid, -1};
        children_.push_back(c);
        return c;
    }

    // Waits (bounded) for the child to end; returns its wait status, or -1 on timeout.
    int wait(Child& c, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        int status = -1;
        bool done = eventually(
            [&] {
                pid_t r = ::waitpid(c.pid, &status, WNOHANG);
                return r == c.pid;
            },
            timeout);
        if (!done) return -1;
        forget(c);
        return status;
    }

    // Reaps every child (and reparented grandchild) that has exited, for up to timeout.
    void reap_all(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        eventually(
            [] {
                for (;;) {
                    pid_t r = ::waitpid(-1, nullptr, WNOHANG);
                    if (r > 0) continue;
                    return r < 0 && errno == ECHILD;
                }
            },
            timeout);
    }

private:
    void forget(Child& c) {
        for (auto& k : children_) {
            if (k.pid == c.pid) k.pid = -1;
        }
    }

    // Kills whatever is left in our parent's sub-cgroups and removes them and the parent, in
    // every hierarchy: runs before each test and after it, whatever happened in between.
    void sweep() {
        std::vector<fs::path> roots = extra_roots_;
        for (auto& [c, root] : layout_.hierarchies) roots.push_back(root);
        for (auto& root : roots) {
            const auto p = root / parent_;
            if (!sys::is_dir(p)) continue;
            for (auto& e : sys::list_dir(p)) {
                const auto d = p / e;
                if (!sys::is_dir(d)) continue;
                if (auto s = sys::read_file_if_exists(d / "freezer.state");
                    s && s->find("THAWED") == std::string::npos) {
                    try {
                        sys::write_file(d / "freezer.state", "THAWED");
                    } catch (...) {
                    }
                }
                if (sys::exists(d / "cgroup.freeze")) {
                    try {
                        sys::write_file(d / "cgroup.freeze", "0");
                    } catch (...) {
                    }
                }
                eventually(
                    [&] {
                        auto procs = sys::read_file_if_exists(d / "cgroup.procs");
                        if (!procs || procs->empty()) return true;
                        std::size_t pos = 0;
                        while (pos < procs->size()) {
                            ::kill(std::stoi(procs->substr(pos)), SIGKILL);
                            pos = procs->find('\n', pos);
                            if (pos == std::string::npos) break;
                            ++pos;
                        }
                        return false;
                    },
                    std::chrono::seconds(5));
                eventually([&] { return ::rmdir(d.c_str()) == 0 || errno == ENOENT; }, std::chrono::seconds(5));
            }
            ::rmdir(p.c_str());
        }
        reap_all(std::chrono::milliseconds(200));
    }

    cgroups::Layout layout_;
    std::string parent_;
    std::vector<Child> children_;
    std::vector<fs::path> extra_roots_;
};

}  // namespace cgtest
