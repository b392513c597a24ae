#pragma once
// Helpers the `compose` subcommands share: the project (or just its name, for commands that
// work from labels when no compose file is around), its containers, progress output.
#include <optional>
#include <string>
#include <vector>

#include "cli/compose_common.hpp"
#include "compose/executor.hpp"
#include "container/engine.hpp"

namespace berth::cli {

struct ComposeTarget {
    std::optional<compose::Project> project;  // nullopt: no compose file, name from -p
    std::string name;
    const compose::Project* get() const { return project ? &*project : nullptr; }
};

// Loads the project; when no compose file is found and -p (or COMPOSE_PROJECT_NAME) names the
// project, returns just the name (Compose does the same for down/ps/logs/stop...).
ComposeTarget load_target(const std::vector<std::string>& services = {});

// The project's containers (not one-offs unless oneoff), sorted by name; only the given
// services when not empty (an unknown service is an error when the project is known).
struct ProjectContainer {
    container::Container c;
    store::State st;
    std::string service;
    int number = 0;
};
std::vector<ProjectContainer> project_containers(container::Engine& e, const ComposeTarget& t,
                                                 const std::vector<std::string>& services, bool oneoff = false);

// Progress lines to stderr unless --progress quiet.
std::function<void(const std::string&)> progress_printer();

// The container name without "<project>-" (Compose's log prefix, "web-1").
std::string short_name(const std::string& project, const std::string& container_name);

}  // namespace berth::cli

namespace berth::cli {

struct LogStyle {
    bool prefix = true;
    bool timestamps = false;
    bool color = false;
};

// Prints the containers' logs prefixed with "<service>-<n>  | " (padded to the widest name).
// With opts.follow each container is followed in its own thread until it stops for good, and
// on_end is called for it then; returns when every stream has ended.
void stream_logs(const store::Paths& paths, const std::string& project, const std::vector<ProjectContainer>& cs,
                 const container::LogOptions& opts, const LogStyle& style,
                 const std::function<void(const ProjectContainer&)>& on_end = {});

// Whether to colour output (--ansi, and stdout a terminal).
bool use_color();

}  // namespace berth::cli
