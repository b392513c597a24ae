// berth: a container engine and compose orchestrator. Command families live in cmd_*.cpp and
// register themselves (cli.hpp); this file owns global flags, dispatch and exit codes.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/cli.hpp"
#include "sys/error.hpp"

namespace berth::cli {

std::vector<std::pair<int, RegisterFn>>& registry() {
    static std::vector<std::pair<int, RegisterFn>> r;
    return r;
}

Registrar::Registrar(int order, RegisterFn fn) { registry().emplace_back(order, std::move(fn)); }

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

    auto& regs = cli::registry();
    std::stable_sort(regs.begin(), regs.end(), [](auto& a, auto& b) { return a.first < b.first; });
    for (auto& [order, fn] : regs) fn(app, ctx);

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
