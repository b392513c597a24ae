#include "build/fsop.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "images/overlay.hpp"
#include "images/source.hpp"
#include "images/unpack.hpp"
#include "sys/child.hpp"
#include "sys/error.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/in_root.hpp"
#include "sys/strings.hpp"

namespace berth::build {

namespace {

[[noreturn]] void fail(const FsJob& job, const std::string& msg) { throw_error(Errc::failed, job.where + ": " + msg); }

// uid or gid from a name or number, looked up in the rootfs' /etc/passwd or /etc/group.
std::optional<unsigned> lookup_id(int rootfd, const std::string& file, const std::string& name) {
    if (auto n = str::parse_uint(name)) return static_cast<unsigned>(*n);
    auto fd = sys::open_in_root_if_exists(rootfd, file, O_RDONLY);
    if (!fd) return std::nullopt;
    for (auto& line : str::split(sys::read_fd(fd.get()), '\n')) {
        auto f = str::split(line, ':');
        if (f.size() >= 3 && f[0] == name)
            if (auto n = str::parse_uint(f[2])) return static_cast<unsigned>(*n);
    }
    return std::nullopt;
}

struct Owner {
    unsigned uid = 0, gid = 0;
};

Owner resolve_chown(const FsJob& job, int rootfd, const std::string& spec) {
    auto [u, g] = str::split_once(spec, ':');
    Owner o;
    auto uid = lookup_id(rootfd, "/etc/passwd", u);
    if (!uid) fail(job, "unable to find user " + u + ": no matching entries in passwd file");
    o.uid = *uid;
    if (g) {
        auto gid = lookup_id(rootfd, "/etc/group", *g);
        if (!gid) fail(job, "unable to find group " + *g + ": no matching entries in group file");
        o.gid = *gid;
    } else {
        // The user's primary group from passwd, else the same number.
        o.gid = o.uid;
        if (!str::parse_uint(u)) {
            auto fd = sys::open_in_root_if_exists(rootfd, "/etc/passwd", O_RDONLY);
            if (fd)
                for (auto& line : str::split(sys::read_fd(fd.get()), '\n')) {
                    auto f = str::split(line, ':');
                    if (f.size() >= 4 && f[0] == u)
                        if (auto n = str::parse_uint(f[3])) o.gid = static_cast<unsigned>(*n);
                }
        }
    }
    return o;
}

void copy_data(int in, int out, const std::string& what) {
    for (;;) {
        ssize_t n = ::sendfile(out, in, nullptr, 1 << 30);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EINVAL || errno == ENOSYS) break;
            sys::throw_errno("sendfile", what);
        }
        if (n == 0) return;
    }
    char buf[65536];
    for (;;) {
        ssize_t n = sys::retry_eintr([&] { return ::read(in, buf, sizeof buf); });
        if (n < 0) sys::throw_errno("read", what);
        if (n == 0) return;
        sys::write_all(out, std::string_view(buf, static_cast<size_t>(n)), what);
    }
}

bool is_dir_at(int dfd, const std::string& name) {
    struct stat st;
    return ::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

// Removes whatever is at name unless it is a directory and keep_dir.
void clear_at(int dfd, const std::string& name, bool keep_dir, const std::string& what) {
    struct stat st;
    if (::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return;
    if (S_ISDIR(st.st_mode)) {
        if (keep_dir) return;
        throw_error(Errc::failed, "cannot replace directory " + what + " with a non-directory");
    }
    if (::unlinkat(dfd, name.c_str(), 0) < 0) sys::throw_errno("unlinkat", what);
}

struct Copier {
    const FsJob& job;
    int srcfd;
    int rootfd;
    std::optional<Owner> owner;

    void set_meta(int parentfd, const std::string& name, const struct stat& st, bool link, const std::string& what) {
        unsigned uid = owner ? owner->uid : job.keep_owner ? st.st_uid : 0;
        unsigned gid = owner ? owner->gid : job.keep_owner ? st.st_gid : 0;
        if (::fchownat(parentfd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0) sys::throw_errno("fchownat", what);
        if (link) return;
        mode_t mode = job.chmod ? static_cast<mode_t>(*job.chmod) : (st.st_mode & 07777);
        if (::fchmodat(parentfd, name.c_str(), mode, 0) < 0) sys::throw_errno("fchmodat", what);
    }

    // Copies one entry of the source to target (absolute in the rootfs).
    void one(const CopyItem& it, const std::string& target) {
        auto [parent, name] = sys::split_parent(target);
        auto pfd = sys::mkdir_all_in_root(rootfd, parent.empty() ? "/" : parent);
        struct stat st;
        if (::fstatat(srcfd, it.src.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) sys::throw_errno("stat", it.src);
        sys::unique_fd followed;
        if (S_ISLNK(st.st_mode) && it.follow) {
            // A source named directly is copied as the file it points to, resolved inside the
            // source root (an absolute or "../" link cannot reach outside it).
            followed = sys::open_in_root_if_exists(srcfd, it.src, O_RDONLY | O_NONBLOCK);
            struct stat t;
            if (!followed || ::fstat(followed.get(), &t) < 0 || !S_ISREG(t.st_mode)) followed.reset();
            else st = t;
        }
        if (S_ISDIR(st.st_mode)) {
            clear_at(pfd.get(), name, true, target);
            if (!is_dir_at(pfd.get(), name) && ::mkdirat(pfd.get(), name.c_str(), 0755) < 0) sys::throw_errno("mkdirat", target);
            set_meta(pfd.get(), name, st, false, target);
        } else if (S_ISREG(st.st_mode)) {
            clear_at(pfd.get(), name, false, target);
            sys::unique_fd in = followed ? std::move(followed) : sys::unique_fd(::openat(srcfd, it.src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
            if (!in) sys::throw_errno("openat", it.src);
            sys::unique_fd out(::openat(pfd.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
            if (!out) sys::throw_errno("openat", target);
            copy_data(in.get(), out.get(), target);
            set_meta(pfd.get(), name, st, false, target);
        } else if (S_ISLNK(st.st_mode)) {
            clear_at(pfd.get(), name, false, target);
            std::string t(4096, '\0');
            ssize_t n = ::readlinkat(srcfd, it.src.c_str(), t.data(), t.size());
            if (n < 0) sys::throw_errno("readlinkat", it.src);
            t.resize(static_cast<size_t>(n));
            if (::symlinkat(t.c_str(), pfd.get(), name.c_str()) < 0) sys::throw_errno("symlinkat", target);
            set_meta(pfd.get(), name, st, true, target);
        }
        // Sockets, fifos and devices in a context are not copied (as BuildKit).
    }
};

std::string join_abs(const std::string& dir, const std::string& rel) {
    if (rel.empty()) return dir;
    return (dir == "/" ? "" : dir) + "/" + rel;
}

void child_main(const FsJob& job) {
    if (::unshare(CLONE_NEWNS) < 0) sys::throw_errno("unshare", "CLONE_NEWNS");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) sys::throw_errno("mount", "/ MS_REC|MS_PRIVATE");
    fs::path mnt = job.scratch / "rootfs";
    images::mount_overlay(job.lowers, job.scratch / "upper", job.scratch / "work", mnt);
    auto root = sys::open_path(mnt, O_RDONLY | O_DIRECTORY);
    int rootfd = root.get();

    if (!job.mkdir.empty()) sys::mkdir_all_in_root(rootfd, job.mkdir);
    if (job.dest.empty()) return;

    std::optional<Owner> owner;
    if (job.chown) owner = resolve_chown(job, rootfd, *job.chown);

    sys::unique_fd src;
    std::vector<CopyItem> items = job.items;
    bool multiple = job.multiple;
    if (job.from_image) {
        fs::path smnt = job.scratch / "src";
        images::mount_overlay(job.src_lowers, "", job.scratch / "src-work", smnt);
        src = sys::open_path(smnt, O_RDONLY | O_DIRECTORY);
        auto listing = list_tree_fd(src.get(), IgnoreRules{});
        for (auto& p : job.src_patterns) {
            auto ex = expand_source(listing, p);
            if (ex.items.empty()) fail(job, "failed to compute cache key: \"" + p + "\": not found");
            multiple = multiple || ex.multiple;
            items.insert(items.end(), ex.items.begin(), ex.items.end());
        }
        if (job.src_patterns.size() > 1) multiple = true;
    } else if (!job.context_dir.empty()) {
        src = sys::open_path(job.context_dir, O_RDONLY | O_DIRECTORY);
    }

    // The destination is a directory when it ends in '/', when there are several sources, or
    // when it already is one in the image.
    bool dest_dir = job.dest.back() == '/' || multiple || job.files.size() > 1 || !job.tars.empty();
    std::string dest = job.dest;
    while (dest.size() > 1 && dest.back() == '/') dest.pop_back();
    if (!dest_dir) {
        auto d = sys::open_in_root_if_exists(rootfd, dest, O_PATH);
        struct stat st;
        if (d && ::fstat(d.get(), &st) == 0 && S_ISDIR(st.st_mode)) dest_dir = true;
    }
    if (dest_dir) sys::mkdir_all_in_root(rootfd, dest);

    Copier c{job, src.get(), rootfd, owner};
    for (auto& it : items) {
        std::string target = dest_dir ? join_abs(dest, it.dst) : dest;
        c.one(it, target);
    }
    for (auto& [name, content] : job.files) {
        std::string target = dest_dir ? join_abs(dest, name) : dest;
        auto [parent, base] = sys::split_parent(target);
        auto pfd = sys::mkdir_all_in_root(rootfd, parent.empty() ? "/" : parent);
        clear_at(pfd.get(), base, false, target);
        sys::unique_fd out(::openat(pfd.get(), base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
        if (!out) sys::throw_errno("openat", target);
        sys::write_all(out.get(), content, target);
        mode_t mode = job.chmod ? static_cast<mode_t>(*job.chmod) : 0644;
        if (::fchmod(out.get(), mode) < 0) sys::throw_errno("fchmod", target);
        if (::fchown(out.get(), owner ? owner->uid : 0, owner ? owner->gid : 0) < 0) sys::throw_errno("fchown", target);
    }
    for (auto& t : job.tars) {
        auto in = sys::open_at(src.get(), t, O_RDONLY | O_NOFOLLOW);
        images::FdSource fsrc(in.get(), t);
        images::DecompressingSource dec(fsrc, t);
        auto dfd = sys::open_in_root(rootfd, dest, O_RDONLY | O_DIRECTORY);
        images::UnpackOptions uo;
        uo.layer = false;
        images::unpack_tar(dec, dfd.get(), uo, t);
    }
}

}  // namespace

fs::path run_fs_job(const FsJob& job) {
    for (auto d : {"upper", "work", "rootfs", "src", "src-work"}) sys::mkdirs(job.scratch / d, 0755);
    auto child = sys::fork_child([&] { child_main(job); });
    auto err = sys::wait_child(child, "the file operation");
    if (!err.empty()) {
        if (err.rfind(job.where + ":", 0) == 0) throw_error(Errc::failed, err);
        throw_error(Errc::failed, job.where + ": " + err);
    }
    return job.scratch / "upper";
}

namespace {

void clamp_at(int dfd, std::int64_t epoch) {
    auto names = sys::list_dir_at(dfd);
    for (auto& n : names) {
        struct stat st;
        if (::fstatat(dfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) sys::throw_errno("fstatat", n);
        if (S_ISDIR(st.st_mode)) {
            sys::unique_fd sub(::openat(dfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub) sys::throw_errno("openat", n);
            clamp_at(sub.get(), epoch);
        }
        if (st.st_mtim.tv_sec > epoch || (st.st_mtim.tv_sec == epoch && st.st_mtim.tv_nsec != 0)) {
            struct timespec ts[2] = {{epoch, 0}, {epoch, 0}};
            if (::utimensat(dfd, n.c_str(), ts, AT_SYMLINK_NOFOLLOW) < 0) sys::throw_errno("utimensat", n);
        }
    }
}

}  // namespace

void clamp_times(const fs::path& dir, std::int64_t epoch_s) {
    auto fd = sys::open_path(dir, O_RDONLY | O_DIRECTORY);
    clamp_at(fd.get(), epoch_s);
}

bool dir_empty(const fs::path& dir) { return sys::list_dir(dir).empty(); }

}  // namespace berth::build
