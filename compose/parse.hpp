#pragma once
// Phase 1 of loading (PARSING.md): YAML text -> untyped trees with positions.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "compose/node.hpp"

namespace berth::compose {

// Parses every YAML document in text. Anchors and aliases are expanded, merge keys (`<<:`)
// applied, and the !reset / !override tags kept on their nodes. A syntax error, a duplicate key
// or an unknown tag is added to problems; a document with a syntax error is left out.
// `file` is the name used in positions (see Pos).
std::vector<Node> parse_yaml(std::string_view text, std::shared_ptr<const std::string> file, Problems& problems);

}  // namespace berth::compose
