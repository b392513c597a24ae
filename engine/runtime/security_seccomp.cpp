#include "runtime/security_seccomp.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "sys/error.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/strings.hpp"

namespace berth::runtime {

namespace {

// ---------------------------------------------------------------------------------------------
// A profile as data (the shape of Docker's JSON)

struct ArgCmp {
    unsigned index = 0;
    std::uint64_t value = 0, value_two = 0;
    scmp_compare op = SCMP_CMP_EQ;
};

struct Condition {
    std::vector<std::string> caps;    // all must be in the container's set (includes) / any (excludes)
    std::vector<std::string> arches;  // Go's GOARCH names, as Docker compares them
    std::optional<std::pair<int, int>> min_kernel;
};

struct Rule {
    std::vector<std::string> names;
    std::uint32_t action = SCMP_ACT_ALLOW;
    std::vector<ArgCmp> args;
    Condition includes, excludes;
};

struct Profile {
    std::uint32_t default_action = SCMP_ACT_ERRNO(EPERM);
    std::vector<std::uint32_t> arches;  // libseccomp tokens besides the native one
    std::vector<Rule> rules;
};

// runtime.GOARCH of this build: what includes/excludes "arches" are compared with.
constexpr const char* kGoArch =
#if defined(__x86_64__)
    "amd64";
#elif defined(__aarch64__)
    "arm64";
#elif defined(__i386__)
    "386";
#elif defined(__arm__)
    "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    "ppc64le";
#elif defined(__s390x__)
    "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
    "riscv64";
#elif defined(__loongarch64)
    "loong64";
#else
    "unknown";
#endif

// Docker's archMap: the architectures a filter covers besides the native one.
std::vector<std::uint32_t> docker_sub_arches(std::uint32_t native) {
    switch (native) {
        case SCMP_ARCH_X86_64: return {SCMP_ARCH_X86, SCMP_ARCH_X32};
        case SCMP_ARCH_AARCH64: return {SCMP_ARCH_ARM};
        case SCMP_ARCH_MIPS64: return {SCMP_ARCH_MIPS, SCMP_ARCH_MIPS64N32};
        case SCMP_ARCH_MIPS64N32: return {SCMP_ARCH_MIPS, SCMP_ARCH_MIPS64};
        case SCMP_ARCH_MIPSEL64: return {SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPSEL64N32};
        case SCMP_ARCH_MIPSEL64N32: return {SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPSEL64};
        case SCMP_ARCH_S390X: return {SCMP_ARCH_S390};
        default: return {};
    }
}

// ---------------------------------------------------------------------------------------------
// Docker's default profile (moby/profiles seccomp/default_linux.go), as data

Rule allow(std::vector<std::string> names) {
    Rule r;
    r.names = std::move(names);
    return r;
}

Rule allow_with_cap(std::vector<std::string> names, const char* cap) {
    Rule r = allow(std::move(names));
    r.includes.caps = {cap};
    return r;
}

Rule allow_on(std::vector<std::string> names, std::vector<std::string> arches) {
    Rule r = allow(std::move(names));
    r.includes.arches = std::move(arches);
    return r;
}

Rule allow_if_arg(const char* name, unsigned index, std::uint64_t value, scmp_compare op, std::uint64_t value_two = 0) {
    Rule r = allow({name});
    r.args = {ArgCmp{index, value, value_two, op}};
    return r;
}

const Profile& default_profile() {
    static const Profile p = [] {
        Profile p;
        p.default_action = SCMP_ACT_ERRNO(EPERM);
        p.arches = docker_sub_arches(seccomp_arch_native());
        p.rules.push_back(allow({
            "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset", "chdir",
            "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
            "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
            "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
            "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
            "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
            "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
            "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr",
            "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
            "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd",
            "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
            "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
            "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list",
            "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid",
            "getuid32", "getxattr", "getxattrat", "inotify_add_watch", "inotify_init", "inotify_init1",
            "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
            "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "ipc", "kill",
            "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr",
            "link", "linkat", "listen", "listmount", "listxattr", "listxattrat", "llistxattr", "_llseek", "lremovexattr",
            "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier", "memfd_create",
            "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
            "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
            "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv",
            "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat",
            "_newselect", "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
            "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv",
            "preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev",
            "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
            "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "removexattrat", "rename", "renameat",
            "renameat2", "restart_syscall", "riscv_hwprobe", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
            "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
            "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
            "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
            "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
            "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop",
            "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid",
            "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
            "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32",
            "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area",
            "set_tid_address", "setuid", "setuid32", "setxattr", "setxattrat", "shmat", "shmctl", "shmdt", "shmget",
            "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair",
            "splice", "stat", "stat64", "statfs", "statfs64", "statmount", "statx", "symlink", "symlinkat", "sync",
            "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
            "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
            "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
            "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe",
            "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid",
            "write", "writev",
        }));
        Rule ptrace = allow({"process_vm_readv", "process_vm_writev", "ptrace"});
        ptrace.includes.min_kernel = std::make_pair(4, 8);
        p.rules.push_back(ptrace);

        // socket(2) only for the families Docker allows: AF_UNIX..AF_ROSE as one range (AF_UNSPEC
        // cannot be created), then each other allowed family. Left out: AF_ALG (the kernel's
        // crypto API), AF_VSOCK (host/guest sockets, global across network namespaces) and the
        // families the kernel has removed (DECnet, Econet, ATM SVC, IrDA, WAN pipe, ISDN, CAIF).
        p.rules.push_back(allow_if_arg("socket", 0, AF_ROSE + 1, SCMP_CMP_LT));
        for (int family : {AF_NETBEUI, AF_SECURITY, AF_KEY, AF_NETLINK, AF_PACKET, AF_ASH, AF_RDS, AF_SNA, AF_PPPOX, AF_LLC,
                           AF_IB, AF_MPLS, AF_CAN, AF_TIPC, AF_BLUETOOTH, AF_IUCV, AF_RXRPC, AF_PHONET, AF_IEEE802154,
                           AF_NFC, AF_KCM, AF_QIPCRTR, AF_SMC, AF_XDP, 45 /* AF_MCTP */})
            p.rules.push_back(allow_if_arg("socket", 0, static_cast<std::uint64_t>(family), SCMP_CMP_EQ));
        // personality(2): PER_LINUX, UNAME26, PER_LINUX32, both, and the query 0xffffffff.
        for (std::uint64_t v : {0x0ull, 0x0008ull, 0x20000ull, 0x20008ull, 0xffffffffull})
            p.rules.push_back(allow_if_arg("personality", 0, v, SCMP_CMP_EQ));

        p.rules.push_back(allow_on({"sync_file_range2", "swapcontext"}, {"ppc64le"}));
        p.rules.push_back(allow_on({"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
                                    "cacheflush", "set_tls"},
                                   {"arm", "arm64"}));
        p.rules.push_back(allow_on({"arch_prctl"}, {"amd64", "x32"}));
        p.rules.push_back(allow_on({"modify_ldt"}, {"amd64", "x32", "x86"}));
        p.rules.push_back(allow_on({"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"}, {"s390", "s390x"}));
        p.rules.push_back(allow_on({"riscv_flush_icache"}, {"riscv64"}));

        p.rules.push_back(allow_with_cap({"open_by_handle_at"}, "CAP_DAC_READ_SEARCH"));
        p.rules.push_back(allow_with_cap({"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen",
                                          "fspick", "lookup_dcookie", "lsm_get_self_attr", "lsm_list_modules",
                                          "lsm_set_self_attr", "mount", "mount_setattr", "move_mount", "open_tree",
                                          "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname",
                                          "setns", "syslog", "umount", "umount2", "unshare"},
                                         "CAP_SYS_ADMIN"));
        // clone(2) without namespace flags (s390 swaps clone's first two arguments).
        constexpr std::uint64_t ns_flags =
            CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
        Rule clone = allow_if_arg("clone", 0, ns_flags, SCMP_CMP_MASKED_EQ, 0);
        clone.excludes.caps = {"CAP_SYS_ADMIN"};
        clone.excludes.arches = {"s390", "s390x"};
        p.rules.push_back(clone);
        Rule clone_s390 = allow_if_arg("clone", 1, ns_flags, SCMP_CMP_MASKED_EQ, 0);
        clone_s390.includes.arches = {"s390", "s390x"};
        clone_s390.excludes.caps = {"CAP_SYS_ADMIN"};
        p.rules.push_back(clone_s390);
        // clone3(2) passes its flags in memory seccomp cannot read: ENOSYS makes libc use clone.
        Rule clone3;
        clone3.names = {"clone3"};
        clone3.action = SCMP_ACT_ERRNO(ENOSYS);
        clone3.excludes.caps = {"CAP_SYS_ADMIN"};
        p.rules.push_back(clone3);

        p.rules.push_back(allow_with_cap({"reboot"}, "CAP_SYS_BOOT"));
        p.rules.push_back(allow_with_cap({"chroot"}, "CAP_SYS_CHROOT"));
        p.rules.push_back(allow_with_cap({"delete_module", "init_module", "finit_module"}, "CAP_SYS_MODULE"));
        p.rules.push_back(allow_with_cap({"acct"}, "CAP_SYS_PACCT"));
        p.rules.push_back(allow_with_cap(
            {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"}, "CAP_SYS_PTRACE"));
        p.rules.push_back(allow_with_cap({"iopl", "ioperm"}, "CAP_SYS_RAWIO"));
        p.rules.push_back(allow_with_cap({"settimeofday", "stime", "clock_settime", "clock_settime64"}, "CAP_SYS_TIME"));
        p.rules.push_back(allow_with_cap({"vhangup"}, "CAP_SYS_TTY_CONFIG"));
        p.rules.push_back(
            allow_with_cap({"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}, "CAP_SYS_NICE"));
        p.rules.push_back(allow_with_cap({"syslog"}, "CAP_SYSLOG"));
        p.rules.push_back(allow_with_cap({"bpf"}, "CAP_BPF"));
        p.rules.push_back(allow_with_cap({"perf_event_open"}, "CAP_PERFMON"));
        return p;
    }();
    return p;
}

// Syscalls newer than libseccomp 2.5.4 (Debian bookworm's) knows by name. Since Linux 5.1 new
// syscalls share one number on every architecture but alpha (include/uapi/asm-generic/unistd.h),
// so these are valid for the native arch; they are used only there.
struct Fallback {
    const char* name;
    int nr;
};
const Fallback kNewSyscalls[] = {
    {"statmount", 457},  {"listmount", 458},  {"lsm_get_self_attr", 459}, {"lsm_set_self_attr", 460},
    {"lsm_list_modules", 461}, {"mseal", 462}, {"setxattrat", 463}, {"getxattrat", 464},
    {"listxattrat", 465}, {"removexattrat", 466},
#if defined(__x86_64__)
    {"uretprobe", 335},  // x86-64 only (arch/x86/entry/syscalls/syscall_64.tbl)
#endif
};

// ---------------------------------------------------------------------------------------------
// Docker-format JSON

std::optional<std::uint32_t> parse_action(const std::string& name, std::optional<std::uint32_t> errno_ret) {
    std::uint32_t err = errno_ret.value_or(EPERM);
    if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
    if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(err);
    if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(err);
    if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL;
    if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
    if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
    if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
    return std::nullopt;
}

std::optional<scmp_compare> parse_op(const std::string& op) {
    if (op == "SCMP_CMP_NE") return SCMP_CMP_NE;
    if (op == "SCMP_CMP_LT") return SCMP_CMP_LT;
    if (op == "SCMP_CMP_LE") return SCMP_CMP_LE;
    if (op == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
    if (op == "SCMP_CMP_GE") return SCMP_CMP_GE;
    if (op == "SCMP_CMP_GT") return SCMP_CMP_GT;
    if (op == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
    return std::nullopt;
}

// "SCMP_ARCH_X86_64" -> libseccomp's token.
std::optional<std::uint32_t> parse_arch(const std::string& name) {
    if (name.rfind("SCMP_ARCH_", 0) != 0) return std::nullopt;
    std::string n = str::to_lower(name.substr(10));
    std::uint32_t token = seccomp_arch_resolve_name(n.c_str());
    if (token == 0) return std::nullopt;
    return token;
}

std::optional<std::pair<int, int>> parse_kernel_version(const std::string& s) {
    auto [major, minor] = str::split_once(s, '.');
    auto ma = str::parse_int(major);
    auto mi = minor ? str::parse_int(*minor) : std::optional<std::int64_t>(0);
    if (!ma || !mi || *ma < 0 || *mi < 0) return std::nullopt;
    return std::make_pair(static_cast<int>(*ma), static_cast<int>(*mi));
}

// Reads a JSON profile, collecting every problem with where it is ("syscalls[3].args[0].op").
class ProfileReader {
public:
    Profile read(std::string_view text) {
        json j;
        try {
            j = json::parse(text);
        } catch (const json::exception& e) {
            throw Error(Errc::invalid, std::string("Decoding seccomp profile failed: ") + e.what());
        }
        Profile p;
        if (!j.is_object()) fail("", "a profile is a JSON object");
        else read_top(j, p);
        if (!errors_.empty()) throw Error(Errc::invalid, "invalid seccomp profile: " + str::join(errors_, "; "));
        return p;
    }

private:
    std::vector<std::string> errors_;

    void fail(const std::string& where, const std::string& what) { errors_.push_back(where.empty() ? what : where + ": " + what); }

    std::optional<std::string> string_at(const json& obj, const char* key, const std::string& where) {
        auto it = obj.find(key);
        if (it == obj.end() || it->is_null()) return std::nullopt;
        if (!it->is_string()) {
            fail(where + key, "must be a string");
            return std::nullopt;
        }
        return it->get<std::string>();
    }

    std::optional<std::uint64_t> uint_at(const json& obj, const char* key, const std::string& where) {
        auto it = obj.find(key);
        if (it == obj.end() || it->is_null()) return std::nullopt;
        if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0)) {
            fail(where + key, "must be a non-negative integer");
            return std::nullopt;
        }
        return it->get<std::uint64_t>();
    }

    std::vector<std::string> strings_at(const json& obj, const char* key, const std::string& where) {
        std::vector<std::string> out;
        auto it = obj.find(key);
        if (it == obj.end() || it->is_null()) return out;
        if (!it->is_array()) {
            fail(where + key, "must be a list of strings");
            return out;
        }
        for (const auto& e : *it) {
            if (!e.is_string()) {
                fail(where + key, "must be a list of strings");
                return {};
            }
            out.push_back(e.get<std::string>());
        }
        return out;
    }

    std::optional<std::uint32_t> errno_at(const json& obj, const char* key, const std::string& where) {
        auto v = uint_at(obj, key, where);
        if (v && *v > 4095) {
            fail(where + key, "must be an errno number (at most 4095)");
            return std::nullopt;
        }
        if (v) return static_cast<std::uint32_t>(*v);
        return std::nullopt;
    }

    Condition read_condition(const json& obj, const char* key, const std::string& where) {
        Condition c;
        auto it = obj.find(key);
        if (it == obj.end() || it->is_null()) return c;
        std::string w = where + key + ".";
        if (!it->is_object()) {
            fail(where + key, "must be an object");
            return c;
        }
        c.caps = strings_at(*it, "caps", w);
        c.arches = strings_at(*it, "arches", w);
        if (auto mk = string_at(*it, "minKernel", w)) {
            c.min_kernel = parse_kernel_version(*mk);
            if (!c.min_kernel) fail(w + "minKernel", "not a kernel version: \"" + *mk + "\"");
        }
        return c;
    }

    void read_top(const json& j, Profile& p) {
        auto def_errno = errno_at(j, "defaultErrnoRet", "");
        auto def = string_at(j, "defaultAction", "");
        if (!def) {
            fail("defaultAction", "missing");
        } else if (auto a = parse_action(*def, def_errno)) {
            p.default_action = *a;
        } else {
            fail("defaultAction", "unknown action \"" + *def + "\"");
        }
        auto arches = strings_at(j, "architectures", "");
        bool has_map = j.contains("archMap") && !j["archMap"].is_null();
        if (!arches.empty() && has_map)
            fail("", "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'");
        for (const auto& a : arches) {
            if (auto t = parse_arch(a)) p.arches.push_back(*t);
            else fail("architectures", "unknown architecture \"" + a + "\"");
        }
        if (has_map) read_arch_map(j["archMap"], p);
        if (auto f = j.find("flags"); f != j.end() && !f->is_null() && !(f->is_array() && f->empty()))
            fail("flags", "seccomp filter flags are not supported by berth");
        if (auto l = string_at(j, "listenerPath", ""); l && !l->empty())
            fail("listenerPath", "seccomp notification listeners are not supported by berth");
        auto sc = j.find("syscalls");
        if (sc == j.end() || sc->is_null()) return;
        if (!sc->is_array()) {
            fail("syscalls", "must be a list");
            return;
        }
        for (size_t i = 0; i < sc->size(); ++i) read_rule((*sc)[i], "syscalls[" + std::to_string(i) + "]", p);
    }

    void read_arch_map(const json& m, Profile& p) {
        if (!m.is_array()) {
            fail("archMap", "must be a list");
            return;
        }
        std::uint32_t native = seccomp_arch_native();
        for (size_t i = 0; i < m.size(); ++i) {
            std::string w = "archMap[" + std::to_string(i) + "].";
            if (!m[i].is_object()) {
                fail("archMap[" + std::to_string(i) + "]", "must be an object");
                continue;
            }
            auto arch = string_at(m[i], "architecture", w);
            auto subs = strings_at(m[i], "subArchitectures", w);
            if (!arch) {
                fail(w + "architecture", "missing");
                continue;
            }
            // Only the native architecture's entry matters (Docker's rule); entries for other
            // machines may name architectures this libseccomp does not know.
            auto t = parse_arch(*arch);
            if (!t || *t != native) continue;
            for (const auto& s : subs) {
                if (auto st = parse_arch(s)) p.arches.push_back(*st);
                else fail(w + "subArchitectures", "unknown architecture \"" + s + "\"");
            }
        }
    }

    void read_rule(const json& r, const std::string& where, Profile& p) {
        if (!r.is_object()) {
            fail(where, "must be an object");
            return;
        }
        std::string w = where + ".";
        Rule rule;
        rule.names = strings_at(r, "names", w);
        if (auto name = string_at(r, "name", w)) {
            if (!rule.names.empty())
                fail(where, "'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'");
            rule.names.push_back(*name);
        }
        if (rule.names.empty()) fail(where, "no syscall names");
        auto err = errno_at(r, "errnoRet", w);
        auto action = string_at(r, "action", w);
        if (!action) {
            fail(w + "action", "missing");
        } else if (auto a = parse_action(*action, err)) {
            rule.action = *a;
            if (err && *action != "SCMP_ACT_ERRNO" && *action != "SCMP_ACT_TRACE")
                fail(w + "errnoRet", "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return an errno");
        } else if (*action == "SCMP_ACT_NOTIFY") {
            fail(w + "action", "SCMP_ACT_NOTIFY is not supported by berth");
        } else {
            fail(w + "action", "unknown action \"" + *action + "\"");
        }
        if (auto args = r.find("args"); args != r.end() && !args->is_null()) {
            if (!args->is_array()) fail(w + "args", "must be a list");
            else
                for (size_t i = 0; i < args->size(); ++i) {
                    std::string aw = w + "args[" + std::to_string(i) + "]";
                    const json& a = (*args)[i];
                    if (!a.is_object()) {
                        fail(aw, "must be an object");
                        continue;
                    }
                    ArgCmp cmp;
                    auto index = uint_at(a, "index", aw + ".");
                    if (!index) fail(aw + ".index", "missing");
                    else if (*index > 5) fail(aw + ".index", "must be 0 to 5 (a syscall has six arguments)");
                    else cmp.index = static_cast<unsigned>(*index);
                    cmp.value = uint_at(a, "value", aw + ".").value_or(0);
                    cmp.value_two = uint_at(a, "valueTwo", aw + ".").value_or(0);
                    auto op = string_at(a, "op", aw + ".");
                    if (!op) fail(aw + ".op", "missing");
                    else if (auto o = parse_op(*op)) cmp.op = *o;
                    else fail(aw + ".op", "unknown operator \"" + *op + "\"");
                    rule.args.push_back(cmp);
                }
        }
        rule.includes = read_condition(r, "includes", w);
        rule.excludes = read_condition(r, "excludes", w);
        p.rules.push_back(std::move(rule));
    }
};

// ---------------------------------------------------------------------------------------------
// Compiling

std::pair<int, int> running_kernel() {
    struct utsname u {};
    ::uname(&u);
    int major = 0, minor = 0;
    std::sscanf(u.release, "%d.%d", &major, &minor);
    return {major, minor};
}

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// Docker's includes/excludes (moby/profiles seccomp_linux.go): a rule is left out when an
// excluded arch/cap/kernel matches, or when an included one does not.
bool rule_applies(const Rule& r, const std::vector<std::string>& caps, std::pair<int, int> kernel) {
    if (contains(r.excludes.arches, kGoArch)) return false;
    for (const auto& c : r.excludes.caps)
        if (contains(caps, c)) return false;
    if (r.excludes.min_kernel && kernel >= *r.excludes.min_kernel) return false;
    if (!r.includes.arches.empty() && !contains(r.includes.arches, kGoArch)) return false;
    for (const auto& c : r.includes.caps)
        if (!contains(caps, c)) return false;
    if (r.includes.min_kernel && kernel < *r.includes.min_kernel) return false;
    return true;
}

struct CtxDeleter {
    void operator()(void* c) const { seccomp_release(c); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

Ctx new_ctx(std::uint32_t default_action, const std::vector<std::uint32_t>& arches) {
    Ctx ctx(seccomp_init(default_action));
    if (!ctx) throw Error(Errc::invalid, "seccomp profile: libseccomp refused the default action");
    std::uint32_t native = seccomp_arch_native();
    bool keep_native = false;
    for (auto a : arches) {
        if (a == native) {
            keep_native = true;
            continue;
        }
        int rc = seccomp_arch_add(ctx.get(), a);
        if (rc < 0 && rc != -EEXIST) throw sys::Error(-rc, "seccomp_arch_add", std::to_string(a));
    }
    if (!keep_native) {
        int rc = seccomp_arch_remove(ctx.get(), native);
        if (rc < 0) throw sys::Error(-rc, "seccomp_arch_remove", "native");
    }
    // A binary tree of syscall numbers instead of a linear list: the profile has ~400 entries
    // and every syscall of the container walks the filter. Only the speed depends on this.
    (void)seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
    return ctx;
}

void add_rule(scmp_filter_ctx ctx, const Rule& r, const std::string& name, int nr) {
    std::vector<scmp_arg_cmp> args;
    bool repeated_index = false;
    for (size_t i = 0; i < r.args.size(); ++i) {
        const auto& a = r.args[i];
        args.push_back(scmp_arg_cmp{a.index, a.op, a.value, a.value_two});
        for (size_t k = 0; k < i; ++k)
            if (r.args[k].index == a.index) repeated_index = true;
    }
    auto add = [&](const scmp_arg_cmp* cmp, unsigned n) {
        int rc = seccomp_rule_add_array(ctx, r.action, nr, n, cmp);
        if (rc < 0) throw Error(Errc::invalid, "seccomp profile: rule for \"" + name + "\": " + std::strerror(-rc));
    };
    // As runc: two comparisons on one argument are alternatives (one rule each); otherwise all
    // comparisons must hold together.
    if (repeated_index) {
        for (const auto& a : args) add(&a, 1);
    } else {
        add(args.data(), static_cast<unsigned>(args.size()));
    }
}

enum class Output { bpf, pfc };

std::string export_ctx(scmp_filter_ctx ctx, Output out) {
    sys::unique_fd fd(static_cast<int>(::syscall(SYS_memfd_create, "berth-seccomp", MFD_CLOEXEC)));
    if (!fd) sys::throw_errno("memfd_create", "berth-seccomp");
    int rc = out == Output::bpf ? seccomp_export_bpf(ctx, fd.get()) : seccomp_export_pfc(ctx, fd.get());
    if (rc < 0) throw sys::Error(-rc, out == Output::bpf ? "seccomp_export_bpf" : "seccomp_export_pfc", "");
    if (::lseek(fd.get(), 0, SEEK_SET) < 0) sys::throw_errno("lseek", "berth-seccomp");
    return sys::read_fd(fd.get());
}

std::string compile(const Profile& p, const CapSet& caps, Output out) {
    std::vector<std::string> cap_names = caps.names();
    auto kernel = running_kernel();
    std::vector<const Rule*> rules;
    for (const auto& r : p.rules)
        if (rule_applies(r, cap_names, kernel) && r.action != p.default_action)  // libseccomp refuses those
            rules.push_back(&r);

    std::uint32_t native = seccomp_arch_native();
    std::vector<std::uint32_t> subs;
    for (auto a : p.arches)
        if (a != native && std::find(subs.begin(), subs.end(), a) == subs.end()) subs.push_back(a);

    // The native architecture gets a filter of its own, so that syscalls this libseccomp cannot
    // name can still be added by number there (libseccomp translates rules for the other
    // architectures by name, and fails for a number it has no name for).
    Ctx ctx = new_ctx(p.default_action, {native});
    for (const Rule* r : rules)
        for (const auto& name : r->names) {
            int nr = seccomp_syscall_resolve_name(name.c_str());
            if (nr == __NR_SCMP_ERROR) {
                for (const auto& f : kNewSyscalls)
                    if (name == f.name) nr = f.nr;
            }
            if (nr == __NR_SCMP_ERROR) continue;  // unknown here: skipped, as runc does
            add_rule(ctx.get(), *r, name, nr);
        }
    if (!subs.empty()) {
        Ctx sub = new_ctx(p.default_action, subs);
        for (const Rule* r : rules)
            for (const auto& name : r->names) {
                int nr = seccomp_syscall_resolve_name(name.c_str());
                if (nr == __NR_SCMP_ERROR) continue;
                add_rule(sub.get(), *r, name, nr);  // a syscall an arch lacks is left out there
            }
        int rc = seccomp_merge(ctx.get(), sub.get());
        if (rc < 0) throw sys::Error(-rc, "seccomp_merge", "");
        sub.release();  // merged into ctx, which now owns it
    }
    std::string result = export_ctx(ctx.get(), out);
    if (out == Output::bpf) {
        if (result.empty() || result.size() % sizeof(sock_filter) != 0)
            throw Error(Errc::failed, "seccomp: libseccomp produced a malformed program");
        if (result.size() / sizeof(sock_filter) > BPF_MAXINSNS)
            throw Error(Errc::invalid, "seccomp profile: the filter needs " + std::to_string(result.size() / sizeof(sock_filter)) +
                                           " instructions, more than the kernel's " + std::to_string(BPF_MAXINSNS));
    }
    return result;
}

}  // namespace

std::string compile_default_profile(const CapSet& caps) { return compile(default_profile(), caps, Output::bpf); }

std::string compile_profile(std::string_view profile_json, const CapSet& caps) {
    return compile(ProfileReader().read(profile_json), caps, Output::bpf);
}

std::string default_profile_pfc(const CapSet& caps) { return compile(default_profile(), caps, Output::pfc); }

std::string profile_pfc(std::string_view profile_json, const CapSet& caps) {
    return compile(ProfileReader().read(profile_json), caps, Output::pfc);
}

SeccompChoice seccomp_choice(const std::vector<std::string>& security_opts) {
    SeccompChoice choice;
    for (const auto& opt : security_opts) {
        size_t sep = opt.find_first_of("=:");
        if (sep == std::string::npos || opt.substr(0, sep) != "seccomp") continue;
        std::string v = opt.substr(sep + 1);
        if (v == "unconfined") {
            choice = {SeccompChoice::Kind::unconfined, {}};
        } else if (v == "builtin") {
            choice = {SeccompChoice::Kind::builtin, {}};
        } else if (!str::trim(v).empty() && str::trim(v).front() == '{') {
            choice = {SeccompChoice::Kind::profile, v};
        } else {
            auto text = [&] {
                try {
                    return sys::read_file(v);
                } catch (const sys::Error& e) {
                    throw Error(Errc::invalid, "opening seccomp profile (" + v + ") failed: " + e.what());
                }
            }();
            choice = {SeccompChoice::Kind::profile, text};
        }
        if (choice.kind == SeccompChoice::Kind::profile) ProfileReader().read(choice.profile_json);  // fail at create
    }
    return choice;
}

std::optional<std::string> compile_seccomp(const SeccompChoice& choice, bool privileged, const CapSet& caps) {
    if (privileged || choice.kind == SeccompChoice::Kind::unconfined) return std::nullopt;
    if (choice.kind == SeccompChoice::Kind::profile) return compile_profile(choice.profile_json, caps);
    return compile_default_profile(caps);
}

void apply_seccomp_bpf(const std::string& blob) {
    if (blob.empty() || blob.size() % sizeof(sock_filter) != 0 || blob.size() / sizeof(sock_filter) > BPF_MAXINSNS)
        throw Error(Errc::invalid, "seccomp program is empty, too long or not a whole number of BPF instructions");
    sock_fprog prog{static_cast<unsigned short>(blob.size() / sizeof(sock_filter)),
                    reinterpret_cast<sock_filter*>(const_cast<char*>(blob.data()))};
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) sys::throw_errno("seccomp(SECCOMP_SET_MODE_FILTER)");
}

}  // namespace berth::runtime
