#pragma once
// cgroup v2, one controller per file (v2_<controller>.cpp), each taking the container's dir in
// the unified tree (Documentation/admin-guide/cgroup-v2.rst), so the unit tests run them on a
// temp dir of fixture files.
#include <string>
#include <vector>

#include "cgroups/cgroups.hpp"

namespace berth::cgroups::detail::v2 {

// The controllers a container's cgroup gets, when the parent offers them.
inline constexpr const char* kControllers[] = {"cpu", "cpuset", "io", "memory", "pids"};

// Writes "+cpu +memory ..." to dir/cgroup.subtree_control for every controller of kControllers
// that dir/cgroup.controllers offers and that is not enabled yet (children only get the
// controllers their parent enables: "Top-down constraint").
void enable_controllers(const fs::path& dir);

// memory.max, memory.swap.max (swap alone: Docker's memory+swap minus memory), memory.low.
void apply_memory(const fs::path& dir, const Resources& r);
void memory_stats(const fs::path& dir, Stats& s);
std::uint64_t oom_kills(const fs::path& dir);

// cpu.weight (from shares), cpu.max ("$QUOTA $PERIOD"), cpuset.cpus/mems.
void apply_cpu(const fs::path& dir, const Resources& r);
void apply_cpuset(const fs::path& dir, const Resources& r);
void cpu_stats(const fs::path& dir, Stats& s);

void apply_pids(const fs::path& dir, const Resources& r);
void pids_stats(const fs::path& dir, Stats& s);

// io.bfq.weight (1..1000, as blkio) or io.weight (1..10000, converted); a warning if neither.
std::vector<std::string> apply_io(const fs::path& dir, const Resources& r);
void io_stats(const fs::path& dir, Stats& s);

// v2 has no devices files: a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the dir decides
// (see device_filter.hpp).
void apply_devices(const fs::path& dir, const std::vector<DeviceRule>& rules);

// cgroup.freeze, with cgroup.events "frozen" as the kernel's answer.
void freeze(const fs::path& dir);
void thaw(const fs::path& dir);
bool frozen(const fs::path& dir);
// cgroup.events "populated": any process in this cgroup or below.
bool populated(const fs::path& dir);

}  // namespace berth::cgroups::detail::v2
