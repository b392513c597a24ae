// Pure: Docker's unit conversions, device rules and the validation pass (no I/O here).
#include <cmath>

#include "cgroups/cgroups.hpp"
#include "sys/strings.hpp"

namespace berth::cgroups {

namespace {

// dockerd's bounds (daemon/daemon_unix.go): shares as the kernel clamps them (MIN_SHARES,
// MAX_SHARES), and the smallest memory limit it lets a container start with.
constexpr std::uint64_t kMinShares = 2;
constexpr std::uint64_t kMaxShares = 262144;
constexpr std::int64_t kMinMemory = 6 * 1024 * 1024;

std::string to_s(std::int64_t v) {
    return std::to_string(v);
}

}  // namespace

std::uint64_t shares_to_weight(std::uint64_t shares) {
    if (shares == 0) return 0;
    if (shares <= kMinShares) return 1;
    if (shares >= kMaxShares) return 10000;
    // A quadratic in log2(shares) through (2 -> 1), (1024 -> 100), (262144 -> 10000): the
    // exponent of 10 is (l^2 + 125 l) / 612 - 7/34.
    double l = std::log2(static_cast<double>(shares));
    double exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    return static_cast<std::uint64_t>(std::ceil(std::pow(10.0, exponent)));
}

CpuBandwidth nano_cpus_to_bandwidth(std::int64_t nano_cpus) {
    CpuBandwidth b;
    b.period = 100000;  // 100 ms, Docker's period for --cpus (kernel sched-bwc.rst)
    b.quota = nano_cpus * static_cast<std::int64_t>(b.period) / 1000000000;
    return b;
}

std::uint64_t blkio_weight_to_io_weight(std::uint64_t weight) {
    if (weight == 0) return 0;
    if (weight < 10) weight = 10;
    return 1 + (weight - 10) * 9999 / 990;
}

std::int64_t memsw_to_swap_max(std::int64_t memory_swap, std::int64_t memory) {
    if (memory_swap < 0 || memory < 0) return -1;
    return memory_swap > memory ? memory_swap - memory : 0;
}

std::optional<std::set<unsigned>> parse_cpu_list(std::string_view list) {
    std::set<unsigned> out;
    auto t = str::trim(list);
    if (t.empty()) return out;
    for (auto& part : str::split(t, ',')) {
        auto p = str::trim(part);
        auto [lo_s, hi_s] = str::split_once(p, '-');
        auto lo = str::parse_uint(str::trim(lo_s));
        if (!lo || *lo > 65535) return std::nullopt;
        std::uint64_t hi = *lo;
        if (hi_s) {
            auto h = str::parse_uint(str::trim(*hi_s));
            if (!h || *h < *lo || *h > 65535) return std::nullopt;
            hi = *h;
        }
        for (auto c = *lo; c <= hi; ++c) out.insert(static_cast<unsigned>(c));
    }
    return out;
}

int Layout::cpu_count() const {
    auto s = parse_cpu_list(cpus);
    return s && !s->empty() ? static_cast<int>(s->size()) : 1;
}

std::string DeviceRule::to_string() const {
    auto num = [](std::int64_t v) { return v < 0 ? std::string("*") : std::to_string(v); };
    std::string s(1, type);
    s += ' ';
    s += num(major);
    s += ':';
    s += num(minor);
    s += ' ';
    s += access;
    return s;
}

std::optional<DeviceRule> DeviceRule::parse(std::string_view text, bool allow) {
    DeviceRule r;
    r.allow = allow;
    auto parts = str::split(str::trim(text), ' ');
    std::erase_if(parts, [](const std::string& p) { return p.empty(); });
    if (parts.empty() || parts.size() > 3 || parts[0].size() != 1) return std::nullopt;
    r.type = parts[0][0];
    if (r.type != 'a' && r.type != 'c' && r.type != 'b') return std::nullopt;
    if (parts.size() == 1) {
        if (r.type != 'a') return std::nullopt;
        return r;
    }
    auto [maj, min] = str::split_once(parts[1], ':');
    if (!min) return std::nullopt;
    auto num = [](std::string_view s) -> std::optional<std::int64_t> {
        if (s == "*") return -1;
        auto v = str::parse_int(s);
        if (!v || *v < 0 || *v > 0xFFFFFFFFLL) return std::nullopt;
        return *v;
    };
    auto ma = num(maj);
    auto mi = num(*min);
    if (!ma || !mi) return std::nullopt;
    r.major = *ma;
    r.minor = *mi;
    r.access = parts.size() == 3 ? parts[2] : "rwm";
    if (r.access.empty() || r.access.size() > 3) return std::nullopt;
    for (char c : r.access) {
        if (c != 'r' && c != 'w' && c != 'm') return std::nullopt;
    }
    return r;
}

std::vector<DeviceRule> default_device_rules() {
    // moby oci/defaults.go: deny all, mknod of any char/block device, then the usual nodes.
    return {
        {false, 'a', -1, -1, "rwm"}, {true, 'c', -1, -1, "m"},  // mknod c *:*
        {true, 'b', -1, -1, "m"},                               // mknod b *:*
        {true, 'c', 1, 3, "rwm"},                               // /dev/null
        {true, 'c', 1, 5, "rwm"},                               // /dev/zero
        {true, 'c', 1, 7, "rwm"},                               // /dev/full
        {true, 'c', 1, 8, "rwm"},                               // /dev/random
        {true, 'c', 1, 9, "rwm"},                               // /dev/urandom
        {true, 'c', 5, 0, "rwm"},                               // /dev/tty
        {true, 'c', 5, 1, "rwm"},                               // /dev/console
        {true, 'c', 5, 2, "rwm"},                               // /dev/ptmx
        {true, 'c', 136, -1, "rwm"},                            // /dev/pts/*
        {true, 'c', 10, 200, "rwm"},                            // /dev/net/tun
    };
}

Checked check(const Layout& layout, const Resources& in, bool update) {
    Checked c;
    c.effective = in;
    Resources& r = c.effective;
    const bool v2 = layout.version == Version::v2;
    auto error = [&](std::string m) { c.errors.push_back(std::move(m)); };
    auto cannot = [&](std::string m) {
        c.unsupported = true;
        c.errors.push_back(std::move(m));
    };
    // Where the knob would be, for the message: v1 names the hierarchy's file, v2 the root's
    // cgroup.controllers, which lacks the controller.
    auto where = [&](std::string_view controller, std::string_view file) {
        if (v2)
            return (layout.root / "cgroup.controllers").string() + " lists no " + std::string(controller) + " for " +
                   std::string(file);
        auto it = layout.hierarchies.find(std::string(controller));
        fs::path dir = it != layout.hierarchies.end() ? it->second : layout.root / controller;
        return (dir / file).string() + " does not exist";
    };
    auto missing = [&](std::string_view flag, std::string_view value, std::string_view controller,
                       std::string_view file) {
        cannot(std::string(flag) + "=" + std::string(value) + " cannot be enforced: no " + std::string(controller) +
               " cgroup controller on this host (" + where(controller, file) + ")");
    };

    // Memory.
    const bool has_memory = layout.has("memory");
    const char* mem_file = v2 ? "memory.max" : "memory.limit_in_bytes";
    if (r.memory && *r.memory == 0) r.memory.reset();
    if (r.memory && *r.memory > 0 && *r.memory < kMinMemory) error("Minimum memory limit allowed is 6MB");
    if (r.memory && *r.memory < -1) error("invalid memory limit " + to_s(*r.memory));
    if (r.memory && *r.memory > 0 && !has_memory) missing("--memory", to_s(*r.memory), "memory", mem_file);
    if (r.memory_swap && *r.memory_swap == 0) r.memory_swap.reset();
    if (r.memory_swap && *r.memory_swap < -1) error("invalid memory+swap limit " + to_s(*r.memory_swap));
    if (r.memory && *r.memory > 0 && r.memory_swap.value_or(0) != -1 && !layout.swap_accounting) {
        c.warnings.push_back(
            "Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited "
            "without swap.");
        r.memory_swap.reset();
    } else if (r.memory && *r.memory > 0 && r.memory_swap && *r.memory_swap > 0 && *r.memory_swap < *r.memory) {
        error("Minimum memoryswap limit should be larger than memory limit, see usage");
    } else if (!r.memory && r.memory_swap && *r.memory_swap > 0 && !update) {
        error("You should always set the Memory limit when using Memoryswap limit, see usage");
    } else if (r.memory && *r.memory > 0 && !r.memory_swap && !update) {
        r.memory_swap = *r.memory * 2;  // Docker's default: as much swap as memory
    } else if (r.memory && *r.memory == -1 && !r.memory_swap) {
        r.memory_swap = -1;  // unlimited memory takes swap with it
    }
    if (r.memory_swap && !layout.swap_accounting) r.memory_swap.reset();
    if (r.memory_swappiness) {
        if (v2) {
            c.warnings.push_back(
                "Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory "
                "swappiness discarded.");
            r.memory_swappiness.reset();
        } else if (*r.memory_swappiness < 0 || *r.memory_swappiness > 100) {
            error("Invalid value: " + to_s(*r.memory_swappiness) + ", valid memory swappiness range is 0-100");
        } else if (!has_memory) {
            missing("--memory-swappiness", to_s(*r.memory_swappiness), "memory", "memory.swappiness");
        }
    }
    if (r.memory_reservation && *r.memory_reservation == 0) r.memory_reservation.reset();
    if (r.memory_reservation) {
        if (*r.memory_reservation > 0 && *r.memory_reservation < kMinMemory) {
            error("Minimum memory reservation allowed is 6MB");
        } else if (*r.memory_reservation < -1) {
            error("invalid memory reservation " + to_s(*r.memory_reservation));
        }
        if (r.memory && *r.memory > 0 && *r.memory_reservation > *r.memory) {
            error("Minimum memory limit can not be less than memory reservation limit, see usage");
        }
        if (!has_memory) {
            missing("--memory-reservation", to_s(*r.memory_reservation), "memory",
                    v2 ? "memory.low" : "memory.soft_limit_in_bytes");
        }
    }
    if (r.oom_kill_disable) {
        if (v2 || !has_memory) {
            if (*r.oom_kill_disable) {
                c.warnings.push_back("Your kernel does not support OomKillDisable. OomKillDisable discarded.");
            }
            r.oom_kill_disable.reset();
        } else if (*r.oom_kill_disable && !r.memory && !update) {
            c.warnings.push_back(
                "OOM killer is disabled for the container, but no memory limit is set, this can result in the "
                "system running out of resources.");
        }
    }

    // CPU.
    const bool has_cpu = layout.has("cpu");
    if (r.cpu_shares && *r.cpu_shares == 0) r.cpu_shares.reset();
    if (r.cpu_shares) {
        if (*r.cpu_shares < kMinShares) {
            c.warnings.push_back("Changing requested CPUShares of " + std::to_string(*r.cpu_shares) +
                                 " to minimum allowed of " + std::to_string(kMinShares));
            r.cpu_shares = kMinShares;
        } else if (*r.cpu_shares > kMaxShares) {
            c.warnings.push_back("Changing requested CPUShares of " + std::to_string(*r.cpu_shares) +
                                 " to maximum allowed of " + std::to_string(kMaxShares));
            r.cpu_shares = kMaxShares;
        }
        if (!has_cpu) {
            missing("--cpu-shares", std::to_string(*r.cpu_shares), "cpu", v2 ? "cpu.weight" : "cpu.shares");
        }
    }
    if (r.nano_cpus && *r.nano_cpus == 0) r.nano_cpus.reset();
    if (r.cpu_period && *r.cpu_period == 0) r.cpu_period.reset();
    if (r.cpu_quota && *r.cpu_quota == 0) r.cpu_quota.reset();
    if (r.nano_cpus) {
        if (r.cpu_period) error("Conflicting options: Nano CPUs and CPU Period cannot both be set");
        if (r.cpu_quota) error("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
        int n = layout.cpu_count();
        if (*r.nano_cpus < 0 || *r.nano_cpus > static_cast<std::int64_t>(n) * 1000000000) {
            error("Range of CPUs is from 0.01 to " + std::to_string(n) + ".00, as there are only " + std::to_string(n) +
                  " CPUs available");
        }
        if (!has_cpu) {
            cannot(
                "NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is "
                "not mounted (" +
                where("cpu", v2 ? "cpu.max" : "cpu.cfs_quota_us") + ")");
        }
    }
    if (r.cpu_period && (*r.cpu_period < 1000 || *r.cpu_period > 1000000)) {
        error("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
    }
    if (r.cpu_quota && *r.cpu_quota > 0 && *r.cpu_quota < 1000) {
        error("CPU cfs quota can not be less than 1ms (i.e. 1000)");
    }
    if (r.cpu_quota && *r.cpu_quota < -1) error("invalid CPU cfs quota " + to_s(*r.cpu_quota));
    if ((r.cpu_period || r.cpu_quota) && !has_cpu) {
        missing(r.cpu_quota ? "--cpu-quota" : "--cpu-period",
                r.cpu_quota ? to_s(*r.cpu_quota) : std::to_string(*r.cpu_period), "cpu",
                v2 ? "cpu.max" : "cpu.cfs_quota_us");
    }

    // Cpuset.
    auto check_set = [&](const std::optional<std::string>& value, const std::string& available, const char* what,
                         const char* flag, const char* file) {
        if (!value || value->empty()) return;
        auto want = parse_cpu_list(*value);
        if (!want) {
            error("Invalid value " + *value + " for cpuset " + what);
            return;
        }
        auto have = parse_cpu_list(available);
        if (have && !available.empty()) {
            for (auto n : *want) {
                if (!have->count(n)) {
                    error(std::string("Requested ") + (std::string_view(what) == "cpus" ? "CPUs" : "memory nodes") +
                          " are not available - requested " + *value + ", available: " + available);
                    break;
                }
            }
        }
        if (!layout.has("cpuset")) missing(flag, *value, "cpuset", file);
    };
    check_set(r.cpuset_cpus, layout.cpus, "cpus", "--cpuset-cpus", "cpuset.cpus");
    check_set(r.cpuset_mems, layout.mems, "mems", "--cpuset-mems", "cpuset.mems");
    if (r.cpuset_cpus && r.cpuset_cpus->empty()) r.cpuset_cpus.reset();
    if (r.cpuset_mems && r.cpuset_mems->empty()) r.cpuset_mems.reset();

    // Pids.
    if (r.pids_limit && *r.pids_limit <= 0) r.pids_limit = -1;  // dockerd: 0 and negatives mean unlimited
    if (r.pids_limit && *r.pids_limit > 0 && !layout.has("pids")) {
        missing("--pids-limit", to_s(*r.pids_limit), "pids", "pids.max");
    }
    if (r.pids_limit && *r.pids_limit == -1 && !layout.has("pids")) r.pids_limit.reset();

    // Block I/O weight. Whether a weight file exists is only known once the dir is made (on v1
    // BFQ-only kernels, blkio.weight is absent and blkio.bfq.weight appears in child cgroups);
    // the drivers warn and discard then, as dockerd does.
    if (r.blkio_weight && *r.blkio_weight == 0) r.blkio_weight.reset();
    if (r.blkio_weight && (*r.blkio_weight < 10 || *r.blkio_weight > 1000)) {
        error("Range of blkio weight is from 10 to 1000");
    }
    if (r.blkio_weight && !layout.has(v2 ? "io" : "blkio")) {
        c.warnings.push_back(
            "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.");
        r.blkio_weight.reset();
    }

    // Devices.
    if (update) {
        r.devices.reset();
    } else {
        if (!r.devices) r.devices = default_device_rules();
        for (auto& d : *r.devices) {
            if ((d.type != 'a' && d.type != 'b' && d.type != 'c') || d.access.empty() ||
                d.access.find_first_not_of("rwm") != std::string::npos) {
                error("invalid device cgroup rule \"" + d.to_string() + "\"");
            }
        }
        bool all_allowed = r.devices->size() == 1 && (*r.devices)[0].allow && (*r.devices)[0].type == 'a' &&
                           (*r.devices)[0].access.find_first_not_of("rwm") == std::string::npos &&
                           (*r.devices)[0].access.size() == 3;
        if (r.devices->empty() || all_allowed) {
            r.devices->clear();  // nothing to restrict (privileged): the parent already allows all
        } else if (!v2 && !layout.has("devices")) {
            cannot("device rules (" + (*r.devices)[0].to_string() +
                   ", ...) cannot be enforced: no devices cgroup controller on this host (" +
                   where("devices", "devices.deny") + ")");
        }
    }
    return c;
}

}  // namespace berth::cgroups
