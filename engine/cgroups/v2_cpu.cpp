// cgroup v2 cpu and cpuset controllers (cgroup-v2.rst, "CPU" and "Cpuset").
#include "cgroups/cgroupfs.hpp"
#include "cgroups/v2_controllers.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"

namespace berth::cgroups::detail::v2 {

void apply_cpu(const fs::path& dir, const Resources& r) {
    if (r.cpu_shares) write_value(dir / "cpu.weight", std::to_string(shares_to_weight(*r.cpu_shares)));

    // cpu.max is "$MAX $PERIOD" in one file; "max" is no limit.
    std::optional<std::string> quota;
    std::optional<std::uint64_t> period = r.cpu_period;
    if (r.nano_cpus) {
        auto b = nano_cpus_to_bandwidth(*r.nano_cpus);
        quota = std::to_string(b.quota);
        period = b.period;
    } else if (r.cpu_quota) {
        quota = *r.cpu_quota < 0 ? "max" : std::to_string(*r.cpu_quota);
    } else if (period) {
        // Only the period changes (docker update --cpu-period): keep the quota in place.
        auto cur = str::split(read_value(dir / "cpu.max"), ' ');
        quota = cur.empty() || cur[0].empty() ? "max" : cur[0];
    }
    if (!quota) return;
    std::string value = *quota;
    if (period) value += " " + std::to_string(*period);
    write_value(dir / "cpu.max", value);
}

void apply_cpuset(const fs::path& dir, const Resources& r) {
    if (r.cpuset_cpus) write_value(dir / "cpuset.cpus", *r.cpuset_cpus);
    if (r.cpuset_mems) write_value(dir / "cpuset.mems", *r.cpuset_mems);
}

void cpu_stats(const fs::path& dir, Stats& s) {
    // cpu.stat is always there (core accounting); the throttling keys need the cpu controller.
    auto m = read_keyed_if_exists(dir / "cpu.stat");
    s.cpu_usage_ns = m["usage_usec"] * 1000;
    s.cpu_user_ns = m["user_usec"] * 1000;
    s.cpu_system_ns = m["system_usec"] * 1000;
    s.cpu_periods = m["nr_periods"];
    s.cpu_throttled_periods = m["nr_throttled"];
    s.cpu_throttled_ns = m["throttled_usec"] * 1000;
}

}  // namespace berth::cgroups::detail::v2
