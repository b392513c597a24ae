#include "images/changeset.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "sys/error.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"

namespace berth::images {

namespace fs = std::filesystem;

namespace {

struct WriterFree {
    void operator()(struct archive* a) const { archive_write_free(a); }
};
using Entry = std::unique_ptr<archive_entry, void (*)(archive_entry*)>;

bool keep_xattr(std::string_view n) {
    if (n.substr(0, 13) == "user.overlay.") return false;
    return n.substr(0, 5) == "user." || n == "security.capability" || n.substr(0, 17) == "system.posix_acl_";
}

class Writer {
public:
    Writer(int fd, const ChangesetOptions& opts) : a_(archive_write_new()), opts_(opts) {
        if (!a_) throw_error(Errc::failed, "libarchive: out of memory");
        archive_write_set_format_pax_restricted(a_.get());
        archive_write_set_bytes_in_last_block(a_.get(), 1);
        if (archive_write_open_fd(a_.get(), fd) != ARCHIVE_OK) fail("open");
    }

    void dir(int dfd, const std::string& rel) {
        for (auto& name : names(dfd, rel)) {
            struct stat st;
            if (::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) sys::throw_errno("fstatat", rel + name);
            std::string path = rel + name;
            if (opts_.omit.count(path)) continue;
            if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {  // overlay whiteout
                auto e = entry(rel + ".wh." + name, st, AE_IFREG);
                archive_entry_set_perm(e.get(), 0);
                header(e.get());
                continue;
            }
            if (S_ISDIR(st.st_mode)) {
                sys::unique_fd sub(::openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                if (!sub) sys::throw_errno("openat", path);
                auto e = entry(path + "/", st, AE_IFDIR);
                xattrs(sub.get(), e.get(), path);
                header(e.get());
                char v[2] = {};
                if (::fgetxattr(sub.get(), opts_.opaque_xattr.c_str(), v, sizeof v) == 1 && v[0] == 'y') {
                    auto o = entry(path + "/.wh..wh..opq", st, AE_IFREG);
                    archive_entry_set_perm(o.get(), 0);
                    header(o.get());
                }
                dir(sub.get(), path + "/");
                continue;
            }
            if (S_ISSOCK(st.st_mode)) continue;
            if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
                auto key = std::make_pair(st.st_dev, st.st_ino);
                auto it = links_.find(key);
                if (it != links_.end()) {
                    auto e = entry(path, st, AE_IFREG);
                    archive_entry_set_hardlink(e.get(), it->second.c_str());
                    archive_entry_set_size(e.get(), 0);
                    header(e.get());
                    continue;
                }
                links_.emplace(key, path);
            }
            if (S_ISREG(st.st_mode)) {
                sys::unique_fd f(::openat(dfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
                if (!f) sys::throw_errno("openat", path);
                auto e = entry(path, st, AE_IFREG);
                archive_entry_set_size(e.get(), st.st_size);
                xattrs(f.get(), e.get(), path);
                header(e.get());
                copy(f.get(), st.st_size, path);
            } else if (S_ISLNK(st.st_mode)) {
                std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
                ssize_t n = ::readlinkat(dfd, name.c_str(), target.data(), target.size());
                if (n < 0) sys::throw_errno("readlinkat", path);
                target.resize(static_cast<size_t>(n));
                auto e = entry(path, st, AE_IFLNK);
                archive_entry_set_symlink(e.get(), target.c_str());
                header(e.get());
            } else {  // fifo, character or block device
                auto e = entry(path, st, S_ISFIFO(st.st_mode) ? AE_IFIFO : S_ISCHR(st.st_mode) ? AE_IFCHR : AE_IFBLK);
                archive_entry_set_rdevmajor(e.get(), major(st.st_rdev));
                archive_entry_set_rdevminor(e.get(), minor(st.st_rdev));
                header(e.get());
            }
        }
    }

    void close() {
        if (archive_write_close(a_.get()) != ARCHIVE_OK) fail("close");
    }

private:
    std::unique_ptr<struct archive, WriterFree> a_;
    const ChangesetOptions& opts_;
    std::map<std::pair<dev_t, ino_t>, std::string> links_;

    [[noreturn]] void fail(const char* what) {
        const char* m = archive_error_string(a_.get());
        int err = archive_errno(a_.get());
        if (err > 0) sys::throw_errno(std::string("writing the layer tar (") + what + ")", m ? m : "", err);
        throw_error(Errc::failed, std::string("writing the layer tar: ") + (m ? m : what));
    }

    static std::vector<std::string> names(int dfd, const std::string& rel) {
        int dup = ::openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dup < 0) sys::throw_errno("openat", rel.empty() ? "." : rel);
        DIR* d = ::fdopendir(dup);
        if (!d) {
            ::close(dup);
            sys::throw_errno("fdopendir", rel);
        }
        std::vector<std::string> out;
        while (dirent* e = ::readdir(d)) {
            std::string_view n = e->d_name;
            if (n != "." && n != "..") out.emplace_back(n);
        }
        ::closedir(d);
        std::sort(out.begin(), out.end());
        return out;
    }

    Entry entry(const std::string& path, const struct stat& st, unsigned type) {
        Entry e(archive_entry_new(), archive_entry_free);
        archive_entry_set_pathname(e.get(), path.c_str());
        archive_entry_set_filetype(e.get(), type);
        archive_entry_set_perm(e.get(), st.st_mode & 07777);
        archive_entry_set_uid(e.get(), st.st_uid);
        archive_entry_set_gid(e.get(), st.st_gid);
        archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        return e;
    }

    void xattrs(int fd, archive_entry* e, const std::string& path) {
        ssize_t n = ::flistxattr(fd, nullptr, 0);
        if (n <= 0) return;
        std::string list(static_cast<size_t>(n), '\0');
        n = ::flistxattr(fd, list.data(), list.size());
        if (n < 0) sys::throw_errno("flistxattr", path);
        list.resize(static_cast<size_t>(n));
        std::vector<std::string> keys;
        for (size_t i = 0; i < list.size();) {
            std::string k = list.c_str() + i;
            i += k.size() + 1;
            if (keep_xattr(k)) keys.push_back(k);
        }
        std::sort(keys.begin(), keys.end());
        for (auto& k : keys) {
            ssize_t vn = ::fgetxattr(fd, k.c_str(), nullptr, 0);
            if (vn < 0) sys::throw_errno("fgetxattr " + k, path);
            std::string v(static_cast<size_t>(vn), '\0');
            vn = ::fgetxattr(fd, k.c_str(), v.data(), v.size());
            if (vn < 0) sys::throw_errno("fgetxattr " + k, path);
            archive_entry_xattr_add_entry(e, k.c_str(), v.data(), static_cast<size_t>(vn));
        }
    }

    void header(archive_entry* e) {
        if (archive_write_header(a_.get(), e) != ARCHIVE_OK) fail("header");
    }

    void copy(int fd, off_t size, const std::string& path) {
        std::vector<char> buf(256 * 1024);
        off_t left = size;
        while (left > 0) {
            ssize_t n = sys::retry_eintr([&] { return ::read(fd, buf.data(), std::min<off_t>(left, buf.size())); });
            if (n < 0) sys::throw_errno("read", path);
            if (n == 0) throw_error(Errc::failed, path + " shrank while it was written to the layer");
            const char* p = buf.data();
            for (ssize_t w = 0; w < n;) {
                la_ssize_t k = archive_write_data(a_.get(), p + w, static_cast<size_t>(n - w));
                if (k < 0) fail("data");
                w += k;
            }
            left -= n;
        }
    }
};

}  // namespace

bool in_layers(const std::vector<fs::path>& layers, const std::string& rel) {
    for (auto& l : layers) {
        struct stat st;
        if (::lstat((l / rel).c_str(), &st) == 0) return !(S_ISCHR(st.st_mode) && st.st_rdev == 0);
    }
    return false;
}

std::set<std::string> runtime_stubs(const fs::path& upper, const std::vector<fs::path>& layers) {
    std::set<std::string> out;
    auto fd = sys::open_path(upper, O_RDONLY | O_DIRECTORY);
    for (const char* rel : {"etc/hostname", "etc/hosts", "etc/resolv.conf", "proc", "sys", "dev"}) {
        struct stat st;
        if (::fstatat(fd.get(), rel, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
        bool empty_file = S_ISREG(st.st_mode) && st.st_size == 0;
        bool empty_dir = S_ISDIR(st.st_mode) && sys::list_dir(upper / rel).empty();
        if ((empty_file || empty_dir) && !in_layers(layers, rel)) out.insert(rel);
    }
    // /etc itself when it only holds such stubs (a copy-up, or the parent the runtime made) and
    // was not replaced as a whole (opaque).
    struct stat st;
    if (::fstatat(fd.get(), "etc", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
        bool only_stubs = true;
        for (auto& n : sys::list_dir(upper / "etc")) only_stubs = only_stubs && out.count("etc/" + n) > 0;
        char v[2] = {};
        bool opaque = ::getxattr((upper / "etc").c_str(), "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
        if (only_stubs && !opaque) out.insert("etc");
    }
    return out;
}

void write_changeset(const fs::path& upper, int fd, const ChangesetOptions& opts) {
    auto root = sys::open_path(upper, O_RDONLY | O_DIRECTORY);
    Writer w(fd, opts);
    w.dir(root.get(), "");
    w.close();
}

}  // namespace berth::images
