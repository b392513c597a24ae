#pragma once
// Phase "bind" (PARSING.md): the merged, canonical tree of one project -> typed model. Every
// value is checked here (types, enums, sizes, durations, port numbers ...), each problem reported
// with its file:line and document path; a bad value is left unset and binding goes on, so one run
// reports everything.
#include <string>

#include "compose/dotenv.hpp"
#include "compose/model.hpp"
#include "compose/node.hpp"

namespace berth::compose {

struct BindContext {
    const EnvMap& environment;  // the interpolation environment: bare `KEY` entries resolve here
    Problems& problems;
    Warnings& warnings;
    std::string working_dir;  // env_file problems name files relative to it
};

Service bind_service(const std::string& name, const Node& node, BindContext& ctx);
Network bind_network(const std::string& key, const Node& node, BindContext& ctx);
Volume bind_volume(const std::string& key, const Node& node, BindContext& ctx);
FileObject bind_file_object(const std::string& section, const std::string& key, const Node& node, BindContext& ctx);

// Untyped data (x- extensions, attributes berth does not model) as canonical JSON text.
std::string node_to_json_text(const Node& node);

}  // namespace berth::compose
