// berth: a container engine and compose orchestrator. Command families live in cmd_*.cpp and
// register themselves (cli.hpp); this file owns global flags, dispatch and exit codes.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <string_view>

#include "cli/cli.hpp"
#include "sys/error.hpp"

namespace berth::cli {

std::vector<Registration>& registry() {
    static std::vector<Registration> r;
    return r;
}

Registrar::Registrar(int order, RegisterFn fn) { registry().push_back({order, {}, std::move(fn)}); }
Registrar::Registrar(int order, std::vector<std::string> commands, RegisterFn fn) {
    registry().push_back({order, std::move(commands), std::move(fn)});
}

namespace {

// The command words of argv: the first argument that is not a global flag or its value, and
// the one after it when that is a word too ("container cleanup"); none when a flag comes first
// that only the whole tree answers (--help, -v).
std::vector<std::string> command_words(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--root" || a == "--run-dir") {
            ++i;
            continue;
        }
        if (a.rfind("--root=", 0) == 0 || a.rfind("--run-dir=", 0) == 0 || a == "-D" || a == "--debug") continue;
        if (a.empty() || a[0] == '-') return {};
        std::vector<std::string> words{std::string(a)};
        if (i + 1 < argc && argv[i + 1][0] != '-' && argv[i + 1][0] != 0) words.push_back(words[0] + " " + argv[i + 1]);
        return words;
    }
    return {};
}

// Runs the registrars that name the invoked command (and those without a list): the ones that
// name its two words ("container cleanup") if any does, else those naming its first word, else
// all of them. With the whole tree, checks that every registrar named what it adds to.
void build_tree(CLI::App& app, Context& ctx, const std::vector<std::string>& words) {
    auto& regs = registry();
    std::stable_sort(regs.begin(), regs.end(), [](auto& a, auto& b) { return a.order < b.order; });
    auto names = [](const Registration& r, const std::string& w) {
        return std::find(r.commands.begin(), r.commands.end(), w) != r.commands.end();
    };
    std::string key;
    for (auto it = words.rbegin(); it != words.rend() && key.empty(); ++it)
        if (std::any_of(regs.begin(), regs.end(), [&](auto& r) { return names(r, *it); })) key = *it;
    for (auto& r : regs) {
        if (!key.empty() && !r.commands.empty() && !names(r, key)) continue;
        if (!key.empty() || r.commands.empty()) {
            r.fn(app, ctx);
            continue;
        }
        std::map<const CLI::App*, size_t> before;  // top-level command -> its number of subcommands
        for (auto* sub : app.get_subcommands({})) before[sub] = sub->get_subcommands({}).size();
        r.fn(app, ctx);
        for (auto* sub : app.get_subcommands({})) {
            auto it = before.find(sub);
            if (it != before.end() && it->second == sub->get_subcommands({}).size()) continue;
            bool named = std::any_of(r.commands.begin(), r.commands.end(), [&](const std::string& c) {
                return c == sub->get_name() || c.rfind(sub->get_name() + " ", 0) == 0;
            });
            if (!named)
                std::cerr << "berth: internal: the registrar of order " << r.order << " adds \"" << sub->get_name()
                          << "\" without naming it (cli/cli.hpp)\n";
        }
    }
}

}  // namespace

const store::Paths& Context::paths() {
    if (!resolved_) {
        paths_ = store::Paths::resolve(root_opt, run_dir_opt);
        resolved_ = true;
    }
    return paths_;
}

void reject_leading_flag(const std::vector<std::string>& rest, const std::string& command) {
    if (!rest.empty() && rest.front().size() > 1 && rest.front()[0] == '-')
        throw CLI::ValidationError("unknown flag: " + rest.front() + "\nSee 'berth " + command + " --help'.");
}

void add_format_flag(CLI::App* cmd, std::string& format, const char* help) {
    cmd->add_option("--format", format,
                    help ? help
                         : "Format output using a custom template: 'table', 'table TEMPLATE', 'json', "
                           "or a Go template such as '{{.ID}}'");
}

CLI::App* system_group(CLI::App& app) {
    try {
        return app.get_subcommand("system");
    } catch (const CLI::OptionNotFound&) {
        auto* sys = app.add_subcommand("system", "Manage berth");
        sys->require_subcommand(1);
        return sys;
    }
}

}  // namespace berth::cli

int main(int argc, char** argv) {
    using namespace berth;
    cli::Context ctx;
    CLI::App app{"A container engine and compose orchestrator, daemonless, Docker-compatible.", "berth"};
    app.set_help_all_flag("--help-all", "Show help for all commands");
    app.require_subcommand(1);
    app.add_option("--root", ctx.root_opt, "Root of berth's persistent state (default /var/lib/berth; env BERTH_ROOT)");
    app.add_option("--run-dir", ctx.run_dir_opt, "Runtime state directory (default /run/berth; env BERTH_RUN_DIR)");
    app.add_flag("-D,--debug", ctx.debug, "Print debugging detail with errors");
    app.set_version_flag("-v,--version", "berth version " BERTH_VERSION);

    cli::build_tree(app, ctx, cli::command_words(argc, argv));

    try {
        app.parse(argc, argv);
        return 0;
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // Docker answers flag errors with 125.
        std::cerr << "berth: " << e.what() << "\n";
        if (e.get_name() != "ValidationError") std::cerr << "See 'berth --help'.\n";
        return 125;
    } catch (const cli::Exit& e) {
        return e.code;
    } catch (const berth::Error& e) {
        std::cerr << "Error: " << e.what() << "\n";
        return ctx.error_exit;
    } catch (const std::exception& e) {
        std::cerr << "Error: " << e.what() << "\n";
        return ctx.error_exit;
    }
}
