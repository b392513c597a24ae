#include "runtime/identity.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"

namespace berth::runtime {

int last_cap() {
    static int cached = -1;
    if (cached < 0) {
        auto v = sys::read_file_if_exists("/proc/sys/kernel/cap_last_cap");
        cached = v ? static_cast<int>(str::parse_int(str::trim(*v)).value_or(40)) : 40;
    }
    return cached;
}

void apply_process_identity(uid_t uid, gid_t gid, const std::vector<gid_t>& groups, const std::vector<int>& caps) {
    int last = last_cap();
    for (int c = 0; c <= last; ++c) {
        if (std::find(caps.begin(), caps.end(), c) != caps.end()) continue;
        if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            sys::throw_errno("prctl(PR_CAPBSET_DROP)", std::to_string(c));
    }
    // Keep the permitted set across setuid so root's caps can be set below; a non-root user's
    // are cleared explicitly anyway.
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) sys::throw_errno("prctl(PR_SET_KEEPCAPS)");
    if (::setgroups(groups.size(), groups.data()) < 0) sys::throw_errno("setgroups");
    if (::setresgid(gid, gid, gid) < 0) sys::throw_errno("setresgid", std::to_string(gid));
    if (::setresuid(uid, uid, uid) < 0) sys::throw_errno("setresuid", std::to_string(uid));
    if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) sys::throw_errno("prctl(PR_SET_KEEPCAPS, 0)");

    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (uid == 0) {
        for (int c : caps) {
            if (c < 0 || c > 63) continue;
            data[c / 32].permitted |= 1u << (c % 32);
            data[c / 32].effective |= 1u << (c % 32);
        }
    }
    if (::syscall(SYS_capset, &hdr, data) < 0) sys::throw_errno("capset");
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        sys::throw_errno("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
}

void load_seccomp_program(const std::string& bpf) {
    if (bpf.empty() || bpf.size() % sizeof(sock_filter) != 0)
        throw Error(Errc::invalid, "seccomp program is empty or not a whole number of BPF instructions");
    sock_fprog prog{static_cast<unsigned short>(bpf.size() / sizeof(sock_filter)),
                    reinterpret_cast<sock_filter*>(const_cast<char*>(bpf.data()))};
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) sys::throw_errno("seccomp(SECCOMP_SET_MODE_FILTER)");
}

}  // namespace berth::runtime
