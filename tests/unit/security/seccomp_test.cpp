// The seccomp compiler: the default profile and Docker-format JSON profiles, checked by running
// the compiled BPF program on syscalls (bpf_eval.hpp) and by libseccomp's own PFC text.
#include <catch2/catch.hpp>
#include <linux/capability.h>
#include <sched.h>

#include <csignal>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "bpf_eval.hpp"
#include "runtime/security_seccomp.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"

using berth::Errc;
using namespace berth::runtime;
using berth_test::errno_ret;
using berth_test::kAllow;
using berth_test::run_seccomp;

namespace {

CapSet with(std::initializer_list<int> extra) {
    CapSet c = default_caps();
    for (int x : extra) c.add(x);
    return c;
}

const std::string& default_blob() {
    static const std::string b = compile_default_profile(default_caps());
    return b;
}

}  // namespace

TEST_CASE("seccomp default profile: ordinary syscalls are allowed, the rest is EPERM") {
    const auto& b = default_blob();
    REQUIRE(b.size() % 8 == 0);
    REQUIRE(b.size() / 8 <= 4096);
    for (int nr : {SYS_read, SYS_write, SYS_openat, SYS_close, SYS_execve, SYS_exit_group, SYS_mmap, SYS_futex,
                   SYS_rt_sigaction, SYS_capset, SYS_prctl, SYS_seccomp, SYS_wait4, SYS_ptrace, SYS_chroot}) {
        INFO("syscall " << nr);
        CHECK(run_seccomp(b, nr) == kAllow);
    }
    for (int nr : {SYS_mount, SYS_umount2, SYS_unshare, SYS_setns, SYS_keyctl, SYS_add_key, SYS_request_key,
                   SYS_pivot_root, SYS_kexec_load, SYS_reboot, SYS_bpf, SYS_perf_event_open, SYS_init_module,
                   SYS_settimeofday, SYS_clock_settime, SYS_kcmp, SYS_process_madvise, SYS_open_by_handle_at,
                   SYS_sethostname, SYS_fsopen, SYS_open_tree, SYS_userfaultfd, SYS_io_uring_setup, SYS_swapon,
                   SYS_acct, SYS_vhangup, SYS_mbind, SYS_syslog}) {
        INFO("syscall " << nr);
        CHECK(run_seccomp(b, nr) == errno_ret(EPERM));
    }
    // syscalls newer than this libseccomp knows by name are still allowed natively
    CHECK(run_seccomp(b, 462 /* mseal */) == kAllow);
    CHECK(run_seccomp(b, 458 /* listmount */) == kAllow);
    CHECK(run_seccomp(b, 452 /* fchmodat2 */) == kAllow);
    CHECK(run_seccomp(b, 467 /* open_tree_attr: not in Docker's list */) == errno_ret(EPERM));
    CHECK(run_seccomp(b, 9999) == errno_ret(EPERM));
}

TEST_CASE("seccomp default profile: argument filters") {
    const auto& b = default_blob();
    // clone without namespace flags (fork, threads) yes; with any namespace flag no
    CHECK(run_seccomp(b, SYS_clone, {SIGCHLD}) == kAllow);
    CHECK(run_seccomp(b, SYS_clone, {CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                                     CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID}) == kAllow);
    for (std::uint64_t ns : std::initializer_list<std::uint64_t>{CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
                             CLONE_NEWCGROUP}) {
        INFO("flag " << ns);
        CHECK(run_seccomp(b, SYS_clone, {ns | SIGCHLD}) == errno_ret(EPERM));
    }
    // clone3 fails with ENOSYS so that libc falls back to clone
    CHECK(run_seccomp(b, SYS_clone3) == errno_ret(ENOSYS));
    // socket: not AF_VSOCK, not AF_ALG, not removed families. Docker's first rule is the range
    // below AF_ROSE + 1, which also lets AF_UNSPEC through: the kernel refuses that one itself.
    CHECK(run_seccomp(b, SYS_socket, {AF_UNSPEC, SOCK_STREAM, 0}) == kAllow);
    for (std::uint64_t af : std::initializer_list<std::uint64_t>{AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_BLUETOOTH, AF_CAN, AF_XDP, 45}) {
        INFO("family " << af);
        CHECK(run_seccomp(b, SYS_socket, {af, SOCK_STREAM, 0}) == kAllow);
    }
    for (std::uint64_t af : std::initializer_list<std::uint64_t>{AF_VSOCK, AF_ALG, 12 /* DECnet */, 46, 0x100000001ull}) {
        INFO("family " << af);
        CHECK(run_seccomp(b, SYS_socket, {af, SOCK_STREAM, 0}) == errno_ret(EPERM));
    }
    // personality: Docker's values only
    for (std::uint64_t v : {0x0ull, 0x8ull, 0x20000ull, 0x20008ull, 0xffffffffull}) CHECK(run_seccomp(b, SYS_personality, {v}) == kAllow);
    for (std::uint64_t v : {0x1ull, 0x400000ull, 0x0040000ull}) CHECK(run_seccomp(b, SYS_personality, {v}) == errno_ret(EPERM));
}

TEST_CASE("seccomp default profile: capability-conditional syscalls follow the container's caps") {
    auto admin = compile_default_profile(with({CAP_SYS_ADMIN}));
    for (int nr : {SYS_mount, SYS_umount2, SYS_unshare, SYS_setns, SYS_sethostname, SYS_bpf, SYS_fsopen, SYS_syslog})
        CHECK(run_seccomp(admin, nr) == kAllow);
    CHECK(run_seccomp(admin, SYS_clone3) == kAllow);
    CHECK(run_seccomp(admin, SYS_clone, {CLONE_NEWNS | CLONE_NEWNET | SIGCHLD}) == kAllow);
    // CAP_SYS_ADMIN does not open what Docker never allows
    for (int nr : {SYS_keyctl, SYS_add_key, SYS_pivot_root, SYS_kexec_load, SYS_reboot, SYS_kcmp})
        CHECK(run_seccomp(admin, nr) == errno_ret(EPERM));

    auto ptrace = compile_default_profile(with({CAP_SYS_PTRACE}));
    CHECK(run_seccomp(ptrace, SYS_kcmp) == kAllow);
    CHECK(run_seccomp(ptrace, SYS_pidfd_getfd) == kAllow);
    CHECK(run_seccomp(ptrace, SYS_mount) == errno_ret(EPERM));

    CHECK(run_seccomp(compile_default_profile(with({CAP_SYS_TIME})), SYS_settimeofday) == kAllow);
    CHECK(run_seccomp(compile_default_profile(with({CAP_SYS_BOOT})), SYS_reboot) == kAllow);
    CHECK(run_seccomp(compile_default_profile(with({CAP_SYS_MODULE})), SYS_finit_module) == kAllow);
    CHECK(run_seccomp(compile_default_profile(with({CAP_BPF})), SYS_bpf) == kAllow);
    CHECK(run_seccomp(compile_default_profile(with({CAP_DAC_READ_SEARCH})), SYS_open_by_handle_at) == kAllow);

    // a container without CAP_SYS_CHROOT loses chroot(2) too
    CapSet no_chroot = default_caps();
    no_chroot.remove(CAP_SYS_CHROOT);
    CHECK(run_seccomp(compile_default_profile(no_chroot), SYS_chroot) == errno_ret(EPERM));
}

#if defined(__x86_64__)
TEST_CASE("seccomp default profile: 32-bit x86 and x32 syscalls are filtered too, other arches killed") {
    const auto& b = default_blob();
    constexpr std::uint32_t i386 = AUDIT_ARCH_I386;
    CHECK(run_seccomp(b, 3 /* read */, {}, i386) == kAllow);
    CHECK(run_seccomp(b, 102 /* socketcall */, {}, i386) == kAllow);
    CHECK(run_seccomp(b, 21 /* mount */, {}, i386) == errno_ret(EPERM));
    CHECK(run_seccomp(b, 310 /* unshare */, {}, i386) == errno_ret(EPERM));
    CHECK(run_seccomp(b, 288 /* keyctl */, {}, i386) == errno_ret(EPERM));
    CHECK(run_seccomp(b, 435 /* clone3 */, {}, i386) == errno_ret(ENOSYS));
    constexpr std::uint32_t x32bit = 0x40000000;
    CHECK(run_seccomp(b, static_cast<int>(x32bit | SYS_read)) == kAllow);
    CHECK(run_seccomp(b, static_cast<int>(x32bit | SYS_mount)) == errno_ret(EPERM));
    CHECK(run_seccomp(b, SYS_read, {}, AUDIT_ARCH_AARCH64) == SECCOMP_RET_KILL_THREAD);
}
#endif

TEST_CASE("seccomp default profile: libseccomp's PFC text agrees") {
    auto plain = default_profile_pfc(default_caps());
    auto admin = default_profile_pfc(with({CAP_SYS_ADMIN}));
    CHECK_THAT(plain, Catch::Matchers::Contains("# filter for syscall \"read\""));
    CHECK_THAT(plain, !Catch::Matchers::Contains("# filter for syscall \"mount\""));
    CHECK_THAT(plain, !Catch::Matchers::Contains("# filter for syscall \"keyctl\""));
    CHECK_THAT(plain, Catch::Matchers::Contains("action ERRNO(38)"));  // clone3
    CHECK_THAT(admin, Catch::Matchers::Contains("# filter for syscall \"mount\""));
    CHECK_THAT(admin, Catch::Matchers::Contains("# filter for syscall \"unshare\""));
    CHECK_THAT(admin, !Catch::Matchers::Contains("# filter for syscall \"keyctl\""));
    CHECK_THAT(plain, Catch::Matchers::Contains("# default action\n  action ERRNO(1);"));
}

TEST_CASE("seccomp JSON profiles: Docker's format") {
    auto b = compile_profile(R"({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["not_a_syscall", "chmod"], "action": "SCMP_ACT_ERRNO"},
            {"name": "kill", "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
            {"names": ["dup3"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]},
            {"names": ["fchown"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 2, "value": 240, "valueTwo": 16, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_PTRACE"]}},
            {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "includes": {"minKernel": "99.0"}}
        ]
    })",
                             default_caps());
    CHECK(run_seccomp(b, SYS_mkdir) == errno_ret(13));
    CHECK(run_seccomp(b, SYS_mkdirat) == errno_ret(13));
    CHECK(run_seccomp(b, SYS_chmod) == errno_ret(EPERM));  // errnoRet defaults to EPERM
    CHECK(run_seccomp(b, SYS_kill) == SECCOMP_RET_KILL_PROCESS);
    CHECK(run_seccomp(b, SYS_read) == kAllow);  // same as the default action: left out
    CHECK(run_seccomp(b, SYS_getpid) == kAllow);  // needs a kernel this is not
    // two comparisons on one argument are alternatives (runc)
    CHECK(run_seccomp(b, SYS_socket, {1}) == errno_ret(EPERM));
    CHECK(run_seccomp(b, SYS_socket, {2}) == errno_ret(EPERM));
    CHECK(run_seccomp(b, SYS_socket, {3}) == kAllow);
    // comparisons on different arguments must all hold
    CHECK(run_seccomp(b, SYS_dup3, {1, 2}) == errno_ret(EPERM));
    CHECK(run_seccomp(b, SYS_dup3, {1, 3}) == kAllow);
    CHECK(run_seccomp(b, SYS_fchown, {0, 0, 0x1f}) == errno_ret(EPERM));  // 0x1f & 0xf0 == 0x10
    CHECK(run_seccomp(b, SYS_fchown, {0, 0, 0x2f}) == kAllow);
    CHECK(run_seccomp(b, SYS_ptrace) == errno_ret(EPERM));
    CHECK(run_seccomp(compile_profile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_PTRACE"]}}]})",
                                      with({CAP_SYS_PTRACE})),
                      SYS_ptrace) == kAllow);
#if defined(__x86_64__)
    // without architectures only the native one is covered: a 32-bit syscall is killed
    CHECK(run_seccomp(b, 3, {}, AUDIT_ARCH_I386) == SECCOMP_RET_KILL_THREAD);
    auto multi = compile_profile(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]})",
                                 default_caps());
    CHECK(run_seccomp(multi, 3, {}, AUDIT_ARCH_I386) == kAllow);
    CHECK(run_seccomp(multi, 4, {}, AUDIT_ARCH_I386) == errno_ret(ENOSYS));
    CHECK(run_seccomp(multi, SYS_write) == errno_ret(ENOSYS));
    auto listed = compile_profile(R"({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"],
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]})",
                                  default_caps());
    CHECK(run_seccomp(listed, 3, {}, AUDIT_ARCH_I386) == kAllow);
    CHECK(run_seccomp(listed, SYS_read) == kAllow);
#endif
}

TEST_CASE("seccomp JSON profiles: every problem is reported at once") {
    struct Case {
        const char* json;
        std::vector<const char*> msgs;
    };
    const Case cases[] = {
        {"{", {"Decoding seccomp profile failed"}},
        {"[]", {"a profile is a JSON object"}},
        {R"({"syscalls": []})", {"defaultAction: missing"}},
        {R"({"defaultAction": "SCMP_ACT_NOPE"})", {"defaultAction: unknown action \"SCMP_ACT_NOPE\""}},
        {R"({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "archMap": []})",
         {"use either 'architectures' or 'archMap'"}},
        {R"({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_VAX"]})", {"unknown architecture \"SCMP_ARCH_VAX\""}},
        {R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_BOGUS"},
            {"names": ["write"], "name": "write", "action": "SCMP_ACT_ALLOW"},
            {"action": "SCMP_ACT_ALLOW"},
            {"names": ["open"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 7, "value": 1, "op": "SCMP_CMP_EQ"}]},
            {"names": ["close"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]},
            {"names": ["dup"], "action": "SCMP_ACT_ALLOW", "errnoRet": 5},
            {"names": ["dup2"], "action": "SCMP_ACT_NOTIFY"},
            {"names": ["dup3"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "new"}},
            {"names": "mkdir", "action": "SCMP_ACT_ALLOW"}
         ]})",
         {"syscalls[0].action: unknown action \"SCMP_ACT_BOGUS\"", "syscalls[1]: 'name' and 'names' were specified",
          "syscalls[2]: no syscall names", "syscalls[3].args[0].index: must be 0 to 5",
          "syscalls[4].args[0].op: unknown operator \"SCMP_CMP_ABOUT\"", "syscalls[5].errnoRet: only SCMP_ACT_ERRNO",
          "syscalls[6].action: SCMP_ACT_NOTIFY is not supported", "syscalls[7].includes.minKernel: not a kernel version",
          "syscalls[8].names: must be a list of strings"}},
        {R"({"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_LOG"]})", {"flags: seccomp filter flags are not supported"}},
        {R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 5000})", {"defaultErrnoRet: must be an errno number"}},
    };
    for (const auto& c : cases) {
        INFO(c.json);
        try {
            compile_profile(c.json, default_caps());
            FAIL("compiled without error");
        } catch (const berth::Error& e) {
            CHECK(e.kind() == Errc::invalid);
            for (const char* m : c.msgs) CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains(m));
        }
    }
}

TEST_CASE("seccomp: --security-opt choices") {
    CHECK(seccomp_choice({}).kind == SeccompChoice::Kind::builtin);
    CHECK(seccomp_choice({"no-new-privileges", "seccomp=unconfined"}).kind == SeccompChoice::Kind::unconfined);
    CHECK(seccomp_choice({"seccomp:unconfined"}).kind == SeccompChoice::Kind::unconfined);
    CHECK(seccomp_choice({"seccomp=unconfined", "seccomp=builtin"}).kind == SeccompChoice::Kind::builtin);
    const char* profile = R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}]})";
    auto inline_choice = seccomp_choice({std::string("seccomp=") + profile});
    CHECK(inline_choice.kind == SeccompChoice::Kind::profile);
    CHECK(inline_choice.profile_json == profile);

    berth::sys::TempDir tmp(berth::sys::fs::temp_directory_path(), "berth-seccomp-");
    berth::sys::write_file(tmp.path() / "p.json", profile);
    auto file_choice = seccomp_choice({"seccomp=" + (tmp.path() / "p.json").string()});
    REQUIRE(file_choice.kind == SeccompChoice::Kind::profile);
    auto blob = compile_seccomp(file_choice, false, default_caps());
    REQUIRE(blob);
    CHECK(run_seccomp(*blob, SYS_getpid) == errno_ret(EPERM));
    CHECK(run_seccomp(*blob, SYS_mount) == kAllow);

    try {
        seccomp_choice({"seccomp=" + (tmp.path() / "missing.json").string()});
        FAIL("no error");
    } catch (const berth::Error& e) {
        CHECK(e.kind() == Errc::invalid);
        CHECK_THAT(std::string(e.what()), Catch::Matchers::StartsWith("opening seccomp profile (" + (tmp.path() / "missing.json").string() + ") failed: "));
    }
    berth::sys::write_file(tmp.path() / "bad.json", R"({"defaultAction": "SCMP_ACT_MAYBE"})");
    CHECK_THROWS_AS(seccomp_choice({"seccomp=" + (tmp.path() / "bad.json").string()}), berth::Error);

    // privileged and unconfined containers get no filter; the default is Docker's profile
    CHECK_FALSE(compile_seccomp(SeccompChoice{}, true, default_caps()));
    CHECK_FALSE(compile_seccomp(file_choice, true, default_caps()));
    CHECK_FALSE(compile_seccomp(SeccompChoice{SeccompChoice::Kind::unconfined, {}}, false, default_caps()));
    auto def = compile_seccomp(SeccompChoice{}, false, default_caps());
    REQUIRE(def);
    CHECK(*def == default_blob());
}

TEST_CASE("seccomp: apply_seccomp_bpf refuses a malformed program before any syscall") {
    CHECK_THROWS_AS(apply_seccomp_bpf(""), berth::Error);
    CHECK_THROWS_AS(apply_seccomp_bpf("abc"), berth::Error);
    CHECK_THROWS_AS(apply_seccomp_bpf(std::string(8 * 4097, '\0')), berth::Error);
}
