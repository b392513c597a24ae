// Volumes with options on the real kernel: tmpfs- and bind-backed volumes mounted by acquire()
// and unmounted by the last release(), across processes, and never leaving a mount behind.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "privileged/probe.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"
#include "volumes/volumes.hpp"

using namespace berth;
using namespace berth::volumes;
namespace fs = std::filesystem;

namespace {

// Mount points at or under dir, deepest first (for cleanup and for "nothing left mounted").
std::vector<std::string> kernel_mounts_under(const fs::path& dir) {
    std::vector<std::string> out;
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    auto base = fs::weakly_canonical(dir).string();
    while (std::getline(in, line)) {
        auto f = str::split(line, ' ');
        if (f.size() < 5) continue;
        auto mp = str::replace_all(f[4], "\\040", " ");
        if (mp == base || mp.rfind(base + "/", 0) == 0) out.push_back(mp);
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.size() > b.size(); });
    return out;
}

struct Fixture {
    sys::TempDir tmp{fs::temp_directory_path(), "berth-vol-priv-" + std::to_string(::getpid()) + "-"};
    store::Paths paths;
    Manager m{make_paths()};

    store::Paths make_paths() {
        paths.root = tmp.path() / "root";
        paths.run = tmp.path() / "run";
        paths.prefix = "berth-voltest";
        return paths;
    }
    ~Fixture() {
        // Even when a test failed half-way: nothing stays mounted, then the tree goes.
        for (int i = 0; i < 8; ++i) {
            auto ms = kernel_mounts_under(tmp.path());
            if (ms.empty()) break;
            for (auto& mp : ms) ::umount2(mp.c_str(), MNT_DETACH);
        }
    }
    Volume tmpfs_volume(const std::string& name, const std::string& o = "size=8m,uid=1234,mode=0750") {
        CreateOptions c;
        c.driver_opts = {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", o}};
        return m.create(name, c);
    }
    Volume bind_volume(const std::string& name, const fs::path& dev, const std::string& o = "bind") {
        CreateOptions c;
        c.driver_opts = {{"type", "none"}, {"device", dev.string()}, {"o", o}};
        return m.create(name, c);
    }
};

long fs_type(const std::string& path) {
    struct statfs s {};
    REQUIRE(::statfs(path.c_str(), &s) == 0);
    return static_cast<long>(s.f_type);
}

}  // namespace

namespace berth_test {
const char* probe() {
    char dir[] = "/tmp/berth-vol-probe-XXXXXX";
    if (!::mkdtemp(dir)) return "cannot make a temp dir";
    const char* why = nullptr;
    if (::mount("tmpfs", dir, "tmpfs", 0, "size=1m") < 0)
        why = "cannot mount tmpfs";
    else {
        struct statx stx {};
        if (::statx(AT_FDCWD, dir, 0, STATX_BASIC_STATS, &stx) < 0 || !(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
            why = "statx does not report STATX_ATTR_MOUNT_ROOT";
        ::umount2(dir, MNT_DETACH);
    }
    ::rmdir(dir);
    return why;
}
}  // namespace berth_test

TEST_CASE("tmpfs-backed volume: mounted by the first acquire, unmounted by the last release") {
    Fixture f;
    auto v = f.tmpfs_volume("scratch");
    CHECK_FALSE(f.m.mounted(v));
    if (fs_type(f.tmp.path()) != TMPFS_MAGIC) CHECK(fs_type(v.mountpoint) != TMPFS_MAGIC);

    auto path = f.m.acquire("scratch", "c1");
    CHECK(path == v.mountpoint);
    CHECK(f.m.mounted(v));
    CHECK(fs_type(path) == TMPFS_MAGIC);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(st.st_uid == 1234);            // o=uid=1234 reached the kernel
    CHECK((st.st_mode & 07777) == 0750);  // and mode=0750
    sys::write_file(fs::path(path) / "hello", "world");

    CHECK(f.m.acquire("scratch", "c1") == path);  // idempotent
    CHECK(f.m.acquire("scratch", "c2") == path);
    CHECK(kernel_mounts_under(v.mountpoint).size() == 1);  // mounted once, not stacked
    CHECK(f.m.users("scratch") == std::vector<std::string>{"c1", "c2"});

    f.m.release("scratch", "c1");
    CHECK(f.m.mounted(v));
    CHECK(sys::read_file(fs::path(path) / "hello") == "world");
    f.m.release("scratch", "c1");  // idempotent
    CHECK(f.m.mounted(v));
    f.m.release("scratch", "c2");
    CHECK_FALSE(f.m.mounted(v));
    CHECK(f.m.users("scratch").empty());
    CHECK_FALSE(sys::exists(fs::path(path) / "hello"));  // tmpfs content went with the mount
    CHECK(kernel_mounts_under(f.tmp.path()).empty());
}

TEST_CASE("tmpfs size option is enforced") {
    Fixture f;
    auto v = f.tmpfs_volume("small", "size=1m");
    auto path = f.m.acquire("small", "c1");
    struct statfs s {};
    REQUIRE(::statfs(path.c_str(), &s) == 0);
    CHECK(static_cast<std::uint64_t>(s.f_blocks) * s.f_bsize == 1024 * 1024);
    f.m.release("small", "c1");
    CHECK(kernel_mounts_under(f.tmp.path()).empty());
}

TEST_CASE("bind-backed volume shows and writes the host directory; ro is read-only") {
    Fixture f;
    auto host = f.tmp.path() / "hostdir";
    sys::mkdirs(host);
    sys::write_file(host / "existing", "from host");
    auto v = f.bind_volume("hostvol", host);
    auto path = f.m.acquire("hostvol", "c1");
    CHECK(f.m.mounted(v));
    CHECK(sys::read_file(fs::path(path) / "existing") == "from host");
    sys::write_file(fs::path(path) / "new", "from volume");
    CHECK(sys::read_file(host / "new") == "from volume");
    f.m.release("hostvol", "c1");
    CHECK_FALSE(f.m.mounted(v));
    CHECK(sys::read_file(host / "existing") == "from host");
    CHECK_FALSE(sys::exists(fs::path(v.mountpoint) / "existing"));

    auto ro = f.bind_volume("hostro", host, "bind,ro");
    auto rpath = f.m.acquire("hostro", "c1");
    CHECK(sys::read_file(fs::path(rpath) / "existing") == "from host");
    int fd = ::open((fs::path(rpath) / "x").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    int err = errno;
    if (fd >= 0) ::close(fd);
    CHECK(fd < 0);
    CHECK(err == EROFS);
    struct statfs s {};
    REQUIRE(::statfs(host.c_str(), &s) == 0);
    CHECK_FALSE((s.f_flags & ST_RDONLY) != 0);  // the host dir itself stays writable
    f.m.release("hostro", "c1");
    CHECK(kernel_mounts_under(f.tmp.path()).empty());
}

TEST_CASE("removing a mounted bind-backed volume unmounts first and never deletes the host dir") {
    Fixture f;
    auto host = f.tmp.path() / "precious";
    sys::mkdirs(host / "sub");
    sys::write_file(host / "sub" / "data", "keep me");
    auto v = f.bind_volume("hostvol", host);
    f.m.acquire("hostvol", "dead-container");  // a user that crashed and never released
    REQUIRE(f.m.mounted(v));
    // In use by a container record: refused, still mounted.
    InUse used{{"hostvol", {"dead-container"}}};
    CHECK_THROWS_AS(f.m.remove("hostvol", true, used), berth::Error);
    CHECK(f.m.mounted(v));
    // The record is gone: rm unmounts, then removes only berth's own dirs.
    f.m.remove("hostvol", false, {});
    CHECK_FALSE(f.m.find("hostvol"));
    CHECK(sys::read_file(host / "sub" / "data") == "keep me");
    CHECK(kernel_mounts_under(f.tmp.path()).empty());
    CHECK_FALSE(sys::exists(f.paths.run / "volumes" / "hostvol"));
}

TEST_CASE("a plain volume with a foreign mount in it is not removed") {
    Fixture f;
    auto v = f.m.create("plain", {});
    auto inner = fs::path(v.mountpoint) / "mnt";
    sys::mkdirs(inner);
    REQUIRE(::mount("tmpfs", inner.c_str(), "tmpfs", 0, "size=1m") == 0);
    sys::write_file(inner / "f", "x");
    try {
        f.m.remove("plain", false, {});
        FAIL("removed a volume with a mount inside");
    } catch (const berth::Error& e) {
        CHECK(e.kind() == Errc::in_use);
        CHECK(std::string(e.what()).find("is a mount point") != std::string::npos);
    }
    CHECK(sys::read_file(inner / "f") == "x");
    REQUIRE(::umount2(inner.c_str(), 0) == 0);
    f.m.remove("plain", false, {});
    CHECK(kernel_mounts_under(f.tmp.path()).empty());
}

TEST_CASE("a mount that fails leaves nothing mounted and no user recorded") {
    Fixture f;
    auto v = f.bind_volume("missing", f.tmp.path() / "does-not-exist");
    try {
        f.m.acquire("missing", "c1");
        FAIL("acquire of a missing bind source succeeded");
    } catch (const sys::Error& e) {
        CHECK(e.err() == ENOENT);
        CHECK(std::string(e.what()).find("mounting volume missing") != std::string::npos);
    }
    CHECK_FALSE(f.m.mounted(v));
    CHECK(f.m.users("missing").empty());

    CreateOptions bad;
    bad.driver_opts = {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=lots"}};
    auto b = f.m.create("badopt", bad);
    CHECK_THROWS_AS(f.m.acquire("badopt", "c1"), sys::Error);
    CHECK_FALSE(f.m.mounted(b));
    CHECK(kernel_mounts_under(f.tmp.path()).empty());
}

TEST_CASE("acquire/release from concurrent processes keep the mount while any user holds it") {
    Fixture f;
    auto v = f.tmpfs_volume("shared", "size=4m");
    constexpr int kProcs = 4, kRounds = 25;
    std::vector<pid_t> pids;
    for (int p = 0; p < kProcs; ++p) {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            int rc = 0;
            try {
                Manager m(f.paths);
                std::string id = "c" + std::to_string(p);
                for (int i = 0; i < kRounds && rc == 0; ++i) {
                    auto path = m.acquire("shared", id);
                    // While this process holds it, nobody may unmount it.
                    sys::write_file(fs::path(path) / id, std::to_string(i));
                    ::usleep(1000);
                    if (!m.mounted(v) || sys::read_file(fs::path(path) / id) != std::to_string(i)) rc = 2;
                    m.release("shared", id);
                }
            } catch (...) {
                rc = 3;
            }
            ::_exit(rc);
        }
        pids.push_back(pid);
    }
    for (auto pid : pids) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    CHECK_FALSE(f.m.mounted(v));
    CHECK(f.m.users("shared").empty());
    CHECK(kernel_mounts_under(f.tmp.path()).empty());
}

TEST_CASE("prune and rm leave volumes with options alone while in use") {
    Fixture f;
    auto v = f.tmpfs_volume("busy");
    f.m.acquire("busy", "c1");
    auto r = f.m.prune({}, {}, true);
    CHECK(r.removed.empty());  // volumes with options are never pruned (Docker's rule)
    CHECK(f.m.mounted(v));
    CHECK_THROWS_AS(f.m.remove("busy", false, InUse{{"busy", {"c1"}}}), berth::Error);
    f.m.release("busy", "c1");
    f.m.remove("busy", false, {});
    CHECK(kernel_mounts_under(f.tmp.path()).empty());
}
