#pragma once
// Helpers the `compose` subcommands share: the project (or just its name, for commands that
// work from labels when no compose file is around), its containers, progress output.
#include <map>
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

// The container name without "<project>-" (Compose's log prefix, "web-1").
std::string short_name(const std::string& project, const std::string& container_name);

// What `compose build` adds to a service's `build:` section (up --build uses the defaults).
struct ServiceBuildFlags {
    bool no_cache = false, pull = false, quiet = false;
    // --build-arg K=V over the service's args; nullopt (a bare K): from the project environment.
    std::map<std::string, std::optional<std::string>> args;
};

// Builds the service's image through engine/build as Compose does: tagged `image` (the service's
// `image:` or <project>-<service>) and build.tags; build.labels plus Compose's project, service
// and version labels; build args of the service then the flags', bare names resolved from the
// project environment. Progress lines go to stderr unless quiet.
void build_service(Context& ctx, const compose::Project& project, const compose::Service& svc, const std::string& image,
                   const ServiceBuildFlags& flags = {});

}  // namespace berth::cli

namespace berth::cli {

struct LogStyle {
    bool prefix = true;
    bool timestamps = false;
    bool color = false;
    size_t min_width = 0;  // names are padded to at least this (hook output's "web-1 ->" was wider)
};

// A log line's prefix, "<name padded to width>  | ", in the index'th colour when color.
std::string log_prefix(const std::string& name, size_t width, size_t index, bool color);

// Prints the containers' logs prefixed with "<service>-<n>  | " (padded to the widest name).
// With opts.follow each container is followed in its own thread until it stops for good, and
// on_end is called for it then; returns when every stream has ended.
void stream_logs(const store::Paths& paths, const std::string& project, const std::vector<ProjectContainer>& cs,
                 const container::LogOptions& opts, const LogStyle& style,
                 const std::function<void(const ProjectContainer&)>& on_end = {});

// Whether to colour output (--ansi, and stdout a terminal).
bool use_color();

}  // namespace berth::cli
