#pragma once
// Mount primitives on the new mount API (fsopen/fsmount/open_tree/move_mount/mount_setattr):
// a mount is built detached and then attached to a target *fd* that was resolved inside the
// rootfs, so no path is walked twice (runc CVE-2025-31133/52565 were races on such walks).
#include <string>
#include <utility>
#include <vector>

#include "sys/fd.hpp"

namespace berth::runtime {

using Options = std::vector<std::pair<std::string, std::string>>;  // fsconfig key=value ("" value: flag)

// A new, detached filesystem mount (fsopen + fsconfig + fsmount). attrs: MOUNT_ATTR_* flags.
sys::unique_fd new_fs(const char* fstype, const Options& options, unsigned attrs, const char* source = nullptr);

// A detached copy of the mount tree at path (open_tree OPEN_TREE_CLONE), optionally recursive.
sys::unique_fd clone_tree(int dirfd, const std::string& path, bool recursive);

// Sets attributes (MOUNT_ATTR_RDONLY, ...) and/or propagation (MS_PRIVATE, MS_SHARED, MS_SLAVE,
// 0 = unchanged) on a mount fd, recursively when asked.
void set_mount_attrs(int mntfd, unsigned attr_set, unsigned attr_clr, unsigned long propagation, bool recursive,
                     const std::string& what);

// Attaches a detached mount onto the target (an O_PATH fd). what names the target in errors.
void attach(int mntfd, int target_fd, const std::string& what);

// Overlay of lowerdirs (top-most first) with upper/work (both empty: read-only overlay),
// mounted onto target_dir (a host path). Uses "lowerdir+" per layer (kernel >= 6.8, no page-size
// limit on the option string) and falls back to one "lowerdir=a:b:c" string.
void mount_overlay(const std::vector<std::string>& lowerdirs, const std::string& upperdir,
                   const std::string& workdir, const std::string& target_dir);

// "size=65536k,mode=755" -> {{"size","65536k"},{"mode","755"}}
Options parse_options(const std::string& data);

// Renders MOUNT_ATTR_* bits by name for error messages: "MOUNT_ATTR_RDONLY|MOUNT_ATTR_NOSUID".
std::string attr_names(unsigned attrs);

}  // namespace berth::runtime
