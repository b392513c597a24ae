#pragma once
// Seccomp as Docker applies it: its default profile (moby/profiles seccomp/default.json), a
// Docker-format JSON profile (--security-opt seccomp=FILE), or none (seccomp=unconfined, and
// every --privileged container). A profile is compiled ahead of time, with libseccomp, for one
// container's capabilities (rules conditioned on a capability are in or out by that set, as
// Docker does) into a raw BPF program: the bytes of a struct sock_filter[]. The container's
// child installs it with one syscall (apply_seccomp_bpf); no libseccomp runs there.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/security_caps.hpp"

namespace berth::runtime {

// Docker's default profile compiled for a container with capabilities `caps`: default action
// ERRNO(EPERM), the allowlist, socket(2) only for the address families Docker allows (not
// AF_ALG, AF_VSOCK, nor families the kernel dropped), personality(2) only for Docker's values,
// clone(2) without namespace flags and clone3(2) failing with ENOSYS (so libc falls back to
// clone) unless CAP_SYS_ADMIN, and the capability-conditional syscalls (mount, unshare, setns...
// with CAP_SYS_ADMIN; ptrace... with CAP_SYS_PTRACE; and so on). The native architecture plus
// the ones Docker adds for it (x86 and x32 on x86_64).
std::string compile_default_profile(const CapSet& caps);

// A Docker-format JSON profile (defaultAction, defaultErrnoRet, architectures or archMap,
// syscalls[] with names, action, errnoRet, args, includes/excludes) compiled for `caps`.
// Problems are one berth::Error(invalid) listing each (unknown action, operator, architecture,
// a malformed field). Syscall names unknown to this system are skipped, as runc does.
std::string compile_profile(std::string_view profile_json, const CapSet& caps);

// The same programs as libseccomp's pseudo filter code (readable text), to inspect and test.
std::string default_profile_pfc(const CapSet& caps);
std::string profile_pfc(std::string_view profile_json, const CapSet& caps);

// What a container's --security-opt asked for.
struct SeccompChoice {
    enum class Kind { builtin, unconfined, profile };
    Kind kind = Kind::builtin;
    std::string profile_json;  // Kind::profile: the profile's JSON text
};

// From --security-opt values: seccomp=unconfined, seccomp=builtin, seccomp=PATH (the file is read
// now, as Docker's CLI reads it at create time and stores its JSON) or seccomp=JSON-TEXT; ':' is
// accepted for '=' as Docker does. Other options are not looked at. An unreadable file or a
// profile that does not compile is a berth::Error(invalid).
SeccompChoice seccomp_choice(const std::vector<std::string>& security_opts);

// The compiled filter for a container, or nullopt when it runs unconfined: seccomp=unconfined,
// or privileged (Docker gives a privileged container no seccomp filter whatever was asked).
std::optional<std::string> compile_seccomp(const SeccompChoice& choice, bool privileged, const CapSet& caps);

// In the child: installs the program with seccomp(SECCOMP_SET_MODE_FILTER). The kernel accepts
// it only with no_new_privs set or CAP_SYS_ADMIN in the effective set. Throws berth::Error for a
// blob that is not a whole number of instructions, sys::Error when the kernel refuses.
void apply_seccomp_bpf(const std::string& blob);

}  // namespace berth::runtime
