#include "sys/copy_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sys/error.hpp"
#include "sys/fd.hpp"

namespace berth::sys {

namespace {

std::string join(const std::string& rel, const std::string& name) { return rel + "/" + name; }
std::string shown(const std::string& rel) { return rel.empty() ? "/" : rel; }

unique_fd open_dir_at(int dirfd, const char* name, const std::string& what) {
    int fd = retry_eintr([&] { return ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC); });
    if (fd < 0) throw_errno("openat", what);
    return unique_fd(fd);
}

// Names in the directory, read through a fresh fd so the caller's fd keeps its offset.
std::vector<std::string> names_in(int dirfd, const std::string& what) {
    int fd = retry_eintr([&] { return ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); });
    if (fd < 0) throw_errno("openat", what);
    DIR* d = ::fdopendir(fd);
    if (!d) {
        int err = errno;
        ::close(fd);
        throw_errno("fdopendir", what, err);
    }
    std::vector<std::string> out;
    errno = 0;
    while (dirent* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n != "." && n != "..") out.emplace_back(n);
        errno = 0;
    }
    int err = errno;
    ::closedir(d);
    if (err) throw_errno("readdir", what, err);
    return out;
}

bool skipped_xattr(std::string_view name) {
    // overlayfs' bookkeeping (opaque dirs, redirects, origin): meaningful only inside a layer.
    return name.rfind("trusted.overlay.", 0) == 0;
}

void copy_xattrs(int src, int dst, const std::string& what) {
    std::vector<char> names;
    for (;;) {
        ssize_t n = ::flistxattr(src, nullptr, 0);
        if (n < 0) {
            if (errno == ENOTSUP) return;  // the source filesystem has none to give
            throw_errno("flistxattr", what);
        }
        if (n == 0) return;
        names.resize(static_cast<size_t>(n));
        n = ::flistxattr(src, names.data(), names.size());
        if (n >= 0) {
            names.resize(static_cast<size_t>(n));
            break;
        }
        if (errno != ERANGE) throw_errno("flistxattr", what);  // grew meanwhile: ask again
    }
    std::vector<char> value;
    for (size_t i = 0; i < names.size();) {
        std::string name(names.data() + i);
        i += name.size() + 1;
        if (name.empty() || skipped_xattr(name)) continue;
        ssize_t n;
        for (;;) {
            n = ::fgetxattr(src, name.c_str(), nullptr, 0);
            if (n < 0) {
                if (errno == ENODATA) break;  // removed meanwhile
                throw_errno("fgetxattr", what + " " + name);
            }
            value.resize(static_cast<size_t>(n));
            n = ::fgetxattr(src, name.c_str(), value.data(), value.size());
            if (n >= 0 || errno != ERANGE) break;
        }
        if (n < 0) {
            if (errno == ENODATA) continue;
            throw_errno("fgetxattr", what + " " + name);
        }
        if (::fsetxattr(dst, name.c_str(), value.data(), static_cast<size_t>(n), 0) < 0)
            throw_errno("fsetxattr", what + " " + name);
    }
}

// Owner, then mode (chown clears setuid/setgid), then xattrs (chown also drops
// security.capability), then times (every change before moves ctime, setting them last keeps
// atime/mtime as the source has them).
void apply_meta_fd(int src, int dst, const struct stat& st, const std::string& what) {
    if (::fchown(dst, st.st_uid, st.st_gid) < 0) throw_errno("fchown", what);
    if (::fchmod(dst, st.st_mode & 07777) < 0) throw_errno("fchmod", what);
    copy_xattrs(src, dst, what);
    timespec times[2] = {st.st_atim, st.st_mtim};
    if (::futimens(dst, times) < 0) throw_errno("futimens", what);
}

// chmod of an entry that cannot be opened (a device node, a FIFO) without following a symlink
// that might have replaced it: fchmodat2 with AT_SYMLINK_NOFOLLOW (Linux 6.6).
int fchmodat_nofollow(int dirfd, const char* name, mode_t mode) {
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
    int r = static_cast<int>(::syscall(SYS_fchmodat2, dirfd, name, mode, AT_SYMLINK_NOFOLLOW));
    if (r == 0 || errno != ENOSYS) return r;
    // Older kernels: the entry was just created by mknodat in a directory this copy made;
    // check it is still not a symlink right before the (following) fchmodat.
    struct stat st;
    if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return -1;
    if (S_ISLNK(st.st_mode)) {
        errno = ELOOP;
        return -1;
    }
    return ::fchmodat(dirfd, name, mode, 0);
}

void apply_meta_at(int dirfd, const char* name, const struct stat& st, bool chmod, const std::string& what) {
    if (::fchownat(dirfd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("fchownat", what);
    if (chmod && fchmodat_nofollow(dirfd, name, st.st_mode & 07777) < 0) throw_errno("fchmodat2", what);
    timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("utimensat", what);
}

void copy_data(int src, int dst, const std::string& what) {
    bool fallback = false;
    for (;;) {
        if (!fallback) {
            ssize_t n = ::copy_file_range(src, nullptr, dst, nullptr, 1 << 30, 0);
            if (n > 0) continue;
            if (n == 0) return;
            if (errno == EINTR) continue;
            if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
                fallback = true;
                continue;
            }
            throw_errno("copy_file_range", what);
        }
        char buf[1 << 16];
        ssize_t n = retry_eintr([&] { return ::read(src, buf, sizeof buf); });
        if (n < 0) throw_errno("read", what);
        if (n == 0) return;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = retry_eintr([&] { return ::write(dst, buf + off, static_cast<size_t>(n - off)); });
            if (w < 0) throw_errno("write", what);
            off += w;
        }
    }
}

std::string read_link_at(int dirfd, const char* name, size_t hint, const std::string& what) {
    std::string buf(hint + 1 > 256 ? hint + 1 : 256, '\0');
    for (;;) {
        ssize_t n = ::readlinkat(dirfd, name, buf.data(), buf.size());
        if (n < 0) throw_errno("readlinkat", what);
        if (static_cast<size_t>(n) < buf.size()) {
            buf.resize(static_cast<size_t>(n));
            return buf;
        }
        buf.resize(buf.size() * 2);  // truncated: the link changed size meanwhile
    }
}

class Copier {
public:
    explicit Copier(int dst_root) : dst_root_(dst_root) {
        struct stat st;
        if (::fstat(dst_root, &st) < 0) throw_errno("fstat", "destination root");
        dst_id_ = {st.st_dev, st.st_ino};
    }

    void copy_dir(int src, int dst, const std::string& rel) {
        for (auto& name : names_in(src, shown(rel))) copy_entry(src, dst, rel, name);
    }

private:
    int dst_root_;
    std::pair<dev_t, ino_t> dst_id_;
    // Hard links: (dev, ino) in the source -> path of its first copy, relative to dst's root.
    std::map<std::pair<dev_t, ino_t>, std::string> links_;

    // Links name in dst to the earlier copy at rel_first. The earlier copy's parent is opened
    // beneath dst's root with no symlinks at all, so a symlink planted in dst meanwhile cannot
    // make the link point outside it.
    bool link_existing(int dst, const std::string& name, const std::string& rel_first, const std::string& what) {
        auto slash = rel_first.rfind('/');
        std::string parent = rel_first.substr(1, slash == 0 ? 0 : slash - 1);
        std::string base = rel_first.substr(slash + 1);
        unique_fd pfd;
        int pdir = dst_root_;
        if (!parent.empty()) {
            open_how how{};
            how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
            how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
            int fd = static_cast<int>(
                retry_eintr([&] { return ::syscall(SYS_openat2, dst_root_, parent.c_str(), &how, sizeof how); }));
            if (fd < 0) throw_errno("openat2", shown(parent.empty() ? "" : "/" + parent));
            pfd.reset(fd);
            pdir = fd;
        }
        if (::linkat(pdir, base.c_str(), dst, name.c_str(), 0) < 0) throw_errno("linkat", rel_first + " -> " + what);
        return true;
    }

    void copy_entry(int src, int dst, const std::string& rel, const std::string& name) {
        std::string what = join(rel, name);
        const char* n = name.c_str();
        struct stat st;
        if (::fstatat(src, n, &st, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("fstatat", what);

        std::pair<dev_t, ino_t> id{st.st_dev, st.st_ino};
        if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
            if (auto it = links_.find(id); it != links_.end()) {
                link_existing(dst, name, it->second, what);
                return;
            }
        }

        switch (st.st_mode & S_IFMT) {
            case S_IFDIR: {
                auto sfd = open_dir_at(src, n, what);
                struct stat sst;
                if (::fstat(sfd.get(), &sst) < 0) throw_errno("fstat", what);
                if (std::pair{sst.st_dev, sst.st_ino} == dst_id_)
                    throw Error(ELOOP, "copy_tree", what + " is the destination itself");
                if (::mkdirat(dst, n, 0700) < 0) throw_errno("mkdirat", what);
                auto dfd = open_dir_at(dst, n, what);
                copy_dir(sfd.get(), dfd.get(), what);
                apply_meta_fd(sfd.get(), dfd.get(), sst, what);
                return;
            }
            case S_IFREG: {
                int fd = retry_eintr([&] { return ::openat(src, n, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC); });
                if (fd < 0) throw_errno("openat", what);
                unique_fd sfd(fd);
                struct stat sst;
                if (::fstat(fd, &sst) < 0) throw_errno("fstat", what);
                if (!S_ISREG(sst.st_mode) || sst.st_ino != st.st_ino || sst.st_dev != st.st_dev)
                    throw Error(EAGAIN, "copy_tree", what + " changed while it was being copied");
                int dfd_raw = retry_eintr(
                    [&] { return ::openat(dst, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600); });
                if (dfd_raw < 0) throw_errno("openat", what);
                unique_fd dfd(dfd_raw);
                copy_data(fd, dfd_raw, what);
                apply_meta_fd(fd, dfd_raw, sst, what);
                break;
            }
            case S_IFLNK: {
                auto target = read_link_at(src, n, static_cast<size_t>(st.st_size), what);
                if (::symlinkat(target.c_str(), dst, n) < 0) throw_errno("symlinkat", what);
                apply_meta_at(dst, n, st, /*chmod=*/false, what);  // a symlink's mode is fixed at 0777
                break;
            }
            case S_IFCHR:
            case S_IFBLK:
            case S_IFIFO:
            case S_IFSOCK: {
                if (::mknodat(dst, n, (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0) throw_errno("mknodat", what);
                apply_meta_at(dst, n, st, /*chmod=*/true, what);
                break;
            }
            default:
                throw Error(EINVAL, "copy_tree", what + ": unknown file type");
        }
        if (st.st_nlink > 1) links_.emplace(id, what);
    }
};

}  // namespace

bool dir_is_empty(int dirfd) { return names_in(dirfd, "/").empty(); }

void copy_tree(int src_dirfd, int dst_dirfd) {
    // Work on our own fds to the roots (the callers' offsets and flags stay as they were), and
    // check that both really are directories.
    auto src = open_dir_at(src_dirfd, ".", "/");
    auto dst = open_dir_at(dst_dirfd, ".", "/");
    struct stat sst;
    if (::fstat(src.get(), &sst) < 0) throw_errno("fstat", "/");
    Copier c(dst.get());
    struct stat dst_st;
    if (::fstat(dst.get(), &dst_st) < 0) throw_errno("fstat", "/");
    if (sst.st_dev == dst_st.st_dev && sst.st_ino == dst_st.st_ino)
        throw Error(EINVAL, "copy_tree", "source and destination are the same directory");
    c.copy_dir(src.get(), dst.get(), "");
    apply_meta_fd(src.get(), dst.get(), sst, "/");
}

}  // namespace berth::sys
