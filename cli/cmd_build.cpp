// berth build (and `berth image build`), berth builder prune: Dockerfiles to images through
// engine/build, with BuildKit's plain progress on stderr and the image ID on stdout.
#include <unistd.h>

#include <iostream>

#include "build/build.hpp"
#include "cli/cli.hpp"
#include "cli/cmd_image.hpp"
#include "cli/image_pull.hpp"
#include "container/engine.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"

namespace berth::cli {
namespace {

std::map<std::string, std::string> key_values(const std::vector<std::string>& in, bool from_env) {
    std::map<std::string, std::string> out;
    for (auto& kv : in) {
        auto [k, v] = str::split_once(kv, '=');
        if (k.empty()) throw_error(Errc::invalid, "invalid argument \"" + kv + "\": a KEY=VALUE pair is expected");
        if (!v && from_env) {
            // --build-arg NAME takes the value from berth's environment, as Docker's.
            if (const char* e = std::getenv(k.c_str())) out[k] = e;
            continue;
        }
        out[k] = v.value_or("");
    }
    return out;
}

void add_build_command(CLI::App* parent, Context& ctx) {
    struct Opts {
        std::vector<std::string> tags, build_args, labels, secrets;
        std::string file, target, network = "default", progress = "auto", context, platform;
        bool no_cache = false, quiet = false, pull = false, rm = true, force_rm = false;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = parent->add_subcommand("build", "Build an image from a Dockerfile");
    cmd->add_option("-t,--tag", o->tags, "Name and optionally a tag in the \"name:tag\" format")->allow_extra_args(false);
    cmd->add_option("-f,--file", o->file, "Name of the Dockerfile (default: \"PATH/Dockerfile\")");
    cmd->add_option("--build-arg", o->build_args, "Set build-time variables")->allow_extra_args(false);
    cmd->add_option("--label", o->labels, "Set metadata for an image")->allow_extra_args(false);
    cmd->add_option("--secret", o->secrets, "Secret to expose to the build (format: \"id=mysecret[,src=/local/secret]\")")
        ->allow_extra_args(false);
    cmd->add_option("--target", o->target, "Set the target build stage to build");
    cmd->add_flag("--no-cache", o->no_cache, "Do not use cache when building the image");
    cmd->add_flag("--pull", o->pull, "Always attempt to pull a newer version of the image");
    cmd->add_option("--network", o->network, "Set the networking mode for the RUN instructions during build (bridge, host, none)");
    cmd->add_option("--progress", o->progress, "Set type of progress output (auto, plain, tty, quiet)");
    cmd->add_option("--platform", o->platform, "Set target platform for build");
    cmd->add_flag("-q,--quiet", o->quiet, "Suppress the build output and print image ID on success");
    cmd->add_flag("--rm", o->rm, "Remove intermediate containers after a successful build (always)");
    cmd->add_flag("--force-rm", o->force_rm, "Always remove intermediate containers (always)");
    cmd->add_option("context", o->context, "PATH | -")->required();
    cmd->callback([o, &ctx] {
        if (o->progress != "auto" && o->progress != "plain" && o->progress != "tty" && o->progress != "quiet" && o->progress != "rawjson")
            throw_error(Errc::invalid, "invalid progress mode \"" + o->progress + "\": auto, plain, tty or quiet");
        if (!o->platform.empty()) {
            auto p = str::split(o->platform, '/');
            if (p.size() < 2 || p[0] != "linux" || p[1] != images::host_architecture())
                throw_error(Errc::unsupported, "berth build builds for this host's platform only (linux/" + images::host_architecture() + ")");
        }
        build::BuildOptions bo;
        bo.args = key_values(o->build_args, true);
        bo.labels = key_values(o->labels, false);
        bo.tags = o->tags;
        bo.target = o->target;
        bo.no_cache = o->no_cache;
        bo.network = o->network;
        for (auto& sec : o->secrets) bo.secrets.push_back(build::parse_secret_flag(sec));
        std::optional<sys::TempDir> empty_ctx;
        if (o->context == "-") {
            // `berth build - < Dockerfile`: the Dockerfile from stdin, an empty context.
            bo.dockerfile_inline = sys::read_fd(STDIN_FILENO);
            sys::mkdirs(ctx.paths().tmp(), 0700);
            empty_ctx.emplace(ctx.paths().tmp(), "build-ctx-");
            bo.context = empty_ctx->path();
        } else {
            bo.context = o->context;
            if (!o->file.empty()) bo.dockerfile = o->file == "-" ? "" : o->file;
            if (o->file == "-") bo.dockerfile_inline = sys::read_fd(STDIN_FILENO);
        }
        bool quiet = o->quiet || o->progress == "quiet";
        if (!quiet) bo.progress = [](std::string_view line) { std::cerr << line << "\n" << std::flush; };
        container::Engine engine(ctx.paths());
        // Base images the store lacks are pulled, as docker build does; --pull pulls every FROM.
        bo.pull = o->pull;
        bo.fetch = [&engine, quiet](const std::string& ref) { return pull_for_build(engine.images(), ref, quiet); };
        auto r = build::build(engine, bo);
        for (auto& w : r.warnings) std::cerr << w << "\n";
        std::cout << r.image_id << "\n";
    });
}

void add_builder_commands(CLI::App& app, Context& ctx) {
    auto* builder = app.add_subcommand("builder", "Manage builds");
    builder->require_subcommand(1);
    struct Opts {
        bool force = false, all = false;
    };
    auto o = std::make_shared<Opts>();
    auto* prune = builder->add_subcommand("prune", "Remove build cache");
    prune->add_flag("-f,--force", o->force, "Do not prompt for confirmation");
    prune->add_flag("-a,--all", o->all, "Remove all unused build cache, not just dangling ones");
    prune->callback([o, &ctx] {
        if (!o->force) {
            std::cout << "WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] " << std::flush;
            std::string answer;
            std::getline(std::cin, answer);
            answer = str::to_lower(str::trim(answer));
            if (answer != "y" && answer != "yes") return;
        }
        container::Engine engine(ctx.paths());
        auto before = sys::disk_usage(ctx.paths().images());
        auto r = build::prune_cache(engine);
        int mounts = build::prune_cache_mounts(ctx.paths().builder());
        auto after = sys::disk_usage(ctx.paths().images());
        for (auto& c : r.containers) std::cout << "Deleted build container: " << c << "\n";
        if (mounts) std::cout << "Deleted cache mounts: " << mounts << "\n";
        if (!r.deleted.empty()) {
            std::cout << "Deleted build cache objects:\n";
            for (auto& d : r.deleted) std::cout << d << "\n";
            std::cout << "\n";
        }
        std::cout << "Total reclaimed space: " << human_size(static_cast<double>(before > after ? before - after : 0), 4) << "\n";
    });
}

Registrar reg(32, {"build", "image", "builder"}, [](CLI::App& app, Context& ctx) {
    add_build_command(&app, ctx);
    add_build_command(image_group(app), ctx);
    add_builder_commands(app, ctx);
});

}  // namespace
}  // namespace berth::cli
