#pragma once
// Files and directories on the host, by path (berth's own state) or relative to a directory fd.
// Paths inside an untrusted tree (a container rootfs, a layer) go through in_root.hpp instead.
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sys/fd.hpp"

namespace berth::sys {

namespace fs = std::filesystem;

unique_fd open_path(const fs::path& path, int flags, mode_t mode = 0);
unique_fd open_at(int dirfd, const fs::path& path, int flags, mode_t mode = 0);

std::string read_file(const fs::path& path);
std::optional<std::string> read_file_if_exists(const fs::path& path);
std::string read_fd(int fd);  // to EOF
void write_all(int fd, std::string_view data, std::string_view what);

// Write to a temp file beside path, fsync, rename over path: readers see the old or the new
// content, never a torn one (DESIGN.md "State").
void write_file_atomic(const fs::path& path, std::string_view data, mode_t mode = 0644, bool sync = true);
// The same rename-into-place without the fsync: for files rebuilt on every start (the run dir,
// a container's /etc files), which a crash may lose but never leaves half-written.
inline void write_file_replace(const fs::path& path, std::string_view data, mode_t mode = 0644) {
    write_file_atomic(path, data, mode, false);
}
void write_file(const fs::path& path, std::string_view data, mode_t mode = 0644);

void mkdirs(const fs::path& path, mode_t mode = 0755);
bool exists(const fs::path& path);
bool is_dir(const fs::path& path);

// Removes a tree without following symlinks (fd-relative walk, so a symlink placed inside the
// tree cannot redirect the removal elsewhere). Missing path is not an error.
void remove_tree(const fs::path& path);
void remove_tree_at(int dirfd, const std::string& name);

// Sorted names in a directory ("." and ".." left out); empty if it does not exist.
std::vector<std::string> list_dir(const fs::path& path);
// The entries of the directory open at dfd (any open fd of it), "." and ".." left out, sorted.
std::vector<std::string> list_dir_at(int dfd);

// Disk usage of a tree in bytes (allocated blocks, hardlinks counted once), like du.
std::uint64_t disk_usage(const fs::path& path);

// Directory of the running executable (/proc/self/exe), to find berth-shim next to berth.
fs::path self_exe_dir();

// A private temporary directory, removed by the destructor unless keep() was called.
class TempDir {
public:
    explicit TempDir(const fs::path& parent, std::string_view prefix = "tmp-");
    TempDir(TempDir&& o) noexcept;
    TempDir& operator=(TempDir&&) = delete;
    ~TempDir();
    const fs::path& path() const noexcept { return path_; }
    void keep() noexcept { keep_ = true; }

private:
    fs::path path_;
    bool keep_ = false;
};

}  // namespace berth::sys
