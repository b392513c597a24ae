#include <catch2/catch.hpp>

#include "network/ipam6.hpp"
#include "sys/error.hpp"

using namespace berth;
using namespace berth::network;

namespace {
Subnet6 S(const char* s) { return Subnet6::parse(s); }
Ip6 I(const char* s) { return *Ip6::parse(s); }
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

TEST_CASE("Ip6 and Subnet6 parse strictly and print as RFC 5952") {
    CHECK(I("fd00:0:0:0::2").str() == "fd00::2");
    CHECK(I("FD00::A").str() == "fd00::a");
    CHECK(I("fd00::ff").next().str() == "fd00::100");
    for (const char* bad : {"", "1.2.3.4", "fd00:::1", "fd00::g", "fd00::1/64"}) CHECK_FALSE(Ip6::parse(bad));
    auto s = S("fd12:3456:789a:1::/64");
    CHECK(s.str() == "fd12:3456:789a:1::/64");
    CHECK(s.contains(I("fd12:3456:789a:1::2")));
    CHECK_FALSE(s.contains(I("fd12:3456:789a:2::2")));
    CHECK(s.last().str() == "fd12:3456:789a:1:ffff:ffff:ffff:ffff");
    CHECK(S("fd00::/48").contains(s.base) == false);
    CHECK(S("fd12:3456:789a::/48").contains(s));
    CHECK(S("fd12:3456:789a::/48").overlaps(s));
    CHECK(message_of([] { S("fd00::1/64"); }) == "invalid subnet fd00::1/64: it should be fd00::/64");
    CHECK(message_of([] { S("fd00::/129"); }) == "invalid subnet fd00::/129: invalid CIDR address");
    CHECK(message_of([] { S("10.0.0.0/8"); }) == "invalid subnet 10.0.0.0/8: invalid CIDR address");
}

TEST_CASE("without --subnet a ULA /64 from the root's Global ID is picked, skipping taken ones") {
    CHECK(ula_prefix("0123456789abcdef").str() == "fd01:2345:6789::/48");
    CHECK(pick_ula_subnet("0123456789abcdef", {}).str() == "fd01:2345:6789::/64");
    CHECK(pick_ula_subnet("0123456789abcdef", {S("fd01:2345:6789::/64"), S("fd01:2345:6789:1::/80")}).str() ==
          "fd01:2345:6789:2::/64");
    auto cfg = make_ipam6_config("", "", "", "0123456789abcdef", {}, {S("fd01:2345:6789::/63")});
    CHECK(cfg.subnet.str() == "fd01:2345:6789:2::/64");
    CHECK(cfg.gateway.str() == "fd01:2345:6789:2::1");
}

TEST_CASE("a given IPv6 subnet, gateway and range are checked as Docker does, all problems at once") {
    auto cfg = make_ipam6_config("fd00:1::/64", "fd00:1::fe", "fd00:1::100/120", "00", {}, {});
    CHECK(cfg.gateway.str() == "fd00:1::fe");
    CHECK(cfg.ip_range->str() == "fd00:1::100/120");
    CHECK(message_of([] { make_ipam6_config("fd00:1::/64", "", "", "00", {S("fd00::/16")}, {}); }) ==
          "Pool overlaps with other one on this address space");
    auto msg = message_of([] { make_ipam6_config("fd00:1::/64", "fd00:2::1", "fd00:3::/80", "00", {}, {}); });
    CHECK(msg == "no matching subnet for gateway fd00:2::1\nno matching subnet for range fd00:3::/80");
    CHECK(message_of([] { make_ipam6_config("", "fd00::1", "", "00", {}, {}); }) ==
          "every ip-range or gateway must have a corresponding subnet");
    CHECK(message_of([] { make_ipam6_config("fd00::/127", "", "", "00", {}, {}); }) ==
          "invalid subnet fd00::/127: it must have at least 2 usable addresses (a /126 or larger)");
}

TEST_CASE("IPv6 addresses are handed out lowest first, skipping the gateway and taken ones") {
    auto cfg = make_ipam6_config("fd00:1::/64", "", "", "00", {}, {});
    Allocator6 a(cfg, {I("fd00:1::3")});
    CHECK(a.allocate().str() == "fd00:1::2");
    CHECK(a.allocate().str() == "fd00:1::4");
    a.reserve(I("fd00:1::9"));
    CHECK(message_of([&] { a.reserve(I("fd00:1::9")); }) == "Address already in use");
    CHECK(message_of([&] { a.reserve(I("fd00:1::1")); }) == "Address already in use");
    CHECK(message_of([&] { a.reserve(I("fd00:2::1")); }) ==
          "no configured subnet or ip-range contain the IP address fd00:2::1");

    Allocator6 tiny(make_ipam6_config("fd00:9::/126", "", "", "00", {}, {}));
    CHECK(tiny.allocate().str() == "fd00:9::2");
    CHECK(tiny.allocate().str() == "fd00:9::3");
    CHECK(message_of([&] { tiny.allocate(); }) == "no available IPv6 addresses on this network's address pools");

    Allocator6 ranged(make_ipam6_config("fd00:1::/64", "", "fd00:1::100/127", "00", {}, {}));
    CHECK(ranged.allocate().str() == "fd00:1::100");
    CHECK(ranged.allocate().str() == "fd00:1::101");
}
