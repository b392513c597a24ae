#pragma once
// Variable interpolation (compose-spec 12-interpolation.md): $VAR, ${VAR}, ${VAR:-d}, ${VAR-d},
// ${VAR:?err}, ${VAR?err}, ${VAR:+alt}, ${VAR+alt}, nesting in the word after an operator, and
// $$ for a literal $. A $ followed by anything else is kept literally; a malformed ${...} is an
// error. Words after an operator are only expanded when used (as a shell does).
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compose/node.hpp"

namespace berth::compose {

// Returns the value of a variable, nullopt when unset (set-but-empty is "").
using Lookup = std::function<std::optional<std::string>(const std::string&)>;

struct Substitution {
    std::string value;
    std::optional<std::string> error;   // set when the template is invalid or a required variable is missing
    std::vector<std::string> unset;     // variables used without a default while unset (each once)
};

Substitution substitute(std::string_view text, const Lookup& lookup);

// Compose's warning for an unset variable.
std::string unset_variable_warning(const std::string& name);

// Interpolates every scalar value (never a key) of the tree in place. Errors go to problems with
// the node's position and path; unset variables become "" with a warning.
void interpolate_tree(Node& root, const Lookup& lookup, Problems& problems, Warnings& warnings,
                      const std::string& path = "");

}  // namespace berth::compose
