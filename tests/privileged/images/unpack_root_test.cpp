// Extraction as root: owners, set-id bits, file capabilities, device nodes under dev/.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "images/ingest.hpp"
#include "images/unpack.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "unit/images/tar_builder.hpp"

using namespace berth;
using namespace berth::images;

TEST_CASE("as root, owners, set-id bits, capabilities and dev/ nodes are restored") {
    sys::TempDir tmp("/tmp", "berth-priv-unpack-" + std::to_string(::getpid()) + "-");
    // security.capability v2: cap_net_bind_service (bit 10) permitted + effective.
    std::string cap("\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
    auto tar = berth_test::TarBuilder()
                   .file("home/user/f", "x", 0640, 1000, 1001)
                   .file("bin/su", "su", 04755, 0, 0)
                   .file("bin/ping", "ping", 0755, 0, 0, {{"security.capability", cap}})
                   .device("dev/null", false, 1, 3)
                   .device("dev/loop0", true, 7, 0)
                   .finish();
    auto fd = sys::open_path(tmp.path(), O_RDONLY | O_DIRECTORY);
    MemorySource src(tar);
    unpack_tar(src, fd.get(), layer_unpack_options(), "layer");
    struct stat st;
    REQUIRE(::lstat((tmp.path() / "home/user/f").c_str(), &st) == 0);
    CHECK(st.st_uid == 1000);
    CHECK(st.st_gid == 1001);
    CHECK((st.st_mode & 07777) == 0640);
    REQUIRE(::lstat((tmp.path() / "bin/su").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 04755);
    char buf[64];
    auto n = ::getxattr((tmp.path() / "bin/ping").c_str(), "security.capability", buf, sizeof buf);
    CHECK(n == 20);
    REQUIRE(::lstat((tmp.path() / "dev/null").c_str(), &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
    CHECK(st.st_rdev == makedev(1, 3));
    REQUIRE(::lstat((tmp.path() / "dev/loop0").c_str(), &st) == 0);
    CHECK(S_ISBLK(st.st_mode));
}
