#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/in_root.hpp"

using namespace berth;
namespace fs = std::filesystem;

// A mount target behind a symlink: created inside the root whatever the link says, never at the
// host path an absolute or "../" link names (the rootfs of a container is an untrusted tree).
TEST_CASE("mkdir_all_in_root creates a dangling symlink's target inside the root") {
    sys::TempDir root(fs::temp_directory_path(), "berth-unit-root-");
    sys::TempDir host(fs::temp_directory_path(), "berth-unit-host-");
    auto outside = host.path() / "target";
    REQUIRE(::symlink(outside.c_str(), (root.path() / "abs").c_str()) == 0);
    REQUIRE(::symlink("../../../escape-rel", (root.path() / "rel").c_str()) == 0);
    sys::unique_fd rootfd(::open(root.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(rootfd);

    auto a = sys::mkdir_all_in_root(rootfd.get(), "/abs/sub");
    CHECK(a);
    CHECK(sys::exists(root.path() / outside.relative_path() / "sub"));
    CHECK_FALSE(sys::exists(outside));

    auto r = sys::mkdir_all_in_root(rootfd.get(), "/rel");
    CHECK(r);
    CHECK(sys::exists(root.path() / "escape-rel"));
    CHECK_FALSE(sys::exists(root.path().parent_path() / "escape-rel"));
}

TEST_CASE("mkdir_all_in_root refuses a symlink loop") {
    sys::TempDir root(fs::temp_directory_path(), "berth-unit-root-");
    REQUIRE(::symlink("/b", (root.path() / "a").c_str()) == 0);
    REQUIRE(::symlink("/a", (root.path() / "b").c_str()) == 0);
    sys::unique_fd rootfd(::open(root.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    CHECK_THROWS(sys::mkdir_all_in_root(rootfd.get(), "/a"));
}
