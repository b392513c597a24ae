#pragma once
// Paths inside an untrusted tree (a container rootfs, a layer being unpacked), resolved from a
// directory fd with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): ".." and symlinks, absolute
// or relative, are resolved as if root were "/", so nothing in the tree can point an operation
// outside it (CVE-2021-30465, CVE-2018-15664). Never join root and path as strings.
#include <sys/types.h>

#include <string>
#include <string_view>

#include "sys/fd.hpp"

namespace berth::sys {

// openat2 inside root. flags as for open(2) (O_CLOEXEC is added).
unique_fd open_in_root(int rootfd, std::string_view path, int flags, mode_t mode = 0);

// Like open_in_root, but returns an empty unique_fd when the path (or a parent) does not exist.
unique_fd open_in_root_if_exists(int rootfd, std::string_view path, int flags);

// mkdir -p inside root; every component is resolved in root. Returns an O_PATH|O_DIRECTORY fd
// of the final directory. A component that exists and is not a directory is ENOTDIR.
// through_links: a component that is a symlink to something missing gets its target created,
// resolved in root (runc's securejoin.MkdirAll, for mount targets); otherwise that is ENOENT
// (layer unpacking refuses entries below dangling links).
unique_fd mkdir_all_in_root(int rootfd, std::string_view path, mode_t mode = 0755, bool through_links = false);

// The path as an O_PATH fd, creating it (parents as directories, the last component as an
// empty regular file when is_file, else a directory) if missing. For mount targets.
unique_fd ensure_in_root(int rootfd, std::string_view path, bool is_file, mode_t mode = 0755);

// Splits "a/b/c" (leading and repeated slashes ignored) into its parent part and last name;
// rejects an empty last component, "." and "..".
struct ParentAndName {
    std::string parent;
    std::string name;
};
ParentAndName split_parent(std::string_view path);

}  // namespace berth::sys
