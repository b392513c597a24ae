#pragma once
// cgroup v1, one controller per file (v1_<controller>.cpp). Each function takes the
// container's dir in that controller's hierarchy, so the unit tests run them on fixture dirs.
// Files: Documentation/admin-guide/cgroup-v1/{memory,cpuacct,cpusets,pids,blkio-controller,
// devices,freezer-subsystem}.rst and scheduler/sched-bwc.rst.
#include <string>
#include <vector>

#include "cgroups/cgroups.hpp"

namespace berth::cgroups::detail::v1 {

// The hierarchies a container joins, by controller key in Layout::hierarchies.
inline constexpr const char* kControllers[] = {"cpu",     "cpuacct", "cpuset", "memory",      "devices",
                                               "freezer", "blkio",   "pids",   "name=systemd"};

// memory: limit, memory+swap (kept >= limit at every step), soft limit, swappiness, OOM killer.
void apply_memory(const fs::path& dir, const Resources& r, bool update);
void memory_stats(const fs::path& dir, Stats& s);
std::uint64_t oom_kills(const fs::path& dir);

// cpu: shares and CFS bandwidth; cpuacct: usage.
void apply_cpu(const fs::path& dir, const Resources& r);
void cpu_stats(const fs::path& dir, Stats& s);
void cpuacct_stats(const fs::path& dir, Stats& s);

// cpuset: a new v1 cpuset cgroup starts with empty cpus and mems and refuses tasks (ENOSPC)
// until they are set, so each new dir copies its parent's first (hierarchy root excluded).
void inherit_cpuset(const fs::path& dir, const fs::path& hierarchy_root);
void apply_cpuset(const fs::path& dir, const Resources& r);

void apply_pids(const fs::path& dir, const Resources& r);
void pids_stats(const fs::path& dir, Stats& s);

// blkio: blkio.weight (CFQ) or blkio.bfq.weight (BFQ); a warning when neither exists.
std::vector<std::string> apply_blkio(const fs::path& dir, const Resources& r);
void blkio_stats(const fs::path& dir, Stats& s);

// devices: each rule written in order to devices.allow or devices.deny.
void apply_devices(const fs::path& dir, const std::vector<DeviceRule>& rules);

void freeze(const fs::path& dir);
void thaw(const fs::path& dir);
bool frozen(const fs::path& dir);

}  // namespace berth::cgroups::detail::v1
