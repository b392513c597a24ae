// cgroup v1 pids controller (Documentation/admin-guide/cgroup-v1/pids.rst).
#include "cgroups/cgroupfs.hpp"
#include "cgroups/v1_controllers.hpp"
#include "sys/fs.hpp"

namespace berth::cgroups::detail::v1 {

void apply_pids(const fs::path& dir, const Resources& r) {
    if (!r.pids_limit) return;
    write_value(dir / "pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max");
}

void pids_stats(const fs::path& dir, Stats& s) {
    if (!sys::exists(dir / "pids.current")) return;
    s.pids_current = read_uint(dir / "pids.current");
    s.pids_limit = read_uint_or_max(dir / "pids.max");
}

}  // namespace berth::cgroups::detail::v1
