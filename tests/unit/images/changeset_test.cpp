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

TEST_CASE("the runtime's mount-target stubs are found and left out of a changeset") {
    sys::TempDir tmp("/tmp", "berth-unit-stubs-");
    auto upper = tmp.path() / "upper", lower = tmp.path() / "lower";
    sys::mkdirs(upper / "etc");
    sys::mkdirs(upper / "proc");
    sys::mkdirs(upper / "dev");
    sys::write_file(upper / "dev/null-ish", "");  // not empty: a real change
    sys::write_file(upper / "etc/hostname", "");
    sys::write_file(upper / "etc/hosts", "");
    sys::mkdirs(lower / "etc");
    sys::write_file(lower / "etc/hosts", "127.0.0.1 localhost\n");  // the image has it

    auto stubs = runtime_stubs(upper, {lower});
    CHECK(stubs == std::set<std::string>{"etc/hostname", "proc"});

    // Without the image's /etc/hosts every entry of /etc is a stub, so /etc goes too.
    CHECK(runtime_stubs(upper, {}) == std::set<std::string>{"etc", "etc/hostname", "etc/hosts", "proc"});

    // A file with content is a change even at a stub's path.
    sys::write_file(upper / "etc/hostname", "custom\n");
    CHECK(runtime_stubs(upper, {}) == std::set<std::string>{"etc/hosts", "proc"});

    ChangesetOptions co;
    co.omit = runtime_stubs(upper, {lower});
    MemFile out;
    write_changeset(upper, out.fd, co);
    auto names = tar_names(out.contents());
    CHECK(names == std::set<std::string>{"dev/", "dev/null-ish", "etc/", "etc/hostname", "etc/hosts"});
}
