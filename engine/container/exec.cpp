// docker exec: a new process in a running container, as a child of this berth process
// (runtime/exec.hpp), with the container's defaults (env, user, working dir, capabilities,
// seccomp) under the request's overrides.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "container/engine.hpp"
#include "container/events.hpp"
#include "container/start_internal.hpp"
#include "runtime/exec.hpp"
#include "runtime/pty.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/random.hpp"
#include "sys/strings.hpp"

namespace berth::container {

namespace {

std::string env_key(const std::string& kv) { return kv.substr(0, kv.find('=')); }

int wait_child(pid_t pid) {
    int status = 0;
    sys::retry_eintr([&] { return ::waitpid(pid, &status, 0); });
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Copies between our terminal and the exec's pty master until the process ends.
int proxy_tty(runtime::Started& st, bool interactive) {
    runtime::RawTerminal raw(STDIN_FILENO);
    sigset_t mask, old;
    sigemptyset(&mask);
    sigaddset(&mask, SIGWINCH);
    ::sigprocmask(SIG_BLOCK, &mask, &old);
    sys::unique_fd sfd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    auto resize = [&] {
        winsize ws{};
        if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row) ::ioctl(st.pty_master.get(), TIOCSWINSZ, &ws);
    };
    resize();
    bool in_open = interactive;
    int code = -1;
    for (;;) {
        pollfd p[4] = {{st.pty_master.get(), POLLIN, 0},
                       {in_open ? STDIN_FILENO : -1, POLLIN, 0},
                       {sfd.get(), POLLIN, 0},
                       {code < 0 ? st.pidfd.get() : -1, POLLIN, 0}};
        if (::poll(p, 4, code < 0 ? -1 : 50) < 0 && errno != EINTR) break;
        if (p[2].revents) {
            signalfd_siginfo si;
            while (::read(sfd.get(), &si, sizeof si) == sizeof si) resize();
        }
        if (p[1].revents) {
            char buf[4096];
            ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
            if (n > 0) sys::write_all(st.pty_master.get(), std::string_view(buf, static_cast<size_t>(n)), "pty");
            else in_open = false;
        }
        if (p[3].revents) code = wait_child(st.pid);
        if (p[0].revents) {
            char buf[65536];
            ssize_t n = ::read(st.pty_master.get(), buf, sizeof buf);
            if (n > 0) {
                sys::write_all(STDOUT_FILENO, std::string_view(buf, static_cast<size_t>(n)), "stdout");
                continue;
            }
            if (code < 0) code = wait_child(st.pid);
            break;  // EOF/EIO: every holder of the slave is gone
        }
        if (code >= 0 && !p[0].revents) break;
    }
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    return code < 0 ? 0 : code;
}

}  // namespace

int Engine::exec(const std::string& id_or_name, const ExecRequest& req) {
    auto c = records_.get(id_or_name);
    auto st = records_.state(c.id);
    if (st.status == "paused") throw Error(Errc::conflict, "Container " + c.id + " is paused, unpause the container before exec");
    if (st.status != "running" || st.pid <= 0) throw Error(Errc::conflict, "Container " + c.id + " is not running");
    if (req.cmd.empty()) throw Error(Errc::invalid, "exec: no command given");
    auto spec = runtime::spec_from_json(sys::read_file(records_.run_dir(c.id) / "spec.json"));

    runtime::Process p = spec.process;
    p.args = req.cmd;
    for (auto& e : req.env) {
        auto it = std::find_if(p.env.begin(), p.env.end(), [&](const std::string& x) { return env_key(x) == env_key(e); });
        if (it != p.env.end()) *it = e;
        else p.env.push_back(e);
    }
    if (!req.user.empty()) p.user = req.user;
    if (!req.working_dir.empty()) p.cwd = req.working_dir;
    p.tty = req.tty;
    p.stdin_open = req.interactive;
    if (req.privileged) {
        HostConfig priv = c.host_config;
        priv.privileged = true;
        p.caps = container_caps(priv);
        p.seccomp = false;
    }
    runtime::ExecTarget target{st.pid, spec.cgroup_procs, {}};
    if (p.seccomp && !spec.seccomp_path.empty()) target.seccomp_bpf = sys::read_file(spec.seccomp_path);

    runtime::Stdio io;
    // Docker's exec events: the command line in the action, the exec's ID as an attribute.
    auto exec_id = sys::random_hex(32);
    emit_event(paths(), c, "exec_create: " + str::join(req.cmd, " "), {{"execID", exec_id}});
    emit_event(paths(), c, "exec_start: " + str::join(req.cmd, " "), {{"execID", exec_id}});
    if (req.detach) {
        // Detached: the process is our child until we exit, then init's, which reaps it.
        runtime::exec_in_container(target, p, io);
        return 0;
    }
    int code;
    if (!req.tty) {
        io.in = req.interactive ? STDIN_FILENO : -1;
        io.out = req.out_fd >= 0 ? req.out_fd : STDOUT_FILENO;
        io.err = req.err_fd >= 0 ? req.err_fd : STDERR_FILENO;
        auto started = runtime::exec_in_container(target, p, io);
        code = wait_child(started.pid);
    } else {
        auto started = runtime::exec_in_container(target, p, io);
        code = proxy_tty(started, req.interactive);
    }
    emit_event(paths(), c, "exec_die", {{"execID", exec_id}, {"exitCode", std::to_string(code)}});
    return code;
}

}  // namespace berth::container
