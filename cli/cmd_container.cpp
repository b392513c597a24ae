// start, stop, kill, rm, restart, wait, pause, unpause, rename, port, container prune, and the
// internal `container cleanup` that a shim runs when its container stops for good.
#include <unistd.h>

#include <iostream>

#include "cli/container_group.hpp"
#include "cli/output.hpp"
#include "container/engine.hpp"
#include "container/parse.hpp"
#include "runtime/container_init.hpp"
#include "runtime/pty.hpp"
#include "sys/error.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"

namespace berth::cli {

CLI::App* container_group(CLI::App& app) {
    static CLI::App* group = nullptr;
    if (!group) {
        group = app.add_subcommand("container", "Manage containers");
        group->require_subcommand(1);
    }
    return group;
}

namespace {

// Runs fn for each name; like Docker, errors are printed per container and the command
// exits 1 at the end if any failed.
void each(const std::vector<std::string>& names, const std::function<void(const std::string&)>& fn) {
    bool failed = false;
    for (auto& n : names) {
        try {
            fn(n);
        } catch (const std::exception& e) {
            std::cerr << "Error response from daemon: " << e.what() << "\n";
            failed = true;
        }
    }
    if (failed) throw Exit{1};
}

std::optional<int> parse_timeout(const std::string& t) {
    if (t.empty()) return std::nullopt;
    auto n = str::parse_int(t);
    if (!n) throw CLI::ValidationError("invalid argument \"" + t + "\" for \"-t, --timeout\" flag");
    return static_cast<int>(*n);
}

struct Names {
    std::vector<std::string> names;
};

void add_start(CLI::App* p, Context& ctx) {
    auto names = std::make_shared<std::vector<std::string>>();
    auto attach = std::make_shared<bool>(false);
    auto interactive = std::make_shared<bool>(false);
    auto* cmd = p->add_subcommand("start", "Start one or more stopped containers");
    cmd->add_flag("-a,--attach", *attach, "Attach STDOUT/STDERR and forward signals");
    cmd->add_flag("-i,--interactive", *interactive, "Attach container's STDIN");
    cmd->add_option("CONTAINER", *names, "Containers")->required();
    cmd->callback([=, &ctx] {
        container::Engine engine(ctx.paths());
        if (*attach || *interactive) {
            if (names->size() > 1) throw Error(Errc::invalid, "you cannot start and attach multiple containers at once");
            auto c = engine.records().get(names->front());
            container::StartOptions so;
            so.attach = true;
            so.attach_stdin = *interactive;
            so.stdin_fd = *interactive ? STDIN_FILENO : -1;
            so.tty = c.config.tty && ::isatty(STDIN_FILENO);
            so.on_output = [](int stream, std::string_view d) {
                auto& os = stream == 2 ? std::cerr : std::cout;
                os.write(d.data(), static_cast<std::streamsize>(d.size()));
                os.flush();
            };
            std::optional<runtime::RawTerminal> raw;
            if (so.tty) raw.emplace(STDIN_FILENO);
            try {
                throw Exit{engine.start(c.id, so)};
            } catch (const runtime::StartError& e) {
                std::cerr << "Error response from daemon: " << e.what() << "\n";
                throw Exit{e.exit_code()};
            }
        }
        each(*names, [&](const std::string& n) {
            engine.start(n);
            std::cout << n << "\n";
        });
    });
}

void add_simple(CLI::App* p, Context& ctx, const std::string& name, const std::string& help,
                std::function<void(container::Engine&, const std::string&, const std::string&)> fn,
                const char* timeout_help = nullptr, bool print = true) {
    auto names = std::make_shared<std::vector<std::string>>();
    auto timeout = std::make_shared<std::string>();
    auto* cmd = p->add_subcommand(name, help);
    if (timeout_help) {
        cmd->add_option("-t,--timeout,--time", *timeout, timeout_help);
        cmd->add_option("-s,--signal", *timeout, "Signal to send to the container")->excludes(cmd->get_option("-t"));
    }
    cmd->add_option("CONTAINER", *names, "Containers")->required();
    cmd->callback([=, &ctx] {
        container::Engine engine(ctx.paths());
        each(*names, [&](const std::string& n) {
            fn(engine, n, *timeout);
            if (print) std::cout << n << "\n";
        });
    });
}

void add_kill(CLI::App* p, Context& ctx) {
    auto names = std::make_shared<std::vector<std::string>>();
    auto sig = std::make_shared<std::string>("KILL");
    auto* cmd = p->add_subcommand("kill", "Kill one or more running containers");
    cmd->add_option("-s,--signal", *sig, "Signal to send to the container");
    cmd->add_option("CONTAINER", *names, "Containers")->required();
    cmd->callback([=, &ctx] {
        auto s = container::parse_signal(*sig);
        if (!s) throw Error(Errc::invalid, "invalid signal: " + *sig);
        container::Engine engine(ctx.paths());
        each(*names, [&](const std::string& n) {
            engine.kill(n, *s);
            std::cout << n << "\n";
        });
    });
}

void add_rm(CLI::App* p, Context& ctx, const std::string& name) {
    auto names = std::make_shared<std::vector<std::string>>();
    auto force = std::make_shared<bool>(false);
    auto volumes = std::make_shared<bool>(false);
    auto link = std::make_shared<bool>(false);
    auto* cmd = p->add_subcommand(name, "Remove one or more containers");
    cmd->add_flag("-f,--force", *force, "Force the removal of a running container (uses SIGKILL)");
    cmd->add_flag("-v,--volumes", *volumes, "Remove anonymous volumes associated with the container");
    cmd->add_flag("-l,--link", *link, "Remove the specified link");
    cmd->add_option("CONTAINER", *names, "Containers")->required();
    cmd->callback([=, &ctx] {
        container::Engine engine(ctx.paths());
        each(*names, [&](const std::string& n) {
            engine.remove(n, *force, *volumes);
            std::cout << n << "\n";
        });
    });
}

void add_wait(CLI::App* p, Context& ctx) {
    auto names = std::make_shared<std::vector<std::string>>();
    auto* cmd = p->add_subcommand("wait", "Block until one or more containers stop, then print their exit codes");
    cmd->add_option("CONTAINER", *names, "Containers")->required();
    cmd->callback([=, &ctx] {
        container::Engine engine(ctx.paths());
        each(*names, [&](const std::string& n) { std::cout << engine.wait(n) << "\n"; });
    });
}

void add_rename(CLI::App* p, Context& ctx) {
    auto from = std::make_shared<std::string>();
    auto to = std::make_shared<std::string>();
    auto* cmd = p->add_subcommand("rename", "Rename a container");
    cmd->add_option("CONTAINER", *from)->required();
    cmd->add_option("NEW_NAME", *to)->required();
    cmd->callback([=, &ctx] {
        container::Engine engine(ctx.paths());
        engine.rename(*from, *to);
    });
}

void add_port(CLI::App* p, Context& ctx) {
    auto name = std::make_shared<std::string>();
    auto want = std::make_shared<std::string>();
    auto* cmd = p->add_subcommand("port", "List port mappings or a specific mapping for the container");
    cmd->add_option("CONTAINER", *name)->required();
    cmd->add_option("PRIVATE_PORT", *want, "[PRIVATE_PORT[/PROTO]]");
    cmd->callback([=, &ctx] {
        container::Engine engine(ctx.paths());
        auto c = engine.records().get(*name);
        auto st = engine.state(c);
        auto ns = engine.records().network_state(c.id);
        std::vector<container::PublishedPort> ports;
        if (ns && st.running()) ports = ns->ports;
        std::string key = *want;
        if (!key.empty() && key.find('/') == std::string::npos) key += "/tcp";
        bool found = false;
        for (auto& pp : ports) {
            if (!key.empty() && pp.container_port != key) continue;
            found = true;
            std::string host = pp.host_ip.find(':') != std::string::npos ? "[" + pp.host_ip + "]" : pp.host_ip;
            if (key.empty()) std::cout << pp.container_port << " -> " << host << ":" << pp.host_port << "\n";
            else std::cout << host << ":" << pp.host_port << "\n";
        }
        if (!key.empty() && !found) throw Error(Errc::not_found, "No public port '" + key + "' published for " + *name);
    });
}

void add_prune(CLI::App* p, Context& ctx) {
    auto force = std::make_shared<bool>(false);
    auto filters = std::make_shared<std::vector<std::string>>();
    auto* cmd = p->add_subcommand("prune", "Remove all stopped containers");
    cmd->add_flag("-f,--force", *force, "Do not prompt for confirmation");
    cmd->add_option("--filter", *filters, "Provide filter values (e.g. 'until=<timestamp>')");
    cmd->callback([=, &ctx] {
        if (!*force) {
            std::cout << "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ";
            std::string answer;
            std::getline(std::cin, answer);
            if (answer != "y" && answer != "Y") return;
        }
        container::Engine engine(ctx.paths());
        std::vector<std::string> removed;
        for (auto& c : engine.records().list()) {
            if (engine.state(c).running()) continue;
            bool keep = false;
            for (auto& f : *filters) {
                auto [k, v] = str::split_once(f, '=');
                if (k == "label") {
                    auto [lk, lv] = str::split_once(v.value_or(""), '=');
                    auto it = c.config.labels.find(lk);
                    if (it == c.config.labels.end() || (lv && it->second != *lv)) keep = true;
                } else if (k == "until") {
                    auto t = sys::parse_time_or_duration(v.value_or(""), sys::now_ns());
                    if (!t) throw Error(Errc::invalid, "invalid filter 'until=" + v.value_or("") + "'");
                    if (c.created > *t) keep = true;
                } else {
                    throw Error(Errc::invalid, "invalid filter '" + k + "'");
                }
            }
            if (keep) continue;
            engine.remove(c.id, false, false);
            removed.push_back(c.id);
        }
        engine.sweep_trash(std::chrono::seconds(60));
        if (!removed.empty()) {
            std::cout << "Deleted Containers:\n";
            for (auto& id : removed) std::cout << id << "\n";
            std::cout << "\n";
        }
        std::cout << "Total reclaimed space: 0B\n";
    });
}

void add_cleanup(CLI::App* p, Context& ctx) {
    auto id = std::make_shared<std::string>();
    auto run_id = std::make_shared<std::string>();
    auto* cmd = p->add_subcommand("cleanup", "");  // internal: the exit command of a run
    cmd->group("");
    cmd->add_option("--run-id", *run_id);
    cmd->add_option("CONTAINER", *id)->required();
    cmd->callback([=, &ctx] {
        container::Engine engine(ctx.paths());
        engine.cleanup(*id, *run_id);
    });
}

void add_all(CLI::App* p, Context& ctx, bool grouped) {
    add_start(p, ctx);
    add_simple(p, ctx, "stop", "Stop one or more running containers",
               [](container::Engine& e, const std::string& n, const std::string& t) {
                   if (!t.empty() && !str::parse_int(t)) {
                       // -s SIGNAL: Docker's stop --signal; deliver it, then wait as stop does.
                       auto s = container::parse_signal(t);
                       if (!s) throw Error(Errc::invalid, "invalid signal: " + t);
                       e.kill(n, *s);
                       e.wait(n);
                       return;
                   }
                   e.stop(n, parse_timeout(t));
               },
               "Seconds to wait before killing the container");
    add_simple(p, ctx, "restart", "Restart one or more containers",
               [](container::Engine& e, const std::string& n, const std::string& t) { e.restart(n, parse_timeout(t)); },
               "Seconds to wait before killing the container");
    add_kill(p, ctx);
    add_rm(p, ctx, grouped ? "rm" : "rm");
    add_wait(p, ctx);
    add_simple(p, ctx, "pause", "Pause all processes within one or more containers",
               [](container::Engine& e, const std::string& n, const std::string&) { e.pause(n); });
    add_simple(p, ctx, "unpause", "Unpause all processes within one or more containers",
               [](container::Engine& e, const std::string& n, const std::string&) { e.unpause(n); });
    add_rename(p, ctx);
    add_port(p, ctx);
}

Registrar reg(21, {"start", "stop", "restart", "kill", "rm", "wait", "pause", "unpause", "rename", "port", "container"}, [](CLI::App& app, Context& ctx) {
    add_all(&app, ctx, false);
    auto* g = container_group(app);
    add_all(g, ctx, true);
    add_prune(g, ctx);
});

// The exit command of every detached run: its own registrar, so that berth builds nothing else.
Registrar reg_cleanup(21, {"container cleanup"}, [](CLI::App& app, Context& ctx) { add_cleanup(container_group(app), ctx); });

}  // namespace
}  // namespace berth::cli
