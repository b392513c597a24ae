#pragma once
// The container rootfs: an overlayfs of an image's layers plus a per-container upper dir.
#include <filesystem>
#include <vector>

namespace berth::images {

// Mounts overlayfs at target. lowers_top_first: the image's layer dirs, top-most first (as
// Store::layer_dirs returns them). With an upper (and its work dir, on the same filesystem)
// the mount is writable; with an empty upper it is read-only. overlayfs wants at least one
// lower (two without an upper): an image with no layers, or a read-only one-layer rootfs, gets
// empty "<work>.empty-lowerN" dirs created beside work to make up the count, so pass a work
// path (on the container's own storage) even for read-only mounts.
//
// Uses the new mount API (fsopen("overlay"), one fsconfig "lowerdir+" per layer, so layer paths
// need no escaping and there is no page-size limit on their number), falling back to mount(2)
// with a lowerdir string on kernels without it. Throws sys::Error naming the step. The caller
// chooses the mount namespace (the container runtime calls this inside the container's).
void mount_overlay(const std::vector<std::filesystem::path>& lowers_top_first, const std::filesystem::path& upper,
                   const std::filesystem::path& work, const std::filesystem::path& target);

// The mount(2) form with one "lowerdir=a:b:c" option string (':' ',' '\\' escaped), which
// mount_overlay falls back to on kernels without fsopen or "lowerdir+". Same arguments.
void mount_overlay_legacy(const std::vector<std::filesystem::path>& lowers_top_first, const std::filesystem::path& upper,
                          const std::filesystem::path& work, const std::filesystem::path& target);

// Whether the running kernel's overlayfs takes "lowerdir+" (Linux 6.8+).
bool overlay_supports_lowerdir_plus();

}  // namespace berth::images
