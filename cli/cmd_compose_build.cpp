// berth compose build: the images of the services that have a `build:` section, through
// engine/build (cli/compose_ops.hpp build_service), in dependency order so a service's
// Dockerfile can start FROM another service's image.
#include <iostream>
#include <set>

#include "cli/compose_ops.hpp"
#include "cli/progress.hpp"
#include "compose/graph.hpp"
#include "sys/error.hpp"
#include "sys/strings.hpp"

namespace berth::cli {
namespace {

struct BuildFlags {
    bool no_cache = false, pull = false, quiet = false, with_deps = false;
    std::vector<std::string> build_args, services;
};

void run_build(Context& ctx, const BuildFlags& f) {
    ServiceBuildFlags sf;
    sf.no_cache = f.no_cache;
    sf.pull = f.pull;
    sf.quiet = f.quiet;
    for (auto& kv : f.build_args) {
        auto [k, v] = str::split_once(kv, '=');
        if (k.empty()) throw Error(Errc::invalid, "invalid --build-arg \"" + kv + "\": a KEY=VALUE pair is expected");
        sf.args[k] = v ? std::optional<std::string>(*v) : std::nullopt;
    }
    auto target = load_target(f.services);
    if (!target.project) throw Error(Errc::invalid, "no configuration file provided: not found");
    auto& project = *target.project;
    compose::Graph graph(project);
    std::vector<std::string> wanted = f.services;
    if (wanted.empty()) wanted = graph.services();
    else if (f.with_deps) wanted = graph.with_dependencies(wanted);
    std::set<std::string> want(wanted.begin(), wanted.end());

    ProgressScope progress("Building", f.quiet);
    for (auto& level : graph.levels()) {
        for (auto& s : level) {
            if (!want.count(s)) continue;
            auto& svc = project.services.at(s);
            if (!svc.build) continue;  // Compose skips services that only name an image
            auto image = project.image_name(svc);
            if (compose_flags().dry_run) {
                std::cout << "build " << image << " (service \"" << s << "\")\n";
                continue;
            }
            progress.say("Service " + s, "Building");
            try {
                build_service(ctx, project, svc, image, sf);
            } catch (...) {
                progress.say("Service " + s, "Error");
                throw;
            }
            progress.say("Service " + s, "Built");
        }
    }
}

Registrar reg(65, {"compose"}, [](CLI::App& app, Context& ctx) {
    static BuildFlags f;
    auto* cmd = compose_app(app)->add_subcommand("build", "Build or rebuild services");
    cmd->add_option("--build-arg", f.build_args, "Set build-time variables for services")->allow_extra_args(false);
    cmd->add_flag("--no-cache", f.no_cache, "Do not use cache when building the image");
    cmd->add_flag("--pull", f.pull, "Always attempt to pull a newer version of the image");
    cmd->add_flag("-q,--quiet", f.quiet, "Suppress the build output");
    cmd->add_flag("--with-dependencies", f.with_deps, "Also build dependencies (transitively)");
    cmd->add_option("service", f.services, "Services");
    cmd->callback([&ctx] { run_build(ctx, f); });
});

}  // namespace
}  // namespace berth::cli
