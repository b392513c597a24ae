#include <catch2/catch.hpp>

#include "network/nat.hpp"
#include "sys/error.hpp"

using namespace berth;
using namespace berth::network;

namespace {
std::string message_of(const char* spec) {
    try {
        parse_publish(spec);
    } catch (const Error& e) {
        return e.what();
    }
    FAIL("no error for " << spec);
    return {};
}
PortSpec P(std::string ip, int hs, int he, int cs, int ce, std::string proto = "tcp") {
    return PortSpec{ip, std::uint16_t(hs), std::uint16_t(he), std::uint16_t(cs), std::uint16_t(ce), proto};
}
}  // namespace

TEST_CASE("every Docker publish form parses") {
    CHECK(parse_publish("8080:80") == P("", 8080, 8080, 80, 80));
    CHECK(parse_publish("127.0.0.1:8080:80") == P("127.0.0.1", 8080, 8080, 80, 80));
    CHECK(parse_publish("8080:80/udp") == P("", 8080, 8080, 80, 80, "udp"));
    CHECK(parse_publish("8080:80/TCP") == P("", 8080, 8080, 80, 80));
    CHECK(parse_publish("8000-8010:8000-8010") == P("", 8000, 8010, 8000, 8010));
    CHECK(parse_publish("80") == P("", 0, 0, 80, 80));
    CHECK(parse_publish("53/udp") == P("", 0, 0, 53, 53, "udp"));
    CHECK(parse_publish("8000-8002") == P("", 0, 0, 8000, 8002));
    CHECK(parse_publish("127.0.0.1::80") == P("127.0.0.1", 0, 0, 80, 80));
    CHECK(parse_publish("0.0.0.0:8080:80") == P("", 8080, 8080, 80, 80));
    // A host range for a single container port: one free port from the range.
    CHECK(parse_publish("9000-9005:80") == P("", 9000, 9005, 80, 80));
    CHECK(parse_publish("65535:1") == P("", 65535, 65535, 1, 1));
    // IPv6 host addresses, in brackets or not (Docker's nat.ParsePortSpec), printed canonically.
    CHECK(parse_publish("[::]:8080:80") == P("::", 8080, 8080, 80, 80));
    CHECK(parse_publish("[FD00:0::2]:8080:80/udp") == P("fd00::2", 8080, 8080, 80, 80, "udp"));
    CHECK(parse_publish("fd00::2:8080:80") == P("fd00::2", 8080, 8080, 80, 80));
    CHECK(parse_publish("[fd00::2]::80") == P("fd00::2", 0, 0, 80, 80));
}

TEST_CASE("bad publish specs are refused in Docker's words") {
    CHECK(message_of("80:abc") == "invalid containerPort: abc");
    CHECK(message_of("70000:80") == "invalid hostPort: 70000");
    CHECK(message_of("1-5:1-3") == "invalid ranges specified for container and host Ports: 1-3 and 1-5");
    CHECK(message_of("8080:0") == "invalid containerPort: 0");
    CHECK(message_of("8080:80/icmp") == "invalid proto: icmp");
    CHECK(message_of("300.0.0.1:8080:80") == "invalid IP address: 300.0.0.1");
    CHECK(message_of("5-1:80") == "invalid hostPort: 5-1");
    CHECK(message_of("") == "invalid containerPort: ");
    CHECK(message_of("1:2:3:4") == "invalid IP address: 1:2");
    CHECK(message_of("[fd00::g]:8080:80") == "invalid IP address: fd00::g");
    CHECK(message_of("8080:-80") == "invalid containerPort: -80");
    CHECK(message_of("+80") == "invalid containerPort: +80");
    CHECK(parse_publish("[::1]:8080:80") == P("::1", 8080, 8080, 80, 80));
}

TEST_CASE("[::1] is listened on by the shim for -p [::1]:… and for the [::] twin of a plain -p") {
    CHECK(listened_on_loopback6({"::1", 8080, "tcp", "10.0.0.2", 80}));
    CHECK(listened_on_loopback6({"::", 8080, "udp", "fd00::2", 80}));
    CHECK_FALSE(listened_on_loopback6({"0.0.0.0", 8080, "tcp", "10.0.0.2", 80}));
    CHECK_FALSE(listened_on_loopback6({"127.0.0.1", 8080, "tcp", "10.0.0.2", 80}));
    CHECK_FALSE(listened_on_loopback6({"fd00::1", 8080, "tcp", "fd00::2", 80}));
}

TEST_CASE("publish_all (-P) maps every exposed port to an ephemeral host port") {
    auto v = publish_all({"80/tcp", "53/udp", "9000-9001"});
    REQUIRE(v.size() == 3);
    CHECK(v[0] == P("", 0, 0, 80, 80));
    CHECK(v[1] == P("", 0, 0, 53, 53, "udp"));
    CHECK(v[2] == P("", 0, 0, 9000, 9001));
    CHECK_THROWS_AS(publish_all({"8080:80"}), Error);
}

TEST_CASE("the table's ruleset is fixed text") {
    const std::string golden =
        "table ip berth-1234abcd {\n"
        "\tset bridges { type ifname; }\n"
        "\tset intra { type ifname . ifname; }\n"
        "\tset internal { type ifname; }\n"
        "\tset egress_subnets { type ipv4_addr; flags interval; }\n"
        "\tset hairpin { type ipv4_addr . ifname; flags interval; }\n"
        "\tset dns { type ifname . ipv4_addr . inet_proto . inet_service; }\n"
        "\tmap pub_any { type inet_proto . inet_service : ipv4_addr . inet_service; }\n"
        "\tmap pub_addr { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }\n"
        "\tchain published {\n"
        "\t\tdnat ip to ip daddr . meta l4proto . th dport map @pub_addr\n"
        "\t\tdnat ip to meta l4proto . th dport map @pub_any\n"
        "\t}\n"
        "\tchain guard {\n"
        "\t\ttype filter hook prerouting priority raw; policy accept;\n"
        "\t\tiifname @bridges ip daddr 127.0.0.0/8 drop\n"
        "\t}\n"
        "\tchain prerouting {\n"
        "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
        "\t\tiifname . ip daddr . meta l4proto . th dport @dns accept\n"
        "\t\tfib daddr type local jump published\n"
        "\t}\n"
        "\tchain output {\n"
        "\t\ttype nat hook output priority -100; policy accept;\n"
        "\t\tfib daddr type local jump published\n"
        "\t}\n"
        "\tchain postrouting {\n"
        "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
        "\t\toifname @bridges ip saddr 127.0.0.0/8 masquerade\n"
        "\t\tct status dnat ip saddr . oifname @hairpin masquerade\n"
        "\t\tip saddr @egress_subnets oifname != @bridges masquerade\n"
        "\t}\n"
        "\tchain forward {\n"
        "\t\ttype filter hook forward priority filter; policy accept;\n"
        "\t\toifname @bridges ct state established,related accept\n"
        "\t\tiifname @bridges ct state established,related accept\n"
        "\t\tiifname . oifname @intra accept\n"
        "\t\tiifname @internal drop\n"
        "\t\toifname @internal drop\n"
        "\t\toifname @bridges ct status dnat accept\n"
        "\t\tiifname @bridges oifname @bridges drop\n"
        "\t\tiifname @bridges accept\n"
        "\t\toifname @bridges drop\n"
        "\t}\n"
        "\tchain input {\n"
        "\t\ttype filter hook input priority filter; policy accept;\n"
        "\t\tiifname @internal ct state established,related accept\n"
        "\t\tiifname . ip daddr . meta l4proto . th dport @dns accept\n"
        "\t\tiifname @internal drop\n"
        "\t}\n"
        "}\n";
    CHECK(ruleset_text("berth-1234abcd") == golden);
    CHECK(ruleset_text("berth-1234abcd", "ip") == golden);
}

TEST_CASE("the ip6 table has the same shape over IPv6 addresses, and leaves [::1] to the shim") {
    auto t = ruleset_text("berth", "ip6");
    CHECK(t.rfind("table ip6 berth {\n", 0) == 0);
    CHECK(t.find("ipv4_addr") == std::string::npos);
    CHECK(t.find("\tmap pub_addr { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }\n") !=
          std::string::npos);
    CHECK(t.find("\t\tdnat ip6 to ip6 daddr . meta l4proto . th dport map @pub_addr\n") != std::string::npos);
    CHECK(t.find("\t\tiifname @bridges ip6 daddr ::1 drop\n") != std::string::npos);
    CHECK(t.find("\t\tip6 daddr ::1 return\n\t\tfib daddr type local jump published\n") != std::string::npos);
    CHECK(t.find("\t\tip6 saddr @egress_subnets oifname != @bridges masquerade\n") != std::string::npos);
    // The same rules otherwise: strip the family words and the ::1 rule, and the texts agree.
    auto strip = [](std::string s) {
        for (auto [from, to] : {std::pair<std::string, std::string>{"\t\tip6 daddr ::1 return\n", ""},
                                {"ipv6_addr", "ADDR"}, {"ipv4_addr", "ADDR"}, {"ip6 ", "L3 "}, {"ip ", "L3 "},
                                {"::1 ", "LOOPBACK "}, {"127.0.0.0/8 ", "LOOPBACK "}})
            for (size_t at; (at = s.find(from)) != std::string::npos;) s.replace(at, from.size(), to);
        return s;
    };
    CHECK(strip(t) == strip(ruleset_text("berth", "ip")));
    std::vector<PortMapping> ports = {{"::", 8080, "tcp", "fd00:1::2", 80}, {"fd00::2", 8081, "udp", "fd00:1::2", 81}};
    CHECK(add_ports_text("berth", ports, "ip6") ==
          "add element ip6 berth pub_any { tcp . 8080 : fd00:1::2 . 80 }\n"
          "add element ip6 berth pub_addr { fd00::2 . udp . 8081 : fd00:1::2 . 81 }\n");
    BridgeRules b{"br-1", "fd00:1::/64", "fd00:1::1", false, false};
    CHECK(add_bridge_text("berth", b, "ip6") ==
          "add element ip6 berth bridges { \"br-1\" }\n"
          "add element ip6 berth intra { \"br-1\" . \"br-1\" }\n"
          "add element ip6 berth hairpin { fd00:1::/64 . \"br-1\" }\n"
          "add element ip6 berth egress_subnets { fd00:1::/64 }\n");
}

TEST_CASE("bridges are set elements") {
    BridgeRules user{"br-0123456789ab", "172.18.0.0/16", "172.18.0.1", false, true};
    CHECK(add_bridge_text("berth", user) ==
          "add element ip berth bridges { \"br-0123456789ab\" }\n"
          "add element ip berth intra { \"br-0123456789ab\" . \"br-0123456789ab\" }\n"
          "add element ip berth hairpin { 172.18.0.0/16 . \"br-0123456789ab\" }\n"
          "add element ip berth egress_subnets { 172.18.0.0/16 }\n"
          "add element ip berth dns { \"br-0123456789ab\" . 172.18.0.1 . udp . 53, \"br-0123456789ab\" . 172.18.0.1 . tcp . 53 }\n");
    BridgeRules internal{"br-internal1", "10.9.0.0/24", "10.9.0.1", true, true};
    auto t = add_bridge_text("berth", internal);
    CHECK(t.find("add element ip berth internal { \"br-internal1\" }\n") != std::string::npos);
    CHECK(t.find("egress_subnets") == std::string::npos);
    BridgeRules dflt{"berth0", "172.17.0.0/16", "172.17.0.1", false, false};
    CHECK(add_bridge_text("berth", dflt).find("dns") == std::string::npos);
    // Removal adds each element first, so deleting what is already gone is not an error.
    CHECK(remove_bridge_text("berth", dflt) ==
          "add element ip berth bridges { \"berth0\" }\n"
          "add element ip berth intra { \"berth0\" . \"berth0\" }\n"
          "add element ip berth hairpin { 172.17.0.0/16 . \"berth0\" }\n"
          "add element ip berth egress_subnets { 172.17.0.0/16 }\n"
          "delete element ip berth bridges { \"berth0\" }\n"
          "delete element ip berth intra { \"berth0\" . \"berth0\" }\n"
          "delete element ip berth hairpin { 172.17.0.0/16 . \"berth0\" }\n"
          "delete element ip berth egress_subnets { 172.17.0.0/16 }\n");
}

TEST_CASE("published ports are map elements keyed by protocol and port") {
    std::vector<PortMapping> ports = {
        {"0.0.0.0", 8080, "tcp", "172.18.0.2", 80},
        {"127.0.0.1", 8081, "tcp", "172.18.0.2", 81},
        {"0.0.0.0", 5353, "udp", "172.18.0.2", 53},
    };
    CHECK(add_ports_text("berth", ports) ==
          "add element ip berth pub_any { tcp . 8080 : 172.18.0.2 . 80, udp . 5353 : 172.18.0.2 . 53 }\n"
          "add element ip berth pub_addr { 127.0.0.1 . tcp . 8081 : 172.18.0.2 . 81 }\n");
    CHECK(remove_ports_text("berth", ports) ==
          "add element ip berth pub_any { tcp . 8080 : 172.18.0.2 . 80, udp . 5353 : 172.18.0.2 . 53 }\n"
          "add element ip berth pub_addr { 127.0.0.1 . tcp . 8081 : 172.18.0.2 . 81 }\n"
          "delete element ip berth pub_any { tcp . 8080, udp . 5353 }\n"
          "delete element ip berth pub_addr { 127.0.0.1 . tcp . 8081 }\n");
    CHECK(add_ports_text("berth", {}).empty());
}

TEST_CASE("the sockets holding a port are read from /proc/net text") {
    const std::string udp =
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
        "  12: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0 0\n"
        "  13: 0112F40A:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2 2 0 0\n"
        "  14: 00000000:1F90 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3 2 0 0\n";
    CHECK(proc_net_holders(udp, false, false, 53) == std::vector<std::string>{"127.0.0.1", "10.244.18.1"});
    CHECK(proc_net_holders(udp, false, false, 8080) == std::vector<std::string>{"0.0.0.0"});
    CHECK(proc_net_holders(udp, false, true, 53).empty());  // TCP: listeners (state 0A) only
    const std::string tcp6 =
        "  sl  local_address                         remote_address                        st ...\n"
        "   0: 000000FD000000000000000002000000:0035 00000000000000000000000000000000:0000 0A 0\n"
        "   1: 00000000000000000000000000000000:0035 00000000000000000000000000000000:0000 01 0\n";
    CHECK(proc_net_holders(tcp6, true, true, 53) == std::vector<std::string>{"[fd00::2]"});
}
