#pragma once
// The shape of a compose file as the compose-spec schema (compose-spec.json) defines it, reduced
// to what validation needs: which keys each object may have. Unknown keys are errors with a
// "did you mean" suggestion; `x-` keys are extensions and always allowed.
#include <string>
#include <string_view>
#include <vector>

#include "compose/node.hpp"

namespace berth::compose {

// Checks every object's keys against the schema, from the root of one compose file. Unknown
// keys are reported and removed from the tree, so later phases do not trip on them again.
void check_keys(Node& root, Problems& problems);

// Levenshtein distance, for suggestions.
size_t edit_distance(std::string_view a, std::string_view b);
// The closest candidate within a small distance, or "" when none is close.
std::string closest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace berth::compose
