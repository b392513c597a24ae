// The planner as golden text: (compose file, observed state, options) -> plan.
#include <catch2/catch.hpp>

#include "compose/loader.hpp"
#include "compose/plan.hpp"
#include "compose/service_refs.hpp"
#include "sys/error.hpp"

using namespace berth;
using namespace berth::compose;

namespace {

Project load(const std::string& yaml) {
    LoadOptions o;
    o.files = {"-"};
    o.stdin_content = yaml;
    o.working_dir = "/srv/demo";
    o.project_name = "demo";
    o.environment = {};
    return load_project(o).project;
}

const char* kStack = R"(
services:
  db:
    image: busybox
    command: sleep 1000
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
    volumes:
      - data:/data
  cache:
    image: busybox
    command: sleep 1000
  web:
    image: busybox
    command: httpd -f -p 80
    ports: ["8080:80"]
    depends_on:
      db:
        condition: service_healthy
      cache:
        condition: service_started
    networks:
      default:
        aliases: [www]
volumes:
  data: {}
)";

// What the engine would report after `up` of this project: everything running, current hashes.
Observed converged(const Project& p) {
    Observed o;
    o.project = p.name;
    o.networks.push_back({"demo_default", "n1", {{labels::project, "demo"}, {labels::network, "default"}}});
    o.volumes.push_back({"demo_data", "demo_data", {{labels::project, "demo"}, {labels::volume, "data"}}});
    o.images["busybox"] = "sha256:bbbb";
    for (auto& [name, svc] : p.services) {
        ObservedContainer c;
        c.id = name + "-id";
        c.name = p.container_name(svc, 1);
        c.service = name;
        c.number = 1;
        // labelled as the executor labels them: references to other services resolved
        c.config_hash = service_config_hash(svc, [&](const std::string& parent) { return parent + "-id"; });
        c.image_label = "sha256:bbbb";
        c.status = "running";
        c.networks = {"demo_default"};
        o.containers.push_back(c);
    }
    return o;
}

}  // namespace

TEST_CASE("plan: a fresh up creates networks, volumes and containers in dependency order") {
    auto p = load(kStack);
    Observed o;
    o.project = "demo";
    o.images["busybox"] = "sha256:bbbb";
    auto plan = plan_up(p, o, {});
    CHECK(plan.text() ==
          "1. create network demo_default: not found\n"
          "2. create volume demo_data: not found\n"
          "3. create container demo-cache-1: service \"cache\" has no container [after 1]\n"
          "4. start container demo-cache-1: created [after 3]\n"
          "5. create container demo-db-1: service \"db\" has no container [after 1, 2]\n"
          "6. start container demo-db-1: created [after 5]\n"
          "7. create container demo-web-1: service \"web\" has no container [after 1, 3, 5]\n"
          "8. wait for service db (service_healthy): service \"web\" depends on it [after 6]\n"
          "9. start container demo-web-1: created [after 4, 7, 8]\n");
    CHECK(plan.warnings.empty());

    // The request carries Compose's names, labels and aliases.
    auto& web = plan.ops[6];
    REQUIRE(web.request);
    auto& r = *web.request;
    CHECK(r.name == "demo-web-1");
    CHECK(r.image == "busybox");
    CHECK(r.labels.at(labels::project) == "demo");
    CHECK(r.labels.at(labels::service) == "web");
    CHECK(r.labels.at(labels::container_number) == "1");
    CHECK(r.labels.at(labels::oneoff) == "False");
    CHECK(r.labels.at(labels::config_hash) == service_config_hash(p.services.at("web")));
    CHECK(r.labels.at(labels::depends_on) == "cache:service_started:false,db:service_healthy:false");
    CHECK(r.labels.at(labels::working_dir) == "/srv/demo");
    CHECK(r.labels.at(labels::image) == "sha256:bbbb");
    CHECK(r.networks == std::vector<std::string>{"demo_default"});
    CHECK(r.endpoints.at("demo_default").aliases == std::vector<std::string>{"web", "www"});
    CHECK(r.host.port_bindings.at("80/tcp").at(0).host_port == "8080");
    auto& db = *plan.ops[4].request;
    REQUIRE(db.host.mounts.size() == 1);
    CHECK(db.host.mounts[0].type == "volume");
    CHECK(db.host.mounts[0].source == "demo_data");
    CHECK(db.healthcheck->interval == 1'000'000'000);
    auto& net = *plan.ops[0].network;
    CHECK(net.labels.at(labels::network) == "default");
    CHECK(net.labels.at(labels::project) == "demo");
    CHECK(plan.ops[1].volume->labels.at(labels::volume) == "data");
}

TEST_CASE("plan: up twice is a no-op") {
    auto p = load(kStack);
    auto plan = plan_up(p, converged(p), {});
    CHECK(plan.text() == "");
}

TEST_CASE("plan: a changed service is recreated, the others kept") {
    auto p = load(kStack);
    auto o = converged(p);
    p.services.at("cache").environment["X"] = "1";
    auto plan = plan_up(p, o, {});
    auto h = service_config_hash(p.services.at("cache")).substr(0, 12);
    auto old = service_config_hash(load(kStack).services.at("cache")).substr(0, 12);
    CHECK(plan.text() == "1. recreate container demo-cache-1: configuration changed (config-hash " + old + " -> " + h +
                             ")\n"
                             "2. start container demo-cache-1: recreated [after 1]\n");
    CHECK(plan.ops[0].container_id == "cache-id");
}

TEST_CASE("plan: stopped containers are started, in dependency order, waiting for health") {
    auto p = load(kStack);
    auto o = converged(p);
    for (auto& c : o.containers) c.status = "exited";
    auto plan = plan_up(p, o, {});
    CHECK(plan.text() ==
          "1. start container demo-cache-1: not running\n"
          "2. start container demo-db-1: not running\n"
          "3. wait for service db (service_healthy): service \"web\" depends on it [after 2]\n"
          "4. start container demo-web-1: not running [after 1, 3]\n");
}

TEST_CASE("plan: --force-recreate, --no-recreate, --no-deps") {
    auto p = load(kStack);
    auto o = converged(p);
    UpOptions force;
    force.force_recreate = true;
    force.services = {"web"};
    // Only the named service is forced; its dependencies are kept as they are.
    CHECK(plan_up(p, o, force).text() ==
          "1. recreate container demo-web-1: --force-recreate\n"
          "2. wait for service db (service_healthy): service \"web\" depends on it\n"
          "3. start container demo-web-1: recreated [after 1, 2]\n");

    p.services.at("db").command = std::vector<std::string>{"sleep", "2000"};
    UpOptions keep;
    keep.no_recreate = true;
    CHECK(plan_up(p, o, keep).text() == "");

    UpOptions no_deps;
    no_deps.no_deps = true;
    no_deps.services = {"web"};
    CHECK(plan_up(p, o, no_deps).text() == "");
    no_deps.force_recreate = true;
    CHECK(plan_up(p, o, no_deps).text() == "1. recreate container demo-web-1: --force-recreate\n"
                                           "2. start container demo-web-1: recreated [after 1]\n");
}

TEST_CASE("plan: scale up and down, orphans") {
    auto p = load(kStack);
    auto o = converged(p);
    ObservedContainer orphan;
    orphan.id = "old-id";
    orphan.name = "demo-old-1";
    orphan.service = "old";
    orphan.number = 1;
    orphan.status = "running";
    o.containers.push_back(orphan);
    UpOptions up;
    up.scale["cache"] = 3;
    auto plan = plan_up(p, o, up);
    CHECK(plan.text() ==
          "1. create container demo-cache-2: service \"cache\" scaled to 3\n"
          "2. create container demo-cache-3: service \"cache\" scaled to 3\n"
          "3. start container demo-cache-2: created [after 1]\n"
          "4. start container demo-cache-3: created [after 2]\n");
    REQUIRE(plan.warnings.size() == 1);
    CHECK(plan.warnings[0].find("Found orphan containers ([demo-old-1])") == 0);

    UpOptions down;
    down.scale["cache"] = 0;
    down.remove_orphans = true;
    CHECK(plan_up(p, o, down).text() == "1. remove container demo-old-1: orphan (service \"old\" is not in the project)\n"
                                        "2. remove container demo-cache-1: service \"cache\" scaled to 0\n");
}

TEST_CASE("plan: a service sharing a namespace is recreated with its parent; restart: true restarts") {
    auto p = load(R"(
services:
  vpn:
    image: busybox
  app:
    image: busybox
    network_mode: service:vpn
  api:
    image: busybox
    depends_on:
      vpn:
        condition: service_started
        restart: true
)");
    auto o = converged(p);
    p.services.at("vpn").environment["NEW"] = "1";
    auto plan = plan_up(p, o, {});
    auto text = plan.text();
    CHECK(text.find("1. recreate container demo-vpn-1: configuration changed") == 0);
    CHECK(text.find("\n2. start container demo-vpn-1: recreated [after 1]\n"
                    "3. restart container demo-api-1: dependency \"vpn\" recreated (depends_on restart: true) [after 2]\n"
                    "4. recreate container demo-app-1: shares namespaces or volumes with service \"vpn\", which is recreated [after 1]\n"
                    "5. start container demo-app-1: recreated [after 2, 4]\n") != std::string::npos);
    REQUIRE(plan.ops[3].request);
    CHECK(plan.ops[3].request->host.network_mode == "container:demo-vpn-1");
    CHECK(plan.ops[3].request->networks.empty());
}

TEST_CASE("plan: the config hash is over service:x resolved to x's container, as Compose's") {
    auto p = load(R"(
services:
  vpn:
    image: busybox
  app:
    image: busybox
    network_mode: service:vpn
    volumes_from: ["vpn:ro"]
)");
    auto& app = p.services.at("app");
    auto to = [](std::string id) { return [id](const std::string&) { return id; }; };
    CHECK(service_config_hash(app, to("vpn-id")) != service_config_hash(app));
    CHECK(service_config_hash(app, to("vpn-id")) != service_config_hash(app, to("other-id")));
    // the same as a service written with the container's id (convergence.go resolveServiceReferences)
    auto written = app;
    written.network_mode = "container:vpn-id";
    written.volumes_from = {"vpn-id"};
    CHECK(service_config_hash(app, to("vpn-id")) == service_config_hash(written));
    // unresolved (no container): hashed as written
    CHECK(service_config_hash(app, to("")) == service_config_hash(app));
    auto vpn_only = p.services.at("vpn");
    CHECK(service_config_hash(vpn_only, to("x")) == service_config_hash(vpn_only));

    auto o = converged(p);
    CHECK(plan_up(p, o, {}).ops.empty());  // labelled with vpn's current container: kept
    // vpn's container was replaced by an earlier run that left app alone: app joins a dead
    // namespace, and its hash says so
    for (auto& c : o.containers)
        if (c.service == "vpn") c.id = "vpn-new-id";
    auto text = plan_up(p, o, {}).text();
    CHECK(text.find("recreate container demo-app-1: configuration changed") != std::string::npos);
    CHECK(text.find("container demo-vpn-1") == std::string::npos);  // vpn itself is kept
}

TEST_CASE("plan: problems are reported at once before anything is done") {
    auto p = load(R"(
services:
  web:
    image: busybox
    pid: shareable
    uts: private
    networks: [outside]
networks:
  outside:
    external: true
)");
    Observed o;
    o.project = "demo";
    o.images["busybox"] = "sha256:bbbb";
    try {
        plan_up(p, o, {});
        FAIL("plan_up must refuse");
    } catch (const Error& e) {
        CHECK(std::string(e.what()) ==
              "network outside declared as external, but could not be found\n"
              "service \"web\": pid: invalid mode \"shareable\"\n"
              "service \"web\": uts: invalid mode \"private\"");
    }
    UpOptions bad;
    bad.services = {"nope"};
    CHECK_THROWS_WITH(plan_up(p, o, bad), "no such service: nope");
}

TEST_CASE("plan: shared namespaces and the cgroup parent go to the create request") {
    auto p = load(R"(
services:
  app:
    image: busybox
    ipc: service:shm
    pid: "container:outside"
    uts: host
    userns_mode: host
    cgroup_parent: /limited/apps
  shm:
    image: busybox
    ipc: shareable
    pid: host
)");
    std::vector<std::string> problems;
    auto r = container_request(p, p.services.at("app"), 1, {}, "", problems);
    CHECK(problems.empty());
    CHECK(r.host.ipc_mode == "container:demo-shm-1");
    CHECK(r.host.pid_mode == "container:outside");
    CHECK(r.host.uts_mode == "host");
    CHECK(r.host.userns_mode == "host");
    CHECK(r.host.cgroup_parent == "/limited/apps");
    auto d = container_request(p, p.services.at("shm"), 1, {}, "", problems);
    CHECK(problems.empty());
    CHECK(d.host.ipc_mode == "shareable");
    CHECK(d.host.pid_mode == "host");
    CHECK(d.host.uts_mode.empty());
    // The dependency Compose adds for service:x orders the donor first.
    Observed o;
    o.project = "demo";
    o.images["busybox"] = "sha256:bbbb";
    auto text = plan_up(p, o, {}).text();
    auto shm = text.find("create container demo-shm-1"), app = text.find("create container demo-app-1");
    REQUIRE(shm != std::string::npos);
    REQUIRE(app != std::string::npos);
    CHECK(shm < app);
}

TEST_CASE("plan: missing images are pulled or built") {
    auto p = load(R"(
services:
  app:
    build: .
  db:
    image: postgres
)");
    Observed o;
    o.project = "demo";
    auto plan = plan_up(p, o, {});
    CHECK(plan.text() ==
          "1. create network demo_default: not found\n"
          "2. build image demo-app: image not found (service \"app\" has a build section)\n"
          "3. pull image postgres: image not found locally (service \"db\")\n"
          "4. create container demo-app-1: service \"app\" has no container [after 1, 2]\n"
          "5. start container demo-app-1: created [after 4]\n"
          "6. create container demo-db-1: service \"db\" has no container [after 1, 3]\n"
          "7. start container demo-db-1: created [after 6]\n");
}

TEST_CASE("plan: down removes dependents first, then networks; -v the volumes") {
    auto p = load(kStack);
    auto o = converged(p);
    DownOptions d;
    CHECK(plan_down(&p, o, d).text() ==
          "1. remove container demo-web-1: down\n"
          "2. remove container demo-cache-1: down [after 1]\n"
          "3. remove container demo-db-1: down [after 1]\n"
          "4. remove network demo_default: down [after 1, 2, 3]\n");
    d.volumes = true;
    CHECK(plan_down(&p, o, d).text().find("5. remove volume demo_data: down -v [after 1, 2, 3]\n") != std::string::npos);
    // Without the compose file: everything labelled with the project.
    auto t = plan_down(nullptr, o, {});
    CHECK(t.ops.size() == 4);
    CHECK(t.ops.back().kind == OpKind::remove_network);
}

TEST_CASE("plan: a service's attributes become the engine's create request") {
    auto p = load(R"(
services:
  app:
    image: busybox
    command: ["sh", "-c", "echo hi"]
    entrypoint: ["/bin/env"]
    environment: {B: "2", A: "1"}
    user: "1000:1000"
    working_dir: /work
    hostname: apphost
    labels: {team: web}
    expose: ["9000"]
    ports: ["127.0.0.1:8081:80/udp"]
    stop_signal: SIGINT
    stop_grace_period: 3s
    restart: on-failure:2
    cap_add: [NET_ADMIN]
    dns: [1.1.1.1]
    extra_hosts: ["db.local:10.0.0.5"]
    read_only: true
    init: true
    tmpfs: [/run]
    mem_limit: 64m
    cpus: 0.5
    pids_limit: 100
    ulimits: {nofile: 1024}
    volumes:
      - /srv/data:/data:ro
      - type: tmpfs
        target: /cache
        tmpfs: {size: 1048576}
    volumes_from: ["other:ro"]
    networks:
      back: {priority: 1}
      front:
        aliases: [api]
        priority: 10
  other:
    image: busybox
networks:
  front: {}
  back: {}
)");
    std::vector<std::string> problems;
    auto r = container_request(p, p.services.at("app"), 2, {}, "", problems);
    CHECK(problems.empty());
    CHECK(r.name == "demo-app-2");
    CHECK(*r.cmd == std::vector<std::string>{"sh", "-c", "echo hi"});
    CHECK(*r.entrypoint == std::vector<std::string>{"/bin/env"});
    CHECK(r.env == std::vector<std::string>{"A=1", "B=2"});
    CHECK(*r.user == "1000:1000");
    CHECK(*r.working_dir == "/work");
    CHECK(r.hostname == "apphost");
    CHECK(r.labels.at("team") == "web");
    CHECK(r.labels.at(labels::container_number) == "2");
    CHECK(r.labels.count(labels::image) == 0);
    CHECK(r.expose == std::vector<std::string>{"9000"});
    REQUIRE(r.host.port_bindings.count("80/udp"));
    CHECK(r.host.port_bindings.at("80/udp")[0].host_ip == "127.0.0.1");
    CHECK(r.host.port_bindings.at("80/udp")[0].host_port == "8081");
    CHECK(r.stop_signal == "SIGINT");
    CHECK(*r.stop_timeout == 3);
    CHECK(r.host.restart_policy == "on-failure");
    CHECK(r.host.restart_max_retries == 2);
    CHECK(r.host.cap_add == std::vector<std::string>{"NET_ADMIN"});
    CHECK(r.host.dns == std::vector<std::string>{"1.1.1.1"});
    CHECK(r.host.extra_hosts == std::vector<std::string>{"db.local:10.0.0.5"});
    CHECK(r.host.readonly_rootfs);
    CHECK(*r.host.init);
    CHECK(r.host.tmpfs.count("/run"));
    CHECK(*r.host.resources.memory == 64 * 1024 * 1024);
    CHECK(*r.host.resources.nano_cpus == 500'000'000);
    CHECK(*r.host.resources.pids_limit == 100);
    REQUIRE(r.host.ulimits.size() == 1);
    CHECK(r.host.ulimits[0].soft == 1024);
    CHECK(r.host.ulimits[0].hard == 1024);
    REQUIRE(r.host.mounts.size() == 2);
    CHECK(r.host.mounts[0].type == "bind");
    CHECK(r.host.mounts[0].source == "/srv/data");
    CHECK(r.host.mounts[0].readonly);
    CHECK(r.host.mounts[1].type == "tmpfs");
    CHECK(r.host.mounts[1].tmpfs_size == 1048576);
    CHECK(r.host.volumes_from == std::vector<std::string>{"demo-other-1:ro"});
    // Networks by priority, the service name and its aliases on each.
    CHECK(r.networks == std::vector<std::string>{"demo_front", "demo_back"});
    CHECK(r.endpoints.at("demo_front").aliases == std::vector<std::string>{"app", "api"});
    CHECK(r.endpoints.at("demo_back").aliases == std::vector<std::string>{"app"});
}

TEST_CASE("plan: a recreated container keeps its anonymous volumes (unless -V)") {
    auto p = load(R"(
services:
  db:
    image: busybox
    volumes: [/var/lib/db]
)");
    auto o = converged(p);
    o.containers[0].anonymous_volumes = {{"/var/lib/db", "aaaa"}, {"/image/volume", "bbbb"}};
    UpOptions force;
    force.force_recreate = true;
    auto plan = plan_up(p, o, force);
    REQUIRE(plan.ops.size() == 2);
    auto& mounts = plan.ops[0].request->host.mounts;
    REQUIRE(mounts.size() == 2);
    CHECK(mounts[0].target == "/var/lib/db");
    CHECK(mounts[0].source == "aaaa");
    CHECK(mounts[0].anonymous);
    CHECK(mounts[1].target == "/image/volume");
    CHECK(mounts[1].source == "bbbb");
    force.renew_anon_volumes = true;
    auto renewed = plan_up(p, o, force);
    REQUIRE(renewed.ops[0].request->host.mounts.size() == 1);
    CHECK(renewed.ops[0].request->host.mounts[0].source == "");
}

TEST_CASE("plan: a volume whose definition changed is refused, one made by this definition is kept") {
    auto p = load(kStack);
    Observed fresh;
    fresh.project = "demo";
    fresh.images["busybox"] = "sha256:bbbb";
    auto plan = plan_up(p, fresh, {});
    const Op* create = nullptr;
    for (auto& op : plan.ops)
        if (op.kind == OpKind::create_volume) create = &op;
    REQUIRE(create);
    REQUIRE(create->volume);
    std::string hash = create->volume->labels.at(labels::config_hash);
    CHECK(hash.size() == 64);

    auto o = converged(p);
    o.volumes[0].labels[labels::config_hash] = hash;
    CHECK(plan_up(p, o, {}).ops.empty());
    // A volume from before the label existed is not judged.
    o.volumes[0].labels.erase(labels::config_hash);
    CHECK(plan_up(p, o, {}).ops.empty());

    std::string text = kStack;
    text.replace(text.find("  data: {}\n"), 11, "  data:\n    driver_opts: {type: tmpfs, device: tmpfs}\n");
    auto changed = load(text);
    o.volumes[0].labels[labels::config_hash] = hash;
    try {
        plan_up(changed, o, {});
        FAIL("plan_up must refuse a changed volume");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("volume \"demo_data\" exists but doesn't match configuration in compose file (config-hash " +
                                         hash.substr(0, 12) + " -> ") == 0);
    }
}

TEST_CASE("plan: a network whose definition changed is made again, with its containers") {
    auto p = load(kStack);
    Observed fresh;
    fresh.project = "demo";
    fresh.images["busybox"] = "sha256:bbbb";
    std::string hash;
    for (auto& op : plan_up(p, fresh, {}).ops)
        if (op.kind == OpKind::create_network) hash = op.network->labels.at(labels::config_hash);
    REQUIRE(hash.size() == 64);
    auto o = converged(p);
    o.networks[0].labels[labels::config_hash] = hash;
    CHECK(plan_up(p, o, {}).ops.empty());

    o.networks[0].labels[labels::config_hash] = "0123456789abcdef";
    auto text = plan_up(p, o, {}).text();
    CHECK(text.find("1. remove container demo-cache-1: network demo_default is made again\n"
                    "2. remove container demo-db-1: network demo_default is made again\n"
                    "3. remove container demo-web-1: network demo_default is made again\n"
                    "4. remove network demo_default: configuration changed (config-hash 0123456789ab -> " + hash.substr(0, 12) +
                    ") [after 1, 2, 3]\n"
                    "5. create network demo_default: configuration changed") == 0);
    CHECK(text.find("create container demo-web-1: service \"web\" has no container") != std::string::npos);
    // Only part of the project named: a container left on the network is a problem, nothing is done.
    UpOptions only;
    only.services = {"cache"};
    CHECK_THROWS_WITH(plan_up(p, o, only), Catch::Contains("network demo_default changed, but container demo-db-1 is attached to it"));
}
