// The cgroup v2 driver end to end on a temp dir of fixture files (this project's hosts boot
// cgroup v1, so real v2 limits cannot be exercised here).
#include <signal.h>

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

// A v2 root with "berth-test" as the parent; the container dir `name` exists when with_child,
// filled the way the kernel shows a fresh cgroup with cpu, cpuset, io, memory, pids enabled.
struct V2Tree {
    sys::TempDir tmp{fs::temp_directory_path(), "berth-unit-cg2-"};
    fs::path root = tmp.path();
    fs::path parent = root / "berth-test";

    explicit V2Tree(bool with_child = true, const std::string& name = "c1") {
        put(root / "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
        put(root / "cgroup.subtree_control", "\n");
        put(root / "cpuset.cpus.effective", "0-3\n");
        put(root / "cpuset.mems.effective", "0\n");
        put(root / "init.scope" / "memory.swap.max", "max\n");
        put(parent / "cgroup.controllers", "cpuset cpu io memory pids\n");
        put(parent / "cgroup.subtree_control", "\n");
        if (with_child) child(name);
    }

    fs::path child(const std::string& name) {
        auto d = parent / name;
        put_all(d, {{"cgroup.procs", ""},
                    {"cgroup.freeze", "0\n"},
                    {"cgroup.kill", ""},
                    {"cgroup.events", "populated 0\nfrozen 0\n"},
                    {"memory.max", "max\n"},
                    {"memory.swap.max", "max\n"},
                    {"memory.low", "0\n"},
                    {"cpu.max", "max 100000\n"},
                    {"cpu.weight", "100\n"},
                    {"cpuset.cpus", "\n"},
                    {"cpuset.mems", "\n"},
                    {"pids.max", "max\n"},
                    {"io.weight", "default 100\n"}});
        return d;
    }

    Layout layout() const { return detect(root); }
};

Resources no_devices() {
    Resources r;
    // Allow-all means no filter program: a BPF program cannot attach to a fixture dir.
    r.devices = std::vector<DeviceRule>{{true, 'a', -1, -1, "rwm"}};
    return r;
}

}  // namespace

TEST_CASE("v2 create writes Docker's limits in v2 terms and enables the controllers top-down") {
    V2Tree t;
    auto r = no_devices();
    r.memory = 64 * MiB;  // swap unset: Docker's 2x, so 64 MiB of swap
    r.memory_reservation = 32 * MiB;
    r.nano_cpus = 1500000000;  // --cpus 1.5
    r.cpu_shares = 512;
    r.pids_limit = 20;
    r.cpuset_cpus = "0-1";
    r.cpuset_mems = "0";
    r.blkio_weight = 500;

    auto cg = Cgroup::create(t.layout(), "berth-test", "c1", r);
    const auto d = t.parent / "c1";
    CHECK(cg.version() == Version::v2);
    CHECK(cg.warnings().empty());
    CHECK(get(d / "memory.max") == std::to_string(64 * MiB));
    CHECK(get(d / "memory.swap.max") == std::to_string(64 * MiB));
    CHECK(get(d / "memory.low") == std::to_string(32 * MiB));
    CHECK(get(d / "cpu.max") == "150000 100000");
    CHECK(get(d / "cpu.weight") == "59");
    CHECK(get(d / "pids.max") == "20");
    CHECK(get(d / "cpuset.cpus") == "0-1");
    CHECK(get(d / "cpuset.mems") == "0");
    CHECK(get(d / "io.weight") == "4950");
    CHECK(get(t.root / "cgroup.subtree_control") == "+cpu +cpuset +io +memory +pids");
    CHECK(get(t.parent / "cgroup.subtree_control") == "+cpu +cpuset +io +memory +pids");
    CHECK(cg.dirs() == std::vector<fs::path>{d});
    CHECK(cg.procs_files() == std::vector<fs::path>{d / "cgroup.procs"});
}

TEST_CASE("v2 create: explicit swap, unlimited swap, pids unlimited, bfq weight") {
    V2Tree t;
    put(t.parent / "c1" / "io.bfq.weight", "100\n");
    auto r = no_devices();
    r.memory = 64 * MiB;
    r.memory_swap = 96 * MiB;
    r.pids_limit = -1;
    r.blkio_weight = 300;
    r.cpu_quota = 25000;
    r.cpu_period = 50000;
    Cgroup::create(t.layout(), "berth-test", "c1", r);
    const auto d = t.parent / "c1";
    CHECK(get(d / "memory.swap.max") == std::to_string(32 * MiB));
    CHECK(get(d / "pids.max") == "max");
    CHECK(get(d / "io.bfq.weight") == "300");  // BFQ keeps the blkio scale
    CHECK(get(d / "io.weight") == "default 100\n");
    CHECK(get(d / "cpu.max") == "25000 50000");

    r.memory_swap = -1;
    Cgroup::create(t.layout(), "berth-test", "c1", r);
    CHECK(get(d / "memory.swap.max") == "max");
}

TEST_CASE("v2 create leaves the root's enabled controllers alone and warns for a missing weight file") {
    V2Tree t;
    put(t.root / "cgroup.subtree_control", "cpuset cpu io memory pids\n");
    std::filesystem::remove(t.parent / "c1" / "io.weight");
    auto r = no_devices();
    r.blkio_weight = 500;
    auto cg = Cgroup::create(t.layout(), "berth-test", "c1", r);
    CHECK(get(t.root / "cgroup.subtree_control") == "cpuset cpu io memory pids\n");  // nothing to add: not written
    REQUIRE(cg.warnings().size() == 1);
    CHECK(cg.warnings()[0].find("Block I/O weight") != std::string::npos);
}

TEST_CASE("v2 create undoes the dirs it made when a write fails, and the error names file and value") {
    V2Tree t(/*with_child=*/false);
    std::filesystem::remove_all(t.parent);
    auto layout = t.layout();
    auto r = no_devices();
    r.memory = 64 * MiB;
    try {
        Cgroup::create(layout, "berth-test", "c2", r);
        FAIL("create should have failed: the fresh dir has no memory.max");
    } catch (const sys::Error& e) {
        CHECK(e.err() == ENOENT);
        CHECK(std::string(e.what()) == "write(" + (t.parent / "c2" / "memory.max").string() + ", \"" +
                                           std::to_string(64 * MiB) + "\"): No such file or directory");
    }
    // create made both berth-test and c2 (and found the parent's cgroup.controllers missing,
    // so it enabled nothing there); both are gone again.
    CHECK_FALSE(sys::exists(t.parent / "c2"));
    CHECK_FALSE(sys::exists(t.parent));
}

TEST_CASE("v2 create refuses a dir that already holds processes, and bad names") {
    V2Tree t;
    put(t.parent / "c1" / "cgroup.procs", "4242\n");
    try {
        Cgroup::create(t.layout(), "berth-test", "c1", no_devices());
        FAIL("create should have refused");
    } catch (const Error& e) {
        CHECK(e.kind() == Errc::conflict);
        CHECK(std::string(e.what()).find("4242") != std::string::npos);
    }
    CHECK(sys::exists(t.parent / "c1"));  // not ours to remove
    for (const char* bad : {"", "..", "a/b"}) {
        CHECK_THROWS_AS(Cgroup::create(t.layout(), "berth-test", bad, no_devices()), Error);
    }
}

TEST_CASE("v2 check errors come before any side effect") {
    V2Tree t(/*with_child=*/false);
    put(t.root / "cgroup.controllers", "cpu io memory\n");  // no pids
    auto r = no_devices();
    r.pids_limit = 10;
    r.memory = 1 * MiB;
    try {
        Cgroup::create(t.layout(), "berth-test", "c3", r);
        FAIL("create should have failed");
    } catch (const Error& e) {
        CHECK(e.kind() == Errc::unsupported);
        std::string what = e.what();
        CHECK(what.find("pids.max") != std::string::npos);
        CHECK(what.find("Minimum memory limit allowed is 6MB") != std::string::npos);
    }
    CHECK_FALSE(sys::exists(t.parent / "c3"));
    CHECK(get(t.root / "cgroup.subtree_control") == "\n");
}

TEST_CASE("v2 stats parse cpu.stat, memory.*, pids.*, io.stat") {
    V2Tree t;
    const auto d = t.parent / "c1";
    put(d / "cpu.stat",
        "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 40\nnr_throttled 7\n"
        "throttled_usec 123456\nnr_bursts 0\nburst_usec 0\n");
    put(d / "memory.current", "104857600\n");
    put(d / "memory.max", "268435456\n");
    put(d / "memory.peak", "200000000\n");
    put(d / "memory.stat", "anon 50000000\nfile 40000000\nkernel 1000\ninactive_file 30000000\nactive_file 10000000\n");
    put(d / "memory.events", "low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n");
    put(d / "pids.current", "7\n");
    put(d / "pids.max", "100\n");
    put(d / "io.stat",
        "8:0 rbytes=1000 wbytes=2000 rios=1 wios=2 dbytes=0 dios=0\n"
        "8:16 rbytes=24 wbytes=76 rios=1 wios=1 dbytes=0 dios=0\n");

    auto cg = Cgroup::open(t.layout(), "berth-test", "c1");
    auto s = cg.stats();
    CHECK(s.cpu_usage_ns == 2500000000ULL);
    CHECK(s.cpu_user_ns == 2000000000ULL);
    CHECK(s.cpu_system_ns == 500000000ULL);
    CHECK(s.cpu_per_cpu_ns.empty());
    CHECK(s.cpu_periods == 40);
    CHECK(s.cpu_throttled_periods == 7);
    CHECK(s.cpu_throttled_ns == 123456000ULL);
    CHECK(s.memory_usage == 104857600);
    CHECK(s.memory_max_usage == 200000000);
    CHECK(s.memory_limited);
    CHECK(s.memory_limit == std::min<std::uint64_t>(268435456, host_memory_bytes()));
    CHECK(s.memory_cache == 40000000);
    CHECK(s.memory_inactive_file == 30000000);
    CHECK(s.memory_usage_no_cache() == 104857600 - 30000000);
    CHECK(s.memory_stat.at("anon") == 50000000);
    CHECK(s.oom_kills == 2);
    CHECK(cg.oom_kills() == 2);
    CHECK(s.pids_current == 7);
    CHECK(s.pids_limit == 100u);
    CHECK(s.blkio_read_bytes == 1024);
    CHECK(s.blkio_write_bytes == 2076);

    put(d / "memory.max", "max\n");
    put(d / "pids.max", "max\n");
    s = cg.stats();
    CHECK_FALSE(s.memory_limited);
    CHECK(s.memory_limit == host_memory_bytes());  // what docker stats shows for no limit
    CHECK_FALSE(s.pids_limit);
}

TEST_CASE("v2 freeze and thaw write cgroup.freeze and wait for cgroup.events") {
    V2Tree t;
    const auto d = t.parent / "c1";
    auto cg = Cgroup::open(t.layout(), "berth-test", "c1");
    CHECK_FALSE(cg.frozen());
    put(d / "cgroup.events", "populated 1\nfrozen 1\n");  // what the kernel reports once frozen
    cg.freeze();
    CHECK(get(d / "cgroup.freeze") == "1");
    CHECK(cg.frozen());
    put(d / "cgroup.events", "populated 1\nfrozen 0\n");
    cg.thaw();
    CHECK(get(d / "cgroup.freeze") == "0");
    CHECK_FALSE(cg.frozen());
}

TEST_CASE("v2 kill_all(SIGKILL) uses cgroup.kill") {
    V2Tree t;
    auto cg = Cgroup::open(t.layout(), "berth-test", "c1");
    cg.kill_all(SIGKILL);
    CHECK(get(t.parent / "c1" / "cgroup.kill") == "1");
}

TEST_CASE("v2 update changes only what it is given") {
    V2Tree t;
    const auto d = t.parent / "c1";
    auto r = no_devices();
    r.memory = 64 * MiB;
    r.nano_cpus = 1500000000;
    auto cg = Cgroup::create(t.layout(), "berth-test", "c1", r);

    Resources u;
    u.memory_swap = 256 * MiB;  // docker update --memory-swap 256m: swap is that minus memory.max
    u.cpu_period = 50000;       // keeps the quota
    auto w = cg.update(u);
    CHECK(w.empty());
    CHECK(get(d / "memory.max") == std::to_string(64 * MiB));
    CHECK(get(d / "memory.swap.max") == std::to_string(192 * MiB));
    CHECK(get(d / "cpu.max") == "150000 50000");

    Resources bad;
    bad.pids_limit = 5;
    bad.cpu_quota = 10;
    CHECK_THROWS_AS(cg.update(bad), Error);
    CHECK(get(d / "pids.max") == "max\n");  // nothing written
}

TEST_CASE("open of a missing cgroup is not_found") {
    V2Tree t(/*with_child=*/false);
    try {
        Cgroup::open(t.layout(), "berth-test", "nope");
        FAIL("open should have thrown");
    } catch (const Error& e) {
        CHECK(e.kind() == Errc::not_found);
    }
}

TEST_CASE("v2 create under a --cgroup-parent path enables the controllers at every level") {
    V2Tree t(false);
    for (auto level : {t.root / "limited", t.root / "limited" / "apps"}) {
        put(level / "cgroup.controllers", "cpuset cpu io memory pids\n");
        put(level / "cgroup.subtree_control", "\n");
    }
    put_all(t.root / "limited" / "apps" / "c1", {{"cgroup.procs", ""}, {"pids.max", "max\n"}});
    auto r = no_devices();
    r.pids_limit = 7;
    auto cg = Cgroup::create(t.layout(), "limited/apps", "c1", r);
    CHECK(cg.dirs() == std::vector<fs::path>{t.root / "limited" / "apps" / "c1"});
    CHECK(get(t.root / "limited" / "cgroup.subtree_control") == "+cpu +cpuset +io +memory +pids");
    CHECK(get(t.root / "limited" / "apps" / "cgroup.subtree_control") == "+cpu +cpuset +io +memory +pids");
    CHECK(get(t.root / "limited" / "apps" / "c1" / "pids.max") == "7");
    // Components must be plain names.
    for (auto bad : {"a/../b", "a//b", "", "/a"}) CHECK_THROWS_AS(Cgroup::create(t.layout(), bad, "c2", r), Error);
}

TEST_CASE("remove_parent removes the parent dirs deepest first, and keeps one that is still in use") {
    V2Tree t(false);
    // cgroupfs lets rmdir remove a dir with control files; a plain dir must be empty, so the
    // fixture's parents are bare dirs here and a file stands for a container's cgroup.
    fs::create_directories(t.root / "a" / "b");
    remove_parent(t.layout(), "a/b");
    CHECK_FALSE(fs::exists(t.root / "a"));
    remove_parent(t.layout(), "a/b");  // gone already: nothing to do

    fs::create_directories(t.root / "x" / "y");
    put(t.root / "x" / "in-use", "");
    remove_parent(t.layout(), "x/y");
    CHECK_FALSE(fs::exists(t.root / "x" / "y"));
    CHECK(fs::exists(t.root / "x"));
}
