// cgroup v1 cpu and cpuacct controllers (scheduler/sched-bwc.rst, cgroup-v1/cpuacct.rst).
#include <unistd.h>

#include <cerrno>

#include "cgroups/cgroupfs.hpp"
#include "cgroups/v1_controllers.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"

namespace berth::cgroups::detail::v1 {

void apply_cpu(const fs::path& dir, const Resources& r) {
    if (r.cpu_shares) write_value(dir / "cpu.shares", std::to_string(*r.cpu_shares));

    std::optional<std::uint64_t> period = r.cpu_period;
    std::optional<std::int64_t> quota = r.cpu_quota;
    if (r.nano_cpus) {
        auto b = nano_cpus_to_bandwidth(*r.nano_cpus);
        period = b.period;
        quota = b.quota;
    }
    const auto period_file = dir / "cpu.cfs_period_us";
    const auto quota_file = dir / "cpu.cfs_quota_us";
    if (period && quota) {
        // The kernel checks quota against the period in place at each write (and against the
        // parent's bandwidth), so one order can fail where the other succeeds.
        try {
            write_value(period_file, std::to_string(*period));
        } catch (const sys::Error& e) {
            if (e.err() != EINVAL) throw;
            write_value(quota_file, std::to_string(*quota));
            write_value(period_file, std::to_string(*period));
            return;
        }
        write_value(quota_file, std::to_string(*quota));
    } else if (period) {
        write_value(period_file, std::to_string(*period));
    } else if (quota) {
        write_value(quota_file, std::to_string(*quota));
    }
}

void cpu_stats(const fs::path& dir, Stats& s) {
    // cpu.stat: nr_periods, nr_throttled, throttled_time (ns).
    auto m = read_keyed_if_exists(dir / "cpu.stat");
    s.cpu_periods = m["nr_periods"];
    s.cpu_throttled_periods = m["nr_throttled"];
    s.cpu_throttled_ns = m["throttled_time"];
}

void cpuacct_stats(const fs::path& dir, Stats& s) {
    if (!sys::exists(dir / "cpuacct.usage")) return;
    s.cpu_usage_ns = read_uint(dir / "cpuacct.usage");
    s.cpu_per_cpu_ns.clear();
    if (auto per = read_value_if_exists(dir / "cpuacct.usage_percpu")) {
        for (auto& f : str::split(*per, ' ')) {
            if (f.empty()) continue;
            auto v = str::parse_uint(f);
            if (!v) throw_error(Errc::corrupt, "parse " + (dir / "cpuacct.usage_percpu").string() + ": \"" + f + "\"");
            s.cpu_per_cpu_ns.push_back(*v);
        }
    }
    // cpuacct.usage_user/usage_sys are nanoseconds; cpuacct.stat (older kernels) is in USER_HZ.
    if (sys::exists(dir / "cpuacct.usage_user") && sys::exists(dir / "cpuacct.usage_sys")) {
        s.cpu_user_ns = read_uint(dir / "cpuacct.usage_user");
        s.cpu_system_ns = read_uint(dir / "cpuacct.usage_sys");
    } else {
        auto m = read_keyed_if_exists(dir / "cpuacct.stat");
        long hz = ::sysconf(_SC_CLK_TCK);
        if (hz <= 0) hz = 100;
        s.cpu_user_ns = m["user"] * (1000000000ULL / static_cast<std::uint64_t>(hz));
        s.cpu_system_ns = m["system"] * (1000000000ULL / static_cast<std::uint64_t>(hz));
    }
}

}  // namespace berth::cgroups::detail::v1
