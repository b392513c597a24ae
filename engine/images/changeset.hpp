#pragma once
// The reverse of layer extraction: an overlayfs upper dir (a container's changes) written as an
// OCI layer changeset tar, for `commit` and `build`. Overlay whiteouts (0:0 character devices)
// become ".wh.NAME" entries and opaque directories (the opaque xattr set to "y") get a
// "DIR/.wh..wh..opq" entry, as image-spec layer.md and moby's overlay converter write them.
#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace berth::images {

struct ChangesetOptions {
    std::string opaque_xattr = "trusted.overlay.opaque";  // user.overlay.opaque for userxattr mounts
    // Paths relative to upper ("etc/hostname") left out of the tar, with everything below them.
    std::set<std::string> omit;
};

// Walks upper without following symlinks (fd-relative, O_NOFOLLOW) and writes the tar to fd:
// entries sorted by name; owner, mode, mtime, rdev; hardlinks within the tree as tar hardlinks;
// xattrs user.* (not user.overlay.*), security.capability and system.posix_acl_*; overlayfs's
// own trusted.overlay.* bookkeeping left out; sockets skipped (as Docker's archiver does). The
// tree must not change while it is written (the container is stopped or paused).
void write_changeset(const std::filesystem::path& upper, int fd, const ChangesetOptions& opts = {});

// The mount targets the runtime creates in a container's rootfs when the image lacks them
// (/etc/hostname, /etc/hosts, /etc/resolv.conf, /proc, /sys, /dev) that are still empty in upper
// and absent from the image's layers (top-most first); plus /etc when nothing else in it changed.
// They are not the container's changes: Docker keeps them in a separate init layer that commit
// leaves out, and BuildKit drops them from a RUN's layer. Pass the result as ChangesetOptions::omit.
// Whether rel ("etc/hosts") exists in the image made of these layers (top-most first): the first
// layer that has it decides (an overlay whiteout, a 0:0 character device, means deleted).
bool in_layers(const std::vector<std::filesystem::path>& layers, const std::string& rel);

std::set<std::string> runtime_stubs(const std::filesystem::path& upper, const std::vector<std::filesystem::path>& layers);

}  // namespace berth::images
