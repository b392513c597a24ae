// Capabilities and seccomp applied for real, in a forked child that then probes what it can
// still do. The child reports "name=value" lines through a pipe and ends with "done=1", so a
// child that crashed or never ran a probe fails the test instead of passing it; each refused
// call is paired with a control run before hardening that shows the call would otherwise reach
// the kernel (and fail differently, or succeed). The child first moves into its own mount and
// network namespaces, so even a probe that wrongly succeeded changes nothing on the host.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>

#include "runtime/security_caps.hpp"
#include "runtime/security_seccomp.hpp"
#include "sys/fs.hpp"

using namespace berth;
using namespace berth::runtime;

namespace {

std::string str_trim(std::string s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(s.begin());
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.pop_back();
    return s;
}

// The result of a call as the child reports it: "0" for success, else the errno number.
std::string outcome(long rc) { return rc >= 0 ? "0" : std::to_string(errno); }
std::string err(int e) { return std::to_string(e); }

void report(int fd, const std::string& key, const std::string& value) {
    std::string line = key + "=" + value + "\n";
    (void)!::write(fd, line.data(), line.size());
}

struct ChildResult {
    int status = -1;
    std::map<std::string, std::string> kv;
};

ChildResult run_in_child(const std::function<void(int)>& body) {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(p[0]);
        int rc = 0;
        try {
            body(p[1]);
        } catch (const std::exception& e) {
            report(p[1], "exception", e.what());
            rc = 2;
        }
        report(p[1], "done", "1");
        ::_exit(rc);
    }
    ::close(p[1]);
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(p[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    ::close(p[0]);
    ChildResult r;
    while (::waitpid(pid, &r.status, 0) < 0 && errno == EINTR) {
    }
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (eq != std::string::npos) r.kv[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return r;
}

// Moves the child into private mount and network namespaces (nothing leaks to the host).
void isolate(int fd) {
    report(fd, "isolate", outcome(::unshare(CLONE_NEWNS | CLONE_NEWNET)));
    report(fd, "private", outcome(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr)));
}

// mount(2) of a filesystem type that does not exist: ENODEV from the kernel, EPERM from seccomp.
long probe_mount(const std::string& dir) { return ::mount("berth-test", dir.c_str(), "berth-no-such-fs", 0, nullptr); }
// clone3(2) with a size the kernel rejects (EINVAL) before creating anything; seccomp: ENOSYS.
long probe_clone3() { return ::syscall(SYS_clone3, nullptr, 0); }
// keyctl(2) with a command that does not exist: EOPNOTSUPP from the kernel, EPERM from seccomp.
long probe_keyctl() { return ::syscall(SYS_keyctl, 9999, 0, 0, 0, 0); }
// Bringing lo up in the child's own network namespace needs CAP_NET_ADMIN.
long probe_net_admin() {
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    long rc = ::ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP;
        rc = ::ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    int saved = errno;
    ::close(s);
    errno = saved;
    return rc;
}

// The capability lines of /proc/self/status ("CapEff" -> "00000000a80425fb"), read with plain
// open/read: that these work at all is part of what the test checks.
void report_status(int fd) {
    int f = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    report(fd, "open", outcome(f));
    if (f < 0) return;
    std::string text;
    char buf[1024];
    ssize_t n;
    while ((n = ::read(f, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    ::close(f);
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        for (const char* key : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"}) {
            std::string prefix = std::string(key) + ":";
            if (line.rfind(prefix, 0) == 0) report(fd, key, str_trim(line.substr(prefix.size())));
        }
    }
}


std::string hex16(std::uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

// Ordinary work under the filter: files, fork/wait, a socket of an allowed family.
void report_ordinary_work(int fd, const std::string& dir) {
    std::string path = dir + "/file";
    int f = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool rw = f >= 0 && ::write(f, "hello", 5) == 5 && ::lseek(f, 0, SEEK_SET) == 0;
    char buf[8] = {};
    rw = rw && ::read(f, buf, sizeof buf) == 5 && std::string(buf) == "hello";
    if (f >= 0) ::close(f);
    report(fd, "file_rw", rw ? "ok" : "failed: " + std::to_string(errno));
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(7);
    int st = 0;
    bool waited = pid > 0 && ::waitpid(pid, &st, 0) == pid;
    report(fd, "fork_exit", waited && WIFEXITED(st) ? std::to_string(WEXITSTATUS(st)) : "failed");
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    report(fd, "socket_inet", outcome(s));
    if (s >= 0) ::close(s);
}

}  // namespace

TEST_CASE("security: Docker's default caps and seccomp profile, applied in a child") {
    sys::TempDir tmp(sys::fs::temp_directory_path(), "berth-security-");
    const std::string dir = tmp.path().string();
    const CapSet caps = default_caps();
    const std::string blob = compile_default_profile(caps);  // prepared before fork, as the shim does

    auto r = run_in_child([&](int fd) {
        isolate(fd);
        // controls: what the kernel says with every capability and no filter
        report(fd, "ctl_mount", outcome(probe_mount(dir)));
        report(fd, "ctl_clone3", outcome(probe_clone3()));
        report(fd, "ctl_keyctl", outcome(probe_keyctl()));
        report(fd, "ctl_net_admin", outcome(probe_net_admin()));

        set_user_and_caps(0, 0, {0}, caps);
        report(fd, "nnp", outcome(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)));
        apply_seccomp_bpf(blob);
        report(fd, "applied", "1");

        report(fd, "mount", outcome(probe_mount(dir)));
        report(fd, "mount_tmpfs", outcome(::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=1m")));
        report(fd, "unshare_ns", outcome(::unshare(CLONE_NEWNS)));
        report(fd, "setns", outcome(::syscall(SYS_setns, -1, 0)));
        report(fd, "keyctl", outcome(probe_keyctl()));
        report(fd, "clone3", outcome(probe_clone3()));
        report(fd, "net_admin", outcome(probe_net_admin()));
        report(fd, "vsock", outcome(::socket(AF_VSOCK, SOCK_STREAM, 0)));
        report_ordinary_work(fd, dir);
        report_status(fd);
    });
    INFO("exception: " << r.kv["exception"]);
    REQUIRE(r.kv["done"] == "1");
    REQUIRE(WIFEXITED(r.status));
    REQUIRE(WEXITSTATUS(r.status) == 0);
    REQUIRE(r.kv["isolate"] == "0");
    REQUIRE(r.kv["private"] == "0");
    REQUIRE(r.kv["applied"] == "1");
    CHECK(r.kv["nnp"] == "0");

    // the controls reached the kernel
    CHECK(r.kv["ctl_mount"] == err(ENODEV));
    CHECK(r.kv["ctl_clone3"] == err(EINVAL));
    CHECK(r.kv["ctl_keyctl"] == err(EOPNOTSUPP));
    CHECK(r.kv["ctl_net_admin"] == "0");
    // the same calls are now refused by the filter or for want of the capability
    CHECK(r.kv["mount"] == err(EPERM));
    CHECK(r.kv["mount_tmpfs"] == err(EPERM));
    CHECK(r.kv["unshare_ns"] == err(EPERM));
    CHECK(r.kv["setns"] == err(EPERM));
    CHECK(r.kv["keyctl"] == err(EPERM));
    CHECK(r.kv["clone3"] == err(ENOSYS));
    CHECK(r.kv["net_admin"] == err(EPERM));
    CHECK(r.kv["vsock"] == err(EPERM));
    // ordinary work still works
    CHECK(r.kv["open"] == "0");
    CHECK(r.kv["file_rw"] == "ok");
    CHECK(r.kv["fork_exit"] == "7");
    CHECK(r.kv["socket_inet"] == "0");
    // and the process holds exactly Docker's sets for root
    CHECK(r.kv["CapBnd"] == hex16(caps.bits()));
    CHECK(r.kv["CapPrm"] == hex16(caps.bits()));
    CHECK(r.kv["CapEff"] == hex16(caps.bits()));
    CHECK(r.kv["CapInh"] == hex16(0));
    CHECK(r.kv["CapAmb"] == hex16(0));
    CHECK(r.kv["NoNewPrivs"] == "1");
    CHECK(r.kv["Seccomp"] == "2");
}

TEST_CASE("security: CAP_SYS_ADMIN opens what Docker's profile conditions on it") {
    sys::TempDir tmp(sys::fs::temp_directory_path(), "berth-security-");
    const std::string dir = tmp.path().string();
    CapSet caps = default_caps();
    caps.add(CAP_SYS_ADMIN);
    const std::string blob = compile_default_profile(caps);

    auto r = run_in_child([&](int fd) {
        isolate(fd);
        set_user_and_caps(0, 0, {0}, caps);
        ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        apply_seccomp_bpf(blob);
        report(fd, "applied", "1");
        report(fd, "unshare_ns", outcome(::unshare(CLONE_NEWNS)));
        report(fd, "private", outcome(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr)));
        report(fd, "mount_tmpfs", outcome(::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=1m")));
        report(fd, "umount", outcome(::umount2(dir.c_str(), 0)));
        report(fd, "clone3", outcome(probe_clone3()));
        report(fd, "keyctl", outcome(probe_keyctl()));
        report(fd, "net_admin", outcome(probe_net_admin()));
    });
    INFO("exception: " << r.kv["exception"]);
    REQUIRE(r.kv["done"] == "1");
    REQUIRE(r.kv["isolate"] == "0");
    REQUIRE(r.kv["applied"] == "1");
    CHECK(r.kv["unshare_ns"] == "0");
    CHECK(r.kv["private"] == "0");
    CHECK(r.kv["mount_tmpfs"] == "0");
    CHECK(r.kv["umount"] == "0");
    CHECK(r.kv["clone3"] == err(EINVAL));  // reaches the kernel now
    CHECK(r.kv["keyctl"] == err(EPERM));   // never allowed
    CHECK(r.kv["net_admin"] == err(EPERM));
    // nothing was mounted on the host
    CHECK(sys::list_dir(tmp.path()).empty());
}

TEST_CASE("security: a non-root user keeps only the bounding set, as Docker since CVE-2022-24769") {
    const CapSet caps = default_caps();
    auto r = run_in_child([&](int fd) {
        isolate(fd);
        set_user_and_caps(65534, 65534, {}, caps);
        report(fd, "uid", std::to_string(::getuid()) + "/" + std::to_string(::geteuid()));
        report(fd, "gid", std::to_string(::getgid()));
        report(fd, "groups", std::to_string(::getgroups(0, nullptr)));
        // CAP_CHOWN is in the set but not effective: chown of a file we own to root fails
        report(fd, "chown", outcome(::fchown(0, 0, 0) == 0 ? 0 : -1));
        report_status(fd);
    });
    INFO("exception: " << r.kv["exception"]);
    REQUIRE(r.kv["done"] == "1");
    REQUIRE(r.kv["uid"] == "65534/65534");
    CHECK(r.kv["gid"] == "65534");
    CHECK(r.kv["groups"] == "0");
    CHECK(r.kv["CapBnd"] == hex16(caps.bits()));
    CHECK(r.kv["CapPrm"] == hex16(0));
    CHECK(r.kv["CapEff"] == hex16(0));
    CHECK(r.kv["CapInh"] == hex16(0));
    CHECK(r.kv["CapAmb"] == hex16(0));
}

TEST_CASE("security: without no_new_privs the filter goes in first and caps are dropped under it") {
    // runc's order when no_new_privs is off: the filter needs CAP_SYS_ADMIN to be installed, so
    // it is installed before the capabilities are dropped, and the dropping (prctl, capset,
    // setgroups, setresuid) must be allowed by the profile.
    sys::TempDir tmp(sys::fs::temp_directory_path(), "berth-security-");
    const CapSet caps = default_caps();
    const std::string blob = compile_default_profile(caps);
    auto r = run_in_child([&](int fd) {
        isolate(fd);
        apply_seccomp_bpf(blob);
        report(fd, "applied", "1");
        set_user_and_caps(0, 0, {0}, caps);
        report(fd, "dropped", "1");
        report(fd, "mount", outcome(probe_mount(tmp.path().string())));
        report(fd, "net_admin", outcome(probe_net_admin()));
        report_status(fd);
    });
    INFO("exception: " << r.kv["exception"]);
    REQUIRE(r.kv["done"] == "1");
    REQUIRE(r.kv["applied"] == "1");
    REQUIRE(r.kv["dropped"] == "1");
    CHECK(r.kv["mount"] == err(EPERM));
    CHECK(r.kv["net_admin"] == err(EPERM));
    CHECK(r.kv["NoNewPrivs"] == "0");
    CHECK(r.kv["Seccomp"] == "2");
    CHECK(r.kv["CapEff"] == hex16(caps.bits()));
}
