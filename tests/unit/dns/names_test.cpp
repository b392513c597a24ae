// The name table, built from a network store on disk through network::Manager.
#include <catch2/catch.hpp>

#include "network/dns_names.hpp"
#include "network/network.hpp"
#include "store_fixture.hpp"

using namespace berth;
using namespace berth::network;
using namespace berth::network::dns;
using dnstest::StoreFixture;

namespace {

Ip4 ip(const char* s) { return *Ip4::parse(s); }

std::vector<Ip4> ips(std::initializer_list<const char*> v) {
    std::vector<Ip4> out;
    for (auto* s : v) out.push_back(ip(s));
    return out;
}

struct Fixture {
    StoreFixture store;
    Fixture() {
        store.add_network("front", "10.1.0.0/24", "10.1.0.1");
        store.add_network("back", "10.2.0.0/24", "10.2.0.1");
        store.add_network("sealed", "10.3.0.0/24", "10.3.0.1", true);
        store.add_endpoint("front", "demo-web-1", "10.1.0.2", {"web", "frontend"});
        store.add_endpoint("front", "demo-web-2", "10.1.0.3", {"web"});
        store.add_endpoint("front", "demo-proxy-1", "10.1.0.4", {"proxy"});
        store.add_endpoint("back", "demo-proxy-1", "10.2.0.4", {"proxy"});
        store.add_endpoint("back", "demo-db-1", "10.2.0.2", {"db", "Database"});
        store.add_endpoint("sealed", "vault", "10.3.0.2");
        store.add_endpoint("bridge", "legacy", "172.17.0.2");
    }
    NameTable table() { return NameTable(Manager(store.paths).list()); }
};

std::string id(const char* name) { return StoreFixture::id_of(name); }

}  // namespace

TEST_CASE("user-defined networks get names; the default bridge, host and none do not") {
    Fixture f;
    auto t = f.table();
    std::vector<std::string> names;
    for (const auto& n : t.networks()) names.push_back(n.name);
    CHECK(names == std::vector<std::string>{"back", "front", "sealed"});
    const auto* front = t.find(id("front"));
    REQUIRE(front);
    CHECK(front->gateway == ip("10.1.0.1"));
    CHECK(front->subnet.str() == "10.1.0.0/24");
    CHECK_FALSE(front->internal);
    CHECK(t.find(id("sealed"))->internal);
    CHECK_FALSE(t.find(id("bridge")));
    CHECK(t.any_endpoint());
}

TEST_CASE("container names, short ids, aliases and <name>.<network>, case-insensitive, replicas together") {
    Fixture f;
    auto t = f.table();
    auto scope = t.scope(id("front"), ip("10.1.0.2"));
    REQUIRE(scope.size() == 1);
    CHECK(lookup(scope, "demo-web-1").v4 == ips({"10.1.0.2"}));
    CHECK(lookup(scope, "web").v4 == ips({"10.1.0.2", "10.1.0.3"}));  // round robin over both
    CHECK(lookup(scope, "frontend").v4 == ips({"10.1.0.2"}));
    CHECK(lookup(scope, "web.front").v4 == ips({"10.1.0.2", "10.1.0.3"}));
    CHECK(lookup(scope, "demo-web-2.front").v4 == ips({"10.1.0.3"}));
    std::string short_cid = StoreFixture::cid_of("demo-web-2").substr(0, 12);
    CHECK(lookup(scope, short_cid).v4 == ips({"10.1.0.3"}));
    CHECK_FALSE(lookup(scope, StoreFixture::cid_of("demo-web-2")).known);  // the full id is not a name
    CHECK_FALSE(lookup(scope, "nothing").known);
    CHECK_FALSE(lookup(scope, "web.back").known);
    // Keys are lower case (Name::key()); a mixed-case alias is found in lower case.
    auto back = t.scope(id("back"), ip("10.2.0.2"));
    CHECK(lookup(back, "database").v4 == ips({"10.2.0.2"}));
}

TEST_CASE("reverse lookups name the container and its network") {
    Fixture f;
    auto t = f.table();
    auto scope = t.scope(id("front"), ip("10.1.0.3"));
    CHECK(lookup_reverse(scope, ip("10.1.0.2")) == "demo-web-1.front");
    CHECK(lookup_reverse(scope, ip("10.1.0.3")) == "demo-web-2.front");
    CHECK_FALSE(lookup_reverse(scope, ip("10.2.0.2")));  // db is on back only
    CHECK_FALSE(lookup_reverse(scope, ip("10.1.0.1")));
}

TEST_CASE("a client sees its own networks only") {
    Fixture f;
    auto t = f.table();
    SECTION("a container on front alone does not see back's names") {
        auto scope = t.scope(id("front"), ip("10.1.0.2"));
        CHECK_FALSE(lookup(scope, "db").known);
        CHECK_FALSE(lookup(scope, "vault").known);
    }
    SECTION("a container on front and back sees both, the arrival network first") {
        auto scope = t.scope(id("front"), ip("10.1.0.4"));
        REQUIRE(scope.size() == 2);
        CHECK(scope[0]->name == "front");
        CHECK(scope[1]->name == "back");
        CHECK(lookup(scope, "db").v4 == ips({"10.2.0.2"}));
        CHECK(lookup(scope, "web").v4 == ips({"10.1.0.2", "10.1.0.3"}));
        // Its own alias exists on both: the arrival network's address comes first.
        CHECK(lookup(scope, "proxy").v4 == ips({"10.1.0.4"}));
        CHECK(lookup(t.scope(id("back"), ip("10.2.0.4")), "proxy").v4 == ips({"10.2.0.4"}));
        CHECK(lookup_reverse(scope, ip("10.2.0.2")) == "demo-db-1.back");
    }
    SECTION("an address of the subnet that no endpoint has: that network only") {
        auto scope = t.scope(id("front"), ip("10.1.0.99"));
        REQUIRE(scope.size() == 1);
        CHECK(lookup(scope, "web").known);
    }
    SECTION("a source outside the network's subnet is not served") {
        CHECK(t.scope(id("front"), ip("10.2.0.2")).empty());  // back's db asking front's gateway
        CHECK(t.scope(id("front"), ip("127.0.0.1")).empty());
        CHECK(t.scope(id("bridge"), ip("172.17.0.2")).empty());  // no DNS on the default bridge
        CHECK(t.scope("no-such-network", ip("10.1.0.2")).empty());
    }
    CHECK(t.container_at(id("front"), ip("10.1.0.2")) == StoreFixture::cid_of("demo-web-1"));
    CHECK_FALSE(t.container_at(id("front"), ip("10.1.0.99")));
}

TEST_CASE("the table follows the store: endpoints and networks coming and going") {
    Fixture f;
    CHECK_FALSE(lookup(f.table().scope(id("front"), ip("10.1.0.2")), "cache").known);
    f.store.add_endpoint("front", "demo-cache-1", "10.1.0.9", {"cache"});
    CHECK(lookup(f.table().scope(id("front"), ip("10.1.0.2")), "cache").v4 == ips({"10.1.0.9"}));
    f.store.remove_endpoint("front", "demo-web-1");
    auto t = f.table();
    auto scope = t.scope(id("front"), ip("10.1.0.3"));
    CHECK(lookup(scope, "web").v4 == ips({"10.1.0.3"}));
    CHECK_FALSE(lookup(scope, "demo-web-1").known);

    // A restarted container attached again keeps its name (at whatever address it has now).
    f.store.add_endpoint("front", "demo-web-1", "10.1.0.12", {"web"});
    t = f.table();
    scope = t.scope(id("front"), ip("10.1.0.3"));
    CHECK(lookup(scope, "demo-web-1").v4 == ips({"10.1.0.12"}));
    CHECK(lookup(scope, "web").v4 == ips({"10.1.0.3", "10.1.0.12"}));
}

TEST_CASE("no endpoint on any user-defined network: nothing to serve") {
    StoreFixture s;
    s.add_network("front", "10.1.0.0/24", "10.1.0.1");
    s.add_endpoint("bridge", "legacy", "172.17.0.2");  // the default bridge does not count
    NameTable t(Manager(s.paths).list());
    CHECK(t.networks().size() == 1);
    CHECK_FALSE(t.any_endpoint());
}

TEST_CASE("names that are not DNS names are left out; the others still resolve") {
    Network n;
    n.name = "front";
    n.id = std::string(64, 'a');
    n.subnet = "10.1.0.0/24";
    n.gateway = "10.1.0.1";
    EndpointRecord e;
    e.container_id = std::string(64, 'b');
    e.container_name = "/slashed";  // Docker's internal form
    e.ip = "10.1.0.2";
    e.aliases = {"", "a..b", std::string(64, 'x'), "ok.alias"};
    n.endpoints[e.container_id] = e;
    NameTable t({n});
    auto scope = t.scope(n.id, ip("10.1.0.2"));
    CHECK(lookup(scope, "slashed").known);
    CHECK(lookup(scope, "ok.alias").known);
    CHECK(lookup(scope, "ok.alias.front").known);
    CHECK(lookup(scope, "bbbbbbbbbbbb").known);
    CHECK(t.networks()[0].addresses.size() == 6);  // 3 names, each also under .front
    CHECK(lookup_reverse(scope, ip("10.1.0.2")) == "slashed.front");

    Network bad = n;
    bad.id = std::string(64, 'c');
    bad.name = "broken";
    bad.gateway = "not-an-ip";
    NameTable t2({bad});
    CHECK(t2.networks().empty());
}
