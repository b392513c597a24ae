// Docker's checks of --ipc, --pid, --uts, --userns and --cgroup-parent at create (no root: the
// records live in a temp dir and no container exists in it).
#include <catch2/catch.hpp>

#include "container/start_internal.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"

using namespace berth;
using namespace berth::container;

namespace {

struct Fixture {
    sys::TempDir tmp{std::filesystem::temp_directory_path(), "berth-unit-ns-"};
    Records records{store::Paths{tmp.path() / "root", tmp.path() / "run", "berth-test"}};

    HostConfig check(HostConfig hc, const std::string& hostname = "") {
        check_namespace_modes(records, hc, hostname);
        return hc;
    }
};

HostConfig with(std::string ipc, std::string pid = "", std::string uts = "", std::string userns = "") {
    HostConfig hc;
    hc.ipc_mode = std::move(ipc);
    hc.pid_mode = std::move(pid);
    hc.uts_mode = std::move(uts);
    hc.userns_mode = std::move(userns);
    return hc;
}

}  // namespace

TEST_CASE("namespaces: Docker's modes are accepted, the IPC default is private") {
    Fixture f;
    CHECK(f.check(with("")).ipc_mode == "private");
    for (auto m : {"private", "shareable", "host", "none"}) CHECK(f.check(with(m)).ipc_mode == m);
    CHECK(f.check(with("", "host")).pid_mode == "host");
    CHECK(f.check(with("", "", "host")).uts_mode == "host");
    CHECK(f.check(with("", "", "", "host")).userns_mode == "host");
}

TEST_CASE("namespaces: bad modes are refused with Docker's messages") {
    Fixture f;
    CHECK_THROWS_WITH(f.check(with("shared")), "--ipc: invalid IPC mode");
    CHECK_THROWS_WITH(f.check(with("container:")), "--ipc: invalid IPC mode");
    CHECK_THROWS_WITH(f.check(with("", "private")), "--pid: invalid PID mode");
    CHECK_THROWS_WITH(f.check(with("", "", "private")), "--uts: invalid UTS mode");
    CHECK_THROWS_WITH(f.check(with("", "", "", "remap")), "--userns: invalid USER mode");
    CHECK_THROWS_WITH(f.check(with("", "", "host"), "web"), "Conflicting options: hostname and the UTS mode");
    // Joining a container that does not exist names it.
    CHECK_THROWS_AS(f.check(with("container:nope")), Error);
    CHECK_THROWS_AS(f.check(with("", "container:nope")), Error);
    try {
        f.check(with("", "container:nope"));
    } catch (const Error& e) {
        CHECK(e.kind() == Errc::not_found);
        CHECK(std::string(e.what()).find("nope") != std::string::npos);
    }
}

TEST_CASE("namespaces: IPC sysctls are refused in the host's IPC namespace") {
    Fixture f;
    auto hc = with("host");
    hc.sysctls["kernel.shmmax"] = "1024";
    CHECK_THROWS_WITH(f.check(hc), "sysctl \"kernel.shmmax\" is not allowed in host IPC namespace");
    hc.ipc_mode = "private";
    CHECK_NOTHROW(f.check(hc));
    hc = with("host");
    hc.sysctls["net.ipv4.ip_forward"] = "1";
    CHECK_NOTHROW(f.check(hc));
}

TEST_CASE("namespaces: the cgroup parent is a path below each controller's root") {
    Fixture f;
    HostConfig hc;
    CHECK(cgroup_parent_path("berth-test", hc) == "berth-test");
    hc.cgroup_parent = "/limited/apps/";
    CHECK(cgroup_parent_path("berth-test", hc) == "limited/apps");
    CHECK_NOTHROW(f.check(hc));
    hc.cgroup_parent = "apps";
    CHECK(cgroup_parent_path("berth-test", hc) == "apps");
    for (auto bad : {"/", "a/../b", "a//b", "./a"}) {
        hc.cgroup_parent = bad;
        CHECK_THROWS_AS(f.check(hc), Error);
    }
}
