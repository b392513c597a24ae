#pragma once
// The `berth compose` command group, shared by every cmd_compose_*.cpp file.
//
// How to add a compose subcommand from another file (no edit here needed):
//
//   static cli::Registrar reg(61, [](CLI::App& app, cli::Context& ctx) {
//       auto* up = cli::compose_app(app)->add_subcommand("up", "Create and start containers");
//       up->callback([&ctx] {
//           auto loaded = cli::load_compose_project();   // honours -f, -p, --env-file, --profile ...
//           ...
//       });
//   });
//
// compose_app() creates the group (with the global flags below) the first time it is called and
// returns the same CLI::App* afterwards, so registration order does not matter; by convention the
// group itself registers at order 60 (cmd_compose.cpp) and its subcommands at 61 and above. The
// global flags are accepted before or after the subcommand (`compose -f a.yaml up`, `compose up
// -f a.yaml`), as Docker Compose's persistent flags are. Subcommands inherit the group's
// fallthrough(): one that takes a command line with prefix_command() (exec, run) must call
// fallthrough(false), or CLI11 hands the command's words to the root as unexpected arguments.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "compose/loader.hpp"

namespace berth::cli {

// Docker Compose's global flags.
struct ComposeFlags {
    std::vector<std::string> files;        // -f, --file (repeatable; "-" is stdin)
    std::string project_name;              // -p, --project-name
    std::string project_directory;         // --project-directory
    std::vector<std::string> env_files;    // --env-file (repeatable)
    std::vector<std::string> profiles;     // --profile (repeatable)
    std::string progress;                  // --progress auto|tty|plain|json|quiet
    std::string ansi;                      // --ansi never|always|auto
    int parallel = -1;                     // --parallel (-1: unlimited)
    bool dry_run = false;                  // --dry-run
    bool compatibility = false;            // --compatibility
    bool all_resources = false;            // --all-resources
};

// The flags as parsed (meaningful inside a subcommand's callback).
ComposeFlags& compose_flags();

// The `compose` group under root, created on first use.
CLI::App* compose_app(CLI::App& root);

// The process environment as a map (what LoadOptions::environment expects).
std::map<std::string, std::string> os_environment();

// LoadOptions from the global flags and the OS environment; `services` are the service names
// given on the command line (enabled even if their profile is not active).
compose::LoadOptions make_load_options(const ComposeFlags& flags, std::vector<std::string> services = {});

// Loads the project with the global flags and prints the loader's warnings to stderr as Docker
// Compose does (`WARN[0000] ...`). Throws berth::Error with every problem found.
compose::LoadResult load_compose_project(std::vector<std::string> services = {},
                                         const std::function<void(compose::LoadOptions&)>& adjust = {});

void print_compose_warnings(const std::vector<std::string>& warnings);

}  // namespace berth::cli
