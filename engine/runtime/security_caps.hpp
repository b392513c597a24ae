#pragma once
// Linux capabilities the way Docker handles them: names as Docker accepts them ("CAP_NET_ADMIN",
// "net_admin", "ALL"), Docker's default set, --cap-add/--cap-drop/--privileged resolution (moby
// daemon/pkg/oci/caps), and applying a set in the container's child just before exec
// (capabilities(7)): only syscalls on data prepared beforehand, no libcap.
#include <sys/types.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::runtime {

// A set of capabilities by number (bit n is capability n; the kernel has fewer than 64).
class CapSet {
public:
    constexpr CapSet() = default;
    constexpr explicit CapSet(std::uint64_t bits) : bits_(bits) {}
    CapSet(std::initializer_list<int> caps);

    bool has(int cap) const { return cap >= 0 && cap < 64 && (bits_ >> cap) & 1; }
    void add(int cap);
    void remove(int cap);
    bool empty() const { return bits_ == 0; }
    std::uint64_t bits() const { return bits_; }
    std::vector<int> numbers() const;        // ascending
    std::vector<std::string> names() const;  // "CAP_CHOWN", ..., ascending by number
    bool operator==(const CapSet&) const = default;

private:
    std::uint64_t bits_ = 0;
};

// The name of capability `cap` ("CAP_NET_ADMIN"), or "" for a number berth does not know.
std::string_view cap_name(int cap);
// A capability from a name as Docker accepts it: case-insensitive, "CAP_" optional. nullopt for
// an unknown name, and for "ALL" (which is not one capability).
std::optional<int> cap_from_name(std::string_view name);
// The highest capability berth knows by name (CAP_LAST_CAP of the headers it was built with).
int last_known_cap();
// The highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap), at most
// last_known_cap(). Read once.
int kernel_last_cap();
// Every capability up to `last`: what --privileged and --cap-add ALL give.
CapSet all_caps(int last = kernel_last_cap());
// Docker's 14 default capabilities (moby daemon/pkg/oci/caps/defaults.go).
CapSet default_caps();

// --cap-add / --cap-drop / --privileged resolved as Docker does (moby caps.TweakCapabilities):
//   privileged            every capability (add and drop are not looked at)
//   "ALL" in add          every capability except the dropped ones
//   "ALL" in drop         only the added ones
//   otherwise             the defaults, minus drop, plus add (a cap both added and dropped stays)
// Names are case-insensitive with "CAP_" optional. Unknown names are one berth::Error(invalid)
// naming each of them as Docker does: `unknown capability: "CAP_FOO"`.
CapSet resolve_caps(const std::vector<std::string>& add, const std::vector<std::string>& drop, bool privileged,
                    int last = kernel_last_cap());

// The five sets a process ends up with (capabilities(7)).
struct ProcessCaps {
    CapSet bounding, permitted, effective, inheritable, ambient;
};

// Docker's rule since CVE-2022-24769 (moby 20.10.14): the container's capabilities always form
// the bounding set; root keeps them permitted and effective; any other user has none (it can
// only gain them through file capabilities, limited by the bounding set); inheritable and
// ambient are empty.
ProcessCaps process_caps(const CapSet& caps, bool root_user);

// In the child, before exec, on the process as it is (no uid change): drops from the bounding
// set everything not in pc.bounding (PR_CAPBSET_DROP needs CAP_SETPCAP, so this goes first),
// sets permitted/effective/inheritable with capset(2), clears the ambient set. Throws sys::Error
// naming the step that failed.
void apply_caps(const ProcessCaps& pc);
// apply_caps(process_caps(caps, true)): a process that stays root.
void apply_caps(const CapSet& caps);

// In the child, before exec: becomes uid/gid with `groups` and ends with `caps` applied by
// Docker's rule for that user. The bounding set is trimmed while CAP_SETPCAP is still effective;
// PR_SET_KEEPCAPS keeps the permitted set across setresuid (which would otherwise clear it when
// leaving uid 0); then capset sets the final sets and the ambient set is cleared.
void set_user_and_caps(uid_t uid, gid_t gid, const std::vector<gid_t>& groups, const CapSet& caps);

}  // namespace berth::runtime
