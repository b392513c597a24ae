#pragma once
// Loading a compose project: files, environment, project name, then the phases of PARSING.md,
// ending in a typed, validated compose::Project. Pure: it reads files and nothing else (no
// engine, no network); it prints nothing (warnings come back in LoadResult).
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compose/model.hpp"

namespace berth::compose {

struct LoadOptions {
    std::vector<std::string> files;       // -f, repeatable; "-" is stdin
    std::string project_name;             // -p
    std::string project_directory;        // --project-directory
    std::vector<std::string> env_files;   // --env-file, repeatable
    std::vector<std::string> profiles;    // --profile, repeatable
    std::map<std::string, std::string> environment;  // the OS environment (injected for tests)
    std::string working_dir;              // default: the current directory
    bool interpolate = true;              // false: --no-interpolate
    // Services named on the command line: enabled even when their profiles are not active (their
    // profiles become active, and the services they depend on are enabled too).
    std::vector<std::string> services;
    std::optional<std::string> stdin_content;  // what "-" reads; default: std::cin
};

struct LoadResult {
    Project project;
    std::vector<std::string> warnings;
};

// Throws berth::Error(Errc::invalid) listing every problem found, one per line, each as
// `file:line: document.path: message`.
LoadResult load_project(const LoadOptions& options);

// File discovery as Docker Compose does it: in dir, then each parent, the first of compose.yaml,
// compose.yml, docker-compose.yml, docker-compose.yaml (a warning when several exist), plus the
// first override file beside it (compose.override.yml, compose.override.yaml,
// docker-compose.override.yml, docker-compose.override.yaml). Empty when none is found.
std::vector<std::string> find_default_files(const std::string& dir, std::vector<std::string>& warnings);

// Compose's project name rules: lowercase letters, digits, '-' and '_', starting with a letter or
// a digit. normalize_project_name() lowercases and drops everything else (names taken from a
// directory or `name:`); names given with -p or COMPOSE_PROJECT_NAME must already be valid.
std::string normalize_project_name(std::string_view name);
bool valid_project_name(std::string_view name);

}  // namespace berth::compose
