// The safe extractor against well-formed layers and crafted malicious ones (unpack.hpp policy).
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
using berth_test::TarBuilder;

namespace {

struct Dest {
    sys::TempDir tmp{"/tmp", "berth-unit-unpack-"};
    sys::TempDir outside{"/tmp", "berth-unit-outside-"};  // must stay untouched
    std::filesystem::path root = tmp.path() / "root";
    Dest() { sys::mkdirs(root); }

    UnpackStats unpack(const std::string& tar, bool layer = true) {
        auto fd = sys::open_path(root, O_RDONLY | O_DIRECTORY);
        MemorySource src(tar);
        UnpackOptions o = layer_unpack_options();
        o.layer = layer;
        return unpack_tar(src, fd.get(), o, "test layer");
    }
    std::string refusal(const std::string& tar) {
        try {
            unpack(tar);
        } catch (const berth::Error& e) {
            CHECK(e.kind() == Errc::invalid);
            return e.what();
        }
        return "(accepted)";
    }
    bool outside_empty() const { return sys::list_dir(outside.path()).empty(); }
};

struct stat lst(const std::filesystem::path& p) {
    struct stat st{};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st;
}

}  // namespace

TEST_CASE("a well-formed layer unpacks with modes, links and times") {
    Dest d;
    auto tar = TarBuilder()
                   .dir("./")
                   .dir("bin/", 0755)
                   .file("bin/tool", "#!/bin/sh\n", 04755)
                   .symlink("bin/sh", "/bin/busybox")
                   .symlink("usr/lib/rel", "../../bin/tool")
                   .hardlink("bin/tool2", "bin/tool")
                   .dir("etc/", 0700, 12345)
                   .file("etc/conf", "a=b\n", 0600)
                   .fifo("run/fifo")
                   .file("deep/missing/parents/f", "x")
                   .finish();
    auto stats = d.unpack(tar);
    CHECK(stats.entries == 10);
    CHECK(stats.size == std::string("#!/bin/sh\n").size() + 4 + 1);
    CHECK(sys::read_file(d.root / "bin/tool") == "#!/bin/sh\n");
    CHECK((lst(d.root / "bin/tool").st_mode & 07777) == 04755);
    CHECK(lst(d.root / "bin/tool").st_mtime == 1000000000);
    CHECK(S_ISLNK(lst(d.root / "bin/sh").st_mode));
    CHECK(std::filesystem::read_symlink(d.root / "bin/sh") == "/bin/busybox");
    CHECK(std::filesystem::read_symlink(d.root / "usr/lib/rel") == "../../bin/tool");
    CHECK(lst(d.root / "bin/tool2").st_ino == lst(d.root / "bin/tool").st_ino);
    CHECK((lst(d.root / "etc").st_mode & 07777) == 0700);
    CHECK(lst(d.root / "etc").st_mtime == 12345);  // set after its content was written
    CHECK(S_ISFIFO(lst(d.root / "run/fifo").st_mode));
    CHECK(sys::read_file(d.root / "deep/missing/parents/f") == "x");
    CHECK((lst(d.root / "deep/missing").st_mode & 0777) == 0755);
}

TEST_CASE("OCI whiteouts become overlayfs whiteouts") {
    Dest d;
    auto o = layer_unpack_options();
    auto tar = TarBuilder()
                   .dir("a/")
                   .file("a/.wh.gone", "")
                   .file("a/.wh..wh..opq", "")
                   .file("a/kept", "k")
                   .file(".wh.topfile", "")
                   .dir(".wh..wh.plnk/")
                   .file(".wh..wh.plnk/123.456", "aufs")
                   .finish();
    d.unpack(tar);
    auto st = lst(d.root / "a/gone");
    CHECK(S_ISCHR(st.st_mode));
    CHECK(st.st_rdev == makedev(0, 0));
    CHECK(S_ISCHR(lst(d.root / "topfile").st_mode));
    char v[8] = {};
    CHECK(::getxattr((d.root / "a").c_str(), o.opaque_xattr.c_str(), v, sizeof v) == 1);
    CHECK(v[0] == 'y');
    CHECK(sys::read_file(d.root / "a/kept") == "k");
    CHECK_FALSE(sys::exists(d.root / "a/.wh.gone"));
    CHECK_FALSE(sys::exists(d.root / "a/.wh..wh..opq"));
    CHECK_FALSE(sys::exists(d.root / ".wh..wh.plnk"));  // AUFS metadata is skipped
}

TEST_CASE("plain archives refuse fifos and devices") {
    Dest d;
    for (auto tar : {TarBuilder().fifo("manifest.json").finish(), TarBuilder().device("dev/null", false, 1, 3).finish()}) {
        try {
            d.unpack(tar, /*layer=*/false);
            FAIL("accepted");
        } catch (const berth::Error& e) {
            CHECK(std::string(e.what()).find("special file") != std::string::npos);
        }
    }
}

TEST_CASE("plain archives keep .wh. names as files") {
    Dest d;
    d.unpack(TarBuilder().file(".wh.x", "data").finish(), /*layer=*/false);
    CHECK(sys::read_file(d.root / ".wh.x") == "data");
}

TEST_CASE("later entries replace earlier ones; directories merge") {
    Dest d;
    auto tar = TarBuilder()
                   .file("x", "file")
                   .dir("x/")  // file -> dir
                   .file("x/in", "1")
                   .dir("x/", 0711)  // dir over dir keeps content, takes the new mode
                   .symlink("y", "x")
                   .file("y", "now a file")  // symlink replaced, not followed
                   .finish();
    d.unpack(tar);
    CHECK(S_ISDIR(lst(d.root / "x").st_mode));
    CHECK((lst(d.root / "x").st_mode & 0777) == 0711);
    CHECK(sys::read_file(d.root / "x/in") == "1");
    CHECK(S_ISREG(lst(d.root / "y").st_mode));
    CHECK(sys::read_file(d.root / "y") == "now a file");
    CHECK(sys::read_file(d.root / "x/in") == "1");
}

TEST_CASE("entries that climb out of the root are refused, naming the entry") {
    Dest d;
    CHECK(d.refusal(TarBuilder().file("../evil", "x").finish()).find("\"../evil\" has \"..\"") != std::string::npos);
    CHECK(d.refusal(TarBuilder().file("a/../../evil", "x").finish()).find("a/../../evil") != std::string::npos);
    CHECK(d.refusal(TarBuilder().file("/etc/evil", "x").finish()).find("absolute") != std::string::npos);
    CHECK(d.refusal(TarBuilder().symlink("s", "../../../etc").finish()).find("points outside the root") != std::string::npos);
    CHECK(d.refusal(TarBuilder().symlink("a/b/s", "../../../x").finish()).find("a/b/s") != std::string::npos);
    CHECK(d.refusal(TarBuilder().file("f", "x").hardlink("h", "../f").finish()).find("outside the root") != std::string::npos);
    CHECK(d.refusal(TarBuilder().hardlink("h", "/etc/passwd").finish()).find("absolute") != std::string::npos);
    CHECK(d.refusal(TarBuilder().hardlink("h", "nothere").finish()).find("not earlier in this archive") != std::string::npos);
    CHECK(d.outside_empty());
    // A relative symlink that stays inside is fine.
    Dest ok;
    ok.unpack(TarBuilder().symlink("a/b/s", "../../c").finish());
    CHECK(std::filesystem::read_symlink(ok.root / "a/b/s") == "../../c");
}

TEST_CASE("symlinks in the layer cannot redirect later entries outside the root") {
    Dest d;
    // s2 -> "/" resolves to the layer root itself: writing through it lands inside.
    auto tar = TarBuilder()
                   .symlink("s2", "/")
                   .file("s2/etc/planted", "y")
                   .file("f", "target")
                   .hardlink("s2/hl", "f")
                   .symlink("s3", "../..")  // refused: climbs above the root
                   .finish();
    CHECK(d.refusal(tar).find("\"s3\"") != std::string::npos);
    CHECK(sys::read_file(d.root / "etc/planted") == "y");
    CHECK(lst(d.root / "hl").st_ino == lst(d.root / "f").st_ino);
    CHECK_FALSE(sys::exists("/etc/planted"));
    // s -> the outside dir (absolute): resolved in the root it names a dir that does not exist
    // there, so the entry fails; nothing reaches the real directory.
    Dest e;
    try {
        e.unpack(TarBuilder().symlink("s", e.outside.path().string()).file("s/planted", "x").finish());
        FAIL("entry below a dangling symlink accepted");
    } catch (const std::exception& ex) {
        CHECK(std::string(ex.what()).find("\"s/planted\"") != std::string::npos);
    }
    CHECK(e.outside_empty());
}

TEST_CASE("a whiteout cannot reach through a symlink") {
    Dest d;
    sys::write_file(d.outside.path() / "victim", "keep me");
    CHECK_THROWS(d.unpack(TarBuilder().symlink("s", d.outside.path().string()).file("s/.wh.victim", "").finish()));
    CHECK(sys::read_file(d.outside.path() / "victim") == "keep me");
    // Through a symlink to "/", the whiteout is made inside the layer.
    Dest e;
    e.unpack(TarBuilder().symlink("s", "/").dir("d/").file("s/d/.wh.x", "").finish());
    CHECK(S_ISCHR(lst(e.root / "d/x").st_mode));
}

TEST_CASE("devices only under dev/, sockets never, bad whiteouts and overlay xattrs refused") {
    Dest d;
    CHECK(d.refusal(TarBuilder().device("etc/sda", true, 8, 0).finish()).find("device node outside dev/") != std::string::npos);
    CHECK(d.refusal(TarBuilder().device("null", false, 1, 3).finish()).find("\"null\"") != std::string::npos);
    CHECK(d.refusal(TarBuilder().file(".wh.", "").finish()).find("invalid whiteout") != std::string::npos);
    CHECK(d.refusal(TarBuilder().file("a/.wh..", "").finish()).find("invalid whiteout") != std::string::npos);
    CHECK(d.refusal(TarBuilder().file("f", "x", 0644, 0, 0, {{"trusted.overlay.redirect", "/etc"}}).finish())
              .find("trusted.overlay.redirect") != std::string::npos);
    CHECK(d.refusal(TarBuilder().file("f", "x", 0644, 4294967295L).finish()).find("owner id") != std::string::npos);
    CHECK(d.outside_empty());
}

TEST_CASE("truncated and non-tar input are corrupt") {
    auto tar = TarBuilder().file("big", std::string(100000, 'x')).finish();
    for (auto input : {tar.substr(0, 5000), std::string("this is not a tar archive at all, not even close....")}) {
        Dest d;
        try {
            d.unpack(input);
            FAIL("accepted");
        } catch (const berth::Error& e) {
            CHECK(e.kind() == Errc::corrupt);
        }
    }
}

TEST_CASE("user xattrs are applied") {
    Dest d;
    d.unpack(TarBuilder().file("f", "x", 0644, 0, 0, {{"user.berth.test", "v1"}}).finish());
    char v[8] = {};
    auto n = ::getxattr((d.root / "f").c_str(), "user.berth.test", v, sizeof v);
    if (n < 0 && errno == ENOTSUP) return;  // the temp filesystem has no user xattrs
    CHECK(std::string(v, static_cast<size_t>(n)) == "v1");
}
