#include <catch2/catch.hpp>

#include "compose/graph.hpp"
#include "sys/error.hpp"

using namespace berth;
using namespace berth::compose;

namespace {
Project project(std::initializer_list<std::pair<const char*, std::vector<std::string>>> deps) {
    Project p;
    p.name = "p";
    for (auto& [name, ds] : deps) {
        Service s;
        s.name = name;
        s.image = "alpine";
        for (auto& d : ds) s.depends_on[d] = Dependency{};
        p.services[name] = s;
    }
    return p;
}
}  // namespace

TEST_CASE("graph: topological levels and closures") {
    auto p = project({{"web", {"api", "cache"}}, {"api", {"db"}}, {"cache", {}}, {"db", {}}, {"worker", {"db"}}});
    Graph g(p);
    CHECK(g.services() == std::vector<std::string>{"api", "cache", "db", "web", "worker"});
    CHECK(g.dependencies("web") == std::vector<std::string>{"api", "cache"});
    CHECK(g.dependents("db") == std::vector<std::string>{"api", "worker"});
    CHECK(g.levels() == std::vector<std::vector<std::string>>{{"cache", "db"}, {"api", "worker"}, {"web"}});
    CHECK(g.with_dependencies({"api"}) == std::vector<std::string>{"api", "db"});
    CHECK(g.with_dependents({"db"}) == std::vector<std::string>{"api", "db", "web", "worker"});
    CHECK_FALSE(g.find_cycle());
}

TEST_CASE("graph: implicit edges from network_mode, ipc, volumes_from and links") {
    auto p = project({{"a", {}}, {"b", {}}, {"c", {}}, {"d", {}}, {"e", {}}});
    p.services["a"].network_mode = "service:b";
    p.services["b"].volumes_from = {"c:ro", "container:outside"};
    p.services["c"].links = {"d:alias"};
    p.services["d"].ipc = "service:e";
    Graph g(p);
    REQUIRE(g.edges().size() == 4);
    CHECK(g.edges()[0].kind == "network_mode");
    CHECK(g.edges()[1].kind == "volumes_from");
    CHECK(g.edges()[2].kind == "links");
    CHECK(g.edges()[3].kind == "ipc");
    CHECK(g.levels() == std::vector<std::vector<std::string>>{{"e"}, {"d"}, {"c"}, {"b"}, {"a"}});
}

TEST_CASE("graph: cycles are found deterministically and printed") {
    auto p = project({{"c", {"a"}}, {"a", {"b"}}, {"b", {"c"}}, {"x", {"y"}}, {"y", {"x"}}});
    Graph g(p);
    auto cycle = g.find_cycle();
    REQUIRE(cycle);
    // Services are visited in name order: the cycle starts at the first one met.
    CHECK(*cycle == std::vector<std::string>{"a", "b", "c", "a"});
    try {
        g.levels();
        FAIL("levels() must refuse a cycle");
    } catch (const berth::Error& e) {
        CHECK(e.kind() == Errc::invalid);
        CHECK(std::string(e.what()) == "dependency cycle detected: a -> b -> c -> a");
    }
    auto self = project({{"solo", {"solo"}}});
    CHECK(*Graph(self).find_cycle() == std::vector<std::string>{"solo", "solo"});
}
