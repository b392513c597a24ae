#pragma once
// bpf(2), which glibc does not wrap: loading a program and attaching it (used for cgroup v2
// device filters, which have no devices.* files).
#include <cstddef>
#include <cstdint>

#include "sys/fd.hpp"

struct bpf_insn;

namespace berth::sys {

// bpf(BPF_PROG_LOAD). A program the verifier rejects throws sys::Error whose subject carries
// the verifier's log. license: the kernel only checks it before letting a program call
// GPL-only helpers.
unique_fd bpf_prog_load(std::uint32_t prog_type, const bpf_insn* insns, std::size_t count, const char* license);

// bpf(BPF_PROG_ATTACH): attaches prog_fd to target_fd (for BPF_CGROUP_*, a cgroup dir fd).
void bpf_prog_attach(int target_fd, int prog_fd, std::uint32_t attach_type, std::uint32_t flags);

}  // namespace berth::sys
