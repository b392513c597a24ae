// The cgroup v1 driver: one dir per controller hierarchy, each controller in its own file.
#include <signal.h>

#include <algorithm>
#include <cerrno>

#include "cgroups/cgroupfs.hpp"
#include "cgroups/driver.hpp"
#include "cgroups/v1_controllers.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"

namespace berth::cgroups::detail {

namespace {

class V1Driver final : public Driver {
public:
    V1Driver(const Layout& layout, const std::string& parent, const std::string& name) : Driver(layout, parent, name) {
        for (const char* c : v1::kControllers) {
            if (auto it = layout.hierarchies.find(c); it != layout.hierarchies.end()) {
                dir_[c] = it->second / parent / name;
            }
        }
    }

    Version version() const override { return Version::v1; }

    std::vector<fs::path> dirs() const override {
        std::vector<fs::path> out;
        for (const char* c : v1::kControllers) {
            auto it = dir_.find(c);
            if (it == dir_.end()) continue;
            if (std::find(out.begin(), out.end(), it->second) == out.end()) out.push_back(it->second);
        }
        return out;
    }

    std::vector<fs::path> procs_files() const override {
        std::vector<fs::path> out;
        for (auto& d : dirs()) out.push_back(d / "cgroup.procs");
        return out;
    }

    std::vector<std::string> apply(const Resources& r, bool update) override {
        std::vector<std::string> warn;
        if (has("cpuset")) v1::apply_cpuset(dir("cpuset"), r);
        if (has("memory")) v1::apply_memory(dir("memory"), r, update);
        if (has("cpu")) v1::apply_cpu(dir("cpu"), r);
        if (has("pids")) v1::apply_pids(dir("pids"), r);
        if (has("blkio")) {
            auto w = v1::apply_blkio(dir("blkio"), r);
            warn.insert(warn.end(), w.begin(), w.end());
        }
        if (r.devices && !r.devices->empty()) v1::apply_devices(dir("devices"), *r.devices);
        return warn;
    }

    void freeze() override { v1::freeze(need("freezer", "pausing")); }
    void thaw() override { v1::thaw(need("freezer", "unpausing")); }
    bool frozen() const override { return has("freezer") && v1::frozen(dir("freezer")); }

    Stats stats() const override {
        Stats s;
        if (has("cpuacct")) v1::cpuacct_stats(dir("cpuacct"), s);
        if (has("cpu")) v1::cpu_stats(dir("cpu"), s);
        if (has("memory")) {
            v1::memory_stats(dir("memory"), s);
        } else {
            s.memory_limit = host_memory_bytes();
        }
        if (has("pids")) v1::pids_stats(dir("pids"), s);
        if (has("blkio")) v1::blkio_stats(dir("blkio"), s);
        return s;
    }

    std::uint64_t oom_kills() const override { return has("memory") ? v1::oom_kills(dir("memory")) : 0; }

    void kill_all(int sig) override {
        // v1 has no cgroup.kill. Freezing first stops the tasks from forking new ones between
        // reading cgroup.procs and signalling; a frozen task takes a SIGKILL and dies on thaw.
        const bool can_freeze = has("freezer") && sys::is_dir(dir("freezer"));
        // A paused container stays paused under other signals (they are delivered on unpause);
        // SIGKILL needs the thaw to take effect.
        const bool keep_frozen = sig != SIGKILL && can_freeze && v1::frozen(dir("freezer"));
        auto once = [&] {
            auto pids = this->pids();
            if (pids.empty()) return true;
            bool froze = false;
            if (can_freeze) {
                try {
                    v1::freeze(dir("freezer"));
                    froze = true;
                } catch (const Error&) {
                    // A task stuck FREEZING (in D state, say) must not stop the kill.
                }
            }
            for (pid_t p : this->pids()) {
                if (::kill(p, sig) < 0 && errno != ESRCH) {
                    int err = errno;
                    if (froze && !keep_frozen) v1::thaw(dir("freezer"));
                    sys::throw_errno("kill", std::to_string(p) + ", " + std::to_string(sig), err);
                }
            }
            if (froze && !keep_frozen) v1::thaw(dir("freezer"));
            return false;
        };
        if (sig != SIGKILL) {
            once();
            return;
        }
        bool empty = wait_until(
            [&] {
                if (once()) return true;
                return wait_until([&] { return this->pids().empty(); }, std::chrono::milliseconds(200));
            },
            std::chrono::seconds(10));
        if (!empty) {
            std::string left;
            for (pid_t p : pids()) left += " " + std::to_string(p);
            throw_error(Errc::failed, "killing the processes of cgroup " + name_ + ": still running after 10s:" + left);
        }
    }

protected:
    std::vector<fs::path> parent_dirs() const override {
        std::vector<fs::path> out;
        for (auto& d : dirs()) out.push_back(d.parent_path());
        return out;
    }

private:
    bool has(const char* c) const { return dir_.count(c) != 0; }
    const fs::path& dir(const char* c) const { return dir_.at(c); }
    const fs::path& need(const char* c, const char* what) const {
        if (!has(c)) {
            throw_error(Errc::unsupported, std::string(what) + " needs the " + c +
                                               " cgroup controller, which is not mounted under " +
                                               layout_.root.string());
        }
        return dir(c);
    }

    std::map<std::string, fs::path> dir_;
};

}  // namespace

std::unique_ptr<Driver> make_v1(const Layout& layout, const std::string& parent, const std::string& name) {
    return std::make_unique<V1Driver>(layout, parent, name);
}

std::vector<fs::path> create_v1_dirs(const Layout& layout, const std::string& parent, const std::string& name) {
    std::vector<fs::path> roots;
    for (const char* c : v1::kControllers) {
        auto it = layout.hierarchies.find(c);
        if (it == layout.hierarchies.end()) continue;
        if (std::find(roots.begin(), roots.end(), it->second) == roots.end()) roots.push_back(it->second);
    }
    if (roots.empty()) {
        throw_error(Errc::unsupported,
                    "no cgroup v1 hierarchy the engine uses is mounted under " + layout.root.string());
    }
    auto cpuset = layout.hierarchies.find("cpuset");
    std::vector<fs::path> made;
    try {
        for (const auto& root : roots) {
            const bool is_cpuset = cpuset != layout.hierarchies.end() && cpuset->second == root;
            const fs::path pdir = root / parent;
            const fs::path cdir = pdir / name;
            // A concurrent destroy() of the last other container may remove the parent between
            // our mkdirs; make it again then.
            for (int attempt = 0;; ++attempt) {
                make_parent_dirs(root, parent, made, [&](const fs::path& d) {
                    if (is_cpuset) v1::inherit_cpuset(d, root);
                });
                try {
                    if (make_dir(cdir)) {
                        made.push_back(cdir);
                    } else if (auto pids = read_pids(cdir / "cgroup.procs"); !pids.empty()) {
                        throw_error(Errc::conflict, "cgroup " + cdir.string() +
                                                        " already exists and has processes (pid " +
                                                        std::to_string(pids.front()) + ")");
                    }
                    break;
                } catch (const sys::Error& e) {
                    if (e.err() != ENOENT || attempt >= 4) throw;
                }
            }
            if (is_cpuset) v1::inherit_cpuset(cdir, root);
        }
    } catch (...) {
        rethrow_after_undo(made, name);
    }
    return made;
}

}  // namespace berth::cgroups::detail
