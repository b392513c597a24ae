#pragma once
// Safe tar extraction into a directory berth owns (a layer being unpacked, or an image archive
// being loaded). The policy, in one place:
//  - Entry names are relative; an absolute name or one with a ".." component is refused.
//  - Every parent is resolved inside the destination with openat2(RESOLVE_IN_ROOT |
//    RESOLVE_NO_MAGICLINKS) (sys/in_root.hpp); the last component is created with *at() calls
//    on that parent fd and never followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW). Owner, mode,
//    times and xattrs are applied on those fds, so nothing in the tar can reach outside.
//  - Symlinks: absolute targets are kept (they are resolved in the container's root at run
//    time); a relative target that lexically climbs above the root is refused (as moby's
//    go-archive refuses it). Hardlink targets must be inside the root, with no "..", and already
//    extracted from the same tar.
//  - Devices: character and block devices are allowed only under dev/ (a rootfs's device
//    directory) and refused anywhere else; FIFOs are allowed; sockets are refused. A plain
//    archive (layer = false: an image archive being loaded) may hold only files, directories
//    and links.
//  - Ownership is restored only when restore_owner is set (root); uids and gids must fit in 32
//    bits. Set-id bits are kept (the mode is applied after the owner).
//  - Xattrs: user.*, security.capability (root only) and system.posix_acl_* are applied to files
//    and directories; overlay metadata (trusted.overlay.*, user.overlay.*) is refused, as it
//    could forge whiteouts or redirects; any other namespace is ignored, and so is an xattr the
//    filesystem cannot store (ENOTSUP), as Docker does.
//  - In layer mode, OCI whiteouts become overlayfs whiteouts: ".wh.NAME" -> a 0:0 character
//    device NAME, "DIR/.wh..wh..opq" -> DIR gets the opaque xattr (trusted.overlay.opaque=y, or
//    user.overlay.opaque for user-xattr overlays). ".wh.", ".wh..", ".wh..." are refused; other
//    ".wh..wh." names are AUFS metadata and are skipped, as Docker skips them.
// Any refusal throws berth::Error(Errc::invalid) naming the entry; the caller unpacks into a
// temporary directory and removes it on failure, so nothing half-unpacked is ever used.
#include <cstdint>
#include <string>
#include <string_view>

#include "images/source.hpp"

namespace berth::images {

struct UnpackOptions {
    bool layer = true;          // apply the whiteout conversion (false: a plain archive)
    bool restore_owner = true;  // chown entries to the tar's uid/gid
    std::string opaque_xattr = "trusted.overlay.opaque";
};

struct UnpackStats {
    std::uint64_t entries = 0;
    std::uint64_t size = 0;  // bytes of regular file content (hardlinks counted once)
};

// Reads an uncompressed tar from tar and extracts it into the directory open at destfd. what
// names the archive in errors. Reads tar to the end of its data (the end-of-archive marker),
// not necessarily to the end of the stream.
UnpackStats unpack_tar(Source& tar, int destfd, const UnpackOptions& opts, std::string_view what);

}  // namespace berth::images
