// Which cgroup setup the host booted with, read from the filesystem under a root directory.
#include <linux/magic.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <cerrno>

#include "cgroups/cgroupfs.hpp"
#include "cgroups/cgroups.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"

namespace berth::cgroups {

namespace {

// The v1 controllers the kernel knows (include/linux/cgroup_subsys.h): in a v1 mount's super
// options they name the hierarchy's controllers; anything else there is a mount option (rw,
// clone_children, release_agent=..., ...). "name=<x>" names a hierarchy without controllers.
constexpr const char* kV1Known[] = {"cpu",        "cpuacct", "cpuset", "memory",  "devices",
                                    "freezer",    "blkio",   "pids",   "net_cls", "net_prio",
                                    "perf_event", "hugetlb", "rdma",   "misc",    "debug"};

bool known_v1(std::string_view opt) {
    for (const char* k : kV1Known) {
        if (opt == k) return true;
    }
    return false;
}

// Mount points in mountinfo escape space, tab, newline and backslash as \ooo (octal).
std::string unescape(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() + 1) {
            auto oct = s.substr(i + 1, 3);
            if (oct.size() == 3 && oct.find_first_not_of("01234567") == std::string_view::npos) {
                out += static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0'));
                i += 3;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

std::string normal(const fs::path& p) {
    auto s = p.lexically_normal().string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
}

std::set<std::string> words(const fs::path& file) {
    std::set<std::string> out;
    auto s = detail::read_value_if_exists(file);
    if (!s) return out;
    for (auto& w : str::split(*s, ' ')) {
        if (!w.empty()) out.insert(w);
    }
    return out;
}

// CPUs this process may run on, as "0,1,3": the fallback when no cpuset file says.
std::string affinity_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) < 0) return "";
    std::string out;
    for (int i = 0; i < CPU_SETSIZE; ++i) {
        if (!CPU_ISSET(i, &set)) continue;
        if (!out.empty()) out += ',';
        out += std::to_string(i);
    }
    return out;
}

std::string first_existing(const fs::path& dir, std::initializer_list<const char*> files) {
    for (const char* f : files) {
        if (auto v = detail::read_value_if_exists(dir / f)) return *v;
    }
    return "";
}

Layout detect_v2(const fs::path& root) {
    Layout l;
    l.version = Version::v2;
    l.root = root;
    l.controllers = words(root / "cgroup.controllers");
    // The root cgroup has no memory.swap.max; a child shows whether the kernel accounts swap
    // (CONFIG_MEMCG_SWAP and swapaccount), as dockerd checks its own cgroup's.
    for (auto& e : sys::list_dir(root)) {
        if (sys::is_dir(root / e) && sys::exists(root / e / "memory.swap.max")) {
            l.swap_accounting = true;
            break;
        }
    }
    l.cpus = first_existing(root, {"cpuset.cpus.effective"});
    if (l.cpus.empty()) l.cpus = affinity_cpus();
    l.mems = first_existing(root, {"cpuset.mems.effective"});
    return l;
}

}  // namespace

std::map<std::string, fs::path> v1_mounts_from_mountinfo(std::string_view mountinfo, const fs::path& root) {
    std::map<std::string, fs::path> out;
    const std::string want = normal(root);
    for (auto& line : str::split(mountinfo, '\n')) {
        auto f = str::split(line, ' ');
        // id parent maj:min root mountpoint options [optional...] - fstype source superoptions
        auto sep = std::find(f.begin(), f.end(), "-");
        if (f.size() < 7 || sep == f.end() || f.end() - sep < 4) continue;
        if (*(sep + 1) != "cgroup") continue;
        fs::path mountpoint = unescape(f[4]);
        if (normal(mountpoint.parent_path()) != want) continue;
        for (auto& opt : str::split(*(sep + 3), ',')) {
            if (known_v1(opt) || opt.rfind("name=", 0) == 0) out[opt] = mountpoint;
        }
    }
    return out;
}

Layout detect(const fs::path& root) {
    struct statfs st;
    if (::statfs(root.c_str(), &st) < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            throw_error(Errc::unsupported, "no cgroup filesystem at " + root.string() + " (does not exist)");
        }
        sys::throw_errno("statfs", root.string());
    }
    if (st.f_type == CGROUP2_SUPER_MAGIC || sys::exists(root / "cgroup.controllers")) return detect_v2(root);

    Layout l;
    l.version = Version::v1;
    l.root = root;
    if (auto mi = sys::read_file_if_exists("/proc/self/mountinfo")) l.hierarchies = v1_mounts_from_mountinfo(*mi, root);
    if (l.hierarchies.empty()) {
        // Not mounts (a fixture tree): the conventional dir names say which hierarchy is which.
        // Symlinks ("cpu" -> "cpu,cpuacct") are skipped; the real dir's name lists them all.
        for (auto& e : sys::list_dir(root)) {
            struct stat lst;
            const auto p = root / e;
            if (::lstat(p.c_str(), &lst) < 0 || !S_ISDIR(lst.st_mode) || e == "unified") continue;
            for (auto& c : str::split(e, ',')) {
                if (c == "systemd") {
                    l.hierarchies["name=systemd"] = p;
                } else if (known_v1(c) || c.rfind("name=", 0) == 0) {
                    l.hierarchies[c] = p;
                }
            }
        }
    }
    if (l.hierarchies.empty()) {
        throw_error(Errc::unsupported, "no cgroup filesystem under " + root.string() +
                                           " (neither cgroup2 nor any cgroup v1 hierarchy is mounted there)");
    }
    for (auto& [c, _] : l.hierarchies) l.controllers.insert(c);
    if (sys::exists(root / "unified" / "cgroup.controllers")) l.unified = root / "unified";
    if (auto m = l.hierarchies.find("memory"); m != l.hierarchies.end()) {
        l.swap_accounting = sys::exists(m->second / "memory.memsw.limit_in_bytes");
    }
    if (auto c = l.hierarchies.find("cpuset"); c != l.hierarchies.end()) {
        l.cpus = first_existing(c->second, {"cpuset.effective_cpus", "cpuset.cpus"});
        l.mems = first_existing(c->second, {"cpuset.effective_mems", "cpuset.mems"});
    }
    if (l.cpus.empty()) l.cpus = affinity_cpus();
    return l;
}

}  // namespace berth::cgroups
