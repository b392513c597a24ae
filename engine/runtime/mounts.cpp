#include "runtime/mounts.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>

#include "sys/error.hpp"
#include "sys/strings.hpp"

namespace berth::runtime {

std::string attr_names(unsigned attrs) {
    static const std::pair<unsigned, const char*> names[] = {
        {MOUNT_ATTR_RDONLY, "MOUNT_ATTR_RDONLY"},   {MOUNT_ATTR_NOSUID, "MOUNT_ATTR_NOSUID"},
        {MOUNT_ATTR_NODEV, "MOUNT_ATTR_NODEV"},     {MOUNT_ATTR_NOEXEC, "MOUNT_ATTR_NOEXEC"},
        {MOUNT_ATTR_NOATIME, "MOUNT_ATTR_NOATIME"}, {MOUNT_ATTR_STRICTATIME, "MOUNT_ATTR_STRICTATIME"},
        {MOUNT_ATTR_NODIRATIME, "MOUNT_ATTR_NODIRATIME"},
    };
    std::string out;
    for (auto& [bit, name] : names) {
        if (attrs & bit) {
            if (!out.empty()) out += '|';
            out += name;
            attrs &= ~bit;
        }
    }
    if (attrs) {
        if (!out.empty()) out += '|';
        char buf[16];
        std::snprintf(buf, sizeof buf, "0x%x", attrs);
        out += buf;
    }
    return out.empty() ? "0" : out;
}

Options parse_options(const std::string& data) {
    Options out;
    if (data.empty()) return out;
    for (auto& kv : str::split(data, ',')) {
        if (kv.empty()) continue;
        auto [k, v] = str::split_once(kv, '=');
        out.emplace_back(k, v.value_or(""));
    }
    return out;
}

sys::unique_fd new_fs(const char* fstype, const Options& options, unsigned attrs, const char* source) {
    sys::unique_fd fs(::fsopen(fstype, FSOPEN_CLOEXEC));
    if (!fs) sys::throw_errno("fsopen", fstype);
    if (source && ::fsconfig(fs.get(), FSCONFIG_SET_STRING, "source", source, 0) < 0)
        sys::throw_errno("fsconfig", std::string(fstype) + " source=" + source);
    for (auto& [k, v] : options) {
        int r = v.empty() ? ::fsconfig(fs.get(), FSCONFIG_SET_FLAG, k.c_str(), nullptr, 0)
                          : ::fsconfig(fs.get(), FSCONFIG_SET_STRING, k.c_str(), v.c_str(), 0);
        if (r < 0) sys::throw_errno("fsconfig", std::string(fstype) + " " + k + (v.empty() ? "" : "=" + v));
    }
    if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
        sys::throw_errno("fsconfig", std::string(fstype) + " create");
    sys::unique_fd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, attrs));
    if (!mnt) sys::throw_errno("fsmount", std::string(fstype) + ", " + attr_names(attrs));
    return mnt;
}

sys::unique_fd clone_tree(int dirfd, const std::string& path, bool recursive) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
    if (path.empty()) flags |= AT_EMPTY_PATH;
    sys::unique_fd t(::open_tree(dirfd, path.c_str(), flags));
    if (!t) sys::throw_errno("open_tree", path.empty() ? std::string("(fd)") : path);
    return t;
}

void set_mount_attrs(int mntfd, unsigned attr_set, unsigned attr_clr, unsigned long propagation, bool recursive,
                     const std::string& what) {
    mount_attr attr{};
    attr.attr_set = attr_set;
    attr.attr_clr = attr_clr;
    attr.propagation = propagation;
    if (::mount_setattr(mntfd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0)
        sys::throw_errno("mount_setattr", what + ", " + attr_names(attr_set));
}

void attach(int mntfd, int target_fd, const std::string& what) {
    if (::move_mount(mntfd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        sys::throw_errno("move_mount", "-> " + what);
}

void mount_overlay(const std::vector<std::string>& lowerdirs, const std::string& upperdir, const std::string& workdir,
                   const std::string& target_dir) {
    if (lowerdirs.empty()) throw Error(Errc::invalid, "overlay needs at least one lower directory");
    auto build = [&](bool per_layer) {
        Options opts;
        if (per_layer) {
            for (auto& l : lowerdirs) opts.emplace_back("lowerdir+", l);
        } else {
            opts.emplace_back("lowerdir", str::join(lowerdirs, ":"));
        }
        if (!upperdir.empty()) {
            opts.emplace_back("upperdir", upperdir);
            opts.emplace_back("workdir", workdir);
        }
        return new_fs("overlay", opts, 0, "overlay");
    };
    sys::unique_fd mnt;
    try {
        mnt = build(true);
    } catch (const sys::Error& e) {
        // "lowerdir+" is kernel 6.8+: older kernels answer EINVAL to the unknown key.
        if (e.err() != EINVAL) throw;
        mnt = build(false);
    }
    sys::unique_fd target(::open(target_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!target) sys::throw_errno("open", target_dir);
    attach(mnt.get(), target.get(), target_dir);
}

}  // namespace berth::runtime
