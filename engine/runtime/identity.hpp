#pragma once
// The identity a container process ends up with, applied in the child just before exec:
// capability bounding set, groups, gid, uid, then the capability sets, as Docker has them
// since CVE-2022-24769: root keeps caps in bounding/permitted/effective; any other user keeps
// them only in the bounding set (permitted and effective empty); inheritable and ambient empty.
#include <sys/types.h>

#include <string>
#include <vector>

namespace berth::runtime {

void apply_process_identity(uid_t uid, gid_t gid, const std::vector<gid_t>& groups, const std::vector<int>& caps);

// Loads a compiled seccomp BPF program (struct sock_filter[] bytes) into the calling thread.
// Only syscalls: no libseccomp in the child.
void load_seccomp_program(const std::string& bpf);

// The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap).
int last_cap();

}  // namespace berth::runtime
