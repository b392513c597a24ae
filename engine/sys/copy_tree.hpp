#pragma once
// Copying a directory tree between two untrusted trees, fd-relative: Docker's copy-up of a new
// empty volume from the image content at its mount target.
//
// Every entry is opened relative to its parent's fd with O_NOFOLLOW, and the walk descends only
// into directories it opened itself, so a symlink (absolute, relative, or "../..") in either tree
// can never redirect a read or a write outside it (CVE-2018-15664-style swaps included): symlinks
// are recreated as symlinks, never followed.
//
// Kept: contents, owner (uid/gid), mode (setuid/setgid/sticky included), atime/mtime, xattrs of
// regular files and directories (security.capability, ACLs, user.*; overlayfs' own
// trusted.overlay.* are left behind), hard links between entries of the tree, and symlinks,
// device nodes, FIFOs and sockets recreated as what they are. Symlinks and special files get
// owner and times but not xattrs (the *xattr calls reach them only through a path, and the
// copy resolves no paths). The root's owner, mode, xattrs and times are applied to dst's root
// too, as Docker gives the volume the image directory's owner and mode.
//
// dst is expected to be empty: an entry that already exists there is an error (EEXIST), never
// overwritten. No threads, no global state: callable in a forked child (the container runtime
// runs it inside the container's mount namespace).
namespace berth::sys {

// Throws sys::Error naming the operation and the entry's path relative to the roots
// ("mkdirat(/etc/ssl): File exists"). A failure leaves what was already copied in place; the
// caller decides (a volume being filled is removed or emptied by its owner).
void copy_tree(int src_dirfd, int dst_dirfd);

// True when the directory open at dirfd (O_PATH is enough) has no entries: Docker copies up
// only into a volume that is still empty.
bool dir_is_empty(int dirfd);

}  // namespace berth::sys
