// berth cp: files between a container and the host (top level and `container cp`).
#include <iostream>

#include "cli/container_group.hpp"
#include "container/copy.hpp"
#include "container/engine.hpp"
#include "sys/error.hpp"

namespace berth::cli {
namespace {

void add_cp(CLI::App* p, Context& ctx) {
    struct Args {
        std::string src, dest;
        container::CopyOptions o;
        bool quiet = false;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = p->add_subcommand("cp", "Copy files/folders between a container and the local filesystem");
    cmd->add_option("SRC", a->src, "CONTAINER:SRC_PATH, or a local path, or - (a tar on stdin)")->required();
    cmd->add_option("DEST", a->dest, "CONTAINER:DEST_PATH, or a local path, or - (a tar on stdout)")->required();
    cmd->add_flag("-a,--archive", a->o.archive, "Archive mode (copy all uid/gid information)");
    cmd->add_flag("-L,--follow-link", a->o.follow_link, "Always follow symbol link in SRC_PATH");
    cmd->add_flag("-q,--quiet", a->quiet, "Suppress progress output during copy");
    cmd->callback([a, &ctx] {
        auto src = container::split_copy_arg(a->src), dest = container::split_copy_arg(a->dest);
        if (!src.name.empty() && !dest.name.empty())
            throw Error(Errc::invalid, "copying between containers is not supported");
        if (src.name.empty() && dest.name.empty())
            throw Error(Errc::invalid, "must specify at least one container source");
        container::Engine e(ctx.paths());
        if (!src.name.empty()) {
            if (src.path.empty()) throw Error(Errc::invalid, "source path cannot be empty");
            e.copy_from(src.name, src.path, dest.path, a->o);
        } else {
            if (dest.path.empty()) throw Error(Errc::invalid, "destination path cannot be empty");
            e.copy_to(dest.name, src.path, dest.path, a->o);
        }
    });
}

Registrar reg(27, {"cp", "container"}, [](CLI::App& app, Context& ctx) {
    for (auto* p : {&app, container_group(app)}) add_cp(p, ctx);
});

}  // namespace
}  // namespace berth::cli
