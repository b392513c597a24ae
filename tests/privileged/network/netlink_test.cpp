// The rtnetlink client and netns helpers, inside a private namespace so nothing reaches the host.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "network/netlink.hpp"
#include "network/netns.hpp"
#include "shim/links.hpp"
#include "sys/error.hpp"

using namespace berth;
using namespace berth::network;

namespace {
ino_t ino_of(const char* path) {
    struct stat st{};
    REQUIRE(::stat(path, &st) == 0);
    return st.st_ino;
}
ino_t ino_of_fd(int fd) {
    struct stat st{};
    REQUIRE(::fstat(fd, &st) == 0);
    return st.st_ino;
}
}  // namespace

TEST_CASE("create_netns and in_netns switch only the calling thread and always come back") {
    ino_t before = ino_of("/proc/thread-self/ns/net");
    auto ns = create_netns();
    CHECK(ino_of("/proc/thread-self/ns/net") == before);
    CHECK(ino_of_fd(ns.get()) != before);
    ino_t inside = 0;
    in_netns(ns.get(), [&] { inside = ino_of("/proc/thread-self/ns/net"); });
    CHECK(inside == ino_of_fd(ns.get()));
    CHECK(ino_of("/proc/thread-self/ns/net") == before);
    CHECK_THROWS(in_netns(ns.get(), [] { throw std::runtime_error("boom"); }));
    CHECK(ino_of("/proc/thread-self/ns/net") == before);
    auto again = open_netns("/proc/thread-self/ns/net");
    CHECK(same_netns(again.get(), open_netns("/proc/self/ns/net").get()));
    CHECK_FALSE(same_netns(again.get(), ns.get()));
    // Sysctls are the namespace's own: route_localnet on its lo does not touch the host's.
    std::string host_value = read_sysctl("net/ipv4/conf/lo/route_localnet");
    std::string flipped = host_value == "1" ? "0" : "1";
    std::string seen;
    in_netns(ns.get(), [&] {
        write_sysctl("net/ipv4/conf/lo/route_localnet", flipped);
        seen = read_sysctl("net/ipv4/conf/lo/route_localnet");
    });
    CHECK(seen == flipped);
    CHECK(read_sysctl("net/ipv4/conf/lo/route_localnet") == host_value);
}

TEST_CASE("netlink links, addresses and routes in a private namespace") {
    auto ns = create_netns();
    auto peer_ns = create_netns();
    auto nl = Netlink::in_netns(ns.get());
    CHECK(nl.links().size() == 1);  // lo only
    CHECK_FALSE(nl.link_exists("brt0"));

    nl.create_bridge("brt0", 1400, "02:42:0a:00:00:01");
    auto br = nl.link("brt0");
    REQUIRE(br);
    CHECK(br->kind == "bridge");
    CHECK(br->mtu == 1400);
    CHECK(br->mac == "02:42:0a:00:00:01");
    CHECK(br->up);

    auto made = nl.create_veth("vetht01", br->index, 1400, "eth0", peer_ns.get(), "02:42:0a:00:00:02");
    auto v = nl.link("vetht01");
    REQUIRE(v);
    CHECK(v->kind == "veth");
    CHECK(v->master == br->index);
    auto inner = Netlink::in_netns(peer_ns.get());
    auto eth0 = inner.link("eth0");
    REQUIRE(eth0);
    CHECK(eth0->mac == "02:42:0a:00:00:02");
    CHECK(eth0->mtu == 1400);
    CHECK_FALSE(eth0->up);
    CHECK_FALSE(nl.link_exists("eth0"));  // created directly in the other namespace
    // Both ends' indexes come back, each in its own namespace; the peer's is the veth's IFLA_LINK.
    CHECK(made.index == v->index);
    CHECK(made.peer_index == eth0->index);
    CHECK(v->link == eth0->index);
    CHECK(nl.link_name(made.index) == "vetht01");
    CHECK(inner.link_name(made.peer_index) == "eth0");
    CHECK(inner.link_name(1) == "lo");
    CHECK_FALSE(nl.link_name(987654));

    // Errors name the operation and the object, with the kernel's errno.
    try {
        nl.create_veth("vetht01", br->index, 1400, "eth0", peer_ns.get(), "");
        FAIL("duplicate veth accepted");
    } catch (const sys::Error& e) {
        CHECK(e.err() == EEXIST);
        CHECK(std::string(e.what()).rfind("netlink RTM_NEWLINK vetht01 (peer eth0)", 0) == 0);
        CHECK(std::string(e.what()).find("File exists") != std::string::npos);
    }

    inner.set_up("eth0");
    inner.add_address(made.peer_index, "eth0", "10.99.0.2", 24);  // by index: no lookup
    inner.add_address("eth0", "fd99::2", 64);
    inner.add_default_route("10.99.0.1", made.peer_index, "eth0");
    bool v4 = false, v6 = false, def = false;
    for (auto& a : inner.addresses()) {
        if (a.address == "10.99.0.2" && a.prefix == 24 && a.family == AF_INET) v4 = true;
        if (a.address == "fd99::2" && a.prefix == 64 && a.family == AF_INET6) v6 = true;
    }
    for (auto& r : inner.routes(AF_INET))
        if (r.prefix == 0 && r.gateway == "10.99.0.1" && r.oif == eth0->index) def = true;
    CHECK(v4);
    CHECK(v6);
    CHECK(def);
    inner.del_address("eth0", "fd99::2", 64);
    for (auto& a : inner.addresses(AF_INET6)) CHECK(a.address != "fd99::2");
    CHECK_THROWS_AS(inner.add_address("eth0", "10.99.0.300", 24), Error);
    // By index, an error still names the link it was given.
    try {
        inner.add_address(987654, "eth7", "10.99.0.3", 24);
        FAIL("an address on a missing index was accepted");
    } catch (const sys::Error& e) {
        CHECK(e.err() == ENODEV);
        CHECK(std::string(e.what()).rfind("netlink RTM_NEWADDR 10.99.0.3/24 dev eth7", 0) == 0);
    }
    nl.set_hairpin(made.index, "vetht01", true);

    // Rename needs the link down; MTU and MAC changes.
    nl.set_up("vetht01", false);
    nl.rename("vetht01", "vetht02");
    CHECK(nl.link_exists("vetht02"));
    nl.set_mtu("vetht02", 1300);
    nl.set_mac("vetht02", "02:42:0a:00:00:09");
    auto v2 = nl.link("vetht02");
    CHECK(v2->mtu == 1300);
    CHECK(v2->mac == "02:42:0a:00:00:09");
    nl.set_hairpin("vetht02", true);
    nl.set_master("vetht02", 0);
    CHECK(nl.link("vetht02")->master == 0);

    CHECK(nl.delete_link_if_exists("vetht02"));
    CHECK_FALSE(nl.delete_link_if_exists("vetht02"));
    CHECK_FALSE(inner.link_exists("eth0"));  // the pair goes together
    try {
        nl.delete_link("vetht02");
        FAIL("deleting a missing link succeeded");
    } catch (const sys::Error& e) {
        CHECK(e.err() == ENODEV);
        CHECK(std::string(e.what()).rfind("netlink RTM_DELLINK vetht02", 0) == 0);
    }
}

TEST_CASE("delete_link_nowait returns once the pair is gone, leaving the kernel's wait to an orphan process") {
    auto ns = create_netns();
    auto peer_ns = create_netns();
    auto nl = Netlink::in_netns(ns.get());  // not the caller's namespace: the orphan's socket follows it
    nl.create_bridge("brt1", 1500, "02:42:0a:01:00:01");
    int br = *nl.link_index("brt1");
    auto inner = Netlink::in_netns(peer_ns.get());
    for (int i = 0; i < 3; ++i) {
        nl.create_veth("vetht1" + std::to_string(i), br, 1500, "eth0", peer_ns.get(), "");
        nl.set_hairpin("vetht1" + std::to_string(i), true);
        inner.set_up("eth0");
        inner.add_address("eth0", "10.98.0.2", 24);
        CHECK(nl.delete_link_nowait("vetht1" + std::to_string(i)));
        CHECK_FALSE(nl.link_exists("vetht1" + std::to_string(i)));
        CHECK_FALSE(inner.link_exists("eth0"));
        for (const auto& l : nl.links()) CHECK(l.master != br);
    }
    CHECK_FALSE(nl.delete_link_nowait("vetht10"));
    CHECK(::waitpid(-1, nullptr, WNOHANG) == -1);  // no child of ours is left behind
    // The kernel's refusal comes back from the orphan as the request's error.
    try {
        nl.delete_link_nowait("lo");
        FAIL("deleting lo succeeded");
    } catch (const sys::Error& e) {
        CHECK(std::string(e.what()).rfind("netlink RTM_DELLINK lo", 0) == 0);
        CHECK(e.err() != 0);
    }
    CHECK(nl.link_exists("lo"));
    nl.delete_link("brt1");
}

TEST_CASE("wait_link_gone waits a bounded time for a link someone else deletes") {
    auto ns = create_netns();
    auto peer_ns = create_netns();
    auto nl = Netlink::in_netns(ns.get());
    CHECK(nl.wait_link_gone("vetht30", std::chrono::milliseconds(0)));  // never was
    CHECK_FALSE(nl.wait_link_gone("lo", std::chrono::milliseconds(20)));
    nl.create_veth("vetht30", 0, 1500, "eth0", peer_ns.get(), "");
    std::thread other([&] {
        ::usleep(5'000);
        Netlink::in_netns(ns.get()).delete_link("vetht30");
    });
    bool gone = nl.wait_link_gone("vetht30", std::chrono::seconds(5));
    other.join();
    CHECK(gone);
    CHECK_FALSE(Netlink::in_netns(peer_ns.get()).link_exists("eth0"));

    // By index: no lookup by name, which would wait for the delete's RTNL lock. A link that now
    // has the index under another name is not the one waited for.
    auto made = nl.create_veth("vetht31", 0, 1500, "eth0", peer_ns.get(), "");
    // Each namespace numbers its own links: the two ends may share a number, and the kernel then
    // leaves IFLA_LINK out of the answer.
    CHECK(made.peer_index == Netlink::in_netns(peer_ns.get()).link("eth0")->index);
    CHECK(nl.wait_link_gone("vetht30", std::chrono::milliseconds(0), made.index));  // the index is another's
    CHECK_FALSE(nl.wait_link_gone("vetht31", std::chrono::milliseconds(20), made.index));
    std::thread other2([&] {
        ::usleep(5'000);
        Netlink::in_netns(ns.get()).delete_link("vetht31");
    });
    gone = nl.wait_link_gone("vetht31", std::chrono::seconds(5), made.index);
    other2.join();
    CHECK(gone);
    CHECK_FALSE(nl.link_exists("vetht31"));
}

TEST_CASE("the shim deletes a finished container's veths from its namespace, and only those") {
    auto ns = create_netns();
    auto peer_ns = create_netns();
    auto nl = Netlink::in_netns(ns.get());
    nl.create_bridge("brt2", 1500, "02:42:0a:02:00:01");
    int br = *nl.link_index("brt2");
    nl.create_veth("vetht20", br, 1500, "eth0", peer_ns.get(), "");
    nl.create_veth("vetht21", br, 1500, "eth1", peer_ns.get(), "");
    auto inner = Netlink::in_netns(peer_ns.get());
    inner.set_up("eth0");
    inner.add_address("eth0", "10.97.0.2", 24);
    inner.create_bridge("brt3", 1500, "02:42:0a:03:00:01");  // not a veth: it stays
    shim::delete_veths(peer_ns.get());
    bool gone = false;
    for (int i = 0; i < 500 && !gone; ++i) {
        gone = !nl.link_exists("vetht20") && !nl.link_exists("vetht21");
        if (!gone) ::usleep(10'000);
    }
    CHECK(gone);
    std::set<std::string> left;
    for (const auto& l : inner.links()) left.insert(l.name);
    CHECK(left == std::set<std::string>{"lo", "brt3"});
    for (const auto& l : nl.links()) CHECK(l.master != br);
    nl.delete_link("brt2");
}
