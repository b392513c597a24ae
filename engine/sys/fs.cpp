#include "sys/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "sys/error.hpp"
#include "sys/random.hpp"

namespace berth::sys {

unique_fd open_path(const fs::path& path, int flags, mode_t mode) {
    int fd = retry_eintr([&] { return ::open(path.c_str(), flags | O_CLOEXEC, mode); });
    if (fd < 0) throw_errno("open", path.string());
    return unique_fd(fd);
}

unique_fd open_at(int dirfd, const fs::path& path, int flags, mode_t mode) {
    int fd = retry_eintr([&] { return ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode); });
    if (fd < 0) throw_errno("openat", path.string());
    return unique_fd(fd);
}

std::string read_fd(int fd) {
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = retry_eintr([&] { return ::read(fd, buf, sizeof buf); });
        if (n < 0) throw_errno("read");
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

std::string read_file(const fs::path& path) {
    auto fd = open_path(path, O_RDONLY);
    try {
        return read_fd(fd.get());
    } catch (const Error& e) {
        throw Error(e.err(), "read", path.string());
    }
}

std::optional<std::string> read_file_if_exists(const fs::path& path) {
    int fd = retry_eintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
        throw_errno("open", path.string());
    }
    unique_fd owner(fd);
    return read_fd(fd);
}

void write_all(int fd, std::string_view data, std::string_view what) {
    while (!data.empty()) {
        ssize_t n = retry_eintr([&] { return ::write(fd, data.data(), data.size()); });
        if (n < 0) throw_errno("write", what);
        data.remove_prefix(static_cast<size_t>(n));
    }
}

void write_file(const fs::path& path, std::string_view data, mode_t mode) {
    auto fd = open_path(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    write_all(fd.get(), data, path.string());
}

void write_file_atomic(const fs::path& path, std::string_view data, mode_t mode, bool sync) {
    fs::path tmp = path;
    tmp += ".tmp-" + random_hex(8);
    {
        auto fd = open_path(tmp, O_WRONLY | O_CREAT | O_EXCL, mode);
        try {
            write_all(fd.get(), data, tmp.string());
            if (sync && ::fsync(fd.get()) < 0) throw_errno("fsync", tmp.string());
        } catch (...) {
            ::unlink(tmp.c_str());
            throw;
        }
    }
    if (::rename(tmp.c_str(), path.c_str()) < 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw_errno("rename", tmp.string() + " -> " + path.string(), err);
    }
}

void mkdirs(const fs::path& path, mode_t mode) {
    if (path.empty()) return;
    if (::mkdir(path.c_str(), mode) == 0) return;
    if (errno == EEXIST) {
        if (is_dir(path)) return;
        throw_errno("mkdir", path.string(), ENOTDIR);
    }
    if (errno != ENOENT) throw_errno("mkdir", path.string());
    auto parent = path.parent_path();
    if (parent == path) throw_errno("mkdir", path.string(), ENOENT);
    mkdirs(parent, mode);
    if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST) throw_errno("mkdir", path.string());
}

bool exists(const fs::path& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

bool is_dir(const fs::path& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

namespace {

// Empties the directory open at dirfd (the fd is consumed by fdopendir).
void empty_dir_fd(int dirfd, const std::string& what) {
    DIR* d = ::fdopendir(dirfd);
    if (!d) {
        int err = errno;
        ::close(dirfd);
        throw_errno("fdopendir", what, err);
    }
    std::vector<std::pair<std::string, bool>> entries;
    while (dirent* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n == "." || n == "..") continue;
        bool isdir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN) {
            struct stat st;
            isdir = ::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
        }
        entries.emplace_back(e->d_name, isdir);
    }
    int fd = ::dirfd(d);
    for (auto& [name, isdir] : entries) {
        if (isdir) {
            int sub = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                if (errno == ENOENT) continue;
                int err = errno;
                ::closedir(d);
                throw_errno("openat", what + "/" + name, err);
            }
            try {
                empty_dir_fd(sub, what + "/" + name);
            } catch (...) {
                ::closedir(d);
                throw;
            }
            if (::unlinkat(fd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT) {
                int err = errno;
                ::closedir(d);
                throw_errno("rmdir", what + "/" + name, err);
            }
        } else if (::unlinkat(fd, name.c_str(), 0) < 0 && errno != ENOENT) {
            int err = errno;
            ::closedir(d);
            throw_errno("unlink", what + "/" + name, err);
        }
    }
    ::closedir(d);
}

}  // namespace

void remove_tree_at(int dirfd, const std::string& name) {
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return;
        throw_errno("stat", name);
    }
    if (!S_ISDIR(st.st_mode)) {
        if (::unlinkat(dirfd, name.c_str(), 0) < 0 && errno != ENOENT) throw_errno("unlink", name);
        return;
    }
    int sub = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
        if (errno == ENOENT) return;
        throw_errno("openat", name);
    }
    empty_dir_fd(sub, name);
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT) throw_errno("rmdir", name);
}

void remove_tree(const fs::path& path) {
    auto parent = path.parent_path();
    if (parent.empty()) parent = ".";
    int pfd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0) {
        if (errno == ENOENT) return;
        throw_errno("open", parent.string());
    }
    unique_fd owner(pfd);
    try {
        remove_tree_at(pfd, path.filename().string());
    } catch (const Error& e) {
        throw Error(e.err(), e.op(), (parent / e.subject()).string());
    }
}

namespace {
// Reads and closes d: its entry names without "." and "..", sorted.
std::vector<std::string> read_names(DIR* d) {
    std::vector<std::string> out;
    while (dirent* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n == "." || n == "..") continue;
        out.emplace_back(n);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}
}  // namespace

std::vector<std::string> list_dir(const fs::path& path) {
    DIR* d = ::opendir(path.c_str());
    if (!d) {
        if (errno == ENOENT) return {};
        throw_errno("opendir", path.string());
    }
    return read_names(d);
}

std::vector<std::string> list_dir_at(int dfd) {
    int dup = ::openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dup < 0) throw_errno("openat", ".");
    DIR* d = ::fdopendir(dup);
    if (!d) {
        ::close(dup);
        throw_errno("fdopendir", ".");
    }
    return read_names(d);
}

namespace {
std::uint64_t du_fd(int dirfd, std::set<std::pair<dev_t, ino_t>>& seen) {
    std::uint64_t total = 0;
    DIR* d = ::fdopendir(dirfd);
    if (!d) {
        ::close(dirfd);
        return 0;
    }
    while (dirent* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n == "." || n == "..") continue;
        struct stat st;
        if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
        if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && !seen.insert({st.st_dev, st.st_ino}).second) continue;
        total += static_cast<std::uint64_t>(st.st_blocks) * 512;
        if (S_ISDIR(st.st_mode)) {
            int sub = ::openat(::dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) total += du_fd(sub, seen);
        }
    }
    ::closedir(d);
    return total;
}
}  // namespace

std::uint64_t disk_usage(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return 0;
    std::set<std::pair<dev_t, ino_t>> seen;
    return du_fd(fd, seen);
}

fs::path self_exe_dir() {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n < 0) throw_errno("readlink", "/proc/self/exe");
    buf[n] = 0;
    return fs::path(buf).parent_path();
}

TempDir::TempDir(const fs::path& parent, std::string_view prefix) {
    mkdirs(parent, 0700);
    for (int i = 0; i < 16; ++i) {
        auto p = parent / (std::string(prefix) + random_hex(12));
        if (::mkdir(p.c_str(), 0700) == 0) {
            path_ = p;
            return;
        }
        if (errno != EEXIST) throw_errno("mkdir", p.string());
    }
    throw_errno("mkdir", parent.string(), EEXIST);
}

TempDir::TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)), keep_(o.keep_) { o.keep_ = true; }

TempDir::~TempDir() {
    if (keep_ || path_.empty()) return;
    try {
        remove_tree(path_);
    } catch (...) {
    }
}

}  // namespace berth::sys
