// detect() on fixture trees shaped like real hosts.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "cgroups/cgroups.hpp"
#include "fixture.hpp"
#include "sys/error.hpp"

using namespace berth;
using namespace berth::cgroups;
using cgtest::put;
namespace fs = std::filesystem;

TEST_CASE("detect: a v1 hybrid tree like this project's hosts") {
    sys::TempDir t(fs::temp_directory_path(), "berth-unit-cg-");
    const auto root = t.path();
    for (const char* c : {"cpu", "cpuacct", "devices", "freezer", "blkio", "pids", "systemd"}) {
        put(root / c / "cgroup.procs", "");
    }
    put(root / "cpuset" / "cpuset.effective_cpus", "0-1\n");
    put(root / "cpuset" / "cpuset.effective_mems", "0\n");
    put(root / "memory" / "memory.limit_in_bytes", "9223372036854771712\n");
    put(root / "memory" / "memory.memsw.limit_in_bytes", "9223372036854771712\n");
    put(root / "unified" / "cgroup.controllers", "hugetlb\n");

    auto l = detect(root);
    CHECK(l.version == Version::v1);
    CHECK(l.root == root);
    CHECK(l.controllers == std::set<std::string>{"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory",
                                                 "name=systemd", "pids"});
    CHECK(l.hierarchies.at("memory") == root / "memory");
    CHECK(l.hierarchies.at("name=systemd") == root / "systemd");
    REQUIRE(l.unified);
    CHECK(*l.unified == root / "unified");
    CHECK(l.swap_accounting);
    CHECK(l.cpus == "0-1");
    CHECK(l.mems == "0");
    CHECK(l.cpu_count() == 2);
}

TEST_CASE("detect: co-mounted v1 controllers share one hierarchy; no memsw means no swap accounting") {
    sys::TempDir t(fs::temp_directory_path(), "berth-unit-cg-");
    const auto root = t.path();
    put(root / "cpu,cpuacct" / "cpu.shares", "1024\n");
    put(root / "net_cls,net_prio" / "cgroup.procs", "");
    put(root / "memory" / "memory.limit_in_bytes", "9223372036854771712\n");
    REQUIRE(::symlink("cpu,cpuacct", (root / "cpu").c_str()) == 0);
    REQUIRE(::symlink("cpu,cpuacct", (root / "cpuacct").c_str()) == 0);

    auto l = detect(root);
    CHECK(l.version == Version::v1);
    CHECK(l.hierarchies.at("cpu") == root / "cpu,cpuacct");
    CHECK(l.hierarchies.at("cpuacct") == root / "cpu,cpuacct");
    CHECK(l.has("net_prio"));
    CHECK_FALSE(l.has("pids"));
    CHECK_FALSE(l.swap_accounting);
    CHECK_FALSE(l.unified);
    CHECK(l.cpu_count() >= 1);  // from the process's affinity when no cpuset says
}

TEST_CASE("detect: a pure cgroup v2 tree") {
    sys::TempDir t(fs::temp_directory_path(), "berth-unit-cg-");
    const auto root = t.path();
    put(root / "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
    put(root / "cgroup.subtree_control", "cpuset cpu io memory pids\n");
    put(root / "cpuset.cpus.effective", "0-3\n");
    put(root / "cpuset.mems.effective", "0\n");
    put(root / "init.scope" / "memory.swap.max", "max\n");

    auto l = detect(root);
    CHECK(l.version == Version::v2);
    CHECK(l.hierarchies.empty());
    CHECK(l.controllers == std::set<std::string>{"cpu", "cpuset", "hugetlb", "io", "memory", "misc", "pids", "rdma"});
    CHECK(l.swap_accounting);
    CHECK(l.cpus == "0-3");
    CHECK(l.cpu_count() == 4);

    sys::remove_tree(root / "init.scope");
    CHECK_FALSE(detect(root).swap_accounting);
}

TEST_CASE("detect: no cgroup filesystem is Errc::unsupported") {
    sys::TempDir t(fs::temp_directory_path(), "berth-unit-cg-");
    try {
        detect(t.path() / "missing");
        FAIL("detect should have thrown");
    } catch (const Error& e) {
        CHECK(e.kind() == Errc::unsupported);
    }
    try {
        detect(t.path());  // exists, but holds nothing
        FAIL("detect should have thrown");
    } catch (const Error& e) {
        CHECK(e.kind() == Errc::unsupported);
    }
}

TEST_CASE("v1_mounts_from_mountinfo reads controllers from the super options") {
    const char* mountinfo =
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup "
        "rw,cpu,cpuacct\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "36 31 0:33 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids,clone_children\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup "
        "rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
        "50 23 0:40 / /mnt/other\\040dir rw - cgroup cgroup rw,freezer\n"
        "51 23 0:41 / /sys/fs/cgroup/deep/blkio rw - cgroup cgroup rw,blkio\n";
    auto m = v1_mounts_from_mountinfo(mountinfo, "/sys/fs/cgroup/");
    CHECK(m.size() == 5);
    CHECK(m.at("cpu") == "/sys/fs/cgroup/cpu,cpuacct");
    CHECK(m.at("cpuacct") == "/sys/fs/cgroup/cpu,cpuacct");
    CHECK(m.at("memory") == "/sys/fs/cgroup/memory");
    CHECK(m.at("pids") == "/sys/fs/cgroup/pids");
    CHECK(m.at("name=systemd") == "/sys/fs/cgroup/systemd");
    CHECK_FALSE(m.count("freezer"));  // not under the root
    CHECK_FALSE(m.count("blkio"));    // not right under it

    auto other = v1_mounts_from_mountinfo(mountinfo, "/mnt");
    REQUIRE(other.count("freezer"));
    CHECK(other.at("freezer") == "/mnt/other dir");  // \040 unescaped
}
