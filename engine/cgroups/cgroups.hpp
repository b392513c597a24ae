#pragma once
// A container's cgroup, behind one interface for cgroup v1 (one hierarchy per controller,
// including hybrid hosts that also mount a cgroup2 tree beside them) and cgroup v2 (one unified
// tree). Used by the CLI (create with limits before start, stats, pause/unpause, update, rm) and
// by berth-shim, so this library uses only libc, the standard library and berth_sys.
//
// Paths: a container's cgroup is <controller root>/<parent>/<name>, where parent is
// store::Paths::prefix ("berth" or "berth-<8 hex>"), or the path docker run --cgroup-parent
// names ("a/b", made when missing), and name the container ID. On v1 that dir exists once per
// controller hierarchy; on v2 once.
//
// Every file write goes through one helper whose errors read
//   write(/sys/fs/cgroup/memory/berth/<id>/memory.limit_in_bytes, "33554432"): Device or resource busy
// as a sys::Error carrying the errno. A requested limit that this host cannot enforce is a
// berth::Error (Errc::unsupported) naming the file and the value; the only limits that degrade to
// warnings are the ones Docker also degrades (see check() below).
//
// Each root directory is a parameter, so the unit tests run the drivers on temp dirs of fixture
// files (youki's libcgroups does the same).
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace berth::cgroups {

namespace fs = std::filesystem;

enum class Version { v1, v2 };

// What detect() found under a cgroup root.
struct Layout {
    Version version = Version::v1;
    fs::path root;
    // v1: controller name -> the root of its hierarchy ("memory" -> /sys/fs/cgroup/memory,
    // "cpu" and "cpuacct" -> /sys/fs/cgroup/cpu,cpuacct when co-mounted). The named hierarchy
    // systemd mounts is keyed "name=systemd". Empty on v2.
    std::map<std::string, fs::path> hierarchies;
    // v1: the keys of hierarchies. v2: the root's cgroup.controllers.
    std::set<std::string> controllers;
    // v1: memory.memsw.* exist (swapaccount). v2: memory.swap.max exists in a non-root cgroup.
    bool swap_accounting = false;
    // CPUs and memory nodes available to containers ("0-3"), from the root cpuset; used to check
    // --cpuset-cpus/--cpuset-mems and --cpus before anything is created.
    std::string cpus;
    std::string mems;
    // v1 hybrid hosts: the cgroup2 mount beside the v1 hierarchies (root/unified), if any. The
    // v1 driver does not use it; it is reported so callers can tell a hybrid host apart.
    std::optional<fs::path> unified;

    bool has(std::string_view controller) const { return controllers.count(std::string(controller)) != 0; }
    // Number of CPUs in `cpus` (at least 1).
    int cpu_count() const;
};

// Looks at root: a cgroup2 mount (or a dir holding cgroup.controllers) is v2; otherwise every
// v1 hierarchy mounted right under root (read from /proc/self/mountinfo; for a fixture tree that
// is no mount, from the names of its dirs: "memory", "cpu,cpuacct", "systemd", "unified").
// Throws Errc::unsupported when root holds no cgroup filesystem at all.
Layout detect(const fs::path& root = "/sys/fs/cgroup");

// The v1 hierarchies mounted right under root according to a /proc/self/mountinfo text:
// controller -> mount point. Pure; detect() uses it.
std::map<std::string, fs::path> v1_mounts_from_mountinfo(std::string_view mountinfo, const fs::path& root);

// One device cgroup rule, in Docker's / the OCI spec's terms.
struct DeviceRule {
    bool allow = true;
    char type = 'a';          // 'a' (all), 'c' (char), 'b' (block)
    std::int64_t major = -1;  // -1: any ("*")
    std::int64_t minor = -1;  // -1: any ("*")
    std::string access = "rwm";

    // "c 1:3 rwm", "a *:* rwm" (the v1 devices.allow / devices.deny syntax).
    std::string to_string() const;
    // Parses Docker's --device-cgroup-rule syntax ("c 1:3 rwm", "b 8:* r", "a"); nullopt if bad.
    static std::optional<DeviceRule> parse(std::string_view text, bool allow = true);
    bool operator==(const DeviceRule&) const = default;
};

// Docker's default device rules: deny everything, then allow mknod of any char/block device and
// use of /dev/null, zero, full, random, urandom, tty, console, ptmx, pts/* and net/tun.
std::vector<DeviceRule> default_device_rules();

// Limits as Docker's flags give them. Unset fields are left alone (create: the kernel default;
// update: the current value), the way `docker update` changes only what it is given.
struct Resources {
    std::optional<std::int64_t> memory;  // --memory, bytes; -1 unlimited
    // --memory-swap: memory + swap, bytes. -1 unlimited; unset or 0 with --memory set means
    // twice --memory (when the host accounts swap).
    std::optional<std::int64_t> memory_swap;
    std::optional<std::int64_t> memory_reservation;  // --memory-reservation (soft limit), bytes
    std::optional<std::int64_t> memory_swappiness;   // --memory-swappiness, 0..100 (v1 only)
    std::optional<bool> oom_kill_disable;            // --oom-kill-disable (v1 only)
    std::optional<std::uint64_t> cpu_shares;         // --cpu-shares (v1 scale, 2..262144)
    std::optional<std::int64_t> nano_cpus;           // --cpus N as N * 1e9
    std::optional<std::uint64_t> cpu_period;         // --cpu-period, microseconds
    std::optional<std::int64_t> cpu_quota;           // --cpu-quota, microseconds; -1 unlimited
    std::optional<std::string> cpuset_cpus;          // --cpuset-cpus "0-2,4"
    std::optional<std::string> cpuset_mems;          // --cpuset-mems
    std::optional<std::int64_t> pids_limit;          // --pids-limit; 0 or -1 unlimited
    std::optional<std::uint16_t> blkio_weight;       // --blkio-weight 10..1000 (0: unset)
    // Device rules, applied in order. Unset at create means default_device_rules(); a privileged
    // container passes {allow 'a'}. update() never changes them (docker update cannot either).
    std::optional<std::vector<DeviceRule>> devices;
};

// Docker's unit conversions, as pure functions.
//
// cpu.shares (2..262144, default 1024) -> cpu.weight (1..10000, default 100), with the
// log-quadratic mapping current runc (opencontainers/cgroups) and crun use: it keeps the
// defaults aligned (1024 -> 100), which the old linear formula did not (1024 -> 39). 0 stays 0.
std::uint64_t shares_to_weight(std::uint64_t shares);
// --cpus N (as nanocpus) -> CFS quota over Docker's 100 ms period.
struct CpuBandwidth {
    std::int64_t quota = -1;  // microseconds per period; -1 unlimited
    std::uint64_t period = 100000;
};
CpuBandwidth nano_cpus_to_bandwidth(std::int64_t nano_cpus);
// blkio weight (10..1000) -> v2 io.weight (1..10000), as runc converts it. 0 stays 0.
std::uint64_t blkio_weight_to_io_weight(std::uint64_t weight);
// v1 memory+swap -> v2 memory.swap.max (swap alone): -1 stays -1 (max).
std::int64_t memsw_to_swap_max(std::int64_t memory_swap, std::int64_t memory);
// "0-2,4" -> {0,1,2,4}; nullopt when malformed. "" -> {}.
std::optional<std::set<unsigned>> parse_cpu_list(std::string_view list);

// The outcome of checking Resources against a Layout before anything is created.
struct Checked {
    std::vector<std::string> errors;    // any error: nothing may be created or changed
    std::vector<std::string> warnings;  // Docker's wording, for the CLI to print as WARNING:
    bool unsupported = false;           // some error is "this host cannot", not "bad value"
    Resources effective;                // what will be written: discarded fields cleared, swap resolved
};

// Docker's validation (daemon verifyPlatformContainerResources), with one change: a limit this
// host cannot enforce is an error, except where Docker itself only warns about a secondary knob:
// swap without swap accounting ("Memory limited without swap."), --oom-kill-disable and
// --memory-swappiness on v2, and --blkio-weight where no weight file exists. --cpu-shares out
// of 2..262144 is clamped with a warning, as dockerd does. Pure.
Checked check(const Layout& layout, const Resources& resources, bool update = false);

struct Stats {
    // CPU time, nanoseconds. per_cpu is empty on v2 (the kernel does not split it there).
    std::uint64_t cpu_usage_ns = 0;
    std::uint64_t cpu_user_ns = 0;
    std::uint64_t cpu_system_ns = 0;
    std::vector<std::uint64_t> cpu_per_cpu_ns;
    std::uint64_t cpu_periods = 0;  // CFS enforcement periods, and how many of them throttled
    std::uint64_t cpu_throttled_periods = 0;
    std::uint64_t cpu_throttled_ns = 0;
    // Memory, bytes. limit is the host's total memory when the cgroup has no limit (what
    // `docker stats` shows); limited tells the two apart.
    std::uint64_t memory_usage = 0;
    std::uint64_t memory_max_usage = 0;  // v1 max_usage_in_bytes, v2 memory.peak (0 if absent)
    std::uint64_t memory_limit = 0;
    bool memory_limited = false;
    std::uint64_t memory_cache = 0;                    // v1 total_cache, v2 file
    std::uint64_t memory_inactive_file = 0;            // v1 total_inactive_file, v2 inactive_file
    std::map<std::string, std::uint64_t> memory_stat;  // memory.stat as the kernel gives it
    std::uint64_t oom_kills = 0;
    std::uint64_t pids_current = 0;
    std::optional<std::uint64_t> pids_limit;  // nullopt: unlimited
    std::uint64_t blkio_read_bytes = 0;
    std::uint64_t blkio_write_bytes = 0;

    // `docker stats` MEM USAGE: usage minus the inactive page cache, as the docker CLI computes it.
    std::uint64_t memory_usage_no_cache() const {
        return memory_inactive_file < memory_usage ? memory_usage - memory_inactive_file : memory_usage;
    }
};

// The host's total RAM in bytes (sysinfo(2)); what an unlimited cgroup reports as its limit.
std::uint64_t host_memory_bytes();

namespace detail {
class Driver;
}

class Cgroup {
public:
    // Makes the container's cgroup (v1: in every mounted controller hierarchy the engine uses,
    // cpu cpuacct cpuset memory devices freezer blkio pids, plus name=systemd when mounted so
    // the container is grouped there as runc does; v2: one dir, with the controllers enabled in
    // the parents' cgroup.subtree_control) and applies the limits. check() runs first and any
    // error throws before anything is made. If a later step fails, everything this call made is
    // removed again. An existing dir with no processes is reused (never removed on failure); one
    // with processes is Errc::conflict.
    static Cgroup create(const Layout& layout, const std::string& parent, const std::string& name,
                         const Resources& resources);
    // An existing cgroup; Errc::not_found if its dir exists in no controller.
    static Cgroup open(const Layout& layout, const std::string& parent, const std::string& name);

    Cgroup(Cgroup&&) noexcept;
    Cgroup& operator=(Cgroup&&) noexcept;
    ~Cgroup();  // leaves the cgroup in place: it outlives this process (use destroy())

    Version version() const;
    const std::string& name() const;
    // Every dir of this cgroup (v1: one per hierarchy, co-mounted ones once; v2: one).
    std::vector<fs::path> dirs() const;
    // The files a process writes "0" into to move itself in (v1: each hierarchy's cgroup.procs;
    // v2: the one cgroup.procs). Computed here, in the parent, so a freshly cloned child only
    // needs open/write/close on prepared strings (see join_self()).
    std::vector<fs::path> procs_files() const;
    // Warnings from create()/update(), in Docker's words.
    const std::vector<std::string>& warnings() const;

    void add(pid_t pid);
    // docker update: changes only the fields that are set; returns Docker's warnings.
    std::vector<std::string> update(const Resources& resources);

    // docker pause/unpause. freeze() returns once the kernel reports the whole cgroup frozen
    // (v1 freezer.state FROZEN; v2 cgroup.events "frozen 1"), or thaws again and throws.
    void freeze();
    void thaw();
    bool frozen() const;

    Stats stats() const;
    std::vector<pid_t> pids() const;  // sorted, every process in the cgroup
    std::uint64_t oom_kills() const;

    // Sends sig to every process in the cgroup. SIGKILL: v2 cgroup.kill where the kernel has it,
    // otherwise freeze, signal every pid, thaw, repeated until the cgroup is empty (bounded;
    // Errc::failed naming the survivors).
    void kill_all(int sig);
    // Kills what remains, waits (bounded) until empty, removes the dir in every hierarchy, then,
    // with remove_parent, tries the parent dirs too (left alone while other containers use
    // them). A parent the user named (--cgroup-parent) is theirs and stays, as with Docker.
    // Idempotent.
    void destroy(bool remove_parent = true);

private:
    explicit Cgroup(std::unique_ptr<detail::Driver> driver);
    std::unique_ptr<detail::Driver> driver_;
};

// Removes the parent dirs (each hierarchy's <parent>, deepest part first) that create() made,
// where no cgroup is left in them: a parent that still holds one stays. The engine keeps its
// parent between containers, as Docker keeps its "docker" cgroup: removing it with the last
// container and making it again for the next costs two cgroup creations per run, and on v1 the
// first cpuset below the root switches a kernel static key (code patching on every cpu).
// For `system teardown`. Idempotent.
void remove_parent(const Layout& layout, const std::string& parent);

// For a freshly cloned child: writes "0" into each file. Async-signal-safe (open/write/close
// only, no allocation). err is 0, or the errno of the first failure and index that file's.
struct JoinResult {
    int err = 0;
    std::size_t index = 0;
};
JoinResult join_self(const char* const* procs_files, std::size_t count) noexcept;

}  // namespace berth::cgroups
