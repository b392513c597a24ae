#pragma once
// Converging a project (shared/STYLE.md: observe once, plan pure, execute without decisions).
//
//   observe()   what exists for the project, read once into a sorted value (observe.hpp)
//   plan_up()   (project, observed, options) -> a DAG of operations, each with its cause; pure:
//   plan_down() no syscalls, no I/O, so `up --dry-run` prints it and tests compare its text
//   execute()   walks the DAG (executor.hpp) and decides nothing
//
// Compose's rules (docker/compose pkg/compose/reconcile.go, convergence.go): containers are
// <project>-<service>-<n> with the com.docker.compose.* labels; an existing container is kept
// unless its config-hash label differs, its image changed, it misses one of its networks, a
// service it shares a namespace or volumes with (network_mode/ipc/pid/uts service:X,
// volumes_from) is recreated, or --force-recreate names it; --no-recreate keeps everything.
// Scaling down removes the highest numbers; new containers take max(existing) + 1.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compose/model.hpp"
#include "container/engine.hpp"
#include "network/network.hpp"
#include "volumes/volumes.hpp"

namespace berth::compose {

// ---- observed state -----------------------------------------------------------------------

struct ObservedContainer {
    std::string id, name, service;
    int number = 0;
    bool oneoff = false;
    std::string config_hash;  // the label
    std::string image_label;  // com.docker.compose.image (the image ID it was created from)
    std::string status;       // created | running | paused | restarting | exited | dead
    std::string health;       // "" (no healthcheck) | starting | healthy | unhealthy
    int exit_code = 0;
    std::vector<std::string> networks;  // names it is configured for, sorted
    StringMap anonymous_volumes;        // target -> volume name, inherited when recreated
    StringMap labels;
};

struct ObservedResource {
    std::string name, id;
    StringMap labels;
};

struct Observed {
    std::string project;
    std::vector<ObservedContainer> containers;  // the project's, sorted by (service, number, name)
    std::vector<ObservedResource> networks;     // labelled with the project or named by it, by name
    std::vector<ObservedResource> volumes;      // likewise
    std::map<std::string, std::string> images;  // the project's image references that exist -> ID

    const ObservedResource* network(const std::string& name) const;
    const ObservedResource* volume(const std::string& name) const;
};

// ---- plan ---------------------------------------------------------------------------------

enum class OpKind {
    create_network,
    create_volume,
    build_image,
    pull_image,
    create_container,
    recreate_container,  // stop and remove the old one, create the new one under the same name
    start_container,
    restart_container,
    remove_container,  // stop (with the timeout) and remove
    wait_service,      // poll the service's containers until `condition` holds
    remove_network,
    remove_volume,
    remove_image,
};

const char* op_verb(OpKind k);  // "create network", "wait for service", ...

struct Op {
    OpKind kind{};
    std::string service;       // the service it serves ("" for networks, volumes, orphans)
    std::string target;        // network / volume / image / container name, or the service waited for
    std::string container_id;  // the existing container an op works on
    int number = 0;            // container number
    // wait_service: service_healthy | service_completed_successfully | running_or_healthy (--wait)
    std::string condition;
    bool required = true;       // wait_service: a failure only warns when false
    std::string cause;          // why, in words
    std::vector<size_t> after;  // ops (indices, all smaller) that must be done first

    // What the executor needs, computed by the planner.
    std::optional<container::CreateRequest> request;  // create/recreate_container
    std::optional<network::NetworkOptions> network;   // create_network
    std::optional<volumes::CreateOptions> volume;     // create_volume
    std::optional<int> timeout;                       // stop timeout for recreate/remove/restart
    bool remove_volumes = false;                      // remove/recreate_container: its anonymous volumes too
};

struct Plan {
    std::vector<Op> ops;  // in an order that respects `after`
    std::vector<std::string> warnings;
    // One line per op: "<n>. <verb> <target>: <cause> [after <n>, ...]"; "" when empty.
    std::string text() const;
};

struct UpOptions {
    std::vector<std::string> services;  // named on the command line; empty = all
    bool no_deps = false;
    bool force_recreate = false;
    bool no_recreate = false;
    bool remove_orphans = false;
    bool build = false;     // --build: build images of services with a build section
    bool no_build = false;  // --no-build
    std::string pull;       // --pull always|missing|never; "" = each service's pull_policy
    bool no_start = false;  // compose create
    bool wait = false;      // --wait: wait for running/healthy at the end
    bool renew_anon_volumes = false;  // -V: a recreated container does not inherit anonymous volumes
    std::map<std::string, int> scale;  // --scale svc=n
    std::optional<int> timeout;        // -t: stop timeout when recreating/removing
    std::string version;               // com.docker.compose.version
};

struct DownOptions {
    bool volumes = false;  // -v: named volumes of the project too
    bool remove_orphans = false;
    std::string rmi;  // "", local, all
    std::optional<int> timeout;
    std::vector<std::string> services;  // only these (compose down SERVICE...)
};

// Throws berth::Error(Errc::invalid) listing every problem (unknown service, external network
// or volume missing, attributes berth cannot run) before anything is done.
Plan plan_up(const Project& project, const Observed& observed, const UpOptions& opts);
// project may be null (no compose file: everything labelled with the project goes).
Plan plan_down(const Project* project, const Observed& observed, const DownOptions& opts);

// The engine's create request for one container of a service (pure). Problems (attributes berth
// does not support) are appended to `problems`.
container::CreateRequest container_request(const Project& project, const Service& svc, int number,
                                           const UpOptions& opts, const std::string& image_id,
                                           std::vector<std::string>& problems);

}  // namespace berth::compose
