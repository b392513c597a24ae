#pragma once
// The small table of operations each cgroup version implements (crun's cgroup-internal.h has
// the same shape). Internal to berth_cgroups: callers use cgroups::Cgroup.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cgroups/cgroups.hpp"

namespace berth::cgroups::detail {

class Driver {
public:
    virtual ~Driver() = default;

    virtual Version version() const = 0;
    virtual std::vector<fs::path> dirs() const = 0;
    virtual std::vector<fs::path> procs_files() const = 0;
    // Writes the limits set in r (already through check()). update: `docker update` semantics.
    // Returns warnings for knobs found missing only now (a weight file, say).
    virtual std::vector<std::string> apply(const Resources& r, bool update) = 0;
    virtual void freeze() = 0;
    virtual void thaw() = 0;
    virtual bool frozen() const = 0;
    virtual Stats stats() const = 0;
    virtual std::uint64_t oom_kills() const = 0;
    virtual void kill_all(int sig) = 0;

    std::vector<pid_t> pids() const;  // union over procs_files(), sorted
    void add(pid_t pid);
    // kill, wait for empty, rmdir every dir, then (remove_parent) the parents if they are empty.
    void destroy(bool remove_parent);

    const std::string& name() const { return name_; }
    const Layout& layout() const { return layout_; }
    std::vector<std::string> warnings;

protected:
    Driver(const Layout& layout, std::string parent, std::string name)
        : layout_(layout), parent_(std::move(parent)), name_(std::move(name)) {}
    // Parent dirs (<hierarchy>/<parent>) to try removing after the cgroup's own dirs.
    virtual std::vector<fs::path> parent_dirs() const = 0;

    Layout layout_;
    std::string parent_;
    std::string name_;
};

// v1: one dir per hierarchy. v2: one dir in the unified tree. Both make nothing; create_*()
// below makes the dirs and rolls back.
std::unique_ptr<Driver> make_v1(const Layout& layout, const std::string& parent, const std::string& name);
std::unique_ptr<Driver> make_v2(const Layout& layout, const std::string& parent, const std::string& name);

// Makes the parent path's dirs below root that are missing (each level, top-down), appending
// those it made to `made`; calls on_level(dir) for every level, made or not.
void make_parent_dirs(const fs::path& root, const std::string& parent, std::vector<fs::path>& made,
                      const std::function<void(const fs::path&)>& on_level);

// Makes the dirs (and the parents), returning the dirs this call made, deepest last, for the
// rollback. Throws Errc::conflict if a dir already holds processes.
std::vector<fs::path> create_v1_dirs(const Layout& layout, const std::string& parent, const std::string& name);
std::vector<fs::path> create_v2_dirs(const Layout& layout, const std::string& parent, const std::string& name);

// Rollback of create: rmdir what `made` lists, newest first. Parent dirs (not named `name`)
// that other containers use meanwhile are left alone. Returns what could not be removed.
std::string undo_dirs(const std::vector<fs::path>& made, const std::string& name);
// Inside a catch block: undo, then rethrow the error in flight (with what was left behind, if
// the undo failed too, so neither error hides the other).
[[noreturn]] void rethrow_after_undo(const std::vector<fs::path>& made, const std::string& name);

}  // namespace berth::cgroups::detail
