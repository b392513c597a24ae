#pragma once
// Device rules as a BPF_PROG_TYPE_CGROUP_DEVICE program, for cgroup v2, which has no devices.*
// files: the kernel runs the programs attached to a task's cgroup2 cgroup on every open/mknod of
// a device node and refuses access when one returns 0 (cgroup-v2.rst, "Device controller";
// the context is struct bpf_cgroup_dev_ctx in include/uapi/linux/bpf.h).
//
// Semantics follow the v1 devices cgroup as Docker's rule lists use it: the rules are read last
// to first and the first that matches decides. An allow rule matches when the request's access
// (read/write/mknod) lies within the rule's; a deny rule when they share any bit. A request no
// rule matches is denied.
#include <linux/bpf.h>

#include <vector>

#include "cgroups/cgroups.hpp"

namespace berth::cgroups::detail {

// Errc::invalid for a rule the program cannot express (type other than a/b/c, numbers beyond
// 2^31, access outside "rwm").
std::vector<bpf_insn> device_filter(const std::vector<DeviceRule>& rules);

}  // namespace berth::cgroups::detail
