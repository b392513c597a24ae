// berth run / berth create (and `container run|create`).
#include <unistd.h>

#include <iostream>

#include "cli/container_flags.hpp"
#include "cli/cmd_image.hpp"
#include "cli/container_group.hpp"
#include "cli/image_pull.hpp"
#include "runtime/container_init.hpp"
#include "runtime/pty.hpp"
#include "sys/error.hpp"

namespace berth::cli {

namespace {

struct RunArgs {
    ContainerFlags flags;
    bool detach = false;
    bool quiet = false;
    std::string detach_keys;
    bool sig_proxy = true;
};

// IMAGE [COMMAND] [ARG...] after the flags (prefix_command leaves them in remaining()).
std::pair<std::string, std::vector<std::string>> image_and_command(CLI::App* cmd, const std::string& name) {
    auto rest = cmd->remaining();
    reject_leading_flag(rest, name);
    if (rest.empty())
        throw CLI::ValidationError("\"berth " + name + "\" requires at least 1 argument.\nSee 'berth " + name +
                                   " --help'.\n\nUsage:  berth " + name + " [OPTIONS] IMAGE [COMMAND] [ARG...]");
    std::string image = rest.front();
    rest.erase(rest.begin());
    return {image, rest};
}

container::Container create_container(Context& ctx, container::Engine& engine, const RunArgs& a, const std::string& image,
                                      const std::vector<std::string>& command) {
    const auto& policy = a.flags.pull;
    if (policy != "always" && policy != "missing" && policy != "never")
        throw Error(Errc::invalid, "invalid pull option: '" + policy + "': must be one of \"always\", \"missing\" or \"never\"");
    auto req = make_create_request(a.flags, image, command);
    bool attached = !a.detach;
    req.attach_stdin = attached && a.flags.interactive;
    req.attach_stdout = attached;
    req.attach_stderr = attached;
    // Docker pulls before creating with --pull always, and when the image is missing by default;
    // the pull's output goes to stderr (stdout is the container's).
    auto pull = [&] {
        PullDisplay how;
        how.quiet = a.quiet;
        how.out = &std::cerr;
        how.fd = STDERR_FILENO;
        how.platform = platform_flag(a.flags.platform);
        how.print_reference = false;
        auto store = open_image_store(ctx);
        pull_image(store, image, how);
    };
    if (policy == "always") pull();
    try {
        auto c = engine.create(req);
        print_warnings(engine);
        return c;
    } catch (const Error& e) {
        if (e.kind() != Errc::not_found || std::string(e.what()).rfind("No such image", 0) != 0) throw;
        std::optional<images::Reference> ref;
        try {
            ref = images::parse_reference(image);
        } catch (const Error&) {
        }
        if (ref) std::cerr << "Unable to find image '" << ref->familiar() << "' locally\n";
        if (!ref || policy != "missing") throw;
    }
    pull();
    auto c = engine.create(req);
    print_warnings(engine);
    return c;
}

void add_run(CLI::App* parent, Context& ctx) {
    auto a = std::make_shared<RunArgs>();
    auto* cmd = parent->add_subcommand("run", "Create and run a new container from an image");
    add_container_flags(cmd, a->flags);
    cmd->add_flag("-d,--detach", a->detach, "Run container in background and print container ID");
    cmd->add_flag("-q,--quiet", a->quiet, "Suppress the pull output");
    cmd->add_option("--detach-keys", a->detach_keys, "Override the key sequence for detaching a container");
    cmd->add_flag("--sig-proxy,!--no-sig-proxy", a->sig_proxy, "Proxy received signals to the process");
    cmd->prefix_command();
    cmd->callback([cmd, a, &ctx] {
        ctx.error_exit = 125;
        auto [image, command] = image_and_command(cmd, "run");
        if (a->detach && a->flags.rm && a->flags.restart != "no")
            throw Error(Errc::invalid, "Conflicting options: cannot specify both --restart and --rm");
        container::Engine engine(ctx.paths());
        auto c = create_container(ctx, engine, *a, image, command);
        container::StartOptions so;
        if (!a->detach) {
            so.attach = true;
            so.attach_stdin = a->flags.interactive;
            so.stdin_fd = a->flags.interactive ? STDIN_FILENO : -1;
            so.tty = a->flags.tty && ::isatty(STDIN_FILENO);
            so.on_output = [](int stream, std::string_view data) {
                auto& os = stream == 2 ? std::cerr : std::cout;
                os.write(data.data(), static_cast<std::streamsize>(data.size()));
                os.flush();
            };
        }
        try {
            std::optional<runtime::RawTerminal> raw;
            if (so.tty) raw.emplace(STDIN_FILENO);
            int code = engine.start(c.id, so);
            if (a->detach) {
                std::cout << c.id << "\n";
                return;
            }
            throw Exit{code};
        } catch (const runtime::StartError& e) {
            std::cerr << "Error: failed to start container \"" << c.name << "\": " << e.what() << "\n";
            throw Exit{e.exit_code()};
        }
    });
}

void add_create(CLI::App* parent, Context& ctx) {
    auto a = std::make_shared<RunArgs>();
    auto* cmd = parent->add_subcommand("create", "Create a new container");
    add_container_flags(cmd, a->flags);
    cmd->add_flag("-q,--quiet", a->quiet, "Suppress the pull output");
    cmd->prefix_command();
    cmd->callback([cmd, a, &ctx] {
        ctx.error_exit = 125;
        auto [image, command] = image_and_command(cmd, "create");
        container::Engine engine(ctx.paths());
        a->detach = true;
        auto c = create_container(ctx, engine, *a, image, command);
        std::cout << c.id << "\n";
    });
}

Registrar reg(20, {"run", "create", "container"}, [](CLI::App& app, Context& ctx) {
    add_run(&app, ctx);
    add_create(&app, ctx);
    add_run(container_group(app), ctx);
    add_create(container_group(app), ctx);
});

}  // namespace
}  // namespace berth::cli
