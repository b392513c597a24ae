#include <catch2/catch.hpp>

#include "network/ipam.hpp"
#include "sys/error.hpp"

using namespace berth;
using namespace berth::network;

namespace {
Subnet4 S(const char* s) { return Subnet4::parse(s); }
Ip4 I(const char* s) { return *Ip4::parse(s); }
Errc kind_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.kind();
    }
    FAIL("no error thrown");
    return Errc::failed;
}
std::string message_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    FAIL("no error thrown");
    return {};
}
}  // namespace

TEST_CASE("Ip4 and Subnet4 parse strictly and print canonically") {
    CHECK(I("172.18.0.2").str() == "172.18.0.2");
    CHECK(I("0.0.0.0").v == 0);
    CHECK(I("255.255.255.255").v == 0xffffffffu);
    for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.x", "01.2.3.4", "1..2.3", " 1.2.3.4"})
        CHECK_FALSE(Ip4::parse(bad));
    auto s = S("172.18.0.0/16");
    CHECK(s.str() == "172.18.0.0/16");
    CHECK(s.network().str() == "172.18.0.0");
    CHECK(s.broadcast().str() == "172.18.255.255");
    CHECK(s.contains(I("172.18.200.1")));
    CHECK_FALSE(s.contains(I("172.19.0.1")));
    CHECK(s.contains(S("172.18.5.0/24")));
    CHECK_FALSE(S("172.18.5.0/24").contains(s));
    CHECK(s.overlaps(S("172.16.0.0/12")));
    CHECK(S("172.16.0.0/12").overlaps(s));
    CHECK_FALSE(s.overlaps(S("172.19.0.0/16")));
    CHECK(message_of([] { S("172.20.1.5/16"); }) == "invalid subnet 172.20.1.5/16: it should be 172.20.0.0/16");
    CHECK(kind_of([] { S("172.20.0.0"); }) == Errc::invalid);
    CHECK(kind_of([] { S("172.20.0.0/33"); }) == Errc::invalid);
    CHECK(kind_of([] { S("172.20.0.0/"); }) == Errc::invalid);
}

TEST_CASE("default pools are Docker's: 172.17-31 as /16s, then 192.168.0.0/16 as /20s") {
    auto pools = default_pool_subnets();
    REQUIRE(pools.size() == 15 + 16);
    CHECK(pools.front().str() == "172.17.0.0/16");
    CHECK(pools[1].str() == "172.18.0.0/16");
    CHECK(pools[14].str() == "172.31.0.0/16");
    CHECK(pools[15].str() == "192.168.0.0/20");
    CHECK(pools[16].str() == "192.168.16.0/20");
    CHECK(pools.back().str() == "192.168.240.0/20");
}

TEST_CASE("picking a default subnet skips other networks and host routes") {
    CHECK(pick_default_subnet({}).str() == "172.17.0.0/16");
    CHECK(pick_default_subnet({S("172.17.0.0/16")}).str() == "172.18.0.0/16");
    // A host route inside a pool (a VPN's 172.18.5.0/24) takes the whole /16 out.
    CHECK(pick_default_subnet({S("172.17.0.0/16"), S("172.18.5.0/24")}).str() == "172.19.0.0/16");
    // A wide host route covering several pools.
    CHECK(pick_default_subnet({S("172.16.0.0/12")}).str() == "192.168.0.0/20");
    CHECK(pick_default_subnet({S("172.16.0.0/12"), S("192.168.0.0/24")}).str() == "192.168.16.0/20");
    // The default route (prefix 0) is not an overlap.
    CHECK(pick_default_subnet({S("0.0.0.0/0")}).str() == "172.17.0.0/16");
    CHECK(message_of([] { pick_default_subnet({S("172.16.0.0/12"), S("192.168.0.0/16")}); }) ==
          "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network");
}

TEST_CASE("make_ipam_config fills defaults and validates like Docker") {
    auto c = make_ipam_config("", "", "", {S("172.17.0.0/16")}, {S("172.18.0.0/16")});
    CHECK(c.subnet.str() == "172.19.0.0/16");
    CHECK(c.gateway.str() == "172.19.0.1");
    CHECK_FALSE(c.ip_range);

    c = make_ipam_config("10.10.0.0/24", "", "", {}, {S("10.10.0.0/24")});  // host routes do not block a given subnet
    CHECK(c.gateway.str() == "10.10.0.1");
    c = make_ipam_config("10.10.0.0/24", "10.10.0.254", "10.10.0.128/25", {}, {});
    CHECK(c.gateway.str() == "10.10.0.254");
    REQUIRE(c.ip_range);
    CHECK(c.ip_range->str() == "10.10.0.128/25");

    CHECK(message_of([] { make_ipam_config("10.10.0.0/24", "", "", {S("10.0.0.0/8")}, {}); }) ==
          "Pool overlaps with other one on this address space");
    CHECK(message_of([] { make_ipam_config("", "10.0.0.1", "", {}, {}); }) ==
          "every ip-range or gateway must have a corresponding subnet");
    CHECK(message_of([] { make_ipam_config("10.10.0.0/24", "10.11.0.1", "", {}, {}); }) ==
          "no matching subnet for gateway 10.11.0.1");
    CHECK(message_of([] { make_ipam_config("10.10.0.0/24", "", "10.11.0.0/25", {}, {}); }) ==
          "no matching subnet for range 10.11.0.0/25");
    CHECK(kind_of([] { make_ipam_config("10.10.0.0/24", "10.10.0.0", "", {}, {}); }) == Errc::invalid);
    CHECK(kind_of([] { make_ipam_config("10.10.0.0/31", "", "", {}, {}); }) == Errc::invalid);
    // Every problem at once.
    auto all = message_of([] { make_ipam_config("10.10.0.0/24", "10.11.0.1", "10.12.0.0/25", {S("10.10.0.0/16")}, {}); });
    CHECK(all.find("Pool overlaps") != std::string::npos);
    CHECK(all.find("gateway 10.11.0.1") != std::string::npos);
    CHECK(all.find("range 10.12.0.0/25") != std::string::npos);
}

TEST_CASE("allocation is sequential after the last address and wraps, never network/broadcast/gateway") {
    Allocator a(make_ipam_config("10.1.0.0/29", "", "", {}, {}));  // .1 gateway, .2-.6 usable, .7 broadcast
    CHECK(a.allocate().str() == "10.1.0.2");
    CHECK(a.allocate().str() == "10.1.0.3");
    CHECK(a.allocate().str() == "10.1.0.4");
    a.release(I("10.1.0.2"));
    // Continues after the last one handed out rather than reusing the freed .2 at once.
    CHECK(a.allocate().str() == "10.1.0.5");
    CHECK(a.allocate().str() == "10.1.0.6");
    // Wraps around to what was freed.
    CHECK(a.allocate().str() == "10.1.0.2");
    CHECK(message_of([&] { a.allocate(); }) == "no available IPv4 addresses on this network's address pools");
    a.release(I("10.1.0.4"));
    CHECK(a.allocate().str() == "10.1.0.4");
    a.release(I("10.1.0.99"));  // releasing what is not held is not an error
}

TEST_CASE("allocation resumes from a persisted last address and skips a gateway in the middle") {
    auto cfg = make_ipam_config("10.2.0.0/29", "10.2.0.4", "", {}, {});
    Allocator a(cfg, {0x0a020002u}, I("10.2.0.3"));
    CHECK(a.allocate().str() == "10.2.0.5");  // .4 is the gateway
    CHECK(a.allocate().str() == "10.2.0.6");
    CHECK(a.allocate().str() == "10.2.0.1");  // wrapped; .2 is taken
    CHECK(a.allocate().str() == "10.2.0.3");
    CHECK_THROWS_AS(a.allocate(), Error);
}

TEST_CASE("an ip-range confines dynamic allocation but not static addresses") {
    Allocator a(make_ipam_config("10.3.0.0/24", "", "10.3.0.128/30", {}, {}));
    CHECK(a.allocate().str() == "10.3.0.128");
    CHECK(a.allocate().str() == "10.3.0.129");
    CHECK(a.allocate().str() == "10.3.0.130");
    CHECK(a.allocate().str() == "10.3.0.131");
    CHECK_THROWS_AS(a.allocate(), Error);
    a.reserve(I("10.3.0.10"));  // static, outside the range but inside the subnet (Docker's use of --ip-range)
    CHECK(a.in_use(I("10.3.0.10")));
}

TEST_CASE("static addresses: in the subnet, not special, not taken") {
    Allocator a(make_ipam_config("10.4.0.0/24", "", "", {}, {}));
    a.reserve(I("10.4.0.50"));
    CHECK(message_of([&] { a.reserve(I("10.4.0.50")); }) == "Address already in use");
    CHECK(kind_of([&] { a.reserve(I("10.4.0.50")); }) == Errc::conflict);
    CHECK(message_of([&] { a.reserve(I("10.4.0.1")); }) == "Address already in use");  // the gateway
    CHECK(message_of([&] { a.reserve(I("10.5.0.9")); }) ==
          "no configured subnet or ip-range contain the IP address 10.5.0.9");
    CHECK(kind_of([&] { a.reserve(I("10.4.0.0")); }) == Errc::invalid);
    CHECK(kind_of([&] { a.reserve(I("10.4.0.255")); }) == Errc::invalid);
    // Dynamic allocation steps around the static one.
    Allocator b(make_ipam_config("10.6.0.0/29", "", "", {}, {}));
    b.reserve(I("10.6.0.2"));
    CHECK(b.allocate().str() == "10.6.0.3");
}
