#pragma once
// What every command file needs: CLI11, the global context, and self-registration.
//
// A command file registers itself with a file-scope Registrar; main() builds the app and calls
// the registrars in `order`, so adding a command family needs no edit outside its own file:
//
//   static cli::Registrar reg(40, {"volume"}, [](CLI::App& app, cli::Context& ctx) { ... });
//
// The list names every top-level command (or group) the registrar adds to, or a group and
// command ("container cleanup") for a registrar of that one command: main() runs only the
// registrars of the invoked command, as building the whole tree costs every berth process
// milliseconds (`run` alone has ~100 flags, registered four times). A registrar without a list
// runs always; one that adds to an unlisted top-level command is reported by `berth --help`.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "store/paths.hpp"

namespace berth::cli {

struct Context {
    std::string root_opt;     // --root
    std::string run_dir_opt;  // --run-dir
    bool debug = false;
    // Exit code for berth's own errors: Docker uses 125 for run/create/start-like commands and 1
    // for the rest; commands that want 125 set it in their callback before doing work.
    int error_exit = 1;

    // Resolved lazily so that --help needs no state.
    const store::Paths& paths();

private:
    bool resolved_ = false;
    store::Paths paths_;
};

// Thrown by a command to end berth with an exit code and no message (e.g. the container's own
// exit code from `berth run`).
struct Exit {
    int code;
};

using RegisterFn = std::function<void(CLI::App&, Context&)>;

struct Registrar {
    Registrar(int order, RegisterFn fn);
    Registrar(int order, std::vector<std::string> commands, RegisterFn fn);
};

struct Registration {
    int order;
    std::vector<std::string> commands;  // empty: always run
    RegisterFn fn;
};

// Called by main(); every registrar, in the order of construction.
std::vector<Registration>& registry();

// Rejects an unknown flag that CLI11 left in remaining() because the subcommand uses
// prefix_command() (run, exec, create): Docker says "unknown flag: --x".
void reject_leading_flag(const std::vector<std::string>& rest, const std::string& command);

// Adds Docker's --format / -q style flags shared by listing commands.
struct ListFlags {
    std::string format;
    bool quiet = false;
    bool no_trunc = false;
};
void add_format_flag(CLI::App* cmd, std::string& format, const char* help = nullptr);

// The `system` group, made by whichever registrar asks first (cmd_system, cmd_dns, cmd_events).
CLI::App* system_group(CLI::App& app);

}  // namespace berth::cli
