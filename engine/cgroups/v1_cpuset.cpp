// cgroup v1 cpuset controller (Documentation/admin-guide/cgroup-v1/cpusets.rst).
#include "cgroups/cgroupfs.hpp"
#include "cgroups/v1_controllers.hpp"

namespace berth::cgroups::detail::v1 {

namespace {

void inherit_one(const fs::path& dir, const fs::path& root, const char* file) {
    if (dir == root || !read_value(dir / file).empty()) return;
    const auto parent = dir.parent_path();
    inherit_one(parent, root, file);
    write_value(dir / file, read_value(parent / file));
}

}  // namespace

void inherit_cpuset(const fs::path& dir, const fs::path& hierarchy_root) {
    // cpus before mems is arbitrary; both must be non-empty before a task may join.
    inherit_one(dir, hierarchy_root, "cpuset.cpus");
    inherit_one(dir, hierarchy_root, "cpuset.mems");
}

void apply_cpuset(const fs::path& dir, const Resources& r) {
    if (r.cpuset_cpus) write_value(dir / "cpuset.cpus", *r.cpuset_cpus);
    if (r.cpuset_mems) write_value(dir / "cpuset.mems", *r.cpuset_mems);
}

}  // namespace berth::cgroups::detail::v1
