#include "sys/in_root.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <string>

#include "sys/error.hpp"

namespace berth::sys {

namespace {

int openat2_raw(int dirfd, const char* path, int flags, mode_t mode, std::uint64_t resolve) {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags) | O_CLOEXEC;
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = resolve;
    return static_cast<int>(retry_eintr([&] { return ::syscall(SYS_openat2, dirfd, path, &how, sizeof how); }));
}

constexpr std::uint64_t kInRoot = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

std::string rel(std::string_view path) {
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
    return path.empty() ? std::string(".") : std::string(path);
}

}  // namespace

unique_fd open_in_root(int rootfd, std::string_view path, int flags, mode_t mode) {
    auto p = rel(path);
    int fd = openat2_raw(rootfd, p.c_str(), flags, mode, kInRoot);
    if (fd < 0) throw_errno("openat2", "/" + (p == "." ? std::string() : p));
    return unique_fd(fd);
}

unique_fd open_in_root_if_exists(int rootfd, std::string_view path, int flags) {
    auto p = rel(path);
    int fd = openat2_raw(rootfd, p.c_str(), flags, 0, kInRoot);
    if (fd < 0) {
        if (errno == ENOENT) return {};
        throw_errno("openat2", "/" + (p == "." ? std::string() : p));
    }
    return unique_fd(fd);
}

ParentAndName split_parent(std::string_view path) {
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    auto slash = path.rfind('/');
    ParentAndName out;
    if (slash == std::string_view::npos) {
        out.parent = ".";
        out.name = std::string(path);
    } else {
        out.parent = rel(path.substr(0, slash));
        out.name = std::string(path.substr(slash + 1));
    }
    if (out.name.empty() || out.name == "." || out.name == "..")
        throw berth::Error(Errc::invalid, "invalid path \"" + std::string(path) + "\": it must name a file or directory");
    return out;
}

namespace {

unique_fd mkdir_all_in_root_depth(int rootfd, std::string_view path, mode_t mode, int depth);

// comp (in the directory cur, reached as `done` in root) is a symlink to something missing:
// create what it points at, resolved in root as the kernel will (runc's securejoin does the
// same, so a mount target behind a dangling link lands inside the rootfs, never outside).
void mkdir_through_link(int rootfd, int cur, const std::string& comp, const std::string& done, mode_t mode, int depth) {
    char buf[PATH_MAX];
    ssize_t n = ::readlinkat(cur, comp.c_str(), buf, sizeof buf - 1);
    if (n < 0) throw_errno("readlinkat", done);
    std::string target(buf, static_cast<size_t>(n));
    if (target.empty() || target[0] != '/') {
        auto slash = done.rfind('/');
        target = done.substr(0, slash == std::string::npos ? 0 : slash) + "/" + target;
    }
    mkdir_all_in_root_depth(rootfd, target, mode, depth + 1);
}

unique_fd mkdir_all_in_root_depth(int rootfd, std::string_view path, mode_t mode, int depth) {
    if (depth > 40) {
        errno = ELOOP;
        throw_errno("mkdir", std::string(path));
    }
    auto p = rel(path);
    unique_fd cur(openat2_raw(rootfd, ".", O_PATH | O_DIRECTORY, 0, kInRoot));
    if (!cur) throw_errno("openat2", "/");
    std::string done;
    size_t start = 0;
    while (start < p.size()) {
        size_t end = p.find('/', start);
        if (end == std::string::npos) end = p.size();
        std::string comp = p.substr(start, end - start);
        start = end + 1;
        if (comp.empty() || comp == ".") continue;
        done += "/" + comp;
        // Resolve from root each time (not from cur) so a ".." or a symlink component is
        // interpreted in root, exactly as the kernel will later resolve the whole path.
        int fd = openat2_raw(rootfd, rel(done).c_str(), O_PATH | O_DIRECTORY, 0, kInRoot);
        if (fd < 0 && errno == ENOENT) {
            // cur is the parent as already resolved in root; create there.
            if (::mkdirat(cur.get(), comp.c_str(), mode) < 0) {
                if (errno != EEXIST) throw_errno("mkdirat", done);
                struct stat st;
                if (::fstatat(cur.get(), comp.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                    mkdir_through_link(rootfd, cur.get(), comp, done, mode, depth);
            }
            fd = openat2_raw(rootfd, rel(done).c_str(), O_PATH | O_DIRECTORY, 0, kInRoot);
        }
        if (fd < 0) throw_errno("openat2", done);
        cur.reset(fd);
    }
    return cur;
}

}  // namespace

unique_fd mkdir_all_in_root(int rootfd, std::string_view path, mode_t mode) {
    return mkdir_all_in_root_depth(rootfd, path, mode, 0);
}

unique_fd ensure_in_root(int rootfd, std::string_view path, bool is_file, mode_t mode) {
    if (!is_file) return mkdir_all_in_root(rootfd, path, mode);
    auto existing = open_in_root_if_exists(rootfd, path, O_PATH);
    if (existing) return existing;
    auto pn = split_parent(path);
    auto parent = mkdir_all_in_root(rootfd, pn.parent, 0755);
    int fd = ::openat(parent.get(), pn.name.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST && errno != ELOOP) throw_errno("create", std::string(path));
    if (fd >= 0) ::close(fd);
    return open_in_root(rootfd, path, O_PATH);
}

}  // namespace berth::sys
