#pragma once
// Docker Compose's dotenv syntax, shared by .env / --env-file (the interpolation environment) and
// a service's env_file (its container environment). compose-spec 05-services.md#env_file-format:
//   [export ]VAR[=[VAL]]   blank lines and `#` lines ignored; `VAR` alone takes the value from
//   lookup (and is left out when unset), `VAR=` is empty.
//   VAL unquoted: to end of line, ` #` starts a comment, ${...} interpolated, \$ is a literal $.
//   "VAL": may span lines, escapes \n \r \t \\ \" \$, ${...} interpolated.
//   'VAL': literal, only \' is unescaped.
// Variables used inside values are looked up first among the ones defined earlier in the file,
// then through lookup.
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "compose/interpolate.hpp"
#include "compose/node.hpp"

namespace berth::compose {

using EnvMap = std::map<std::string, std::string>;

// Problems are reported as "<file>:<line>: <message>".
EnvMap parse_dotenv(std::string_view text, std::shared_ptr<const std::string> file, const Lookup& lookup,
                    Problems& problems, Warnings& warnings);

// env_file `format: raw`: KEY=VALUE lines taken as written (no quotes, no interpolation).
EnvMap parse_dotenv_raw(std::string_view text, std::shared_ptr<const std::string> file, Problems& problems);

}  // namespace berth::compose
