// What both drivers share: membership (pids, add) and removal.
#include "cgroups/driver.hpp"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "cgroups/cgroupfs.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"

namespace berth::cgroups::detail {

namespace {

// The sub-cgroups of a cgroup dir. cgroupfs fills getdents' d_type, which spares a stat of each
// of the dozens of control files per controller; DT_UNKNOWN (another fs) falls back to stat.
std::vector<fs::path> sub_cgroups(const fs::path& dir) {
    std::vector<fs::path> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
        if (errno == ENOENT) return out;
        sys::throw_errno("opendir", dir.string());
    }
    while (dirent* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n == "." || n == "..") continue;
        if (e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && sys::is_dir(dir / n))) out.push_back(dir / n);
    }
    ::closedir(d);
    return out;
}

// A container given its own cgroup namespace may have made sub-cgroups (systemd does); their
// tasks are not in the top cgroup.procs, and rmdir needs them gone first.
void collect_pids(const fs::path& dir, std::vector<pid_t>& out, int depth) {
    auto pids = read_pids(dir / "cgroup.procs");
    out.insert(out.end(), pids.begin(), pids.end());
    if (depth > 32) return;
    for (auto& sub : sub_cgroups(dir)) collect_pids(sub, out, depth + 1);
}

void remove_cgroup_tree(const fs::path& dir, int depth) {
    if (!sys::is_dir(dir)) return;
    if (depth < 32)
        for (auto& sub : sub_cgroups(dir)) remove_cgroup_tree(sub, depth + 1);
    remove_dir(dir, std::chrono::seconds(5));
}

}  // namespace

std::vector<pid_t> Driver::pids() const {
    std::vector<pid_t> out;
    for (auto& d : dirs()) {
        if (sys::is_dir(d)) collect_pids(d, out, 0);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

void Driver::add(pid_t pid) {
    const auto value = std::to_string(pid);
    for (auto& f : procs_files()) {
        // EINVAL can mean the task is still TASK_NEW (just forked); runc retries it the same way.
        for (int attempt = 0;; ++attempt) {
            try {
                write_value(f, value);
                break;
            } catch (const sys::Error& e) {
                if (e.err() != EINVAL || attempt >= 5) throw;
                wait_until([] { return false; }, std::chrono::milliseconds(30));
            }
        }
    }
}

void Driver::destroy(bool remove_parent) {
    auto ds = dirs();
    // The usual case: the container's processes are gone and it made no sub-cgroups, so a plain
    // rmdir of each dir does it (the kernel refuses, EBUSY, a cgroup that has tasks or children:
    // then the walk below kills and removes them).
    ds.erase(std::remove_if(ds.begin(), ds.end(), [](const fs::path& d) { return ::rmdir(d.c_str()) == 0 || errno == ENOENT; }),
             ds.end());
    bool any = std::any_of(ds.begin(), ds.end(), [](const fs::path& d) { return sys::is_dir(d); });
    if (any) {
        if (!pids().empty()) kill_all(SIGKILL);
        for (auto& d : ds) remove_cgroup_tree(d, 0);
    }
    if (!remove_parent) return;
    for (auto& p : parent_dirs()) {
        // Other containers' cgroups keep the parent busy; it goes with the last of them.
        if (::rmdir(p.c_str()) < 0 && errno != ENOENT && errno != EBUSY && errno != ENOTEMPTY) {
            sys::throw_errno("rmdir", p.string());
        }
    }
}

void make_parent_dirs(const fs::path& root, const std::string& parent, std::vector<fs::path>& made,
                      const std::function<void(const fs::path&)>& on_level) {
    fs::path dir = root;
    for (auto& part : str::split(parent, '/')) {
        dir /= part;
        if (make_dir(dir)) made.push_back(dir);
        on_level(dir);
    }
}

std::string undo_dirs(const std::vector<fs::path>& made, const std::string& name) {
    std::string left;
    for (auto it = made.rbegin(); it != made.rend(); ++it) {
        if (::rmdir(it->c_str()) == 0 || errno == ENOENT) continue;
        // A parent dir that another container started using meanwhile stays, rightly.
        if ((errno == EBUSY || errno == ENOTEMPTY) && it->filename() != name) continue;
        if (!left.empty()) left += ", ";
        left += "rmdir(" + it->string() + "): " + std::strerror(errno);
    }
    return left;
}

void rethrow_after_undo(const std::vector<fs::path>& made, const std::string& name) {
    auto left = undo_dirs(made, name);
    if (left.empty()) throw;
    rethrow_with_context("cgroup left behind (" + left + ")");
}

}  // namespace berth::cgroups::detail
