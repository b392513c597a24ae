// berth compose cp: docker cp for a service's containers, as Compose's cp.go picks them: from a
// service, its first container (or --index); to a service, every container of it (or --index).
#include <algorithm>

#include "cli/compose_ops.hpp"
#include "container/copy.hpp"
#include "container/engine.hpp"
#include "sys/error.hpp"

namespace berth::cli {
namespace {

Registrar reg(65, {"compose"}, [](CLI::App& app, Context& ctx) {
    auto* group = compose_app(app);
    static std::string src, dest;
    static container::CopyOptions opts;
    static int index = 0;
    static bool all = false;
    auto* cp = group->add_subcommand("cp", "Copy files/folders between a service container and the local filesystem");
    cp->add_option("SRC", src, "SERVICE:SRC_PATH, a local path, or - (a tar on stdin)")->required();
    cp->add_option("DEST", dest, "SERVICE:DEST_PATH, a local path, or - (a tar on stdout)")->required();
    cp->add_flag("-a,--archive", opts.archive, "Archive mode (copy all uid/gid information)");
    cp->add_flag("-L,--follow-link", opts.follow_link, "Always follow symbol link in SRC_PATH");
    cp->add_option("--index", index, "Index of the container if service has multiple replicas");
    cp->add_flag("--all", all, "Include containers created by the run command");
    cp->callback([&ctx] {
        auto s = container::split_copy_arg(src), d = container::split_copy_arg(dest);
        if (!s.name.empty() && !d.name.empty()) throw Error(Errc::invalid, "copying between services is not supported");
        if (s.name.empty() && d.name.empty()) throw Error(Errc::invalid, "unknown copy direction");
        const std::string& service = s.name.empty() ? d.name : s.name;
        if ((s.name.empty() ? d.path : s.path).empty()) throw Error(Errc::invalid, "path cannot be empty");
        auto target = load_target({service});
        if (target.project && !target.project->find_service(service))
            throw Error(Errc::not_found, "no such service: " + service);
        container::Engine e(ctx.paths());
        std::vector<ProjectContainer> chosen;
        for (auto& pc : project_containers(e, target, {service}, all))
            if (index == 0 || pc.number == index) chosen.push_back(std::move(pc));
        if (chosen.empty())
            throw Error(Errc::not_found, index ? "service \"" + service + "\" has no container with index " + std::to_string(index)
                                               : "no container found for service \"" + service + "\"");
        std::stable_sort(chosen.begin(), chosen.end(), [](auto& a, auto& b) { return a.number < b.number; });
        if (!s.name.empty()) {
            e.copy_from(chosen.front().c.id, s.path, d.path, opts);
            return;
        }
        for (auto& pc : chosen) e.copy_to(pc.c.id, s.path, d.path, opts);
    });
});

}  // namespace
}  // namespace berth::cli
