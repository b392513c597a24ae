#include "runtime/security_caps.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"

namespace berth::runtime {

namespace {

struct CapEntry {
    int number;
    const char* name;
};

// Every capability in the kernel headers berth is built with, by its kernel name.
const CapEntry kCaps[] = {
    {CAP_CHOWN, "CAP_CHOWN"},
    {CAP_DAC_OVERRIDE, "CAP_DAC_OVERRIDE"},
    {CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH"},
    {CAP_FOWNER, "CAP_FOWNER"},
    {CAP_FSETID, "CAP_FSETID"},
    {CAP_KILL, "CAP_KILL"},
    {CAP_SETGID, "CAP_SETGID"},
    {CAP_SETUID, "CAP_SETUID"},
    {CAP_SETPCAP, "CAP_SETPCAP"},
    {CAP_LINUX_IMMUTABLE, "CAP_LINUX_IMMUTABLE"},
    {CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE"},
    {CAP_NET_BROADCAST, "CAP_NET_BROADCAST"},
    {CAP_NET_ADMIN, "CAP_NET_ADMIN"},
    {CAP_NET_RAW, "CAP_NET_RAW"},
    {CAP_IPC_LOCK, "CAP_IPC_LOCK"},
    {CAP_IPC_OWNER, "CAP_IPC_OWNER"},
    {CAP_SYS_MODULE, "CAP_SYS_MODULE"},
    {CAP_SYS_RAWIO, "CAP_SYS_RAWIO"},
    {CAP_SYS_CHROOT, "CAP_SYS_CHROOT"},
    {CAP_SYS_PTRACE, "CAP_SYS_PTRACE"},
    {CAP_SYS_PACCT, "CAP_SYS_PACCT"},
    {CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
    {CAP_SYS_BOOT, "CAP_SYS_BOOT"},
    {CAP_SYS_NICE, "CAP_SYS_NICE"},
    {CAP_SYS_RESOURCE, "CAP_SYS_RESOURCE"},
    {CAP_SYS_TIME, "CAP_SYS_TIME"},
    {CAP_SYS_TTY_CONFIG, "CAP_SYS_TTY_CONFIG"},
    {CAP_MKNOD, "CAP_MKNOD"},
    {CAP_LEASE, "CAP_LEASE"},
    {CAP_AUDIT_WRITE, "CAP_AUDIT_WRITE"},
    {CAP_AUDIT_CONTROL, "CAP_AUDIT_CONTROL"},
    {CAP_SETFCAP, "CAP_SETFCAP"},
    {CAP_MAC_OVERRIDE, "CAP_MAC_OVERRIDE"},
    {CAP_MAC_ADMIN, "CAP_MAC_ADMIN"},
    {CAP_SYSLOG, "CAP_SYSLOG"},
    {CAP_WAKE_ALARM, "CAP_WAKE_ALARM"},
    {CAP_BLOCK_SUSPEND, "CAP_BLOCK_SUSPEND"},
    {CAP_AUDIT_READ, "CAP_AUDIT_READ"},
#ifdef CAP_PERFMON
    {CAP_PERFMON, "CAP_PERFMON"},
#endif
#ifdef CAP_BPF
    {CAP_BPF, "CAP_BPF"},
#endif
#ifdef CAP_CHECKPOINT_RESTORE
    {CAP_CHECKPOINT_RESTORE, "CAP_CHECKPOINT_RESTORE"},
#endif
};

static_assert(sizeof(kCaps) / sizeof(kCaps[0]) == CAP_LAST_CAP + 1, "a capability of the kernel headers has no name here");

std::string normalize(std::string_view name) {
    std::string n;
    for (char c : name) n += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    if (n != "ALL" && n.rfind("CAP_", 0) != 0) n = "CAP_" + n;
    return n;
}

// Docker's answer for a list of names: the numbers, or the names it does not know.
struct Parsed {
    bool all = false;
    CapSet caps;
};

Parsed parse_names(const std::vector<std::string>& names, std::vector<std::string>& unknown) {
    Parsed p;
    for (const auto& name : names) {
        std::string n = normalize(name);
        if (n == "ALL") {
            p.all = true;
        } else if (auto c = cap_from_name(n)) {
            p.caps.add(*c);
        } else {
            unknown.push_back(n);
        }
    }
    return p;
}

}  // namespace

CapSet::CapSet(std::initializer_list<int> caps) {
    for (int c : caps) add(c);
}

void CapSet::add(int cap) {
    if (cap >= 0 && cap < 64) bits_ |= std::uint64_t{1} << cap;
}

void CapSet::remove(int cap) {
    if (cap >= 0 && cap < 64) bits_ &= ~(std::uint64_t{1} << cap);
}

std::vector<int> CapSet::numbers() const {
    std::vector<int> out;
    for (int c = 0; c < 64; ++c)
        if (has(c)) out.push_back(c);
    return out;
}

std::vector<std::string> CapSet::names() const {
    std::vector<std::string> out;
    for (int c : numbers()) {
        auto n = cap_name(c);
        out.push_back(n.empty() ? "CAP_" + std::to_string(c) : std::string(n));
    }
    return out;
}

std::string_view cap_name(int cap) {
    for (const auto& e : kCaps)
        if (e.number == cap) return e.name;
    return {};
}

std::optional<int> cap_from_name(std::string_view name) {
    std::string n = normalize(name);
    for (const auto& e : kCaps)
        if (n == e.name) return e.number;
    return std::nullopt;
}

int last_known_cap() { return CAP_LAST_CAP; }

int kernel_last_cap() {
    static const int last = [] {
        auto text = sys::read_file_if_exists("/proc/sys/kernel/cap_last_cap");
        auto n = text ? str::parse_int(str::trim(*text)) : std::nullopt;
        // Without /proc (an unusual host), what berth was built for.
        int v = n ? static_cast<int>(*n) : CAP_LAST_CAP;
        return std::min(v, static_cast<int>(CAP_LAST_CAP));
    }();
    return last;
}

CapSet all_caps(int last) {
    CapSet s;
    for (int c = 0; c <= std::min(last, last_known_cap()); ++c) s.add(c);
    return s;
}

CapSet default_caps() {
    return CapSet{CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,     CAP_MKNOD, CAP_NET_RAW, CAP_SETGID,
                  CAP_SETUID, CAP_SETFCAP,      CAP_SETPCAP,          CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL,
                  CAP_AUDIT_WRITE};
}

CapSet resolve_caps(const std::vector<std::string>& add, const std::vector<std::string>& drop, bool privileged, int last) {
    // As Docker: a privileged container gets everything and its --cap-add/--cap-drop are not
    // looked at (so a script passing both keeps working).
    if (privileged) return all_caps(last);
    std::vector<std::string> unknown;
    Parsed a = parse_names(add, unknown);
    Parsed d = parse_names(drop, unknown);
    if (!unknown.empty()) {
        std::vector<std::string> msgs;
        for (const auto& n : unknown) msgs.push_back("unknown capability: \"" + n + "\"");
        throw Error(Errc::invalid, str::join(msgs, "\n"));
    }
    if (add.empty() && drop.empty()) return default_caps();
    if (a.all) return CapSet(all_caps(last).bits() & ~d.caps.bits());
    if (d.all) return a.caps;
    return CapSet((default_caps().bits() & ~d.caps.bits()) | a.caps.bits());
}

ProcessCaps process_caps(const CapSet& caps, bool root_user) {
    ProcessCaps pc;
    pc.bounding = caps;
    if (root_user) {
        pc.permitted = caps;
        pc.effective = caps;
    }
    return pc;
}

namespace {

void drop_bounding(const CapSet& keep) {
    for (int c = 0; c < 64; ++c) {
        if (keep.has(c)) continue;
        // EINVAL: the kernel has no capability c (numbers past cap_last_cap), nothing to drop.
        if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            sys::throw_errno("prctl(PR_CAPBSET_DROP)", std::string(cap_name(c).empty() ? std::to_string(c) : cap_name(c)));
    }
}

void set_sets(const ProcessCaps& pc) {
    // capset(2) directly: version 3 takes two 32-bit words per set.
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    for (int w = 0; w < 2; ++w) {
        data[w].permitted = static_cast<std::uint32_t>(pc.permitted.bits() >> (32 * w));
        data[w].effective = static_cast<std::uint32_t>(pc.effective.bits() >> (32 * w));
        data[w].inheritable = static_cast<std::uint32_t>(pc.inheritable.bits() >> (32 * w));
    }
    if (::syscall(SYS_capset, &hdr, data) < 0) sys::throw_errno("capset");
}

void set_ambient(const CapSet& ambient) {
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) sys::throw_errno("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
    for (int c : ambient.numbers())
        if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
            sys::throw_errno("prctl(PR_CAP_AMBIENT_RAISE)", std::string(cap_name(c)));
}

}  // namespace

void apply_caps(const ProcessCaps& pc) {
    drop_bounding(pc.bounding);
    set_sets(pc);
    set_ambient(pc.ambient);
}

void apply_caps(const CapSet& caps) { apply_caps(process_caps(caps, true)); }

void set_user_and_caps(uid_t uid, gid_t gid, const std::vector<gid_t>& groups, const CapSet& caps) {
    ProcessCaps pc = process_caps(caps, uid == 0);
    drop_bounding(pc.bounding);
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) sys::throw_errno("prctl(PR_SET_KEEPCAPS)");
    if (::setgroups(groups.size(), groups.data()) < 0) sys::throw_errno("setgroups");
    if (::setresgid(gid, gid, gid) < 0) sys::throw_errno("setresgid", std::to_string(gid));
    if (::setresuid(uid, uid, uid) < 0) sys::throw_errno("setresuid", std::to_string(uid));
    if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) sys::throw_errno("prctl(PR_SET_KEEPCAPS, 0)");
    set_sets(pc);
    set_ambient(pc.ambient);
}

}  // namespace berth::runtime
