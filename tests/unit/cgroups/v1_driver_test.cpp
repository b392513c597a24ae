// The cgroup v1 driver on fixture trees: stats parsing and what create/update write. (The same
// driver runs against the real kernel in tests/privileged/cgroups.)
#include <catch2/catch.hpp>

#include "cgroups/cgroups.hpp"
#include "fixture.hpp"
#include "sys/error.hpp"

using namespace berth;
using namespace berth::cgroups;
using cgtest::get;
using cgtest::put;
using cgtest::put_all;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t MiB = 1024 * 1024;
constexpr const char* kUnlimited = "9223372036854771712\n";

// A hybrid-style v1 root. The container dir berth-test/<name> exists in every hierarchy with
// the files a fresh kernel cgroup has; cpuset's parent starts empty, as a new v1 cpuset does.
struct V1Tree {
    sys::TempDir tmp{fs::temp_directory_path(), "berth-unit-cg1-"};
    fs::path root = tmp.path();

    V1Tree() {
        put(root / "cpuset" / "cpuset.cpus", "0-1\n");
        put(root / "cpuset" / "cpuset.mems", "0\n");
        put(root / "cpuset" / "cpuset.effective_cpus", "0-1\n");
        put(root / "cpuset" / "cpuset.effective_mems", "0\n");
        put(root / "memory" / "memory.memsw.limit_in_bytes", kUnlimited);
        for (const char* c : {"cpu", "cpuacct", "devices", "freezer", "blkio", "pids", "systemd"}) {
            put(root / c / "cgroup.procs", "");
        }
        put_all(root / "cpuset" / "berth-test", {{"cpuset.cpus", "\n"}, {"cpuset.mems", "\n"}, {"cgroup.procs", ""}});
        child("c1");
    }

    fs::path dir(const char* controller, const std::string& name = "c1") const {
        return root / controller / "berth-test" / name;
    }

    void child(const std::string& name) {
        put_all(dir("cpuset", name), {{"cgroup.procs", ""}, {"cpuset.cpus", "\n"}, {"cpuset.mems", "\n"}});
        put_all(dir("memory", name), {{"cgroup.procs", ""},
                                      {"memory.limit_in_bytes", kUnlimited},
                                      {"memory.memsw.limit_in_bytes", kUnlimited},
                                      {"memory.soft_limit_in_bytes", kUnlimited},
                                      {"memory.swappiness", "60\n"},
                                      {"memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"}});
        put_all(dir("cpu", name), {{"cgroup.procs", ""},
                                   {"cpu.shares", "1024\n"},
                                   {"cpu.cfs_period_us", "100000\n"},
                                   {"cpu.cfs_quota_us", "-1\n"}});
        put_all(dir("cpuacct", name), {{"cgroup.procs", ""}});
        put_all(dir("devices", name), {{"cgroup.procs", ""}, {"devices.allow", ""}, {"devices.deny", ""}});
        put_all(dir("freezer", name), {{"cgroup.procs", ""}, {"freezer.state", "THAWED\n"}});
        put_all(dir("blkio", name), {{"cgroup.procs", ""}, {"blkio.bfq.weight", "100\n"}});
        put_all(dir("pids", name), {{"cgroup.procs", ""}, {"pids.max", "max\n"}});
        put_all(dir("systemd", name), {{"cgroup.procs", ""}});
    }

    Layout layout() const { return detect(root); }
};

}  // namespace

TEST_CASE("v1 create writes every controller's files, inheriting cpuset first") {
    V1Tree t;
    Resources r;
    r.memory = 64 * MiB;
    r.memory_reservation = 32 * MiB;
    r.oom_kill_disable = true;
    r.memory_swappiness = 0;
    r.nano_cpus = 500000000;  // --cpus 0.5
    r.cpu_shares = 512;
    r.pids_limit = 20;
    r.cpuset_mems = "0";
    r.blkio_weight = 300;

    auto cg = Cgroup::create(t.layout(), "berth-test", "c1", r);
    CHECK(cg.version() == Version::v1);
    CHECK(cg.warnings().empty());
    CHECK(get(t.dir("memory") / "memory.limit_in_bytes") == std::to_string(64 * MiB));
    CHECK(get(t.dir("memory") / "memory.memsw.limit_in_bytes") == std::to_string(128 * MiB));  // Docker's 2x
    CHECK(get(t.dir("memory") / "memory.soft_limit_in_bytes") == std::to_string(32 * MiB));
    CHECK(get(t.dir("memory") / "memory.oom_control") == "1");
    CHECK(get(t.dir("memory") / "memory.swappiness") == "0");
    CHECK(get(t.dir("cpu") / "cpu.cfs_period_us") == "100000");
    CHECK(get(t.dir("cpu") / "cpu.cfs_quota_us") == "50000");
    CHECK(get(t.dir("cpu") / "cpu.shares") == "512");
    CHECK(get(t.dir("pids") / "pids.max") == "20");
    CHECK(get(t.dir("blkio") / "blkio.bfq.weight") == "300");  // BFQ-only kernel: no blkio.weight
    // The parent copied the root's cpus and mems, the child its parent's; --cpuset-mems wins.
    CHECK(get(t.root / "cpuset" / "berth-test" / "cpuset.cpus") == "0-1");
    CHECK(get(t.root / "cpuset" / "berth-test" / "cpuset.mems") == "0");
    CHECK(get(t.dir("cpuset") / "cpuset.cpus") == "0-1");
    CHECK(get(t.dir("cpuset") / "cpuset.mems") == "0");
    // Docker's device list went in order: deny all, then the allows (the last one stays in the file).
    CHECK(get(t.dir("devices") / "devices.deny") == "a *:* rwm");
    CHECK(get(t.dir("devices") / "devices.allow") == "c 10:200 rwm");

    // Every hierarchy once, name=systemd included; the child joins through each cgroup.procs.
    auto dirs = cg.dirs();
    CHECK(dirs.size() == 9);
    CHECK(std::find(dirs.begin(), dirs.end(), t.dir("systemd")) != dirs.end());
    auto procs = cg.procs_files();
    CHECK(procs.size() == 9);
    CHECK(std::find(procs.begin(), procs.end(), t.dir("freezer") / "cgroup.procs") != procs.end());
}

TEST_CASE("v1 create: the user's cpuset, and a made dir is removed again when a write fails") {
    V1Tree t;
    Resources r;
    r.cpuset_cpus = "1";
    r.devices = std::vector<DeviceRule>{{true, 'a', -1, -1, "rwm"}};
    Cgroup::create(t.layout(), "berth-test", "c1", r);
    CHECK(get(t.dir("cpuset") / "cpuset.cpus") == "1");
    CHECK(get(t.dir("devices") / "devices.deny").empty());  // privileged: no rule written

    // c2 does not exist: create makes empty dirs (no kernel to fill them), the cpuset copy
    // fails on the missing cpuset.cpus, and every dir made is gone again.
    try {
        Cgroup::create(t.layout(), "berth-test", "c2", Resources{});
        FAIL("create should have failed");
    } catch (const sys::Error& e) {
        CHECK(e.err() == ENOENT);
    }
    for (const char* c : {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd"}) {
        CHECK_FALSE(sys::exists(t.dir(c, "c2")));
    }
    CHECK(sys::exists(t.dir("memory")));  // c1 untouched
}

TEST_CASE("v1 update keeps memory <= memory+swap and refuses what Docker refuses") {
    V1Tree t;
    Resources r;
    r.memory = 64 * MiB;
    r.devices = std::vector<DeviceRule>{};
    auto cg = Cgroup::create(t.layout(), "berth-test", "c1", r);
    CHECK(get(t.dir("memory") / "memory.memsw.limit_in_bytes") == std::to_string(128 * MiB));

    Resources more;
    more.memory = 256 * MiB;  // above the memory+swap in place, which is not given
    try {
        cg.update(more);
        FAIL("update should have failed");
    } catch (const Error& e) {
        CHECK(e.kind() == Errc::invalid);
        CHECK(std::string(e.what()).find("update the memoryswap at the same time") != std::string::npos);
    }
    CHECK(get(t.dir("memory") / "memory.limit_in_bytes") == std::to_string(64 * MiB));

    more.memory_swap = 512 * MiB;
    CHECK(cg.update(more).empty());
    CHECK(get(t.dir("memory") / "memory.limit_in_bytes") == std::to_string(256 * MiB));
    CHECK(get(t.dir("memory") / "memory.memsw.limit_in_bytes") == std::to_string(512 * MiB));

    Resources less;
    less.memory = 32 * MiB;
    CHECK(cg.update(less).empty());
    CHECK(get(t.dir("memory") / "memory.limit_in_bytes") == std::to_string(32 * MiB));

    Resources quota;
    quota.cpu_quota = 20000;  // --cpu-quota alone leaves the period
    cg.update(quota);
    CHECK(get(t.dir("cpu") / "cpu.cfs_quota_us") == "20000");
    CHECK(get(t.dir("cpu") / "cpu.cfs_period_us") == "100000\n");
}

TEST_CASE("v1 stats parse cpuacct, cpu.stat, memory, pids and blkio files") {
    V1Tree t;
    put(t.dir("cpuacct") / "cpuacct.usage", "3000000000\n");
    put(t.dir("cpuacct") / "cpuacct.usage_percpu", "1000000000 2000000000 \n");
    put(t.dir("cpuacct") / "cpuacct.usage_user", "2500000000\n");
    put(t.dir("cpuacct") / "cpuacct.usage_sys", "500000000\n");
    put(t.dir("cpu") / "cpu.stat", "nr_periods 20\nnr_throttled 5\nthrottled_time 777\nnr_bursts 0\n");
    put(t.dir("memory") / "memory.usage_in_bytes", "52428800\n");
    put(t.dir("memory") / "memory.max_usage_in_bytes", "60000000\n");
    put(t.dir("memory") / "memory.limit_in_bytes", "67108864\n");
    put(t.dir("memory") / "memory.stat",
        "cache 1000\nrss 2000\ninactive_file 300\ntotal_cache 20971520\ntotal_rss 31457280\n"
        "total_inactive_file 10485760\n");
    put(t.dir("memory") / "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
    put(t.dir("pids") / "pids.current", "4\n");
    put(t.dir("pids") / "pids.max", "20\n");
    put(t.dir("blkio") / "blkio.throttle.io_service_bytes_recursive",
        "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Discard 0\n8:0 Total 12288\n"
        "8:16 Read 100\n8:16 Write 0\nTotal 12388\n");

    auto cg = Cgroup::open(t.layout(), "berth-test", "c1");
    auto s = cg.stats();
    CHECK(s.cpu_usage_ns == 3000000000ULL);
    CHECK(s.cpu_per_cpu_ns == std::vector<std::uint64_t>{1000000000ULL, 2000000000ULL});
    CHECK(s.cpu_user_ns == 2500000000ULL);
    CHECK(s.cpu_system_ns == 500000000ULL);
    CHECK(s.cpu_periods == 20);
    CHECK(s.cpu_throttled_periods == 5);
    CHECK(s.cpu_throttled_ns == 777);
    CHECK(s.memory_usage == 52428800);
    CHECK(s.memory_max_usage == 60000000);
    CHECK(s.memory_limited);
    CHECK(s.memory_limit == 67108864);
    CHECK(s.memory_cache == 20971520);  // total_ (hierarchical) wins
    CHECK(s.memory_inactive_file == 10485760);
    CHECK(s.memory_usage_no_cache() == 52428800 - 10485760);
    CHECK(s.oom_kills == 3);
    CHECK(cg.oom_kills() == 3);
    CHECK(s.pids_current == 4);
    CHECK(s.pids_limit == 20u);
    CHECK(s.blkio_read_bytes == 4196);
    CHECK(s.blkio_write_bytes == 8192);

    put(t.dir("memory") / "memory.limit_in_bytes", kUnlimited);
    put(t.dir("pids") / "pids.max", "max\n");
    std::filesystem::remove(t.dir("cpuacct") / "cpuacct.usage_user");  // older kernels: cpuacct.stat ticks
    put(t.dir("cpuacct") / "cpuacct.stat", "user 250\nsystem 50\n");
    s = cg.stats();
    CHECK_FALSE(s.memory_limited);
    CHECK(s.memory_limit == host_memory_bytes());
    CHECK_FALSE(s.pids_limit);
    long hz = ::sysconf(_SC_CLK_TCK);
    CHECK(s.cpu_user_ns == 250ULL * (1000000000ULL / hz));
    CHECK(s.cpu_system_ns == 50ULL * (1000000000ULL / hz));
}

TEST_CASE("v1 freeze writes FROZEN and reads it back; pids come from every hierarchy") {
    V1Tree t;
    auto cg = Cgroup::open(t.layout(), "berth-test", "c1");
    CHECK_FALSE(cg.frozen());
    cg.freeze();
    CHECK(get(t.dir("freezer") / "freezer.state") == "FROZEN");
    CHECK(cg.frozen());
    cg.thaw();
    CHECK(get(t.dir("freezer") / "freezer.state") == "THAWED");

    put(t.dir("memory") / "cgroup.procs", "30\n10\n");
    put(t.dir("pids") / "cgroup.procs", "10\n20\n");
    put(t.dir("pids") / "nested" / "cgroup.procs", "40\n");  // a sub-cgroup the container made
    CHECK(cg.pids() == std::vector<pid_t>{10, 20, 30, 40});
}

TEST_CASE("v1 create under a --cgroup-parent path inherits cpuset at every level") {
    V1Tree t;
    const fs::path nested = fs::path("limited") / "apps";
    put_all(t.root / "cpuset" / "limited", {{"cpuset.cpus", "\n"}, {"cpuset.mems", "\n"}});
    put_all(t.root / "cpuset" / nested, {{"cpuset.cpus", "\n"}, {"cpuset.mems", "\n"}});
    put_all(t.root / "cpuset" / nested / "c1", {{"cgroup.procs", ""}, {"cpuset.cpus", "\n"}, {"cpuset.mems", "\n"}});
    put_all(t.root / "pids" / nested / "c1", {{"cgroup.procs", ""}, {"pids.max", "max\n"}});
    Resources r;
    r.pids_limit = 9;
    r.devices = std::vector<DeviceRule>{};
    auto cg = Cgroup::create(t.layout(), nested.string(), "c1", r);
    CHECK(get(t.root / "cpuset" / "limited" / "cpuset.cpus") == "0-1");
    CHECK(get(t.root / "cpuset" / nested / "cpuset.mems") == "0");
    CHECK(get(t.root / "cpuset" / nested / "c1" / "cpuset.cpus") == "0-1");
    CHECK(get(t.root / "pids" / nested / "c1" / "pids.max") == "9");
    // The other hierarchies got the path made.
    CHECK(sys::is_dir(t.root / "memory" / nested / "c1"));
    auto dirs = cg.dirs();
    CHECK(std::find(dirs.begin(), dirs.end(), t.root / "freezer" / nested / "c1") != dirs.end());
}
