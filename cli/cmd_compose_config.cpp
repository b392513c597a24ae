// berth compose config: the project fully resolved, in Compose's canonical form.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <set>

#include "cli/compose_common.hpp"
#include "compose/graph.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"

namespace berth::cli {
namespace {

struct ConfigFlags {
    std::string format = "yaml";
    bool services = false;
    bool volumes = false;
    bool networks = false;
    bool profiles = false;
    bool images = false;
    bool quiet = false;
    bool no_interpolate = false;
    std::string hash;
    std::string output;
    std::vector<std::string> names;
};

void run_config(const ConfigFlags& f) {
    auto loaded = load_compose_project(f.names, [&](compose::LoadOptions& o) {
        o.interpolate = !f.no_interpolate;
        // Every profile a service declares, active or not.
        if (f.profiles) o.profiles = {"*"};
    });
    compose::Project& p = loaded.project;
    if (!f.names.empty()) {
        // Only the named services and what they need.
        auto keep = compose::Graph(p).with_dependencies(f.names);
        for (auto it = p.services.begin(); it != p.services.end();)
            it = std::find(keep.begin(), keep.end(), it->first) == keep.end() ? p.services.erase(it) : std::next(it);
    }
    if (f.quiet) return;
    std::string out;
    if (f.services) {
        for (auto& [name, _] : p.services) out += name + "\n";
    } else if (f.volumes) {
        for (auto& [name, _] : p.volumes) out += name + "\n";
    } else if (f.networks) {
        for (auto& [name, _] : p.networks) out += name + "\n";
    } else if (f.profiles) {
        std::set<std::string> all;
        for (auto& [_, s] : p.services) all.insert(s.profiles.begin(), s.profiles.end());
        for (auto& name : all) out += name + "\n";
    } else if (f.images) {
        for (auto& [_, s] : p.services) out += p.image_name(s) + "\n";
    } else if (!f.hash.empty()) {
        for (auto& [name, s] : p.services)
            if (f.hash == "*" || ("," + f.hash + ",").find("," + name + ",") != std::string::npos)
                out += name + " " + compose::service_config_hash(s) + "\n";
    } else if (f.format == "json") {
        out = compose::to_json(p);
    } else {
        out = compose::to_yaml(p);
    }
    if (f.output.empty()) std::cout << out;
    else sys::write_file(f.output, out);
}

Registrar reg(61, {"compose"}, [](CLI::App& app, Context&) {
    static ConfigFlags f;
    auto* cmd = compose_app(app)->add_subcommand("config", "Parse, resolve and render compose file in canonical format");
    cmd->add_option("--format", f.format, "Format the output. Values: [yaml | json]")
        ->check(CLI::IsMember({"yaml", "json"}));
    cmd->add_flag("--services", f.services, "Print the service names, one per line");
    cmd->add_flag("--volumes", f.volumes, "Print the volume names, one per line");
    cmd->add_flag("--networks", f.networks, "Print the network names, one per line");
    cmd->add_flag("--profiles", f.profiles, "Print the profile names, one per line");
    cmd->add_flag("--images", f.images, "Print the image names, one per line");
    cmd->add_flag("-q,--quiet", f.quiet, "Only validate the configuration, don't print anything");
    cmd->add_flag("--no-interpolate", f.no_interpolate, "Don't interpolate environment variables");
    cmd->add_option("--hash", f.hash, "Print the service config hash, one per line (a list of services or \"*\")");
    cmd->add_option("-o,--output", f.output, "Save to file (default to stdout)");
    cmd->add_option("service", f.names, "Services to show (with their dependencies)");
    cmd->callback([] { run_config(f); });
});

}  // namespace
}  // namespace berth::cli
