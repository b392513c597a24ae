#include "runtime/exec.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "runtime/process.hpp"
#include "runtime/pty.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"

namespace berth::runtime {

namespace {

struct Ns {
    const char* name;
    int flag;
};
// The mount namespace goes last: entering it changes root and cwd, after which /proc/<pid>
// paths of the host would no longer resolve (setns(2)).
constexpr Ns kNamespaces[] = {{"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET},
                              {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}};

[[noreturn]] void exec_child(const Process& p, const Stdio& io, const std::string& bpf, int errfd, int ttysock) {
    try {
        int slave = -1;
        if (p.tty) {
            int master = ::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
            if (master < 0) throw ChildError{125, std::string("open /dev/pts/ptmx: ") + std::strerror(errno)};
            int unlock = 0;
            ::ioctl(master, TIOCSPTLCK, &unlock);
            slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
            if (slave < 0) throw ChildError{125, std::string("ioctl TIOCGPTPEER: ") + std::strerror(errno)};
            send_fd(ttysock, master);
            ::close(master);
            if (::setsid() < 0 || ::ioctl(slave, TIOCSCTTY, 0) < 0)
                throw ChildError{125, std::string("setting the controlling terminal: ") + std::strerror(errno)};
            for (int i = 0; i < 3; ++i) ::dup2(slave, i);
        } else {
            int src[3] = {io.in, io.out, io.err};
            int high[3];
            for (int i = 0; i < 3; ++i) {
                high[i] = src[i] < 0 ? ::open("/dev/null", O_RDWR | O_CLOEXEC) : ::fcntl(src[i], F_DUPFD_CLOEXEC, 10);
                if (high[i] < 0) throw ChildError{125, std::string("setting up stdio: ") + std::strerror(errno)};
            }
            for (int i = 0; i < 3; ++i) {
                ::dup2(high[i], i);
                ::close(high[i]);
            }
        }
        finish_and_exec(p, bpf);
    } catch (const ChildError& e) {
        write_child_error(errfd, e);
        ::_exit(e.exit_code);
    } catch (const std::exception& e) {
        write_child_error(errfd, {125, e.what()});
        ::_exit(125);
    }
}

}  // namespace

Started exec_in_container(const ExecTarget& target, const Process& process, const Stdio& stdio) {
    // Open the namespaces first, in the caller, so a container that exits meanwhile is a clear
    // error here rather than a half-joined child.
    std::vector<sys::unique_fd> ns;
    for (auto& n : kNamespaces) {
        std::string path = "/proc/" + std::to_string(target.init_pid) + "/ns/" + n.name;
        sys::unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) {
            if (errno == ENOENT) throw Error(Errc::conflict, "container is not running");
            sys::throw_errno("open", path);
        }
        ns.push_back(std::move(fd));
    }
    int errp[2], pidp[2];
    if (::pipe2(errp, O_CLOEXEC) < 0 || ::pipe2(pidp, O_CLOEXEC) < 0) sys::throw_errno("pipe2");
    sys::unique_fd err_r(errp[0]), err_w(errp[1]), pid_r(pidp[0]), pid_w(pidp[1]);
    sys::unique_fd tty_parent, tty_child;
    if (process.tty) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) sys::throw_errno("socketpair");
        tty_parent.reset(sv[0]);
        tty_child.reset(sv[1]);
    }

    // Intermediate child: joins the cgroup and namespaces; setns(CLONE_NEWPID) only applies to
    // its children, so it clones the real process with CLONE_PARENT (making it our child) and
    // exits.
    pid_t mid = ::fork();
    if (mid < 0) sys::throw_errno("fork");
    if (mid == 0) {
        try {
            for (auto& f : target.cgroup_procs) {
                int fd = ::open(f.c_str(), O_WRONLY | O_CLOEXEC);
                if (fd < 0 || ::write(fd, "0", 1) < 0)
                    throw ChildError{125, "joining cgroup " + f + ": " + std::strerror(errno)};
                ::close(fd);
            }
            for (size_t i = 0; i < ns.size(); ++i)
                if (::setns(ns[i].get(), kNamespaces[i].flag) < 0)
                    throw ChildError{125, std::string("setns ") + kNamespaces[i].name + ": " + std::strerror(errno)};
            clone_args args{};
            args.flags = CLONE_PARENT;
            args.exit_signal = 0;  // with CLONE_PARENT the parent's own exit signal is used
            long pid = ::syscall(SYS_clone3, &args, sizeof args);
            if (pid < 0) throw ChildError{125, std::string("clone3: ") + std::strerror(errno)};
            if (pid == 0) exec_child(process, stdio, target.seccomp_bpf, err_w.get(), tty_child.get());
            pid_t p = static_cast<pid_t>(pid);
            [[maybe_unused]] auto r = ::write(pid_w.get(), &p, sizeof p);
            ::_exit(0);
        } catch (const ChildError& e) {
            write_child_error(err_w.get(), e);
            ::_exit(e.exit_code);
        }
    }
    err_w.reset();
    pid_w.reset();
    tty_child.reset();
    int status = 0;
    sys::retry_eintr([&] { return ::waitpid(mid, &status, 0); });

    Started st;
    pid_t child = -1;
    if (::read(pid_r.get(), &child, sizeof child) == static_cast<ssize_t>(sizeof child)) {
        st.pid = child;
        st.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
    }
    if (process.tty && st.pid > 0) {
        try {
            st.pty_master = recv_fd(tty_parent.get());
        } catch (...) {
        }
    }
    ChildError ce;
    if (read_child_error(err_r.get(), ce)) {
        if (st.pid > 0) ::waitpid(st.pid, &status, 0);
        throw StartError(ce.exit_code, ce.message);
    }
    if (st.pid <= 0) throw StartError(125, "exec: the helper process exited without starting the command");
    return st;
}

}  // namespace berth::runtime
