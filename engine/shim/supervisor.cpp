#include "shim/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <list>
#include <optional>

#include "cgroups/cgroups.hpp"
#include "runtime/attach.hpp"
#include "runtime/container_init.hpp"
#include "runtime/exec.hpp"
#include "runtime/pty.hpp"
#include "shim/json_log.hpp"
#include "shim/links.hpp"
#include "shim/proxy.hpp"
#include "store/state.hpp"
#include "sys/error.hpp"
#include "sys/event_log.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"
#include "sys/unix_socket.hpp"

namespace berth::shim {

namespace {

using runtime::Frame;
using runtime::FrameReader;
constexpr std::int64_t kMs = 1'000'000;
constexpr size_t kClientBufferLimit = 8 << 20;  // a client that falls this far behind is dropped
constexpr size_t kHealthOutputLimit = 4096;     // Docker keeps the last 4 KiB of a probe's output

struct Client {
    sys::unique_fd fd;
    FrameReader reader;
    std::string out;  // frames waiting to be sent
    unsigned char flags = 0;
    bool attached = false;
    bool start_client = false;  // the CLI that started us (run/start -a): its stdin EOF closes ours
    bool wants_exit = false;    // waiting for 'E' (attach, stop)
    bool closing = false;       // close once `out` is flushed
    bool exit_sent = false;     // got its 'E' already
};

struct HealthRun {
    pid_t pid = -1;
    sys::unique_fd pidfd;
    sys::unique_fd out;
    std::string output;
    std::int64_t started = 0;
    std::int64_t deadline = 0;
    bool timed_out = false;
};

void set_nonblock(int fd) {
    int fl = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

class Supervisor {
public:
    Supervisor(runtime::Spec spec, int start_fd, int netns_fd)
        : spec_(std::move(spec)),
          netns_fd_(netns_fd),
          log_(spec_.log_path, spec_.log_max_size, spec_.log_max_file),
          proxy_(spec_.proxies) {
        auto c = std::make_unique<Client>();
        c->fd.reset(start_fd);
        c->start_client = true;
        start_client_ = c.get();
        clients_.push_back(std::move(c));
    }

    int run();

private:
    // lifecycle
    bool start_process();
    void on_exit(int status);
    void handle_exit();
    void finalize();
    bool hand_cleanup_to_client();
    void take_trash(const std::string& data);
    void flush_blocking(Client& c);
    bool should_restart() const;
    void write_state(bool durable = true) { store::write_state(spec_.state_path, state_, durable); }
    // Records a container event (sys/event_log.hpp) with the container's attributes.
    void event(std::string_view action, std::map<std::string, std::string> extra = {}) {
        if (spec_.event_root.empty()) return;
        auto attrs = spec_.event_attrs;
        for (auto& [k, v] : extra) attrs[k] = std::move(v);
        sys::emit_event(spec_.event_root, "container", action, spec_.id, std::move(attrs));
    }

    // requests
    void on_frame(Client& c, const Frame& f);
    void stop(int timeout);
    void kill_container(int sig);
    void pause(bool freeze);

    // io
    void pump_output(int& fd, const char* stream);
    void broadcast(char type, std::string_view data, unsigned char need_flag);
    void send_exit();
    void send(Client& c, char type, std::string_view data);
    void flush_client(Client& c);
    void drop_closed_clients();

    // health
    void health_tick();
    void health_done(int status);
    void schedule_health(std::int64_t from);

    std::int64_t next_deadline() const;
    void on_timers();

    runtime::Spec spec_;
    int netns_fd_;
    JsonLog log_;
    Proxy proxy_;  // [::1] published ports
    store::State state_;
    std::string seccomp_bpf_;
    std::string self_exe_;
    std::optional<cgroups::Cgroup> cgroup_;
    std::uint64_t oom_before_ = 0;

    std::list<std::unique_ptr<Client>> clients_;
    std::vector<std::filesystem::path> trash_;  // deleted at the end (take_trash)
    Client* start_client_ = nullptr;
    sys::unique_fd listen_;
    sys::unique_fd lock_;
    sys::unique_fd sigfd_;

    // the running process
    pid_t pid_ = -1;
    sys::unique_fd pidfd_;
    int out_fd_ = -1, err_fd_ = -1, in_fd_ = -1;  // owned: closed explicitly
    sys::unique_fd pty_;
    std::string stdin_buf_;
    bool stdin_close_pending_ = false;
    bool exited_ = false;
    int exit_status_ = 0;
    std::int64_t exit_seen_ = 0;
    std::int64_t started_mono_ = 0;

    // timers (monotonic ns; 0 = unset)
    std::int64_t kill_at_ = 0;
    std::int64_t restart_at_ = 0;
    std::int64_t drain_until_ = 0;
    std::int64_t health_at_ = 0;
    std::int64_t restart_delay_ = 0;

    std::optional<HealthRun> health_;
    bool done_ = false;
};

bool Supervisor::start_process() {
    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, inp[2] = {-1, -1};
    runtime::Stdio io;
    if (!spec_.process.tty) {
        if (::pipe2(outp, O_CLOEXEC) < 0 || ::pipe2(errp, O_CLOEXEC) < 0) sys::throw_errno("pipe2");
        io.out = outp[1];
        io.err = errp[1];
    }
    if (spec_.process.stdin_open && !spec_.process.tty) {
        if (::pipe2(inp, O_CLOEXEC) < 0) sys::throw_errno("pipe2");
        io.in = inp[0];
    }
    runtime::StartContext ctx;
    ctx.netns_fd = netns_fd_;
    ctx.seccomp_bpf = seccomp_bpf_;
    ctx.init_binary = self_exe_;
    auto close_pair = [](int p[2]) {
        for (int i = 0; i < 2; ++i)
            if (p[i] >= 0) ::close(p[i]);
    };
    try {
        if (cgroup_) oom_before_ = cgroup_->oom_kills();
        auto st = runtime::start_container(spec_, io, ctx);
        pid_ = st.pid;
        pidfd_ = std::move(st.pidfd);
        pty_ = std::move(st.pty_master);
    } catch (const runtime::StartError& e) {
        close_pair(outp);
        close_pair(errp);
        close_pair(inp);
        state_.status = state_.started_at ? "exited" : "created";
        state_.exit_code = e.exit_code();
        state_.error = e.what();
        state_.pid = 0;
        state_.finished_at = sys::now_ns();
        return false;
    }
    if (outp[1] >= 0) ::close(outp[1]);
    if (errp[1] >= 0) ::close(errp[1]);
    if (inp[0] >= 0) ::close(inp[0]);
    out_fd_ = outp[0];
    err_fd_ = errp[0];
    in_fd_ = inp[1];
    if (in_fd_ >= 0) set_nonblock(in_fd_);
    if (pty_) {
        set_nonblock(pty_.get());
        out_fd_ = pty_.get();  // read through out_fd_, owned by pty_
    }
    if (out_fd_ >= 0 && !pty_) set_nonblock(out_fd_);
    if (err_fd_ >= 0) set_nonblock(err_fd_);
    exited_ = false;
    started_mono_ = sys::monotonic_ns();

    state_.status = "running";
    state_.pid = pid_;
    state_.exit_code = 0;
    state_.error.clear();
    state_.oom_killed = false;
    state_.started_at = sys::now_ns();
    state_.finished_at = 0;
    state_.run_id = spec_.run_id;
    state_.shim_pid = ::getpid();
    if (spec_.health) {
        state_.health = store::Health{};
        schedule_health(started_mono_);
    }
    // Not fsync'd: the client waits for this record before it hears the container started. The
    // fsync only matters if the machine crashes, and that ends the run anyway, with everything
    // the run held (kernel objects, the run dir); a process crash loses nothing (page cache).
    write_state(false);
    event("start");
    return true;
}

void Supervisor::schedule_health(std::int64_t from) {
    if (!spec_.health) return;
    auto& h = *spec_.health;
    bool in_start = h.start_period_ns > 0 && sys::monotonic_ns() < started_mono_ + h.start_period_ns;
    health_at_ = from + (in_start ? h.start_interval_ns : h.interval_ns);
}

void Supervisor::health_tick() {
    health_at_ = 0;
    if (health_ || exited_ || state_.status != "running") return;
    auto& h = *spec_.health;
    runtime::Process p = spec_.process;
    p.tty = false;
    p.stdin_open = false;
    if (h.test.size() >= 2 && h.test[0] == "CMD-SHELL") {
        p.args = {"/bin/sh", "-c", h.test[1]};
    } else if (!h.test.empty() && h.test[0] == "CMD") {
        p.args.assign(h.test.begin() + 1, h.test.end());
    } else {
        p.args = h.test;
    }
    int outp[2];
    if (::pipe2(outp, O_CLOEXEC) < 0) return;
    HealthRun run;
    run.started = sys::now_ns();
    run.deadline = sys::monotonic_ns() + h.timeout_ns;
    runtime::ExecTarget target{pid_, spec_.cgroup_procs, seccomp_bpf_};
    runtime::Stdio io{-1, outp[1], outp[1]};
    try {
        auto st = runtime::exec_in_container(target, p, io);
        ::close(outp[1]);
        run.pid = st.pid;
        run.pidfd = std::move(st.pidfd);
        run.out.reset(outp[0]);
        set_nonblock(outp[0]);
        health_ = std::move(run);
    } catch (const runtime::StartError& e) {
        ::close(outp[0]);
        ::close(outp[1]);
        // A probe that cannot even start is a failed probe, with the reason as its output.
        health_ = std::move(run);
        health_->output = e.what();
        health_done(e.exit_code() << 8);
    }
}

void Supervisor::health_done(int status) {
    auto& h = *spec_.health;
    auto run = std::move(*health_);
    health_.reset();
    if (run.out) {
        char buf[4096];
        ssize_t n;
        while ((n = ::read(run.out.get(), buf, sizeof buf)) > 0) run.output.append(buf, static_cast<size_t>(n));
    }
    if (run.output.size() > kHealthOutputLimit) run.output.erase(0, run.output.size() - kHealthOutputLimit);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (run.timed_out) {
        code = -1;
        run.output = "Health check exceeded timeout (" + str::format_duration_ns(h.timeout_ns) + ")";
    }
    if (!state_.health) state_.health = store::Health{};
    auto& hs = *state_.health;
    hs.log.push_back({run.started, sys::now_ns(), code, run.output});
    if (hs.log.size() > 5) hs.log.erase(hs.log.begin());
    auto was = hs.status;
    if (code == 0) {
        hs.status = "healthy";
        hs.failing_streak = 0;
    } else {
        bool in_start = h.start_period_ns > 0 && sys::monotonic_ns() < started_mono_ + h.start_period_ns;
        // Failures during the start period do not count (Docker's --health-start-period).
        if (!in_start) {
            hs.failing_streak++;
            if (hs.failing_streak >= h.retries) hs.status = "unhealthy";
        }
    }
    if (!exited_) write_state(false);  // a health result is re-probed after a crash, as on every start
    if (hs.status != was) event("health_status: " + hs.status);
    schedule_health(sys::monotonic_ns());
}

bool Supervisor::should_restart() const {
    if (state_.manual_stop) return false;
    const auto& r = spec_.restart;
    if (r.name == "always" || r.name == "unless-stopped") return true;
    if (r.name == "on-failure") {
        if (state_.exit_code == 0) return false;
        return r.max_retries <= 0 || state_.restart_count < r.max_retries;
    }
    return false;
}

void Supervisor::on_exit(int status) {
    exited_ = true;
    exit_status_ = status;
    exit_seen_ = sys::monotonic_ns();
    pidfd_.reset();
    kill_at_ = 0;
    // Output still in the pipes is read until EOF; the container's other processes die with
    // its pid namespace, so that comes quickly. A bounded wait covers a leaked writer.
    drain_until_ = exit_seen_ + 2000 * kMs;
    if (health_) {
        ::kill(health_->pid, SIGKILL);
    }
}

void Supervisor::handle_exit() {
    drain_until_ = 0;
    if (out_fd_ >= 0 && !pty_) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
    if (in_fd_ >= 0) ::close(in_fd_);
    out_fd_ = err_fd_ = in_fd_ = -1;
    pty_.reset();
    stdin_buf_.clear();
    log_.flush();

    int status = exit_status_;
    state_.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (cgroup_) {
        try {
            state_.oom_killed = cgroup_->oom_kills() > oom_before_;
        } catch (...) {
        }
    }
    state_.pid = 0;
    state_.finished_at = sys::now_ns();
    health_at_ = 0;
    if (state_.health) state_.health->status = "unhealthy";
    if (state_.oom_killed) event("oom");
    event("die", {{"exitCode", std::to_string(state_.exit_code)}});

    if (should_restart()) {
        // Attached clients end with the process, as `docker run`/`attach` do, restart or not.
        send_exit();
        // Docker's back-off: 100 ms, doubling per restart, at most a minute; reset after a run
        // of 10 s or more.
        std::int64_t ran = exit_seen_ - started_mono_;
        if (restart_delay_ == 0 || ran >= 10'000 * kMs) restart_delay_ = 100 * kMs;
        else restart_delay_ = std::min<std::int64_t>(restart_delay_ * 2, 60'000 * kMs);
        state_.status = "restarting";
        write_state();
        restart_at_ = sys::monotonic_ns() + restart_delay_;
        return;
    }
    state_.status = "exited";
    finalize();
}

void Supervisor::finalize() {
    // First: the sooner the links' delete starts, the less the cleanup waits for it (shim/links.hpp).
    delete_veths(netns_fd_);
    if (state_.status != "created") state_.status = "exited";
    state_.pid = 0;
    // The final record is fsync'd, as it outlives the run; for --rm the cleanup reads it once and
    // removes it with the container, so the fsync would only delay the client's answer.
    write_state(!spec_.auto_remove);
    listen_.reset();
    proxy_ = Proxy();  // the [::1] ports are free before the cleanup unpublishes them
    ::unlink(spec_.socket_path.c_str());
    // Let go of the lock before the cleanup, which checks that no shim is alive.
    lock_.reset();
    if (!hand_cleanup_to_client() && !spec_.exit_command.empty()) {
        // Built before the fork: the child of a threaded process (shim/links.hpp) should only
        // make system calls.
        std::vector<char*> argv;
        for (auto& a : spec_.exit_command) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        pid_t pid = ::fork();
        if (pid == 0) {
            int devnull = ::open("/dev/null", O_RDWR);
            ::dup2(devnull, 0);
            sigset_t none;
            sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        if (pid > 0) {
            int st;
            sys::retry_eintr([&] { return ::waitpid(pid, &st, 0); });
        }
    }
    send_exit();
    // Blocking flush: nothing else is left to do, and a client waiting for 'E' must get it.
    for (auto& c : clients_) flush_blocking(*c);
    for (auto& c : clients_) c->fd.reset();  // they have what they waited for ('E')
    // The claimant has its answer (and has returned to its user); what it renamed away is
    // deleted now, off its path.
    for (auto& t : trash_) {
        try {
            sys::remove_tree(t);
        } catch (...) {
        }
    }
    done_ = true;
}

// The claimant's 'c' names the directories its cleanup renamed out of the way (runtime/attach.hpp).
// Only the two this container can have are taken: <containers>/.rm-<id> next to its record and
// <run>/containers/.rm-<id> next to its run dir.
void Supervisor::take_trash(const std::string& data) {
    std::filesystem::path state(spec_.state_path), sock(spec_.socket_path);
    std::string name = ".rm-" + spec_.id;
    for (auto& line : str::split(data, '\n')) {
        if (line.empty()) continue;
        std::filesystem::path p(line);
        if (p.filename() != name) continue;
        if (p.parent_path() == state.parent_path().parent_path() || p.parent_path() == sock.parent_path().parent_path())
            trash_.push_back(p);
    }
}

// flush_client() sends with MSG_DONTWAIT; this waits for room until all is sent or the client
// is gone.
void Supervisor::flush_blocking(Client& c) {
    for (;;) {
        flush_client(c);
        if (!c.fd || c.out.empty()) return;
        pollfd p{c.fd.get(), POLLOUT, 0};
        if (::poll(&p, 1, -1) < 0 && errno != EINTR) {
            c.fd.reset();
            c.out.clear();
            return;
        }
    }
}

// A client claimed the run's cleanup (kClaimCleanup: the attached CLI that started the run,
// else one that stops it): tell it the run is over with 'C' and wait until it says 'c'. True
// when it did; false (the exit command then runs) when there is none or it went away first.
bool Supervisor::hand_cleanup_to_client() {
    auto claims = [](const Client* c) {
        return c && c->fd && c->attached && !c->exit_sent && (c->flags & runtime::kClaimCleanup);
    };
    Client* c = claims(start_client_) ? start_client_ : nullptr;
    for (auto it = clients_.begin(); !c && it != clients_.end(); ++it)
        if (claims(it->get())) c = it->get();
    if (!c) return false;
    send(*c, 'C', std::to_string(state_.exit_code));
    c->exit_sent = true;
    flush_blocking(*c);
    if (!c->fd) return false;
    int fl = ::fcntl(c->fd.get(), F_GETFL);
    ::fcntl(c->fd.get(), F_SETFL, fl & ~O_NONBLOCK);
    for (;;) {
        try {
            while (auto f = c->reader.next())
                if (f->type == 'c') {
                    c->fd.reset();
                    take_trash(f->data);
                    return true;
                }
        } catch (...) {
            break;
        }
        char buf[4096];
        ssize_t n = ::read(c->fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        c->reader.feed(buf, static_cast<size_t>(n));
    }
    c->fd.reset();
    return false;
}

void Supervisor::send_exit() {
    for (auto& c : clients_) {
        if (!c->fd || c->exit_sent || !(c->attached || c->wants_exit)) continue;
        send(*c, 'E', std::to_string(state_.exit_code));
        c->exit_sent = true;
        c->closing = true;
    }
}

void Supervisor::send(Client& c, char type, std::string_view data) {
    if (c.closing && type != 'E' && type != 'C') return;
    c.out += runtime::encode_frame(type, data);
    if (c.out.size() > kClientBufferLimit) {
        c.out.clear();
        c.closing = true;
        c.fd.reset();
    }
}

void Supervisor::broadcast(char type, std::string_view data, unsigned char need_flag) {
    for (auto& c : clients_) {
        if (!c->attached || !c->fd) continue;
        if (need_flag && !(c->flags & need_flag)) continue;
        send(*c, type, data);
    }
}

void Supervisor::flush_client(Client& c) {
    while (c.fd && !c.out.empty()) {
        ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return;
            c.fd.reset();
            c.out.clear();
            return;
        }
        c.out.erase(0, static_cast<size_t>(n));
    }
    if (c.closing && c.out.empty()) c.fd.reset();
}

void Supervisor::drop_closed_clients() {
    clients_.remove_if([&](const std::unique_ptr<Client>& c) {
        if (c->fd) return false;
        if (c.get() == start_client_) start_client_ = nullptr;
        return true;
    });
}

void Supervisor::pump_output(int& fd, const char* stream) {
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            std::string_view data(buf, static_cast<size_t>(n));
            log_.write(stream, data);
            bool is_out = stream[3] == 'o';
            broadcast(is_out ? '1' : '2', data, is_out ? runtime::kAttachStdout : runtime::kAttachStderr);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        // EOF, or EIO from a pty whose last slave holder went away.
        if (pty_ && fd == pty_.get()) {
            pty_.reset();
        } else {
            ::close(fd);
        }
        fd = -1;
        return;
    }
}

void Supervisor::on_frame(Client& c, const Frame& f) {
    switch (f.type) {
        case 'A':
            c.attached = true;
            c.wants_exit = true;
            c.flags = f.data.empty() ? (runtime::kAttachStdout | runtime::kAttachStderr)
                                     : static_cast<unsigned char>(f.data[0]);
            break;
        case 'D':
            c.closing = true;
            break;
        case '0':
            if (c.flags & runtime::kAttachStdin) {
                if (pty_) {
                    sys::write_all(pty_.get(), f.data, "pty");
                } else if (in_fd_ >= 0) {
                    stdin_buf_ += f.data;
                }
            }
            break;
        case 'Z':
            if (c.start_client && (c.flags & runtime::kAttachStdin)) stdin_close_pending_ = true;
            break;
        case 'R':
            if (pty_) {
                auto parts = str::split(f.data, ' ');
                if (parts.size() == 2) {
                    auto rows = str::parse_uint(parts[0]), cols = str::parse_uint(parts[1]);
                    if (rows && cols) {
                        try {
                            runtime::set_winsize(pty_.get(), static_cast<unsigned short>(*rows),
                                                 static_cast<unsigned short>(*cols));
                        } catch (...) {
                        }
                    }
                }
            }
            break;
        case 'S': {
            c.wants_exit = true;
            stop(static_cast<int>(str::parse_int(f.data).value_or(spec_.stop_timeout)));
            break;
        }
        case 'K': {
            int sig = static_cast<int>(str::parse_int(f.data).value_or(SIGKILL));
            kill_container(sig);
            if (!c.attached) {  // an attached client forwarding a signal keeps streaming
                send(c, 'O', "");
                c.closing = true;
            }
            break;
        }
        case 'F':
        case 'T':
            try {
                pause(f.type == 'F');
                send(c, 'O', "");
            } catch (const std::exception& e) {
                send(c, 'X', std::string("125\n") + e.what());
            }
            c.closing = true;
            break;
        default:
            send(c, 'X', "125\nunknown request");
            c.closing = true;
    }
}

void Supervisor::stop(int timeout) {
    state_.manual_stop = true;
    if (state_.status == "restarting") {
        restart_at_ = 0;
        state_.status = "exited";
        finalize();
        return;
    }
    if (exited_ || pid_ <= 0) return;
    write_state();
    if (state_.status == "paused") {
        try {
            pause(false);
        } catch (...) {
        }
    }
    event("kill", {{"signal", std::to_string(spec_.stop_signal)}});
    if (::syscall(SYS_pidfd_send_signal, pidfd_.get(), spec_.stop_signal, nullptr, 0) < 0 && errno != ESRCH)
        ::kill(pid_, SIGKILL);
    if (timeout >= 0) kill_at_ = sys::monotonic_ns() + static_cast<std::int64_t>(timeout) * 1000 * kMs;
}

void Supervisor::kill_container(int sig) {
    if (exited_ || pid_ <= 0 || !pidfd_) return;
    if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
        state_.manual_stop = true;
        write_state();
    }
    if (state_.status == "paused" && sig == SIGKILL) {
        try {
            pause(false);
        } catch (...) {
        }
    }
    event("kill", {{"signal", std::to_string(sig)}});
    ::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0);
}

void Supervisor::pause(bool freeze) {
    if (!cgroup_) throw Error(Errc::unsupported, "the container has no cgroup to freeze");
    if (freeze) {
        if (state_.status != "running") throw Error(Errc::conflict, "container is not running");
        cgroup_->freeze();
        state_.status = "paused";
    } else {
        if (state_.status != "paused") throw Error(Errc::conflict, "container is not paused");
        cgroup_->thaw();
        state_.status = "running";
    }
    write_state();
    event(freeze ? "pause" : "unpause");
}

std::int64_t Supervisor::next_deadline() const {
    std::int64_t d = 0;
    for (auto t : {kill_at_, restart_at_, drain_until_, health_at_, health_ ? health_->deadline : 0})
        if (t && (!d || t < d)) d = t;
    return d;
}

void Supervisor::on_timers() {
    auto now = sys::monotonic_ns();
    if (kill_at_ && now >= kill_at_) {
        kill_at_ = 0;
        if (pidfd_) event("kill", {{"signal", "9"}});
        if (pidfd_) ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
    }
    if (health_ && health_->deadline && now >= health_->deadline) {
        health_->timed_out = true;
        health_->deadline = 0;
        ::kill(health_->pid, SIGKILL);
    }
    if (health_at_ && now >= health_at_) health_tick();
    if (drain_until_ && now >= drain_until_) handle_exit();
    if (restart_at_ && now >= restart_at_) {
        restart_at_ = 0;
        state_.restart_count++;
        if (!start_process()) {
            // Could not even start: counts as an exit with Docker's code for the failure.
            exit_status_ = state_.exit_code << 8;
            exit_seen_ = sys::monotonic_ns();
            started_mono_ = exit_seen_;
            handle_exit();
        }
    }
}

int Supervisor::run() {
    self_exe_ = (sys::self_exe_dir() / "berth-shim").string();
    if (!spec_.seccomp_path.empty() && spec_.process.seccomp) seccomp_bpf_ = sys::read_file(spec_.seccomp_path);

    // The lock says "a shim is alive" to every berth process (they try a shared lock on it).
    lock_ = sys::open_path(spec_.lock_path, O_RDWR | O_CREAT, 0600);
    if (::flock(lock_.get(), LOCK_EX | LOCK_NB) < 0) {
        runtime::write_frame(start_client_->fd.get(), 'X', "125\ncontainer is already running");
        return 1;
    }
    listen_ = sys::listen_unix(spec_.socket_path);
    set_nonblock(listen_.get());

    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
    ::sigprocmask(SIG_BLOCK, &mask, nullptr);
    sigfd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    ::signal(SIGPIPE, SIG_IGN);

    // The CLI's first frame says whether it attaches, so no output is missed.
    {
        auto first = runtime::read_frame(start_client_->fd.get());
        if (!first) return 1;
        on_frame(*start_client_, *first);
    }
    state_ = store::read_state(spec_.state_path);
    state_.manual_stop = false;
    state_.restart_count = 0;
    state_.run_id = spec_.run_id;  // the cleanup of this run names it, even when the start fails  // a user's start resets it, as Docker's does
    if (!start_process()) {
        runtime::write_frame(start_client_->fd.get(), 'X', std::to_string(state_.exit_code) + "\n" + state_.error);
        // The CLI keeps reading until we exit, so it returns only after the cleanup (and the
        // removal of a --rm container) is done.
        start_client_->attached = false;
        start_client_->wants_exit = false;
        finalize();
        return 0;
    }
    runtime::write_frame(start_client_->fd.get(), 'P', std::to_string(pid_));
    // The cgroup (for OOM kills, pause) is looked up only now, off the path to 'P': this run's
    // cgroup was made for it by the start, so the first run's OOM count starts at 0.
    if (!spec_.cgroup_name.empty()) {
        try {
            cgroup_ = cgroups::Cgroup::open(cgroups::detect(), spec_.cgroup_parent, spec_.cgroup_name);
        } catch (...) {
        }
    }
    set_nonblock(start_client_->fd.get());
    if (start_client_->closing) start_client_->fd.reset();

    while (!done_) {
        drop_closed_clients();
        std::vector<pollfd> pfds;
        enum Kind { kListen, kSig, kPid, kOut, kErr, kIn, kHealthPid, kHealthOut, kClient };
        std::vector<std::pair<Kind, Client*>> who;
        auto add = [&](int fd, short ev, Kind k, Client* c = nullptr) {
            pfds.push_back({fd, ev, 0});
            who.emplace_back(k, c);
        };
        if (listen_) add(listen_.get(), POLLIN, kListen);
        add(sigfd_.get(), POLLIN, kSig);
        if (pidfd_) add(pidfd_.get(), POLLIN, kPid);
        if (out_fd_ >= 0) add(out_fd_, POLLIN, kOut);
        if (err_fd_ >= 0) add(err_fd_, POLLIN, kErr);
        if (in_fd_ >= 0 && (!stdin_buf_.empty() || stdin_close_pending_)) add(in_fd_, POLLOUT, kIn);
        if (health_ && health_->pidfd) add(health_->pidfd.get(), POLLIN, kHealthPid);
        if (health_ && health_->out) add(health_->out.get(), POLLIN, kHealthOut);
        for (auto& c : clients_)
            if (c->fd) add(c->fd.get(), static_cast<short>(POLLIN | (c->out.empty() ? 0 : POLLOUT)), kClient, c.get());

        size_t proxy_at = pfds.size();
        proxy_.add_fds(pfds);

        int timeout = -1;
        auto d = next_deadline();
        if (auto p = proxy_.next_deadline(); p && (!d || p < d)) d = p;
        if (d) {
            auto now = sys::monotonic_ns();
            timeout = d <= now ? 0 : static_cast<int>((d - now) / kMs + 1);
        }
        int n = ::poll(pfds.data(), pfds.size(), timeout);
        if (n < 0 && errno != EINTR) sys::throw_errno("poll");

        for (size_t i = 0; n > 0 && i < proxy_at; ++i) {
            if (!pfds[i].revents) continue;
            auto [kind, client] = who[i];
            switch (kind) {
                case kListen:
                    for (;;) {
                        int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
                        if (fd < 0) break;
                        auto c = std::make_unique<Client>();
                        c->fd.reset(fd);
                        clients_.push_back(std::move(c));
                    }
                    break;
                case kSig: {
                    signalfd_siginfo si;
                    while (::read(sigfd_.get(), &si, sizeof si) == sizeof si)
                        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) stop(spec_.stop_timeout);
                    break;
                }
                case kPid: {
                    siginfo_t info{};
                    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info, WEXITED | WNOHANG) == 0 &&
                        info.si_pid != 0) {
                        int status = info.si_code == CLD_EXITED ? (info.si_status << 8) : (info.si_status & 0x7f);
                        on_exit(status);
                    }
                    break;
                }
                case kOut: pump_output(out_fd_, "stdout"); break;
                case kErr: pump_output(err_fd_, "stderr"); break;
                case kIn: {
                    while (!stdin_buf_.empty()) {
                        ssize_t w = ::write(in_fd_, stdin_buf_.data(), stdin_buf_.size());
                        if (w < 0) {
                            if (errno != EAGAIN) stdin_buf_.clear();
                            break;
                        }
                        stdin_buf_.erase(0, static_cast<size_t>(w));
                    }
                    if (stdin_buf_.empty() && stdin_close_pending_) {
                        ::close(in_fd_);
                        in_fd_ = -1;
                        stdin_close_pending_ = false;
                    }
                    break;
                }
                case kHealthOut: {
                    // The probe's exit, handled earlier in this pass, may have ended the run.
                    if (!health_ || !health_->out) break;
                    char buf[4096];
                    ssize_t r;
                    while ((r = ::read(health_->out.get(), buf, sizeof buf)) > 0) {
                        health_->output.append(buf, static_cast<size_t>(r));
                        if (health_->output.size() > 2 * kHealthOutputLimit)
                            health_->output.erase(0, health_->output.size() - kHealthOutputLimit);
                    }
                    if (r == 0) health_->out.reset();
                    break;
                }
                case kHealthPid: {
                    if (!health_) break;
                    int status = 0;
                    if (::waitpid(health_->pid, &status, WNOHANG) == health_->pid) health_done(status);
                    break;
                }
                case kClient: {
                    Client& c = *client;
                    if (pfds[i].revents & POLLOUT) flush_client(c);
                    if (!c.fd) break;
                    if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                        char buf[65536];
                        ssize_t r = ::read(c.fd.get(), buf, sizeof buf);
                        if (r > 0) {
                            c.reader.feed(buf, static_cast<size_t>(r));
                            try {
                                while (auto f = c.reader.next()) on_frame(c, *f);
                            } catch (...) {
                                c.fd.reset();
                            }
                        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                            if (c.start_client && (c.flags & runtime::kAttachStdin)) stdin_close_pending_ = true;
                            c.fd.reset();
                        }
                    }
                    if (c.fd) flush_client(c);
                    break;
                }
            }
            if (done_) break;
        }
        if (done_) break;
        if (n > 0) proxy_.on_poll(pfds.data() + proxy_at, pfds.size() - proxy_at);
        proxy_.on_timers(sys::monotonic_ns());
        // Every output pipe closed after the exit: the run is over now, not at the deadline.
        if (exited_ && drain_until_ && out_fd_ < 0 && err_fd_ < 0) handle_exit();
        on_timers();
        for (auto& c : clients_) flush_client(*c);
    }
    return 0;
}

}  // namespace

int supervise(runtime::Spec spec, int start_fd, int netns_fd) {
    Supervisor s(std::move(spec), start_fd, netns_fd);
    return s.run();
}

}  // namespace berth::shim
