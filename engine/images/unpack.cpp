// The safe tar extractor; the policy is written down in unpack.hpp.
#include "images/unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <exception>
#include <vector>

#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/in_root.hpp"
#include "sys/strings.hpp"

namespace berth::images {

namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

struct ReadCtx {
    Source* src;
    std::vector<char> buf = std::vector<char>(256 * 1024);
    std::exception_ptr err;
    std::uint64_t total = 0;
};

la_ssize_t read_cb(struct archive* a, void* client, const void** out) {
    auto* c = static_cast<ReadCtx*>(client);
    try {
        size_t n = c->src->read(c->buf.data(), c->buf.size());
        c->total += n;
        *out = c->buf.data();
        return static_cast<la_ssize_t>(n);
    } catch (...) {
        c->err = std::current_exception();
        archive_set_error(a, EIO, "read failed");
        return -1;
    }
}

struct ArchiveCloser {
    void operator()(struct archive* a) const { archive_read_free(a); }
};

struct DirTime {
    std::string path;
    timespec ts[2];
};

class Extractor {
public:
    Extractor(int root, const UnpackOptions& opts, std::string_view what) : root_(root), opts_(opts), what_(what) {}

    UnpackStats run(Source& src) {
        std::unique_ptr<struct archive, ArchiveCloser> a(archive_read_new());
        if (!a) throw_error(Errc::failed, "libarchive: out of memory");
        archive_read_support_format_tar(a.get());
        archive_read_support_format_gnutar(a.get());
        ReadCtx ctx{&src};
        if (archive_read_open(a.get(), &ctx, nullptr, read_cb, nullptr) != ARCHIVE_OK) fail_archive(a.get(), ctx);
        for (;;) {
            archive_entry* e = nullptr;
            int rc = archive_read_next_header(a.get(), &e);
            if (rc == ARCHIVE_EOF) break;
            if (rc < ARCHIVE_WARN) fail_archive(a.get(), ctx);
            const char* raw = archive_entry_pathname(e);
            if (!raw) raw = archive_entry_pathname_utf8(e);
            std::string name = raw ? raw : "";
            try {
                entry(a.get(), e, name, ctx);
            } catch (const berth::Error&) {
                throw;
            } catch (...) {
                if (ctx.err) std::rethrow_exception(ctx.err);
                rethrow_with_context(std::string(what_) + ": entry \"" + name + "\"");
            }
            ++stats_.entries;
        }
        finish_dirs();
        return stats_;
    }

private:
    int root_;
    const UnpackOptions& opts_;
    std::string_view what_;
    UnpackStats stats_;
    std::vector<DirTime> dirs_;
    std::vector<std::string> skipped_;  // AUFS metadata directories whose content is skipped
    std::string cached_parent_;
    sys::unique_fd cached_fd_;

    [[noreturn]] void fail_archive(struct archive* a, ReadCtx& ctx) {
        if (ctx.err) std::rethrow_exception(ctx.err);
        if (ctx.total == 0) throw_error(Errc::invalid, std::string(what_) + " is empty");
        const char* msg = archive_error_string(a);
        std::string m = msg ? msg : "unreadable tar";
        if (str::contains(str::to_lower(m), "truncated"))
            throw_error(Errc::corrupt, std::string(what_) + " is truncated (" + m + ")");
        throw_error(Errc::corrupt, std::string(what_) + " is not a valid tar archive (" + m + ")");
    }

    [[noreturn]] void refuse(const std::string& name, const std::string& why) {
        throw_error(Errc::invalid, std::string(what_) + ": entry \"" + name + "\" " + why + "; refusing to unpack it");
    }

    // Splits a name into components; refuses absolute names and "..". Empty = the root itself.
    std::vector<std::string> clean(const std::string& name, const char* kind) {
        if (name.empty()) refuse(name, std::string("has an empty ") + kind);
        if (name.front() == '/') refuse(name, std::string("has an absolute ") + kind);
        std::vector<std::string> out;
        for (auto& c : str::split(name, '/')) {
            if (c.empty() || c == ".") continue;
            if (c == "..") refuse(name, std::string("has \"..\" in its ") + kind);
            out.push_back(c);
        }
        return out;
    }

    static std::string join(const std::vector<std::string>& comps, size_t n) {
        std::string p;
        for (size_t i = 0; i < n; ++i) p += (i ? "/" : "") + comps[i];
        return p;
    }

    // The parent directory of an entry, resolved (and created 0755 if missing) inside the root.
    int parent_fd(const std::string& parent) {
        if (!cached_fd_ || cached_parent_ != parent) {
            cached_fd_ = sys::mkdir_all_in_root(root_, parent.empty() ? "." : parent, 0755);
            cached_parent_ = parent;
        }
        return cached_fd_.get();
    }

    // Removes whatever is at name in parent (a file, a symlink, a whole directory). The cached
    // parent fd stays valid: it is the parent of name, not below it.
    void remove_existing(int pfd, const std::string& name) { sys::remove_tree_at(pfd, name); }

    std::pair<uid_t, gid_t> owner(archive_entry* e, const std::string& name) {
        auto uid = archive_entry_uid(e);
        auto gid = archive_entry_gid(e);
        // Ids are 32-bit and (uid_t)-1 means "unchanged" to chown (CVE-2024-40635 class).
        if (uid < 0 || gid < 0 || uid >= 0xFFFFFFFFLL || gid >= 0xFFFFFFFFLL)
            refuse(name, "has an owner id outside 0..4294967294");
        return {static_cast<uid_t>(uid), static_cast<gid_t>(gid)};
    }

    static void times(archive_entry* e, timespec ts[2]) {
        ts[1].tv_sec = archive_entry_mtime(e);
        ts[1].tv_nsec = archive_entry_mtime_nsec(e);
        if (archive_entry_atime_is_set(e)) {
            ts[0].tv_sec = archive_entry_atime(e);
            ts[0].tv_nsec = archive_entry_atime_nsec(e);
        } else {
            ts[0] = ts[1];
        }
    }

    void xattrs(archive_entry* e, int fd, const std::string& name) {
        archive_entry_xattr_reset(e);
        const char* xname;
        const void* value;
        size_t size;
        while (archive_entry_xattr_next(e, &xname, &value, &size) == ARCHIVE_OK) {
            std::string_view n = xname;
            if (n.substr(0, 16) == "trusted.overlay." || n.substr(0, 13) == "user.overlay.")
                refuse(name, "sets the overlayfs metadata xattr " + std::string(n));
            bool ok = n.substr(0, 5) == "user." || n.substr(0, 17) == "system.posix_acl_" ||
                      (n == "security.capability" && opts_.restore_owner);
            if (!ok) continue;
            // A filesystem without xattrs of that kind cannot keep them; Docker skips them too.
            if (::fsetxattr(fd, xname, value, size, 0) < 0 && errno != ENOTSUP)
                sys::throw_errno("fsetxattr " + std::string(n), name);
        }
    }

    // chown then chmod (chown clears set-id bits), on an open fd.
    void attrs_fd(archive_entry* e, int fd, const std::string& name) {
        if (opts_.restore_owner) {
            auto [u, g] = owner(e, name);
            if (::fchown(fd, u, g) < 0) sys::throw_errno("fchown", name);
        }
        if (::fchmod(fd, archive_entry_perm(e) & 07777) < 0) sys::throw_errno("fchmod", name);
        xattrs(e, fd, name);
    }

    void entry(struct archive* a, archive_entry* e, const std::string& name, ReadCtx& ctx) {
        auto comps = clean(name, "path");
        owner(e, name);  // ids out of range are malformed input, whether or not they are applied
        for (auto& s : skipped_)
            if (name.compare(0, s.size(), s) == 0) return;
        mode_t type = archive_entry_filetype(e);
        const char* hardlink = archive_entry_hardlink(e);

        if (comps.empty()) {  // "./": the root itself
            if (type != AE_IFDIR || hardlink) refuse(name, "names the root but is not a directory");
            auto fd = sys::open_at(root_, ".", O_RDONLY | O_DIRECTORY);
            attrs_fd(e, fd.get(), name);
            DirTime dt{"", {}};
            times(e, dt.ts);
            dirs_.push_back(dt);
            return;
        }
        const std::string base = comps.back();
        const std::string parent = join(comps, comps.size() - 1);

        if (opts_.layer && base.compare(0, kWhiteoutPrefix.size(), kWhiteoutPrefix) == 0) {
            whiteout(e, name, parent, base, type);
            return;
        }

        // An image archive (load) holds files, directories and links; a FIFO or device in it
        // could only stall or mislead the reader.
        if (!opts_.layer && !hardlink && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
            refuse(name, "is a special file (fifo, device or socket), which an image archive never contains");
        if (type == AE_IFCHR || type == AE_IFBLK) {
            if (comps.size() < 2 || comps[0] != "dev")
                refuse(name, "is a device node outside dev/ (devices are only allowed under dev/)");
        }
        if (!hardlink && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK && type != AE_IFCHR &&
            type != AE_IFBLK && type != AE_IFIFO)
            refuse(name, type == AE_IFSOCK ? "is a socket" : "has an unsupported tar entry type");

        int pfd = parent_fd(parent);
        struct stat existing;
        bool exists = ::fstatat(pfd, base.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0;

        if (hardlink) {
            make_hardlink(name, pfd, base, hardlink, exists);
            return;
        }
        switch (type) {
            case AE_IFDIR: {
                if (exists && !S_ISDIR(existing.st_mode)) remove_existing(pfd, base);
                if (!exists || !S_ISDIR(existing.st_mode)) {
                    if (::mkdirat(pfd, base.c_str(), 0700) < 0) sys::throw_errno("mkdirat", name);
                }
                auto fd = sys::open_at(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
                attrs_fd(e, fd.get(), name);
                DirTime dt{join(comps, comps.size()), {}};
                times(e, dt.ts);
                dirs_.push_back(std::move(dt));
                return;
            }
            case AE_IFREG: {
                if (exists) remove_existing(pfd, base);
                auto fd = sys::open_at(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
                write_data(a, fd.get(), name, ctx);
                if (archive_entry_size_is_set(e) && ::ftruncate(fd.get(), archive_entry_size(e)) < 0)
                    sys::throw_errno("ftruncate", name);
                attrs_fd(e, fd.get(), name);
                timespec ts[2];
                times(e, ts);
                if (::futimens(fd.get(), ts) < 0) sys::throw_errno("futimens", name);
                stats_.size += static_cast<std::uint64_t>(archive_entry_size(e));
                return;
            }
            case AE_IFLNK: {
                const char* target = archive_entry_symlink(e);
                if (!target || !*target) refuse(name, "is a symlink with an empty target");
                check_symlink(name, comps, target);
                if (exists) remove_existing(pfd, base);
                if (::symlinkat(target, pfd, base.c_str()) < 0) sys::throw_errno("symlinkat", name);
                attrs_at(e, pfd, base, name, false);
                return;
            }
            default: {  // fifo, char or block device
                if (exists) remove_existing(pfd, base);
                dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
                if (::mknodat(pfd, base.c_str(), type | 0600, type == AE_IFIFO ? 0 : dev) < 0)
                    sys::throw_errno("mknodat", name);
                attrs_at(e, pfd, base, name, true);
                return;
            }
        }
    }

    // Owner, mode and times of a node that cannot be opened for writing (symlink, device, fifo),
    // by name relative to its parent fd, never following it.
    void attrs_at(archive_entry* e, int pfd, const std::string& base, const std::string& name, bool chmod) {
        if (opts_.restore_owner) {
            auto [u, g] = owner(e, name);
            if (::fchownat(pfd, base.c_str(), u, g, AT_SYMLINK_NOFOLLOW) < 0) sys::throw_errno("fchownat", name);
        }
        if (chmod) {
            // We just created this node in a directory only this process writes, and checked it
            // is not a symlink, so fchmodat cannot be redirected.
            struct stat st;
            if (::fstatat(pfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) sys::throw_errno("fstatat", name);
            if (S_ISLNK(st.st_mode)) refuse(name, "was replaced by a symlink while unpacking");
            if (::fchmodat(pfd, base.c_str(), archive_entry_perm(e) & 07777, 0) < 0) sys::throw_errno("fchmodat", name);
        }
        timespec ts[2];
        times(e, ts);
        if (::utimensat(pfd, base.c_str(), ts, AT_SYMLINK_NOFOLLOW) < 0) sys::throw_errno("utimensat", name);
    }

    void check_symlink(const std::string& name, const std::vector<std::string>& comps, std::string_view target) {
        if (target.front() == '/') return;  // resolved in the container's root when used
        long depth = static_cast<long>(comps.size()) - 1;
        for (auto& c : str::split(target, '/')) {
            if (c.empty() || c == ".") continue;
            if (c == "..") {
                if (--depth < 0) refuse(name, "is a symlink to \"" + std::string(target) + "\", which points outside the root");
            } else {
                ++depth;
            }
        }
    }

    void make_hardlink(const std::string& name, int pfd, const std::string& base, const char* target, bool exists) {
        std::string t = target;
        if (t.empty()) refuse(name, "is a hardlink with an empty target");
        if (t.front() == '/') refuse(name, "is a hardlink to the absolute path \"" + t + "\", outside the root");
        for (auto& c : str::split(t, '/'))
            if (c == "..") refuse(name, "is a hardlink to \"" + t + "\", which points outside the root");
        auto tcomps = clean(t, "hardlink target");
        if (tcomps.empty()) refuse(name, "is a hardlink to the root directory");
        auto tparent = sys::open_in_root_if_exists(root_, join(tcomps, tcomps.size() - 1), O_PATH | O_DIRECTORY);
        struct stat tst;
        if (!tparent || ::fstatat(tparent.get(), tcomps.back().c_str(), &tst, AT_SYMLINK_NOFOLLOW) < 0)
            refuse(name, "is a hardlink to \"" + t + "\", which is not earlier in this archive");
        if (S_ISDIR(tst.st_mode)) refuse(name, "is a hardlink to the directory \"" + t + "\"");
        if (exists) {
            struct stat cur;
            if (::fstatat(pfd, base.c_str(), &cur, AT_SYMLINK_NOFOLLOW) == 0 && cur.st_dev == tst.st_dev &&
                cur.st_ino == tst.st_ino)
                return;  // already the same file
            remove_existing(pfd, base);
        }
        if (::linkat(tparent.get(), tcomps.back().c_str(), pfd, base.c_str(), 0) < 0) sys::throw_errno("linkat", name);
    }

    void whiteout(archive_entry* e, const std::string& name, const std::string& parent, const std::string& base, mode_t type) {
        if (base == kOpaqueMarker) {
            auto dir = sys::mkdir_all_in_root(root_, parent.empty() ? "." : parent, 0755);
            auto fd = sys::open_at(dir.get(), ".", O_RDONLY | O_DIRECTORY);
            if (::fsetxattr(fd.get(), opts_.opaque_xattr.c_str(), "y", 1, 0) < 0)
                sys::throw_errno("fsetxattr " + opts_.opaque_xattr, name);
            return;
        }
        if (base.compare(0, kWhiteoutMetaPrefix.size(), kWhiteoutMetaPrefix) == 0) {
            // AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content; Docker skips it too.
            if (type == AE_IFDIR) skipped_.push_back(name.back() == '/' ? name : name + "/");
            return;
        }
        std::string target = base.substr(kWhiteoutPrefix.size());
        if (target.empty() || target == "." || target == ".." || target.find('/') != std::string::npos)
            refuse(name, "is an invalid whiteout");
        int pfd = parent_fd(parent);
        struct stat st;
        if (::fstatat(pfd, target.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) remove_existing(pfd, target);
        // A 0:0 character device is overlayfs's whiteout; the kernel allows creating it without
        // CAP_MKNOD (vfs_mknod, Linux 5.8+).
        if (::mknodat(pfd, target.c_str(), S_IFCHR | 0, makedev(0, 0)) < 0) sys::throw_errno("mknodat (whiteout)", name);
    }

    void write_data(struct archive* a, int fd, const std::string& name, ReadCtx& ctx) {
        const void* buf;
        size_t size;
        la_int64_t offset;
        for (;;) {
            int rc = archive_read_data_block(a, &buf, &size, &offset);
            if (rc == ARCHIVE_EOF) return;
            if (rc < ARCHIVE_WARN) fail_archive(a, ctx);
            const char* p = static_cast<const char*>(buf);
            while (size > 0) {
                ssize_t n = sys::retry_eintr([&] { return ::pwrite(fd, p, size, offset); });
                if (n < 0) sys::throw_errno("write", name);
                p += n;
                size -= static_cast<size_t>(n);
                offset += n;
            }
        }
    }

    void finish_dirs() {
        // Directory times last, deepest first: creating entries inside changed them.
        for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
            sys::unique_fd fd;
            try {
                fd = sys::open_in_root_if_exists(root_, it->path.empty() ? "." : it->path,
                                                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            } catch (const sys::Error& e) {
                if (e.err() == ELOOP || e.err() == ENOTDIR) continue;  // replaced by a later entry
                throw;
            }
            if (fd && ::futimens(fd.get(), it->ts) < 0) sys::throw_errno("futimens", it->path);
        }
    }
};

}  // namespace

UnpackStats unpack_tar(Source& tar, int destfd, const UnpackOptions& opts, std::string_view what) {
    Extractor x(destfd, opts, what);
    return x.run(tar);
}

}  // namespace berth::images
