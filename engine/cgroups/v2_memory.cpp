// cgroup v2 memory controller (cgroup-v2.rst, "Memory").
#include "cgroups/cgroupfs.hpp"
#include "cgroups/v2_controllers.hpp"
#include "sys/fs.hpp"

namespace berth::cgroups::detail::v2 {

namespace {
std::string max_or(std::int64_t v) {
    return v < 0 ? "max" : std::to_string(v);
}
}  // namespace

void apply_memory(const fs::path& dir, const Resources& r) {
    if (r.memory) write_value(dir / "memory.max", max_or(*r.memory));
    if (r.memory_swap) {
        // v2 limits swap on its own; Docker's value is memory+swap. On `docker update
        // --memory-swap` alone, the memory part is the limit already in place.
        std::int64_t memory = -1;
        if (r.memory) {
            memory = *r.memory;
        } else if (auto cur = read_uint_or_max(dir / "memory.max")) {
            memory = static_cast<std::int64_t>(*cur);
        }
        write_value(dir / "memory.swap.max", max_or(memsw_to_swap_max(*r.memory_swap, memory)));
    }
    // The soft limit: memory.low protects up to this much from reclaim, which is what
    // --memory-reservation asks for (runc maps it the same way).
    if (r.memory_reservation) write_value(dir / "memory.low", max_or(*r.memory_reservation));
}

void memory_stats(const fs::path& dir, Stats& s) {
    if (!sys::exists(dir / "memory.current")) {
        s.memory_limit = host_memory_bytes();
        return;
    }
    s.memory_usage = read_uint(dir / "memory.current");
    if (sys::exists(dir / "memory.peak")) s.memory_max_usage = read_uint(dir / "memory.peak");
    std::uint64_t host = host_memory_bytes();
    auto limit = read_uint_or_max(dir / "memory.max");
    s.memory_limited = limit.has_value();
    s.memory_limit = limit ? std::min(*limit, host) : host;
    s.memory_stat = read_keyed(dir / "memory.stat");
    s.memory_cache = s.memory_stat["file"];
    s.memory_inactive_file = s.memory_stat["inactive_file"];
    s.oom_kills = oom_kills(dir);
}

std::uint64_t oom_kills(const fs::path& dir) {
    auto m = read_keyed_if_exists(dir / "memory.events");
    auto it = m.find("oom_kill");
    return it == m.end() ? 0 : it->second;
}

}  // namespace berth::cgroups::detail::v2
