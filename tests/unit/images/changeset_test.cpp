// An overlay upper dir written as a layer changeset and unpacked again gives back the same tree.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <set>

#include "images/changeset.hpp"
#include "images/ingest.hpp"
#include "images/unpack.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "unit/images/store_fixture.hpp"

using namespace berth;
using namespace berth::images;
using berth_test::MemFile;

namespace {
std::set<std::string> tar_names(const std::string& tar) {
    std::set<std::string> out;
    struct archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_open_memory(a, tar.data(), tar.size());
    archive_entry* e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) out.insert(archive_entry_pathname(e));
    archive_read_free(a);
    return out;
}
struct stat lst(const std::filesystem::path& p) {
    struct stat st{};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st;
}
}  // namespace

TEST_CASE("an upper dir becomes an OCI changeset and unpacks back to the same tree") {
    sys::TempDir tmp("/tmp", "berth-unit-changeset-");
    auto upper = tmp.path() / "upper";
    auto opts = layer_unpack_options();
    sys::mkdirs(upper / "etc");
    sys::mkdirs(upper / "opaque/sub");
    sys::write_file(upper / "etc/conf", "new conf", 0640);
    sys::write_file(upper / "opaque/sub/f", "x");
    REQUIRE(::symlink("/etc/conf", (upper / "link").c_str()) == 0);
    REQUIRE(::link((upper / "etc/conf").c_str(), (upper / "etc/hard").c_str()) == 0);
    REQUIRE(::mknod((upper / "etc/gone").c_str(), S_IFCHR, makedev(0, 0)) == 0);  // whiteout
    REQUIRE(::mkfifo((upper / "fifo").c_str(), 0600) == 0);
    REQUIRE(::setxattr((upper / "opaque").c_str(), opts.opaque_xattr.c_str(), "y", 1, 0) == 0);

    MemFile out;
    write_changeset(upper, out.fd, ChangesetOptions{opts.opaque_xattr});
    auto tar = out.contents();
    auto names = tar_names(tar);
    CHECK(names.count("etc/.wh.gone"));
    CHECK(names.count("opaque/.wh..wh..opq"));
    CHECK(names.count("etc/conf"));
    CHECK_FALSE(names.count("etc/gone"));

    auto back = tmp.path() / "back";
    sys::mkdirs(back);
    auto fd = sys::open_path(back, O_RDONLY | O_DIRECTORY);
    MemorySource src(tar);
    unpack_tar(src, fd.get(), opts, "changeset");
    CHECK(sys::read_file(back / "etc/conf") == "new conf");
    CHECK((lst(back / "etc/conf").st_mode & 0777) == 0640);
    CHECK(lst(back / "etc/hard").st_ino == lst(back / "etc/conf").st_ino);
    CHECK(std::filesystem::read_symlink(back / "link") == "/etc/conf");
    CHECK(S_ISCHR(lst(back / "etc/gone").st_mode));
    CHECK(lst(back / "etc/gone").st_rdev == makedev(0, 0));
    CHECK(S_ISFIFO(lst(back / "fifo").st_mode));
    char v[2] = {};
    CHECK(::getxattr((back / "opaque").c_str(), opts.opaque_xattr.c_str(), v, sizeof v) == 1);
    CHECK(sys::read_file(back / "opaque/sub/f") == "x");
    CHECK(lst(back / "etc/conf").st_mtim.tv_sec == lst(upper / "etc/conf").st_mtim.tv_sec);

    // Writing the same tree twice gives the same bytes (the layer's DiffID is stable).
    MemFile again;
    write_changeset(upper, again.fd, ChangesetOptions{opts.opaque_xattr});
    CHECK(again.contents() == tar);
}
