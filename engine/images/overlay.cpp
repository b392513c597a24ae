#include "images/overlay.hpp"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "sys/error.hpp"
#include "sys/fd.hpp"

namespace berth::images {

namespace fs = std::filesystem;

namespace {

int sys_fsopen(const char* name, unsigned flags) { return static_cast<int>(::syscall(SYS_fsopen, name, flags)); }
int sys_fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux) {
    return static_cast<int>(::syscall(SYS_fsconfig, fd, cmd, key, value, aux));
}
int sys_fsmount(int fd, unsigned flags, unsigned attr) { return static_cast<int>(::syscall(SYS_fsmount, fd, flags, attr)); }
int sys_move_mount(int from, const char* from_path, int to, const char* to_path, unsigned flags) {
    return static_cast<int>(::syscall(SYS_move_mount, from, from_path, to, to_path, flags));
}

// The kernel's own explanation of a failed fsconfig/fsmount is queued on the fs context fd.
std::string kernel_log(int fsfd) {
    std::string out;
    char buf[512];
    for (;;) {
        ssize_t n = ::read(fsfd, buf, sizeof buf - 1);
        if (n <= 0) break;
        buf[n] = 0;
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out;
}

[[noreturn]] void fail(int fsfd, const std::string& op, const std::string& subject) {
    int err = errno;
    std::string log = fsfd >= 0 ? kernel_log(fsfd) : "";
    sys::throw_errno(op, log.empty() ? subject : subject + " [" + log + "]", err);
}

void set_string(int fsfd, const char* key, const std::string& value) {
    if (sys_fsconfig(fsfd, FSCONFIG_SET_STRING, key, value.c_str(), 0) < 0)
        fail(fsfd, std::string("fsconfig(overlay, ") + key + ")", value);
}

// lowerdir= option syntax: ':' separates layers, so ':' ',' and '\' in a path are escaped.
std::string escape(const std::string& p) {
    std::string out;
    for (char c : p) {
        if (c == ':' || c == ',' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

void mount_legacy(const std::vector<fs::path>& lowers, const fs::path& upper, const fs::path& work, const fs::path& target) {
    if (lowers.empty()) throw_error(Errc::invalid, "mount_overlay: no lower dir");
    std::string opts = "lowerdir=";
    for (size_t i = 0; i < lowers.size(); ++i) opts += (i ? ":" : "") + escape(lowers[i].string());
    if (!upper.empty()) opts += ",upperdir=" + escape(upper.string()) + ",workdir=" + escape(work.string());
    unsigned long flags = upper.empty() ? MS_RDONLY : 0;
    if (::mount("overlay", target.c_str(), "overlay", flags, opts.c_str()) < 0)
        sys::throw_errno("mount(overlay -> " + target.string() + ")", opts);
}

}  // namespace

bool overlay_supports_lowerdir_plus() {
    sys::unique_fd fsfd(sys_fsopen("overlay", FSOPEN_CLOEXEC));
    if (!fsfd) return false;
    // A kernel that knows the key looks the path up (ENOENT); one that does not says EINVAL.
    int rc = sys_fsconfig(fsfd.get(), FSCONFIG_SET_STRING, "lowerdir+", "/nonexistent/berth-probe", 0);
    return rc == 0 || errno == ENOENT;
}

namespace {

// overlayfs needs at least one lower dir, and two when there is no upper dir. An empty dir beside
// the work dir makes up the count (the work dir itself cannot serve: it must stay private to
// the mount and empty).
std::vector<fs::path> effective_lowers(const std::vector<fs::path>& lowers_top_first, const fs::path& upper, const fs::path& work) {
    if (!upper.empty() && work.empty()) throw_error(Errc::invalid, "mount_overlay: an upper dir needs a work dir");
    std::vector<fs::path> lowers = lowers_top_first;
    size_t need = upper.empty() ? 2 : 1;
    if (lowers.size() < need) {
        if (work.empty())
            throw_error(Errc::invalid, "mount_overlay: a read-only rootfs of fewer than two layers needs a work dir");
        // Distinct dirs: overlayfs refuses the same dir twice (ELOOP, "overlapping layers").
        for (int i = 0; lowers.size() < need; ++i) {
            fs::path empty = work.parent_path() / (work.filename().string() + ".empty-lower" + std::to_string(i));
            if (::mkdir(empty.c_str(), 0755) < 0 && errno != EEXIST) sys::throw_errno("mkdir", empty.string());
            lowers.push_back(empty);
        }
    }
    return lowers;
}

}  // namespace

void mount_overlay_legacy(const std::vector<fs::path>& lowers_top_first, const fs::path& upper, const fs::path& work,
                          const fs::path& target) {
    mount_legacy(effective_lowers(lowers_top_first, upper, work), upper, work, target);
}

void mount_overlay(const std::vector<fs::path>& lowers_top_first, const fs::path& upper, const fs::path& work,
                   const fs::path& target) {
    std::vector<fs::path> lowers = effective_lowers(lowers_top_first, upper, work);
    sys::unique_fd fsfd(sys_fsopen("overlay", FSOPEN_CLOEXEC));
    if (!fsfd) {
        if (errno == ENOSYS) return mount_legacy(lowers, upper, work, target);
        sys::throw_errno("fsopen", "overlay");
    }
    for (auto& l : lowers) {
        if (sys_fsconfig(fsfd.get(), FSCONFIG_SET_STRING, "lowerdir+", l.c_str(), 0) < 0) {
            int err = errno;
            std::string log = kernel_log(fsfd.get());
            if (err == EINVAL && log.find("lowerdir+") != std::string::npos && log.find("nknown") != std::string::npos) {
                // Kernel older than 6.8: no "lowerdir+"; one lowerdir string instead.
                fsfd.reset();
                return mount_legacy(lowers, upper, work, target);
            }
            sys::throw_errno("fsconfig(overlay, lowerdir+)", log.empty() ? l.string() : l.string() + " [" + log + "]", err);
        }
    }
    if (!upper.empty()) {
        set_string(fsfd.get(), "upperdir", upper.string());
        set_string(fsfd.get(), "workdir", work.string());
    }
    if (sys_fsconfig(fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
        fail(fsfd.get(), "fsconfig(overlay, create)", target.string());
    unsigned attr = upper.empty() ? MOUNT_ATTR_RDONLY : 0;
    sys::unique_fd mfd(sys_fsmount(fsfd.get(), FSMOUNT_CLOEXEC, attr));
    if (!mfd) fail(fsfd.get(), "fsmount(overlay)", target.string());
    if (sys_move_mount(mfd.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
        sys::throw_errno("move_mount(overlay -> " + target.string() + ")", "");
}

}  // namespace berth::images
