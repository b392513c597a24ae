#pragma once
// The services of a project as a dependency graph: an edge a -> b when a needs b started first
// (depends_on, network_mode/ipc/pid/uts service:b, volumes_from b, links b). Used to order
// start-up (topological levels) and to reject cycles with a message that names the cycle.
#include <optional>
#include <string>
#include <vector>

#include "compose/model.hpp"

namespace berth::compose {

struct Edge {
    std::string from;
    std::string to;
    std::string kind;  // depends_on, network_mode, ipc, pid, uts, volumes_from, links
};

class Graph {
public:
    explicit Graph(const Project& project);

    const std::vector<std::string>& services() const { return services_; }  // sorted
    const std::vector<Edge>& edges() const { return edges_; }              // sorted by (from, to)
    std::vector<std::string> dependencies(const std::string& service) const;  // direct, sorted
    std::vector<std::string> dependents(const std::string& service) const;    // direct, sorted

    // The first cycle found visiting services and their dependencies in name order, as
    // [a, b, ..., a]; nullopt when there is none. Deterministic, so messages and tests are stable.
    std::optional<std::vector<std::string>> find_cycle() const;

    // Topological levels: level 0 needs nothing, level n needs only services of lower levels;
    // each level sorted. Throws berth::Error(Errc::invalid) naming the cycle if there is one.
    std::vector<std::vector<std::string>> levels() const;

    // The given services plus everything they depend on, transitively (sorted).
    std::vector<std::string> with_dependencies(const std::vector<std::string>& services) const;
    // The given services plus everything that depends on them, transitively (sorted).
    std::vector<std::string> with_dependents(const std::vector<std::string>& services) const;

private:
    std::vector<std::string> services_;
    std::vector<Edge> edges_;
};

}  // namespace berth::compose
