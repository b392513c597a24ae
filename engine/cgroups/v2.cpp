// The cgroup v2 driver: one dir in the unified tree, each controller in its own file.
#include <signal.h>

#include <cerrno>

#include "cgroups/cgroupfs.hpp"
#include "cgroups/driver.hpp"
#include "cgroups/v2_controllers.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"

namespace berth::cgroups::detail {

namespace {

class V2Driver final : public Driver {
public:
    V2Driver(const Layout& layout, const std::string& parent, const std::string& name)
        : Driver(layout, parent, name), dir_(layout.root / parent / name) {}

    Version version() const override { return Version::v2; }
    std::vector<fs::path> dirs() const override { return {dir_}; }
    std::vector<fs::path> procs_files() const override { return {dir_ / "cgroup.procs"}; }

    std::vector<std::string> apply(const Resources& r, bool update) override {
        v2::apply_cpuset(dir_, r);
        v2::apply_memory(dir_, r);
        v2::apply_cpu(dir_, r);
        v2::apply_pids(dir_, r);
        auto warn = v2::apply_io(dir_, r);
        if (!update && r.devices) v2::apply_devices(dir_, *r.devices);
        return warn;
    }

    void freeze() override { v2::freeze(dir_); }
    void thaw() override { v2::thaw(dir_); }
    bool frozen() const override { return v2::frozen(dir_); }

    Stats stats() const override {
        Stats s;
        v2::cpu_stats(dir_, s);
        v2::memory_stats(dir_, s);
        v2::pids_stats(dir_, s);
        v2::io_stats(dir_, s);
        return s;
    }

    std::uint64_t oom_kills() const override { return v2::oom_kills(dir_); }

    void kill_all(int sig) override {
        auto empty = [&] { return pids().empty(); };
        if (sig == SIGKILL && sys::exists(dir_ / "cgroup.kill")) {
            // cgroup.kill (5.14+) kills the whole subtree at once, racing no fork.
            write_value(dir_ / "cgroup.kill", "1");
        } else {
            // A paused container stays paused under other signals; SIGKILL needs the thaw.
            const bool keep_frozen = sig != SIGKILL && v2::frozen(dir_);
            for (int round = 0; !empty() && round < (sig == SIGKILL ? 50 : 1); ++round) {
                bool froze = false;
                try {
                    v2::freeze(dir_);
                    froze = true;
                } catch (const Error&) {
                    // Could not freeze (a task stuck in the kernel): signal anyway.
                }
                for (pid_t p : pids()) {
                    if (::kill(p, sig) < 0 && errno != ESRCH) {
                        int err = errno;
                        if (froze && !keep_frozen) v2::thaw(dir_);
                        sys::throw_errno("kill", std::to_string(p) + ", " + std::to_string(sig), err);
                    }
                }
                if (froze && !keep_frozen) v2::thaw(dir_);
                if (sig == SIGKILL) wait_until(empty, std::chrono::milliseconds(200));
            }
            if (sig != SIGKILL) return;
        }
        if (!wait_until(empty, std::chrono::seconds(10))) {
            std::string left;
            for (pid_t p : pids()) left += " " + std::to_string(p);
            throw_error(Errc::failed, "killing the processes of cgroup " + name_ + ": still running after 10s:" + left);
        }
    }

protected:
    std::vector<fs::path> parent_dirs() const override { return {dir_.parent_path()}; }

private:
    fs::path dir_;
};

}  // namespace

std::unique_ptr<Driver> make_v2(const Layout& layout, const std::string& parent, const std::string& name) {
    return std::make_unique<V2Driver>(layout, parent, name);
}

std::vector<fs::path> create_v2_dirs(const Layout& layout, const std::string& parent, const std::string& name) {
    const fs::path pdir = layout.root / parent;
    const fs::path cdir = pdir / name;
    std::vector<fs::path> made;
    try {
        // A child only gets the controllers its parent enables, all the way down from the root
        // ("Top-down constraint"); the root is exempt from the no-internal-process rule, and
        // the parent holds no process of its own, so both may enable them.
        v2::enable_controllers(layout.root);
        for (int attempt = 0;; ++attempt) {
            make_parent_dirs(layout.root, parent, made, [](const fs::path& d) { v2::enable_controllers(d); });
            try {
                if (make_dir(cdir)) {
                    made.push_back(cdir);
                } else if (auto pids = read_pids(cdir / "cgroup.procs"); !pids.empty()) {
                    throw_error(Errc::conflict, "cgroup " + cdir.string() + " already exists and has processes (pid " +
                                                    std::to_string(pids.front()) + ")");
                }
                break;
            } catch (const sys::Error& e) {
                // The parent went away under a concurrent destroy() of the last other container.
                if (e.err() != ENOENT || attempt >= 4) throw;
            }
        }
    } catch (...) {
        rethrow_after_undo(made, name);
    }
    return made;
}

}  // namespace berth::cgroups::detail
