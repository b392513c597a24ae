#pragma once
#include "cli/cli.hpp"

namespace berth::cli {
// `berth container`: the group the container subcommands hang off (created on first use).
CLI::App* container_group(CLI::App& app);
}
