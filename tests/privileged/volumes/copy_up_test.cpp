// Docker's copy-up as the container runtime does it: in a forked child, in its own mount
// namespace, from an overlay rootfs (whiteouts, opaque dirs, file capabilities) into a volume.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>

#include "sys/copy_tree.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "volumes/volumes.hpp"

using namespace berth;
namespace fs = std::filesystem;

namespace {

struct stat lst(const fs::path& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st;
}

std::string xattr(const fs::path& p, const char* name) {
    char buf[256];
    ssize_t n = ::lgetxattr(p.c_str(), name, buf, sizeof buf);
    return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

}  // namespace

TEST_CASE("copy-up from an overlay rootfs in a child's own mount namespace") {
    sys::TempDir tmp(fs::temp_directory_path(), "berth-copyup-priv-" + std::to_string(::getpid()) + "-");
    auto lower = tmp.path() / "lower", upper = tmp.path() / "upper", work = tmp.path() / "work";
    auto merged = tmp.path() / "merged";
    for (auto& d : {lower, upper, work, merged}) sys::mkdirs(d);

    // The image: /srv/data with files, a dir the top layer makes opaque, a file it deletes.
    sys::mkdirs(lower / "srv" / "data" / "cache");
    sys::write_file(lower / "srv" / "data" / "conf", "from the image\n");
    REQUIRE(::chown((lower / "srv" / "data" / "conf").c_str(), 1000, 1001) == 0);
    REQUIRE(::chmod((lower / "srv" / "data" / "conf").c_str(), 0640) == 0);
    sys::write_file(lower / "srv" / "data" / "deleted", "gone in the top layer");
    sys::write_file(lower / "srv" / "data" / "cache" / "old", "hidden by the opaque dir");
    REQUIRE(::chown((lower / "srv" / "data").c_str(), 999, 999) == 0);
    REQUIRE(::chmod((lower / "srv" / "data").c_str(), 0770) == 0);
    // A file capability (cap_net_bind_service+ep), VFS_CAP_REVISION_2.
    sys::write_file(lower / "srv" / "data" / "server", "#!/bin/true\n");
    REQUIRE(::chmod((lower / "srv" / "data" / "server").c_str(), 0755) == 0);
    const unsigned char cap[20] = {0x01, 0, 0, 0x02, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    REQUIRE(::setxattr((lower / "srv" / "data" / "server").c_str(), "security.capability", cap, sizeof cap, 0) == 0);

    sys::mkdirs(upper / "srv" / "data" / "cache");
    REQUIRE(::setxattr((upper / "srv" / "data" / "cache").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
    sys::write_file(upper / "srv" / "data" / "cache" / "new", "top layer");
    REQUIRE(::mknod((upper / "srv" / "data" / "deleted").c_str(), S_IFCHR | 0, makedev(0, 0)) == 0);
    REQUIRE(::chown((upper / "srv" / "data").c_str(), 999, 999) == 0);
    REQUIRE(::chmod((upper / "srv" / "data").c_str(), 0770) == 0);

    // The volume: a fresh local volume's _data.
    store::Paths paths;
    paths.root = tmp.path() / "root";
    paths.run = tmp.path() / "run";
    paths.prefix = "berth-copyup";
    volumes::Manager m(paths);
    auto vol = m.create("appdata", {});
    auto data = fs::path(vol.mountpoint);

    int pipefd[2];
    REQUIRE(::pipe(pipefd) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(pipefd[0]);
        std::string err;
        try {
            // As the runtime: a private mount namespace, the rootfs mounted only in it.
            sys::check(::unshare(CLONE_NEWNS), "unshare", "CLONE_NEWNS");
            sys::check(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "mount", "/ rprivate");
            std::string opts = "lowerdir=" + lower.string() + ",upperdir=" + upper.string() + ",workdir=" + work.string();
            sys::check(::mount("overlay", merged.c_str(), "overlay", 0, opts.c_str()), "mount", "overlay");
            auto rootfd = sys::open_path(merged, O_PATH | O_DIRECTORY);
            auto src = sys::open_at(rootfd.get(), "srv/data", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            auto dst = sys::open_path(data, O_PATH | O_DIRECTORY);
            if (!sys::dir_is_empty(dst.get())) throw std::runtime_error("volume not empty");
            sys::copy_tree(src.get(), dst.get());
        } catch (const std::exception& e) {
            err = e.what();
        }
        if (!err.empty()) (void)!::write(pipefd[1], err.data(), err.size());
        ::_exit(err.empty() ? 0 : 1);
    }
    ::close(pipefd[1]);
    std::string child_err = sys::read_fd(pipefd[0]);
    ::close(pipefd[0]);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    INFO(child_err);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);

    // The merged view was copied: deleted file absent, opaque dir shows only the top layer.
    CHECK(sys::list_dir(data) == std::vector<std::string>{"cache", "conf", "server"});
    CHECK(sys::list_dir(data / "cache") == std::vector<std::string>{"new"});
    CHECK(sys::read_file(data / "conf") == "from the image\n");
    auto conf = lst(data / "conf");
    CHECK(conf.st_uid == 1000);
    CHECK(conf.st_gid == 1001);
    CHECK((conf.st_mode & 07777) == 0640);
    auto root = lst(data);  // the volume takes the image directory's owner and mode
    CHECK(root.st_uid == 999);
    CHECK((root.st_mode & 07777) == 0770);
    CHECK(xattr(data / "server", "security.capability") == std::string(reinterpret_cast<const char*>(cap), sizeof cap));
    CHECK(xattr(data / "cache", "trusted.overlay.opaque").empty());
    // The overlay never existed in this (the test's) mount namespace.
    std::ifstream mi("/proc/self/mountinfo");
    std::string line;
    while (std::getline(mi, line)) CHECK(line.find(merged.string()) == std::string::npos);
    CHECK(sys::list_dir(merged).empty());
}
