// berth compose: the command group and its global flags (see compose_common.hpp).
#include <unistd.h>

#include <iostream>

#include "cli/compose_common.hpp"
#include "sys/strings.hpp"

extern char** environ;

namespace berth::cli {

ComposeFlags& compose_flags() {
    static ComposeFlags flags;
    return flags;
}

CLI::App* compose_app(CLI::App& root) {
    static CLI::App* group = nullptr;
    static CLI::App* owner = nullptr;
    if (group && owner == &root) return group;
    owner = &root;
    auto& f = compose_flags();
    f = ComposeFlags{};
    group = root.add_subcommand("compose", "Define and run multi-container applications");
    group->require_subcommand(1);
    group->fallthrough();
    group->add_option("-f,--file", f.files, "Compose configuration files")->type_name("FILE");
    group->add_option("-p,--project-name", f.project_name, "Project name");
    group->add_option("--project-directory", f.project_directory,
                      "Specify an alternate working directory (default: the path of the first Compose file)");
    group->add_option("--env-file", f.env_files, "Specify an alternate environment file")->type_name("FILE");
    group->add_option("--profile", f.profiles, "Specify a profile to enable");
    group->add_option("--progress", f.progress, "Set type of progress output (auto, tty, plain, json, quiet)")
        ->check(CLI::IsMember({"auto", "tty", "plain", "json", "quiet"}));
    group->add_option("--ansi", f.ansi, "Control when to print ANSI control characters (never, always, auto)")
        ->check(CLI::IsMember({"never", "always", "auto"}));
    group->add_option("--parallel", f.parallel, "Control max parallelism, -1 for unlimited");
    group->add_flag("--dry-run", f.dry_run, "Execute command in dry run mode");
    group->add_flag("--compatibility", f.compatibility, "Run compose in backward compatibility mode");
    group->add_flag("--all-resources", f.all_resources, "Include all resources, even those not used by services");
    return group;
}

std::map<std::string, std::string> os_environment() {
    std::map<std::string, std::string> env;
    for (char** e = environ; e && *e; ++e) {
        auto [k, v] = str::split_once(*e, '=');
        if (!k.empty()) env.emplace(k, v.value_or(""));
    }
    return env;
}

compose::LoadOptions make_load_options(const ComposeFlags& flags, std::vector<std::string> services) {
    compose::LoadOptions o;
    o.files = flags.files;
    o.project_name = flags.project_name;
    o.project_directory = flags.project_directory;
    o.env_files = flags.env_files;
    o.profiles = flags.profiles;
    o.environment = os_environment();
    o.services = std::move(services);
    return o;
}

void print_compose_warnings(const std::vector<std::string>& warnings) {
    for (auto& w : warnings) std::cerr << "WARN[0000] " << w << "\n";
}

compose::LoadResult load_compose_project(std::vector<std::string> services,
                                         const std::function<void(compose::LoadOptions&)>& adjust) {
    auto opts = make_load_options(compose_flags(), std::move(services));
    if (adjust) adjust(opts);
    auto result = compose::load_project(opts);
    print_compose_warnings(result.warnings);
    return result;
}

namespace {

Registrar reg(60, {"compose"}, [](CLI::App& app, Context&) { compose_app(app); });

}  // namespace
}  // namespace berth::cli
