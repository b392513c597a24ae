// berth exec / container exec.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli/container_group.hpp"
#include "container/engine.hpp"
#include "container/parse.hpp"
#include "runtime/container_init.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"

namespace berth::cli {
namespace {

void add_exec(CLI::App* parent, Context& ctx) {
    struct Args {
        bool detach = false, interactive = false, tty = false, privileged = false;
        std::vector<std::string> env, env_file;
        std::string user, workdir, detach_keys;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = parent->add_subcommand("exec", "Execute a command in a running container");
    cmd->add_flag("-d,--detach", a->detach, "Detached mode: run command in the background");
    cmd->add_flag("-i,--interactive", a->interactive, "Keep STDIN open even if not attached");
    cmd->add_flag("-t,--tty", a->tty, "Allocate a pseudo-TTY");
    cmd->add_flag("--privileged", a->privileged, "Give extended privileges to the command");
    cmd->add_option("-e,--env", a->env, "Set environment variables")->allow_extra_args(false);
    cmd->add_option("--env-file", a->env_file, "Read in a file of environment variables")->allow_extra_args(false);
    cmd->add_option("-u,--user", a->user, "Username or UID (format: \"<name|uid>[:<group|gid>]\")");
    cmd->add_option("-w,--workdir", a->workdir, "Working directory inside the container");
    cmd->add_option("--detach-keys", a->detach_keys, "Override the key sequence for detaching a container");
    cmd->prefix_command();
    cmd->callback([cmd, a, &ctx] {
        auto rest = cmd->remaining();
        reject_leading_flag(rest, "exec");
        if (rest.size() < 2)
            throw CLI::ValidationError("\"berth exec\" requires at least 2 arguments.\nSee 'berth exec --help'.\n\nUsage:  berth exec [OPTIONS] CONTAINER COMMAND [ARG...]");
        container::ExecRequest r;
        r.cmd.assign(rest.begin() + 1, rest.end());
        auto lookup = [](const std::string& k) -> std::optional<std::string> {
            if (const char* v = std::getenv(k.c_str())) return std::string(v);
            return std::nullopt;
        };
        for (auto& f : a->env_file) {
            auto content = sys::read_file_if_exists(f);
            if (!content) throw Error(Errc::invalid, "open " + f + ": no such file or directory");
            for (auto& e : container::parse_env_file(*content, f, lookup)) r.env.push_back(e);
        }
        for (auto& e : a->env)
            if (auto v = container::parse_env_flag(e, lookup)) r.env.push_back(*v);
        r.user = a->user;
        r.working_dir = a->workdir;
        r.tty = a->tty && ::isatty(STDIN_FILENO);
        if (a->tty && !::isatty(STDIN_FILENO) && a->interactive) {
            std::cerr << "the input device is not a TTY\n";
            throw Exit{1};
        }
        r.interactive = a->interactive;
        r.detach = a->detach;
        r.privileged = a->privileged;
        container::Engine engine(ctx.paths());
        try {
            throw Exit{engine.exec(rest.front(), r)};
        } catch (const runtime::StartError& e) {
            std::cerr << "Error: exec failed: " << e.what() << "\n";
            throw Exit{e.exit_code()};
        }
    });
}

Registrar reg(24, {"exec", "container"}, [](CLI::App& app, Context& ctx) {
    add_exec(&app, ctx);
    add_exec(container_group(app), ctx);
});

}  // namespace
}  // namespace berth::cli
