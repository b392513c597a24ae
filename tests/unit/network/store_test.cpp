#include <catch2/catch.hpp>

#include "network/netlink.hpp"
#include "network/network.hpp"
#include "sys/json.hpp"

using namespace berth;
using namespace berth::network;

TEST_CASE("MACs derived from IPs as Docker did, and MAC text round trips") {
    CHECK(mac_for_ip("172.17.0.2") == "02:42:ac:11:00:02");
    CHECK(mac_for_ip("10.255.1.200") == "02:42:0a:ff:01:c8");
    auto b = parse_mac("02:42:AC:11:00:02");
    REQUIRE(b);
    CHECK(format_mac(b->data(), b->size()) == "02:42:ac:11:00:02");
    for (const char* bad : {"", "02:42:ac:11:00", "02:42:ac:11:00:02:03", "02-42-ac-11-00-02", "0g:42:ac:11:00:02",
                            "02:42:ac:11:00:"})
        CHECK_FALSE(parse_mac(bad));
}

TEST_CASE("inspect JSON has Docker's shape and key order") {
    Network n;
    n.name = "web";
    n.id = std::string(64, 'a');
    n.created = "2026-01-02T03:04:05.000000006Z";
    n.subnet = "172.18.0.0/16";
    n.gateway = "172.18.0.1";
    n.labels = {{"com.docker.compose.project", "demo"}};
    n.bridge = "br-aaaaaaaaaaaa";
    EndpointRecord e;
    e.container_name = "demo-web-1";
    e.endpoint_id = std::string(64, 'e');
    e.ip = "172.18.0.2";
    e.prefix = 16;
    e.mac = "02:42:ac:12:00:02";
    n.endpoints["c1"] = e;
    auto j = ojson::parse(inspect_json(n));
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
    CHECK(keys == std::vector<std::string>{"Name", "Id", "Created", "Scope", "Driver", "EnableIPv6", "IPAM", "Internal",
                                           "Attachable", "Ingress", "ConfigFrom", "ConfigOnly", "Containers", "Options",
                                           "Labels"});
    CHECK(j["Scope"] == "local");
    CHECK(j["IPAM"]["Driver"] == "default");
    CHECK(j["IPAM"]["Config"][0]["Subnet"] == "172.18.0.0/16");
    CHECK(j["IPAM"]["Config"][0]["Gateway"] == "172.18.0.1");
    CHECK_FALSE(j["IPAM"]["Config"][0].contains("IPRange"));
    CHECK(j["Containers"]["c1"]["IPv4Address"] == "172.18.0.2/16");
    CHECK(j["Containers"]["c1"]["MacAddress"] == "02:42:ac:12:00:02");
    CHECK(j["Labels"]["com.docker.compose.project"] == "demo");
    CHECK_FALSE(j.contains("Berth"));  // berth's leases stay out of Docker's view
}
