#pragma once
// Where berth keeps things, and the prefix that ties kernel objects to one root, so two roots
// (two test runs, or a test beside a real install) never touch each other's objects.
#include <filesystem>
#include <string>

namespace berth::store {

namespace fs = std::filesystem;

inline constexpr const char* kDefaultRoot = "/var/lib/berth";
inline constexpr const char* kDefaultRunDir = "/run/berth";

struct Paths {
    fs::path root;  // persistent state: images, containers, volumes, networks
    fs::path run;   // runtime state on tmpfs: sockets, pids (a reboot clears it)
    // "berth" for the default root, "berth-<8 hex of the root path>" for any other: the name of
    // the cgroup parent and the nftables table, and the stem of the default bridge's name.
    std::string prefix;

    fs::path images() const { return root / "images"; }
    fs::path containers() const { return root / "containers"; }
    fs::path container(const std::string& id) const { return containers() / id; }
    fs::path volumes() const { return root / "volumes"; }
    fs::path networks() const { return root / "networks"; }
    fs::path builder() const { return root / "builder"; }
    fs::path tmp() const { return root / "tmp"; }
    fs::path run_container(const std::string& id) const { return run / "containers" / id; }

    // Resolves --root/--run-dir (or BERTH_ROOT/BERTH_RUN_DIR, or the defaults) to absolute
    // paths. A non-default root without an explicit run dir gets /run/berth-<8 hex>, so the
    // run dir stays on tmpfs and is still unique to the root.
    static Paths resolve(const std::string& root, const std::string& run);
};

}  // namespace berth::store
