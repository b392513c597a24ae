// The config hash decides recreate vs keep: it must move with what changes a container and stay
// put for what does not (scale, dependencies, build, pull_policy, profiles).
#include <catch2/catch.hpp>

#include "compose/loader.hpp"

using namespace berth::compose;

namespace {
Service load_web(const std::string& yaml) {
    LoadOptions o;
    o.files = {"-"};
    o.stdin_content = yaml;
    o.working_dir = "/tmp";
    o.project_name = "h";
    return load_project(o).project.services.at("web");
}
const std::string base = "services:\n  web:\n    image: nginx:1\n    environment: [A=1]\n  db:\n    image: postgres\n";
}  // namespace

TEST_CASE("config hash: same model, same hash; 64 hex digits") {
    auto h = service_config_hash(load_web(base));
    CHECK(h.size() == 64);
    CHECK(h.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(service_config_hash(load_web(base)) == h);
    // Key order and list-vs-map syntax do not matter: the hash is of the canonical form.
    CHECK(service_config_hash(load_web("services:\n  db:\n    image: postgres\n  web:\n    environment:\n      A: \"1\"\n"
                                       "    image: nginx:1\n")) == h);
}

TEST_CASE("config hash: scale, replicas, depends_on, build, pull_policy and profiles do not count") {
    auto h = service_config_hash(load_web(base));
    std::string s = "services:\n  web:\n    image: nginx:1\n    environment: [A=1]\n";
    std::string db = "  db:\n    image: postgres\n";
    CHECK(service_config_hash(load_web(s + "    scale: 3\n" + db)) == h);
    CHECK(service_config_hash(load_web(s + "    deploy:\n      replicas: 5\n" + db)) == h);
    CHECK(service_config_hash(load_web(s + "    depends_on: [db]\n" + db)) == h);
    CHECK(service_config_hash(load_web(s + "    pull_policy: always\n" + db)) == h);
    CHECK(service_config_hash(load_web(s + "    build: .\n" + db)) == h);
    auto svc = load_web(base);
    svc.profiles = {"debug"};
    svc.depends_on["db"].condition = "service_healthy";
    CHECK(service_config_hash(svc) == h);
    svc.labels["changed"] = "yes";
    CHECK(service_config_hash(svc) != h);
}

TEST_CASE("config hash: image, environment, ports and resources do count") {
    auto h = service_config_hash(load_web(base));
    std::string db = "  db:\n    image: postgres\n";
    CHECK(service_config_hash(load_web("services:\n  web:\n    image: nginx:2\n    environment: [A=1]\n" + db)) != h);
    CHECK(service_config_hash(load_web("services:\n  web:\n    image: nginx:1\n    environment: [A=2]\n" + db)) != h);
    CHECK(service_config_hash(load_web(base.substr(0, base.find("  db:")) + "    ports: [\"80:80\"]\n" + db)) != h);
    CHECK(service_config_hash(load_web(base.substr(0, base.find("  db:")) + "    deploy:\n      replicas: 2\n"
                                                                          "      resources:\n        limits:\n"
                                                                          "          memory: 1g\n" + db)) != h);
}
