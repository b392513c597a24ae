#include "network/dns.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <thread>

#include "network/dns_names.hpp"
#include "network/dns_server.hpp"
#include "network/network.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/lock.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"
#include "sys/unix_socket.hpp"

namespace berth::network {

namespace fs = std::filesystem;

namespace {

fs::path lock_path(const store::Paths& p) { return dns_run_dir(p) / "lock"; }
fs::path pid_path(const store::Paths& p) { return dns_run_dir(p) / "pid"; }
fs::path control_path(const store::Paths& p) { return dns_run_dir(p) / "control.sock"; }
fs::path log_path(const store::Paths& p) { return dns_run_dir(p) / "server.log"; }

constexpr off_t kLogLimit = 1 << 20;  // the log is rotated to server.log.1 past 1 MiB

void log_line(const std::string& msg) {
    std::string line = sys::format_rfc3339_nano(sys::now_ns()) + " dns: " + msg + "\n";
    (void)!::write(2, line.data(), line.size());
}

// An exclusive flock without waiting, retried briefly: dns_server_running() holds a shared lock
// for a moment while it tests, which must not make a starting server think another one runs.
bool try_lock_exclusive(int fd) {
    for (int i = 0; i < 20; ++i) {
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
        if (errno != EWOULDBLOCK && errno != EINTR) sys::throw_errno("flock", "dns server lock");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

bool store_has_endpoints(const store::Paths& paths) {
    Manager mgr(paths);
    return dns::NameTable(mgr.list()).any_endpoint();
}

void write_pid(const store::Paths& paths) {
    sys::write_file_atomic(pid_path(paths), std::to_string(::getpid()) + "\n", 0600);
}

// Waits for the new server to say it listens ("1") or to close the pipe (it failed, or another
// server holds the lock).
bool wait_ready(int fd, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        char c = 0;
        ssize_t n = sys::retry_eintr([&] { return ::read(fd, &c, 1); });
        return n == 1 && c == '1';
    }
}

// fork, setsid, fork again and exec the server in the grandchild, which init (or the nearest
// subreaper) adopts: it is nobody's child to reap and survives its starter. Between fork and exec
// only async-signal-safe calls run (the caller may have threads), on data prepared here.
bool spawn(const store::Paths& paths, const DnsLaunch& launch) {
    std::string exe = launch.exe.empty() ? "/proc/self/exe" : launch.exe;
    std::vector<std::string> args{"berth",        "--root", paths.root.string(), "--run-dir", paths.run.string(),
                                  "system",       "dns-serve", "--ready-fd", "3"};
    args.insert(args.end(), launch.extra_args.begin(), launch.extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string log = log_path(paths).string();
    struct stat st{};
    if (::stat(log.c_str(), &st) == 0 && st.st_size > kLogLimit) ::rename(log.c_str(), (log + ".1").c_str());

    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) sys::throw_errno("pipe2", "dns server readiness");
    sys::unique_fd rd(p[0]), wr(p[1]);
    pid_t pid = ::fork();
    if (pid < 0) sys::throw_errno("fork", "dns server");
    if (pid == 0) {
        ::setsid();
        pid_t again = ::fork();
        if (again != 0) ::_exit(again < 0 ? 1 : 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        struct sigaction dfl{};
        dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < 32; ++s)
            if (s != SIGKILL && s != SIGSTOP) ::sigaction(s, &dfl, nullptr);
        int ready = ::fcntl(wr.get(), F_DUPFD, 10);  // above 3, without FD_CLOEXEC
        int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (ready < 0 || null < 0 || out < 0) ::_exit(126);
        ::dup2(null, 0);
        ::dup2(out, 1);
        ::dup2(out, 2);
        ::dup2(ready, 3);
        // Nothing else of the starter's (netns fds, sockets) may stay open in the server.
        ::syscall(SYS_close_range, 4u, ~0u, 0u);
        if (::chdir("/") != 0) ::_exit(126);
        ::execv(exe.c_str(), argv.data());
        ::_exit(127);
    }
    wr.reset();
    int status = 0;
    sys::retry_eintr([&] { return ::waitpid(pid, &status, 0); });
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw_error(Errc::failed, "starting the DNS server: fork failed");
    return wait_ready(rd.get(), launch.ready_timeout);
}

}  // namespace

fs::path dns_run_dir(const store::Paths& paths) { return paths.run / "dns"; }

bool dns_server_running(const store::Paths& paths) {
    sys::unique_fd fd(::open(lock_path(paths).c_str(), O_RDWR | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return false;
        sys::throw_errno("open", lock_path(paths).string());
    }
    return sys::lock_held_elsewhere(fd.get(), lock_path(paths).string());
}

namespace {

struct Deferred {
    std::mutex mu;
    int depth = 0;
    std::filesystem::path run;  // the root whose notifies are deferred
    bool owed = false;
};

Deferred& deferred() {
    static Deferred d;
    return d;
}

// Connects to the server's control socket and asks for a re-read; no fd when no server listens.
sys::unique_fd ask_reload(const store::Paths& paths, std::chrono::milliseconds timeout) {
    try {
        auto fd = sys::try_connect_unix(control_path(paths).string());
        if (!fd) return {};
        timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
        ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        const char cmd[] = "reload\n";
        if (::send(fd.get(), cmd, sizeof cmd - 1, MSG_NOSIGNAL) != ssize_t(sizeof cmd - 1)) return {};
        return fd;
    } catch (const sys::Error&) {
        return {};
    }
}

bool send_reload(const store::Paths& paths, std::chrono::milliseconds timeout) {
    auto fd = ask_reload(paths, timeout);
    return fd && DnsReload(std::move(fd)).wait();
}

// Under a DnsNotifyBatch for this root, a notify is only noted, for the batch's end.
bool owed_to_batch(const store::Paths& paths) {
    auto& d = deferred();
    std::lock_guard<std::mutex> g(d.mu);
    if (d.depth == 0 || d.run != paths.run) return false;
    d.owed = true;
    return true;
}

}  // namespace

bool DnsReload::wait() {
    if (!fd_) return !failed_;
    sys::unique_fd fd = std::move(fd_);
    std::string got;
    char buf[64];
    while (got.find('\n') == std::string::npos) {
        ssize_t n = sys::retry_eintr([&] { return ::recv(fd.get(), buf, sizeof buf, 0); });
        if (n <= 0) {
            failed_ = true;
            return false;
        }
        got.append(buf, static_cast<std::size_t>(n));
    }
    failed_ = got.rfind("ok\n", 0) != 0;
    return !failed_;
}

bool notify_dns_server(const store::Paths& paths, std::chrono::milliseconds timeout) {
    return owed_to_batch(paths) || send_reload(paths, timeout);
}

DnsReload notify_dns_server_async(const store::Paths& paths, std::chrono::milliseconds timeout) {
    if (owed_to_batch(paths)) return {};
    return DnsReload(ask_reload(paths, timeout));
}

DnsNotifyBatch::DnsNotifyBatch(const store::Paths& paths) : paths_(paths) {
    auto& d = deferred();
    std::lock_guard<std::mutex> g(d.mu);
    if (d.depth++ == 0) {
        d.run = paths.run;
        d.owed = false;
    }
}

DnsNotifyBatch::~DnsNotifyBatch() {
    auto& d = deferred();
    bool send = false;
    {
        std::lock_guard<std::mutex> g(d.mu);
        if (--d.depth == 0) {
            send = d.owed;
            d.owed = false;
            d.run.clear();
        }
    }
    try {
        if (send && dns_server_running(paths_)) send_reload(paths_, std::chrono::milliseconds(1000));
    } catch (const std::exception&) {
        // No server to tell (its lock cannot be tested): it re-reads the store by itself.
    }
}

void ensure_dns_server(const store::Paths& paths, const DnsLaunch& launch) { ensure_dns_server_async(paths, launch).wait(); }

DnsReload ensure_dns_server_async(const store::Paths& paths, const DnsLaunch& launch) {
    sys::mkdirs(dns_run_dir(paths), 0700);
    for (int tries = 0; tries < 2; ++tries) {
        if (dns_server_running(paths)) return DnsReload(ask_reload(paths, launch.ready_timeout));
        if (spawn(paths, launch)) return {};
        // Not ready: it lost the lock to a server started meanwhile (then that one serves), it
        // is still starting (slow machine), or it failed (its log says why). One more round.
    }
    return {};
}

bool stop_dns_server(const store::Paths& paths, std::chrono::milliseconds timeout) {
    if (!dns_server_running(paths)) return false;
    auto end = std::chrono::steady_clock::now() + timeout;
    // The pid file is written right after the lock is taken; give a starting server that moment.
    std::optional<std::uint64_t> pid;
    while (!pid && std::chrono::steady_clock::now() < end) {
        if (auto t = sys::read_file_if_exists(pid_path(paths))) pid = str::parse_uint(str::trim(*t));
        if (!pid) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!pid || *pid == 0) return dns_server_running(paths);
    // A pidfd pins the process: the signal cannot reach a recycled pid.
    sys::unique_fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(*pid), 0)));
    if (!pidfd) return dns_server_running(paths);
    if (!dns_server_running(paths)) return true;
    ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGTERM, nullptr, 0);
    while (dns_server_running(paths)) {
        if (std::chrono::steady_clock::now() >= end) {
            ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
            pollfd p{pidfd.get(), POLLIN, 0};
            ::poll(&p, 1, 1000);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

int run_dns_server(const store::Paths& paths, const DnsServeOptions& opts) {
    int ready_fd = opts.ready_fd;
    auto signal_ready = [&](bool ok) {
        if (ready_fd < 0) return;
        if (ok) (void)!::write(ready_fd, "1", 1);
        ::close(ready_fd);
        ready_fd = -1;
    };
    sys::mkdirs(dns_run_dir(paths), 0700);
    auto lock = sys::open_path(lock_path(paths), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (!try_lock_exclusive(lock.get())) {
        signal_ready(false);
        return 0;  // another server serves this root
    }
    write_pid(paths);

    dns::ServerOptions so;
    so.paths = paths;
    so.upstreams = opts.upstreams;
    so.resolv_conf = opts.resolv_conf;
    so.port = opts.port;
    so.idle_exit = opts.idle_exit;
    so.log_queries = opts.log_queries;
    so.handle_signals = true;  // a SIGTERM before the loop runs just ends the process: the lock goes with it
    log_line("serving " + paths.root.string() + " (pid " + std::to_string(::getpid()) + ")");
    for (;;) {
        dns::Server::Exit why;
        try {
            dns::Server server(so);
            server.start();
            signal_ready(true);
            why = server.run();
        } catch (const std::exception& e) {
            log_line(std::string("failed: ") + e.what());
            signal_ready(false);
            ::unlink(pid_path(paths).c_str());
            return 1;
        }
        if (why == dns::Server::Exit::stopped) break;
        // Idle. The sockets are closed; let go of the lock, then look once more: a container
        // attached before its ensure_dns_server() saw the lock held must still be served.
        ::unlink(pid_path(paths).c_str());
        ::flock(lock.get(), LOCK_UN);
        bool wanted = false;
        try {
            wanted = store_has_endpoints(paths);
        } catch (const std::exception& e) {
            log_line(std::string("reading the network store: ") + e.what());
        }
        if (!wanted) {
            log_line("no container on a user-defined network; exiting");
            return 0;
        }
        if (!try_lock_exclusive(lock.get())) return 0;  // a new server took over
        write_pid(paths);
        log_line("containers appeared while exiting; serving on");
    }
    ::unlink(pid_path(paths).c_str());
    log_line("stopped");
    return 0;
}

}  // namespace berth::network
