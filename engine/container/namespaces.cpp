// Namespaces a container shares (docker run --ipc, --pid, --uts, --cgroup-parent): validation at
// create, and at start the runtime spec's view of them, with the host-side /dev/shm of
// --ipc shareable that other containers bind. Also the volume-subpath of a volume mount.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "container/start_internal.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/in_root.hpp"
#include "sys/strings.hpp"

namespace berth::container {

namespace {

[[noreturn]] void invalid(std::string msg) { throw Error(Errc::invalid, std::move(msg)); }

bool joins(const std::string& mode) { return mode.rfind("container:", 0) == 0; }

// "container:<name or id>" -> "container:<id>" (the container must exist).
std::string resolve_join(const Records& records, const std::string& mode, const char* flag, const char* what) {
    auto ref = mode.substr(10);
    if (ref.empty()) invalid(std::string(flag) + ": invalid " + what + " mode");
    return "container:" + records.get(ref).id;
}

// The donor of a container:<id> mode, which must be running now.
std::pair<Container, pid_t> running_donor(const Records& records, const std::string& mode, const char* what) {
    auto other = records.get(mode.substr(10));
    auto st = records.state(other.id);
    if ((st.status != "running" && st.status != "paused") || st.pid <= 0)
        throw Error(Errc::conflict, std::string("cannot join ") + what + " of a non running container: " + other.id);
    return {other, st.pid};
}

std::string ns_path(pid_t pid, const char* type) { return "/proc/" + std::to_string(pid) + "/ns/" + type; }

}  // namespace

void check_namespace_modes(const Records& records, HostConfig& hc, const std::string& hostname) {
    auto& ipc = hc.ipc_mode;
    if (ipc.empty()) ipc = "private";
    if (joins(ipc)) ipc = resolve_join(records, ipc, "--ipc", "IPC");
    else if (ipc != "private" && ipc != "shareable" && ipc != "host" && ipc != "none") invalid("--ipc: invalid IPC mode");
    auto& pid = hc.pid_mode;
    if (joins(pid)) pid = resolve_join(records, pid, "--pid", "PID");
    else if (!pid.empty() && pid != "host") invalid("--pid: invalid PID mode");
    if (!hc.uts_mode.empty() && hc.uts_mode != "host") invalid("--uts: invalid UTS mode");
    if (hc.uts_mode == "host" && !hostname.empty()) invalid("Conflicting options: hostname and the UTS mode");
    // berth maps no user namespaces, so the host's is the only one there is (Docker's only value).
    if (!hc.userns_mode.empty() && hc.userns_mode != "host") invalid("--userns: invalid USER mode");
    if (ipc == "host") {
        // IPC sysctls would change the host's own limits (runc refuses them the same way).
        for (auto& [k, v] : hc.sysctls)
            if (k.rfind("kernel.", 0) == 0 || k.rfind("fs.mqueue.", 0) == 0)
                invalid("sysctl \"" + k + "\" is not allowed in host IPC namespace");
    }
    if (!hc.cgroup_parent.empty()) (void)cgroup_parent_path("", hc);
}

std::string cgroup_parent_path(const std::string& prefix, const HostConfig& hc) {
    if (hc.cgroup_parent.empty()) return prefix;
    // cgroupfs semantics: a path below each controller's root. berth has no daemon whose own
    // cgroup a relative path could hang from, so "a/b" and "/a/b" name the same place.
    std::string p = hc.cgroup_parent;
    while (!p.empty() && p.front() == '/') p.erase(0, 1);
    while (!p.empty() && p.back() == '/') p.pop_back();
    bool ok = !p.empty();
    for (auto& part : str::split(p, '/')) ok = ok && !part.empty() && part != "." && part != "..";
    if (!ok) invalid("invalid --cgroup-parent \"" + hc.cgroup_parent + "\": it must name a cgroup path without \".\" or \"..\"");
    return p;
}

void share_namespaces(const Records& records, const Container& c, const std::filesystem::path& rundir, runtime::Spec& s) {
    const auto& hc = c.host_config;
    if (hc.pid_mode == "host") {
        s.pid = runtime::Spec::Share::host;
    } else if (joins(hc.pid_mode)) {
        auto [donor, pid] = running_donor(records, hc.pid_mode, "PID namespace");
        s.pid = runtime::Spec::Share::path;
        s.pid_path = ns_path(pid, "pid");
    }
    s.uts_host = hc.uts_mode == "host";

    const std::string& ipc = hc.ipc_mode;
    if (ipc == "none") {
        s.no_shm = true;
    } else if (ipc == "host") {
        if (!sys::is_dir("/dev/shm")) throw Error(Errc::failed, "/dev/shm is not mounted, but must be for --ipc=host");
        s.ipc = runtime::Spec::Share::host;
        s.shm_source = "/dev/shm";
    } else if (ipc == "shareable") {
        // The tmpfs lives on the host (as Docker's <container>/mounts/shm) so that containers
        // joining this one's IPC namespace can bind the same /dev/shm; release_shm() undoes it.
        auto shm = rundir / "shm";
        sys::mkdirs(shm, 0700);
        std::string data = "mode=1777,size=" + std::to_string(s.shm_size);
        if (::mount("shm", shm.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data.c_str()) < 0)
            sys::throw_errno("mount", "tmpfs -> " + shm.string() + " (" + data + ")");
        s.shm_source = shm.string();
    } else if (joins(ipc)) {
        auto [donor, pid] = running_donor(records, ipc, "IPC namespace");
        const auto& mode = donor.host_config.ipc_mode;
        auto shm = mode == "host" ? std::filesystem::path("/dev/shm") : records.run_dir(donor.id) / "shm";
        if ((mode != "shareable" && mode != "host") || !sys::is_dir(shm))
            throw Error(Errc::invalid, "can't join IPC of container " + donor.id +
                                           ": non-shareable IPC (hint: use IpcMode:shareable for the donor container)");
        s.ipc = runtime::Spec::Share::path;
        s.ipc_path = ns_path(pid, "ipc");
        s.shm_source = shm.string();
    }
}

void release_shm(const std::filesystem::path& rundir) {
    auto shm = rundir / "shm";
    if (::umount2(shm.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) sys::throw_errno("umount2", shm.string());
}

std::pair<std::string, bool> volume_subpath(const std::string& volume_dir, const std::string& subpath) {
    // Resolved inside the volume (symlinks in it cannot lead out), then bound by the path the
    // kernel reports for what was found.
    sys::unique_fd root(::open(volume_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) sys::throw_errno("open", volume_dir);
    auto fd = sys::open_in_root_if_exists(root.get(), subpath, O_PATH);
    if (!fd) throw Error(Errc::invalid, "cannot access path " + volume_dir + "/" + subpath + ": no such file or directory");
    auto fd_path = [](int f) { return std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(f)).string(); };
    auto base = fd_path(root.get()), real = fd_path(fd.get());
    if (real != base && real.rfind(base + "/", 0) != 0)
        throw Error(Errc::invalid, "volume subpath " + subpath + " resolves outside its volume");
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) sys::throw_errno("fstat", real);
    return {real, S_ISDIR(st.st_mode)};
}

}  // namespace berth::container
