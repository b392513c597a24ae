#pragma once
// Phase "canonical" (PARSING.md), run on each file's tree before merging: every short syntax is
// rewritten to the long syntax (ports, volumes, depends_on, networks, environment/labels lists,
// env_file, secrets/configs, build, extends, include ...) and relative host paths are made
// absolute against the file's base directory, so that files from different directories (extends,
// include) merge correctly. Invalid short syntax is reported and the item dropped.
#include <string>

#include "compose/node.hpp"

namespace berth::compose {

struct FileContext {
    std::string base_dir;  // absolute; relative paths resolve against it
    std::string home;      // $HOME, for ~ (empty: ~ left alone)
};

void canonicalize(Node& root, const FileContext& ctx, Problems& problems);

// Canonical form of one service (used for services read by extends).
void canonicalize_service(Node& service, const std::string& path, const FileContext& ctx, Problems& problems);

// base/p made absolute and lexically normal; ~ and ~/x use home.
std::string resolve_path(const std::string& base, const std::string& p, const std::string& home);

// A build context that is a URL or git reference rather than a directory.
bool is_remote_context(const std::string& s);

}  // namespace berth::compose
