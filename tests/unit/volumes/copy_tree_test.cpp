#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "sys/copy_tree.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"

using namespace berth;
namespace fs = std::filesystem;

namespace {

struct Trees {
    sys::TempDir tmp{fs::temp_directory_path(), "berth-copy-unit-"};
    fs::path src = tmp.path() / "src";
    fs::path dst = tmp.path() / "dst";
    fs::path outside = tmp.path() / "outside";
    Trees() {
        sys::mkdirs(src);
        sys::mkdirs(dst);
        sys::mkdirs(outside);
    }
    void copy() const {
        auto s = sys::open_path(src, O_RDONLY | O_DIRECTORY);
        auto d = sys::open_path(dst, O_PATH | O_DIRECTORY);
        sys::copy_tree(s.get(), d.get());
    }
};

struct stat lst(const fs::path& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st;
}

void set_times(const fs::path& p, time_t sec, long nsec) {
    timespec t[2] = {{sec, nsec}, {sec + 5, nsec}};
    REQUIRE(::utimensat(AT_FDCWD, p.c_str(), t, AT_SYMLINK_NOFOLLOW) == 0);
}

std::string readlink_str(const fs::path& p) {
    char buf[4096];
    ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
    REQUIRE(n >= 0);
    return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

TEST_CASE("copy_tree copies files, dirs, modes and times") {
    Trees t;
    sys::mkdirs(t.src / "etc" / "app");
    sys::write_file(t.src / "etc" / "app" / "conf", "key=value\n", 0640);
    sys::write_file(t.src / "empty", "");
    std::string big(3 * 1024 * 1024 + 17, 'q');
    for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + (i / 4096) % 26);
    sys::write_file(t.src / "big", big);
    REQUIRE(::chmod((t.src / "etc" / "app" / "conf").c_str(), 0640) == 0);
    REQUIRE(::chmod((t.src / "etc").c_str(), 0750) == 0);
    REQUIRE(::chmod((t.src / "big").c_str(), 04755) == 0);  // setuid kept (we own it)
    REQUIRE(::chmod(t.src.c_str(), 01777) == 0);
    set_times(t.src / "etc" / "app" / "conf", 1000000000, 123456789);
    set_times(t.src / "etc" / "app", 1100000000, 1);
    set_times(t.src / "etc", 1200000000, 2);

    t.copy();

    auto conf = lst(t.dst / "etc" / "app" / "conf");  // before reading it moves atime
    CHECK(sys::read_file(t.dst / "etc" / "app" / "conf") == "key=value\n");
    CHECK(sys::read_file(t.dst / "empty").empty());
    CHECK(sys::read_file(t.dst / "big") == big);
    CHECK((lst(t.dst / "etc" / "app" / "conf").st_mode & 07777) == 0640);
    CHECK((lst(t.dst / "etc").st_mode & 07777) == 0750);
    CHECK((lst(t.dst / "big").st_mode & 07777) == 04755);
    CHECK((lst(t.dst).st_mode & 07777) == 01777);  // the root's mode too, as Docker's copy-up
    CHECK(conf.st_mtim.tv_sec == 1000000005);
    CHECK(conf.st_mtim.tv_nsec == 123456789);
    CHECK(conf.st_atim.tv_sec == 1000000000);
    CHECK(lst(t.dst / "etc" / "app").st_mtim.tv_sec == 1100000005);  // set after its contents
    CHECK(lst(t.dst / "etc").st_mtim.tv_sec == 1200000005);
    CHECK(conf.st_uid == lst(t.src / "etc" / "app" / "conf").st_uid);
}

TEST_CASE("copy_tree copies symlinks as symlinks and never follows one out of the source") {
    Trees t;
    sys::write_file(t.outside / "secret", "do not copy");
    sys::mkdirs(t.outside / "dir");
    sys::write_file(t.outside / "dir" / "inner", "nor this");
    sys::mkdirs(t.src / "sub");
    REQUIRE(::symlink(t.outside.c_str(), (t.src / "abs").c_str()) == 0);           // absolute, to a dir
    REQUIRE(::symlink("../../outside/secret", (t.src / "sub" / "rel").c_str()) == 0);  // relative escape
    REQUIRE(::symlink("/etc/passwd", (t.src / "passwd").c_str()) == 0);
    REQUIRE(::symlink("dangling-target", (t.src / "dangling").c_str()) == 0);
    set_times(t.src / "passwd", 1300000000, 0);

    t.copy();

    CHECK(readlink_str(t.dst / "abs") == t.outside.string());
    CHECK(readlink_str(t.dst / "sub" / "rel") == "../../outside/secret");
    CHECK(readlink_str(t.dst / "passwd") == "/etc/passwd");
    CHECK(readlink_str(t.dst / "dangling") == "dangling-target");
    CHECK(S_ISLNK(lst(t.dst / "abs").st_mode));
    CHECK(lst(t.dst / "passwd").st_mtim.tv_sec == 1300000005);
    // Nothing from outside came in, nothing outside changed.
    CHECK(sys::list_dir(t.dst) == std::vector<std::string>{"abs", "dangling", "passwd", "sub"});
    CHECK(sys::list_dir(t.dst / "sub") == std::vector<std::string>{"rel"});
    CHECK(sys::list_dir(t.outside) == std::vector<std::string>{"dir", "secret"});
    CHECK(sys::read_file(t.outside / "secret") == "do not copy");
}

TEST_CASE("copy_tree never writes through a symlink planted in the destination") {
    Trees t;
    sys::mkdirs(t.src / "conf");
    sys::write_file(t.src / "conf" / "x", "new");
    sys::write_file(t.src / "file", "new");
    REQUIRE(::symlink(t.outside.c_str(), (t.dst / "conf").c_str()) == 0);
    REQUIRE(::symlink((t.outside / "victim").c_str(), (t.dst / "file").c_str()) == 0);
    try {
        t.copy();
        FAIL("copy into a non-empty destination succeeded");
    } catch (const sys::Error& e) {
        CHECK(e.err() == EEXIST);
    }
    CHECK(sys::list_dir(t.outside).empty());
}

TEST_CASE("copy_tree keeps hard links within the tree and recreates fifos") {
    Trees t;
    sys::mkdirs(t.src / "a");
    sys::mkdirs(t.src / "b" / "c");
    sys::write_file(t.src / "a" / "one", "shared");
    REQUIRE(::link((t.src / "a" / "one").c_str(), (t.src / "b" / "c" / "two").c_str()) == 0);
    REQUIRE(::link((t.src / "a" / "one").c_str(), (t.src / "three").c_str()) == 0);
    REQUIRE(::mkfifo((t.src / "pipe").c_str(), 0620) == 0);
    REQUIRE(::chmod((t.src / "pipe").c_str(), 0620) == 0);  // past the umask

    t.copy();

    auto one = lst(t.dst / "a" / "one");
    CHECK(one.st_nlink == 3);
    CHECK(lst(t.dst / "b" / "c" / "two").st_ino == one.st_ino);
    CHECK(lst(t.dst / "three").st_ino == one.st_ino);
    CHECK(one.st_ino != lst(t.src / "a" / "one").st_ino);
    CHECK(sys::read_file(t.dst / "three") == "shared");
    auto pipe = lst(t.dst / "pipe");
    CHECK(S_ISFIFO(pipe.st_mode));
    CHECK((pipe.st_mode & 07777) == 0620);
}

TEST_CASE("copy_tree keeps extended attributes") {
    Trees t;
    sys::write_file(t.src / "f", "x");
    sys::mkdirs(t.src / "d");
    if (::setxattr((t.src / "f").c_str(), "user.berth.test", "v1", 2, 0) < 0) {
        WARN("user xattrs unsupported on " << t.src << ": not checked");
        return;
    }
    REQUIRE(::setxattr((t.src / "d").c_str(), "user.berth.dir", "dv", 2, 0) == 0);
    t.copy();
    char buf[16];
    ssize_t n = ::getxattr((t.dst / "f").c_str(), "user.berth.test", buf, sizeof buf);
    REQUIRE(n == 2);
    CHECK(std::string(buf, 2) == "v1");
    n = ::getxattr((t.dst / "d").c_str(), "user.berth.dir", buf, sizeof buf);
    REQUIRE(n == 2);
    CHECK(std::string(buf, 2) == "dv");
}

TEST_CASE("copy_tree keeps owners and device nodes (as root)") {
    if (::geteuid() != 0) {
        WARN("not root: ownership and device nodes not checked");
        return;
    }
    Trees t;
    sys::mkdirs(t.src / "home");
    sys::write_file(t.src / "home" / "f", "x");
    REQUIRE(::chown((t.src / "home").c_str(), 1000, 1000) == 0);
    REQUIRE(::chown((t.src / "home" / "f").c_str(), 1234, 5678) == 0);
    REQUIRE(::chmod((t.src / "home" / "f").c_str(), 06750) == 0);  // after chown, which clears it
    REQUIRE(::symlink("f", (t.src / "home" / "l").c_str()) == 0);
    REQUIRE(::lchown((t.src / "home" / "l").c_str(), 42, 43) == 0);
    REQUIRE(::mknod((t.src / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
    REQUIRE(::chmod((t.src / "null").c_str(), 0666) == 0);
    REQUIRE(::chown(t.src.c_str(), 999, 998) == 0);

    t.copy();

    auto home = lst(t.dst / "home");
    CHECK(home.st_uid == 1000);
    CHECK(home.st_gid == 1000);
    auto f = lst(t.dst / "home" / "f");
    CHECK(f.st_uid == 1234);
    CHECK(f.st_gid == 5678);
    CHECK((f.st_mode & 07777) == 06750);
    auto l = lst(t.dst / "home" / "l");
    CHECK(l.st_uid == 42);
    CHECK(l.st_gid == 43);
    auto null = lst(t.dst / "null");
    CHECK(S_ISCHR(null.st_mode));
    CHECK(null.st_rdev == makedev(1, 3));
    CHECK((null.st_mode & 07777) == 0666);
    CHECK(lst(t.dst).st_uid == 999);
    CHECK(lst(t.dst).st_gid == 998);
}

TEST_CASE("dir_is_empty") {
    Trees t;
    auto d = sys::open_path(t.dst, O_PATH | O_DIRECTORY);
    CHECK(sys::dir_is_empty(d.get()));
    REQUIRE(::symlink("x", (t.dst / ".hidden").c_str()) == 0);
    CHECK_FALSE(sys::dir_is_empty(d.get()));
    sys::write_file(t.tmp.path() / "file", "");
    auto file = sys::open_path(t.tmp.path() / "file", O_RDONLY);
    CHECK_THROWS_AS(sys::dir_is_empty(file.get()), sys::Error);
}

TEST_CASE("copy_tree refuses to copy a tree into itself") {
    Trees t;
    sys::mkdirs(t.src / "inner");
    auto s = sys::open_path(t.src, O_RDONLY | O_DIRECTORY);
    auto d = sys::open_path(t.src / "inner", O_RDONLY | O_DIRECTORY);
    CHECK_THROWS_AS(sys::copy_tree(s.get(), d.get()), sys::Error);
    CHECK_THROWS_AS(sys::copy_tree(s.get(), s.get()), sys::Error);
    // A file is not a directory to copy from.
    sys::write_file(t.tmp.path() / "f", "x");
    auto f = sys::open_path(t.tmp.path() / "f", O_RDONLY);
    auto dd = sys::open_path(t.dst, O_RDONLY | O_DIRECTORY);
    CHECK_THROWS_AS(sys::copy_tree(f.get(), dd.get()), sys::Error);
}
