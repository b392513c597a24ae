#include "runtime/container_init.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "runtime/mounts.hpp"
#include "sys/copy_tree.hpp"
#include "runtime/process.hpp"
#include "runtime/pty.hpp"
#include "sys/in_root.hpp"
#include "sys/strings.hpp"

namespace berth::runtime {

namespace {

// Each step names itself in errors: "mounting /proc: fsmount(proc, ...): Operation not permitted".
template <typename F>
void step(const std::string& what, F&& f) {
    try {
        f();
    } catch (const ChildError&) {
        throw;
    } catch (const std::exception& e) {
        throw ChildError{125, what + ": " + e.what()};
    }
}

void join_cgroup(const Spec& s) {
    for (auto& f : s.cgroup_procs) {
        // "0" means the writing process itself, which also sidesteps pid translation: in its
        // new pid namespace this child is pid 1 (cgroup-v1.rst, "cgroup.procs").
        sys::unique_fd fd(::open(f.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd) sys::throw_errno("open", f);
        if (::write(fd.get(), "0", 1) < 0) sys::throw_errno("write", f + " \"0\"");
    }
}

void enter_network(const Spec& s, const StartContext& ctx) {
    switch (s.net) {
        case Spec::Net::own_fd:
            if (::setns(ctx.netns_fd, CLONE_NEWNET) < 0) sys::throw_errno("setns", "network namespace fd");
            break;
        case Spec::Net::none:
            bring_up_loopback();  // cloned with CLONE_NEWNET: only lo, and it starts down
            break;
        case Spec::Net::host:
            break;
        case Spec::Net::container_path: {
            sys::unique_fd fd(::open(s.net_path.c_str(), O_RDONLY | O_CLOEXEC));
            if (!fd) sys::throw_errno("open", s.net_path);
            if (::setns(fd.get(), CLONE_NEWNET) < 0) sys::throw_errno("setns", s.net_path);
            break;
        }
    }
}

// --ipc container:X or host: join (or stay in) that IPC namespace before /dev/mqueue is
// mounted and IPC sysctls are written, since both act on the caller's IPC namespace
// (mq_overview(7), ipc_namespaces(7)).
void enter_ipc(const Spec& s) {
    if (s.ipc != Spec::Share::path) return;
    sys::unique_fd fd(::open(s.ipc_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) sys::throw_errno("open", s.ipc_path);
    if (::setns(fd.get(), CLONE_NEWIPC) < 0) sys::throw_errno("setns", s.ipc_path);
}

// A directory the runtime mounts over (/proc, /sys, /dev): must be a real directory in the
// image, not a symlink that would move the mount elsewhere.
sys::unique_fd special_dir(int rootfd, const std::string& path) {
    auto fd = sys::open_in_root_if_exists(rootfd, path, O_PATH | O_NOFOLLOW);
    if (!fd) return sys::mkdir_all_in_root(rootfd, path, 0755);
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) sys::throw_errno("fstat", path);
    if (!S_ISDIR(st.st_mode)) throw Error(Errc::invalid, path + " in the image is not a directory");
    return fd;
}

void mknod_dev(int devfd, const char* name, mode_t type, unsigned maj, unsigned min, mode_t mode) {
    if (::mknodat(devfd, name, type | mode, makedev(maj, min)) < 0 && errno != EEXIST)
        sys::throw_errno("mknod", std::string("/dev/") + name);
    // mknod honours the umask; set the mode exactly.
    if (::fchmodat(devfd, name, mode, 0) < 0) sys::throw_errno("chmod", std::string("/dev/") + name);
}

void setup_dev(const Spec& s, int rootfd) {
    auto target = special_dir(rootfd, "/dev");
    if (s.privileged) {
        auto tree = clone_tree(AT_FDCWD, "/dev", true);
        attach(tree.get(), target.get(), "/dev");
        // The host's /dev/shm came along: cover it with this container's own (nothing may be
        // created in this /dev, it is the host's).
        auto shm = sys::open_in_root_if_exists(rootfd, "/dev/shm", O_PATH | O_NOFOLLOW | O_DIRECTORY);
        if (!shm) return;
        if (!s.shm_source.empty()) {
            auto src = clone_tree(AT_FDCWD, s.shm_source, false);
            attach(src.get(), shm.get(), "/dev/shm");
        } else {
            // --ipc none: an empty read-only one, so the host's stays out of reach.
            Options opts = s.no_shm ? Options{{"mode", "0"}} : Options{{"mode", "1777"}, {"size", std::to_string(s.shm_size)}};
            unsigned attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | (s.no_shm ? MOUNT_ATTR_RDONLY : 0);
            auto fs = new_fs("tmpfs", opts, attrs, "shm");
            attach(fs.get(), shm.get(), "/dev/shm");
        }
        return;
    }
    auto tmp = new_fs("tmpfs", {{"mode", "755"}, {"size", "65536k"}}, MOUNT_ATTR_NOSUID | MOUNT_ATTR_STRICTATIME, "tmpfs");
    attach(tmp.get(), target.get(), "/dev");
    // Re-open: the fd from before the mount names the directory underneath it.
    auto dev = sys::open_in_root(rootfd, "/dev", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    struct {
        const char* name;
        unsigned maj, min;
    } nodes[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
    for (auto& n : nodes) mknod_dev(dev.get(), n.name, S_IFCHR, n.maj, n.min, 0666);
    for (auto& d : s.devices) {
        auto pn = sys::split_parent(d.container_path.rfind("/dev/", 0) == 0 ? d.container_path.substr(5) : d.container_path);
        auto parent = sys::mkdir_all_in_root(dev.get(), pn.parent, 0755);
        if (::mknodat(parent.get(), pn.name.c_str(), (d.type == 'b' ? S_IFBLK : S_IFCHR) | d.mode,
                      makedev(d.major, d.minor)) < 0 && errno != EEXIST)
            sys::throw_errno("mknod", d.container_path);
        ::fchmodat(parent.get(), pn.name.c_str(), d.mode, 0);
    }
    const std::pair<const char*, const char*> links[] = {{"fd", "/proc/self/fd"},    {"stdin", "/proc/self/fd/0"},
                                                         {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
                                                         {"ptmx", "pts/ptmx"},         {"core", "/proc/kcore"}};
    for (auto& [name, to] : links)
        if (::symlinkat(to, dev.get(), name) < 0 && errno != EEXIST) sys::throw_errno("symlink", std::string("/dev/") + name);
    for (const char* d : {"pts", "shm", "mqueue"}) {
        if (s.no_shm && d == std::string_view("shm")) continue;  // --ipc none: no /dev/shm at all
        if (::mkdirat(dev.get(), d, 0755) < 0 && errno != EEXIST) sys::throw_errno("mkdir", std::string("/dev/") + d);
    }

    auto pts = new_fs("devpts", {{"newinstance", ""}, {"ptmxmode", "0666"}, {"mode", "0620"}, {"gid", "5"}},
                      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, "devpts");
    attach(pts.get(), sys::open_in_root(rootfd, "/dev/pts", O_PATH | O_NOFOLLOW).get(), "/dev/pts");
    if (!s.shm_source.empty()) {
        // Shared: the host's /dev/shm or a tmpfs the engine keeps on the host for the donor.
        auto tree = clone_tree(AT_FDCWD, s.shm_source, false);
        attach(tree.get(), sys::open_in_root(rootfd, "/dev/shm", O_PATH | O_NOFOLLOW).get(), "/dev/shm");
    } else if (!s.no_shm) {
        auto shm = new_fs("tmpfs", {{"mode", "1777"}, {"size", std::to_string(s.shm_size)}},
                          MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, "shm");
        attach(shm.get(), sys::open_in_root(rootfd, "/dev/shm", O_PATH | O_NOFOLLOW).get(), "/dev/shm");
    }
    auto mq = new_fs("mqueue", {}, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, "mqueue");
    attach(mq.get(), sys::open_in_root(rootfd, "/dev/mqueue", O_PATH | O_NOFOLLOW).get(), "/dev/mqueue");
}

unsigned long propagation_flag(const std::string& p) {
    if (p == "shared" || p == "rshared") return MS_SHARED;
    if (p == "slave" || p == "rslave") return MS_SLAVE;
    return MS_PRIVATE;  // Docker's default for binds is rprivate
}

size_t depth(const std::string& path) {
    return static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
}

// Docker's copy-up: a volume that is still empty gets the image's content at its target (owner,
// mode, xattrs kept), read through the rootfs fd so image symlinks cannot point the copy away.
void copy_up(int rootfd, const Mount& m) {
    auto src = sys::open_in_root_if_exists(rootfd, m.target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!src || sys::dir_is_empty(src.get())) return;
    sys::unique_fd dst(::open(m.source.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dst) sys::throw_errno("open", m.source);
    if (!sys::dir_is_empty(dst.get())) return;
    sys::copy_tree(src.get(), dst.get());
}

void setup_user_mounts(const Spec& s, int rootfd) {
    // Parents before children (Docker sorts mounts by the number of path components).
    std::vector<const Mount*> order;
    for (auto& m : s.mounts) order.push_back(&m);
    std::stable_sort(order.begin(), order.end(), [](const Mount* a, const Mount* b) { return depth(a->target) < depth(b->target); });
    for (const Mount* m : order) {
        step("mounting " + m->target, [&] {
            auto target = sys::ensure_in_root(rootfd, m->target, m->target_is_file);
            if (m->kind == Mount::Kind::tmpfs) {
                unsigned attrs = 0;
                if (m->flags & MS_NOSUID) attrs |= MOUNT_ATTR_NOSUID;
                if (m->flags & MS_NODEV) attrs |= MOUNT_ATTR_NODEV;
                if (m->flags & MS_NOEXEC) attrs |= MOUNT_ATTR_NOEXEC;
                if (m->readonly) attrs |= MOUNT_ATTR_RDONLY;
                auto fs = new_fs("tmpfs", parse_options(m->tmpfs_options), attrs, "tmpfs");
                attach(fs.get(), target.get(), m->target);
                return;
            }
            if (m->copy_up) copy_up(rootfd, *m);
            auto tree = clone_tree(AT_FDCWD, m->source, m->recursive);
            if (m->readonly) set_mount_attrs(tree.get(), MOUNT_ATTR_RDONLY, 0, 0, m->recursive, m->source);
            attach(tree.get(), target.get(), m->target);
            auto mounted = sys::open_in_root(rootfd, m->target, O_PATH);
            set_mount_attrs(mounted.get(), 0, 0, propagation_flag(m->propagation), m->recursive, m->target);
        });
    }
}

void write_sysctls(const Spec& s, int rootfd) {
    for (auto& [key, value] : s.sysctls) {
        step("setting sysctl " + key, [&] {
            std::string path = "/proc/sys/" + str::replace_all(key, ".", "/");
            auto fd = sys::open_in_root(rootfd, path, O_WRONLY | O_NOFOLLOW);
            if (::write(fd.get(), value.data(), value.size()) < 0) sys::throw_errno("write", path + " \"" + value + "\"");
        });
    }
}

void mask_paths(const Spec& s, int rootfd) {
    if (s.privileged) return;
    sys::unique_fd null;
    for (auto& p : s.masked_paths) {
        step("masking " + p, [&] {
            auto fd = sys::open_in_root_if_exists(rootfd, p, O_PATH | O_NOFOLLOW);
            if (!fd) return;
            struct stat st;
            if (::fstat(fd.get(), &st) < 0) sys::throw_errno("fstat", p);
            if (S_ISDIR(st.st_mode)) {
                auto tmp = new_fs("tmpfs", {}, MOUNT_ATTR_RDONLY, "tmpfs");
                attach(tmp.get(), fd.get(), p);
                return;
            }
            if (!null) {
                // The mask source is our own /dev/null, checked to really be char 1:3 through the
                // fd we bind from (runc CVE-2025-31133 swapped it for a symlink).
                null = sys::open_in_root(rootfd, "/dev/null", O_PATH | O_NOFOLLOW);
                struct stat ns;
                if (::fstat(null.get(), &ns) < 0 || !S_ISCHR(ns.st_mode) || ns.st_rdev != makedev(1, 3))
                    throw Error(Errc::failed, "/dev/null is not the null device");
            }
            auto tree = clone_tree(null.get(), "", false);
            attach(tree.get(), fd.get(), p);
        });
    }
    for (auto& p : s.readonly_paths) {
        step("making " + p + " read-only", [&] {
            auto fd = sys::open_in_root_if_exists(rootfd, p, O_PATH | O_NOFOLLOW);
            if (!fd) return;
            auto tree = clone_tree(fd.get(), "", true);
            set_mount_attrs(tree.get(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0, 0,
                            true, p);
            attach(tree.get(), fd.get(), p);
        });
    }
}

// Opens the console pair inside the container's own devpts, so the tty the process sees is
// /dev/pts/0 of its namespace; the master goes to the shim over ttysock (SCM_RIGHTS).
sys::unique_fd setup_console(int rootfd, int ttysock) {
    auto master = sys::open_in_root(rootfd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY);
    int unlock = 0;
    if (::ioctl(master.get(), TIOCSPTLCK, &unlock) < 0) sys::throw_errno("ioctl", "TIOCSPTLCK");
    sys::unique_fd slave(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) sys::throw_errno("ioctl", "TIOCGPTPEER");
    auto console = sys::ensure_in_root(rootfd, "/dev/console", true, 0600);
    auto tree = clone_tree(slave.get(), "", false);
    attach(tree.get(), console.get(), "/dev/console");
    send_fd(ttysock, master.get());
    return slave;
}

void pivot_into(int rootfd) {
    if (::fchdir(rootfd) < 0) sys::throw_errno("fchdir", "rootfs");
    // pivot_root(".", ".") stacks the old root on top of the new one; detaching "." then
    // removes it (pivot_root(2), "NOTES").
    if (::syscall(SYS_pivot_root, ".", ".") < 0) sys::throw_errno("pivot_root", ".");
    if (::umount2(".", MNT_DETACH) < 0) sys::throw_errno("umount2", "old root");
    if (::chdir("/") < 0) sys::throw_errno("chdir", "/");
}

void install_stdio(const Stdio& io, int tty_slave) {
    if (tty_slave >= 0) {
        if (::setsid() < 0) sys::throw_errno("setsid");
        if (::ioctl(tty_slave, TIOCSCTTY, 0) < 0) sys::throw_errno("ioctl", "TIOCSCTTY");
        for (int i = 0; i < 3; ++i)
            if (::dup2(tty_slave, i) < 0) sys::throw_errno("dup2", "tty");
        return;
    }
    // Move the sources above 2 first so dup2 onto 0..2 cannot clobber one of them.
    int src[3] = {io.in, io.out, io.err};
    int high[3] = {-1, -1, -1};
    for (int i = 0; i < 3; ++i) {
        if (src[i] < 0) {
            high[i] = ::open("/dev/null", O_RDWR | O_CLOEXEC);
            if (high[i] < 0) sys::throw_errno("open", "/dev/null");
        } else {
            high[i] = ::fcntl(src[i], F_DUPFD_CLOEXEC, 10);
            if (high[i] < 0) sys::throw_errno("fcntl", "F_DUPFD_CLOEXEC");
        }
    }
    for (int i = 0; i < 3; ++i) {
        if (::dup2(high[i], i) < 0) sys::throw_errno("dup2", std::to_string(i));
        ::close(high[i]);
    }
}

[[noreturn]] void child_main(const Spec& s, const Stdio& io, const StartContext& ctx, int errfd, int ttysock) {
    try {
        step("joining cgroup", [&] { join_cgroup(s); });
        step("joining network namespace", [&] { enter_network(s, ctx); });
        step("joining IPC namespace", [&] { enter_ipc(s); });
        // Mounts made from here on stay in this namespace; rslave still lets host events in
        // for binds that ask for slave propagation (runc's default root propagation).
        step("making mounts private", [&] {
            if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0) sys::throw_errno("mount", "/ MS_REC|MS_SLAVE");
        });
        step("mounting rootfs", [&] { mount_overlay(s.lowerdirs, s.upperdir, s.workdir, s.rootfs); });
        sys::unique_fd root(::open(s.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!root) throw ChildError{125, "opening rootfs " + s.rootfs + ": " + std::strerror(errno)};
        int rootfd = root.get();

        step("mounting /proc", [&] {
            auto t = special_dir(rootfd, "/proc");
            auto m = new_fs("proc", {}, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, "proc");
            attach(m.get(), t.get(), "/proc");
        });
        step("mounting /sys", [&] {
            auto t = special_dir(rootfd, "/sys");
            unsigned ro = s.privileged ? 0 : MOUNT_ATTR_RDONLY;
            auto m = new_fs("sysfs", {}, ro | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, "sysfs");
            attach(m.get(), t.get(), "/sys");
        });
        step("setting up /dev", [&] { setup_dev(s, rootfd); });
        setup_user_mounts(s, rootfd);
        if (s.init)
            step("mounting init", [&] {
                auto t = sys::ensure_in_root(rootfd, "/sbin/docker-init", true);
                auto tree = clone_tree(AT_FDCWD, ctx.init_binary, false);
                set_mount_attrs(tree.get(), MOUNT_ATTR_RDONLY, 0, 0, false, ctx.init_binary);
                attach(tree.get(), t.get(), "/sbin/docker-init");
            });
        write_sysctls(s, rootfd);
        mask_paths(s, rootfd);
        sys::unique_fd slave;
        if (s.process.tty) step("setting up the console", [&] { slave = setup_console(rootfd, ttysock); });

        step("pivot_root", [&] { pivot_into(rootfd); });
        root.reset();
        if (s.readonly_rootfs)
            step("making the rootfs read-only", [&] {
                mount_attr attr{};
                attr.attr_set = MOUNT_ATTR_RDONLY;
                if (::mount_setattr(AT_FDCWD, "/", 0, &attr, sizeof attr) < 0) sys::throw_errno("mount_setattr", "/ MOUNT_ATTR_RDONLY");
            });
        step("setting hostname", [&] {
            if (s.uts_host) return;  // the host's UTS namespace: its name is not ours to set
            if (!s.hostname.empty() && ::sethostname(s.hostname.data(), s.hostname.size()) < 0)
                sys::throw_errno("sethostname", s.hostname);
            if (!s.domainname.empty() && ::setdomainname(s.domainname.data(), s.domainname.size()) < 0)
                sys::throw_errno("setdomainname", s.domainname);
        });
        step("setting up stdio", [&] { install_stdio(io, slave ? slave.get() : -1); });
        slave.reset();
        finish_and_exec(s.process, ctx.seccomp_bpf);
    } catch (const ChildError& e) {
        write_child_error(errfd, e);
        ::_exit(e.exit_code);
    } catch (const std::exception& e) {
        write_child_error(errfd, {125, e.what()});
        ::_exit(125);
    }
    ::_exit(125);
}

}  // namespace

void bring_up_loopback() {
    sys::unique_fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) sys::throw_errno("socket", "AF_INET");
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) < 0) sys::throw_errno("ioctl", "SIOCGIFFLAGS lo");
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) < 0) sys::throw_errno("ioctl", "SIOCSIFFLAGS lo up");
}

namespace {

// --pid container:X: setns(CLONE_NEWPID) only changes where the caller's next children go
// (pid_namespaces(7)), so the shim (single-threaded) points its children at X's namespace for
// this one clone3 and then back at its own, which setns allows since it is the caller's active
// namespace.
long clone_in_pid_namespace(const Spec& spec, clone_args& args) {
    if (spec.pid != Spec::Share::path) {
        long pid = ::syscall(SYS_clone3, &args, sizeof args);
        if (pid < 0) sys::throw_errno("clone3", "container init");
        return pid;
    }
    sys::unique_fd own(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    if (!own) sys::throw_errno("open", "/proc/self/ns/pid");
    sys::unique_fd target(::open(spec.pid_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!target) sys::throw_errno("open", spec.pid_path);
    if (::setns(target.get(), CLONE_NEWPID) < 0) sys::throw_errno("setns", spec.pid_path);
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    int clone_errno = errno;
    if (pid != 0 && ::setns(own.get(), CLONE_NEWPID) < 0) sys::throw_errno("setns", "/proc/self/ns/pid (back)");
    if (pid < 0) {
        errno = clone_errno;
        sys::throw_errno("clone3", "container init in " + spec.pid_path);
    }
    return pid;
}

}  // namespace

Started start_container(const Spec& spec, const Stdio& stdio, const StartContext& ctx) {
    int errp[2];
    if (::pipe2(errp, O_CLOEXEC) < 0) sys::throw_errno("pipe2");
    sys::unique_fd err_r(errp[0]), err_w(errp[1]);
    sys::unique_fd tty_parent, tty_child;
    if (spec.process.tty) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) sys::throw_errno("socketpair");
        tty_parent.reset(sv[0]);
        tty_child.reset(sv[1]);
    }

    int pidfd = -1;
    clone_args args{};
    args.flags = CLONE_NEWNS | CLONE_PIDFD;
    if (spec.pid == Spec::Share::own) args.flags |= CLONE_NEWPID;
    if (!spec.uts_host) args.flags |= CLONE_NEWUTS;
    if (spec.ipc == Spec::Share::own) args.flags |= CLONE_NEWIPC;
    if (spec.net == Spec::Net::none) args.flags |= CLONE_NEWNET;
    args.pidfd = reinterpret_cast<std::uint64_t>(&pidfd);
    args.exit_signal = SIGCHLD;
    long pid = clone_in_pid_namespace(spec, args);
    if (pid == 0) {
        err_r.reset();
        tty_parent.reset();
        child_main(spec, stdio, ctx, err_w.get(), tty_child.get());
    }

    Started st;
    st.pid = static_cast<pid_t>(pid);
    st.pidfd.reset(pidfd);
    err_w.reset();
    tty_child.reset();
    if (spec.process.tty) {
        try {
            st.pty_master = recv_fd(tty_parent.get());
        } catch (...) {
            // The child failed before sending it; its own message explains why.
        }
    }
    ChildError ce;
    if (read_child_error(err_r.get(), ce) || (spec.process.tty && !st.pty_master)) {
        int status = 0;
        ::waitpid(st.pid, &status, 0);
        if (ce.message.empty()) ce = {125, "container process exited during setup"};
        throw StartError(ce.exit_code, ce.message);
    }
    return st;
}

}  // namespace berth::runtime
