#include "store/paths.hpp"

#include <cstdlib>

#include "sys/sha256.hpp"

namespace berth::store {

Paths Paths::resolve(const std::string& root_opt, const std::string& run_opt) {
    Paths p;
    std::string root = root_opt;
    if (root.empty())
        if (const char* env = std::getenv("BERTH_ROOT"); env && *env) root = env;
    if (root.empty()) root = kDefaultRoot;
    std::string run = run_opt;
    if (run.empty())
        if (const char* env = std::getenv("BERTH_RUN_DIR"); env && *env) run = env;

    p.root = fs::absolute(root).lexically_normal();
    if (p.root.has_filename() == false) p.root = p.root.parent_path();
    bool is_default = p.root == fs::path(kDefaultRoot);
    p.prefix = is_default ? "berth" : "berth-" + sys::sha256_hex(p.root.string()).substr(0, 8);
    if (run.empty()) run = is_default ? std::string(kDefaultRunDir) : "/run/" + p.prefix;
    p.run = fs::absolute(run).lexically_normal();
    if (p.run.has_filename() == false) p.run = p.run.parent_path();
    return p;
}

}  // namespace berth::store
