// cgroup v1 memory controller (Documentation/admin-guide/cgroup-v1/memory.rst).
#include <limits>

#include "cgroups/cgroupfs.hpp"
#include "cgroups/v1_controllers.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"

namespace berth::cgroups::detail::v1 {

namespace {

constexpr std::int64_t kUnlimited = std::numeric_limits<std::int64_t>::max();

// "No limit" reads back as PAGE_COUNTER_MAX pages (9223372036854771712 on 4 KiB pages).
bool is_unlimited(std::int64_t v) {
    return v < 0 || v >= (std::int64_t{1} << 62);
}
std::int64_t as_limit(std::int64_t v) {
    return is_unlimited(v) ? kUnlimited : v;
}
std::string limit_text(std::int64_t v) {
    return v < 0 ? "-1" : std::to_string(v);
}

}  // namespace

void apply_memory(const fs::path& dir, const Resources& r, bool update) {
    const auto limit = dir / "memory.limit_in_bytes";
    const auto memsw = dir / "memory.memsw.limit_in_bytes";
    if (r.memory_swap) {
        // The kernel keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes and rejects a
        // write that would break it (EINVAL), so raise memsw first when it grows and lower the
        // limit first when memsw shrinks.
        std::int64_t want = as_limit(*r.memory_swap);
        std::int64_t current = as_limit(read_int(memsw));
        if (want >= current) {
            write_value(memsw, limit_text(*r.memory_swap));
            if (r.memory) write_value(limit, limit_text(*r.memory));
        } else {
            if (r.memory) write_value(limit, limit_text(*r.memory));
            write_value(memsw, limit_text(*r.memory_swap));
        }
    } else if (r.memory) {
        if (update && sys::exists(memsw)) {
            std::int64_t current = as_limit(read_int(memsw));
            if (as_limit(*r.memory) > current) {
                throw_error(Errc::invalid,
                            "Memory limit should be smaller than already set memoryswap limit, update the "
                            "memoryswap at the same time");
            }
        }
        write_value(limit, limit_text(*r.memory));
    }
    if (r.memory_reservation) write_value(dir / "memory.soft_limit_in_bytes", limit_text(*r.memory_reservation));
    if (r.memory_swappiness) write_value(dir / "memory.swappiness", std::to_string(*r.memory_swappiness));
    if (r.oom_kill_disable) write_value(dir / "memory.oom_control", *r.oom_kill_disable ? "1" : "0");
}

void memory_stats(const fs::path& dir, Stats& s) {
    if (!sys::exists(dir / "memory.usage_in_bytes")) return;
    s.memory_usage = read_uint(dir / "memory.usage_in_bytes");
    if (sys::exists(dir / "memory.max_usage_in_bytes"))
        s.memory_max_usage = read_uint(dir / "memory.max_usage_in_bytes");
    std::int64_t limit = read_int(dir / "memory.limit_in_bytes");
    std::uint64_t host = host_memory_bytes();
    s.memory_limited = !is_unlimited(limit);
    s.memory_limit = s.memory_limited ? std::min<std::uint64_t>(static_cast<std::uint64_t>(limit), host) : host;
    s.memory_stat = read_keyed(dir / "memory.stat");
    auto get = [&](const char* hierarchical, const char* local) -> std::uint64_t {
        if (auto it = s.memory_stat.find(hierarchical); it != s.memory_stat.end()) return it->second;
        if (auto it = s.memory_stat.find(local); it != s.memory_stat.end()) return it->second;
        return 0;
    };
    s.memory_cache = get("total_cache", "cache");
    s.memory_inactive_file = get("total_inactive_file", "inactive_file");
    s.oom_kills = oom_kills(dir);
}

std::uint64_t oom_kills(const fs::path& dir) {
    // memory.oom_control: "oom_kill_disable 0\nunder_oom 0\noom_kill <n>" (oom_kill since 4.13).
    auto m = read_keyed_if_exists(dir / "memory.oom_control");
    auto it = m.find("oom_kill");
    return it == m.end() ? 0 : it->second;
}

}  // namespace berth::cgroups::detail::v1
