// The rootfs overlay over real image layers: whiteouts and opaque dirs hide lower content, writes
// land in the upper dir, read-only and layerless mounts work, and nothing stays mounted.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "images/changeset.hpp"
#include "images/ingest.hpp"
#include "images/overlay.hpp"
#include "images/store.hpp"
#include "privileged/probe.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "unit/images/tar_builder.hpp"

using namespace berth;
using namespace berth::images;
namespace fs = std::filesystem;

const char* berth_test::probe() {
    int fd = static_cast<int>(::syscall(SYS_fsopen, "overlay", 0));
    if (fd < 0) return "overlayfs is not available (fsopen(\"overlay\") failed)";
    ::close(fd);
    return nullptr;
}

namespace {

bool mounted(const fs::path& p) {
    auto info = sys::read_file("/proc/self/mountinfo");
    return info.find(" " + p.string() + " ") != std::string::npos;
}

// A store with a two-layer image and a scratch dir; unmounts and removes everything it made,
// even when a check fails half-way.
struct Fixture {
    sys::TempDir tmp{"/tmp", "berth-priv-overlay-" + std::to_string(::getpid()) + "-"};
    Store store{tmp.path() / "images"};
    fs::path upper = tmp.path() / "c/upper", work = tmp.path() / "c/work", target = tmp.path() / "c/merged";
    std::vector<fs::path> mounts;

    Fixture() {
        sys::mkdirs(upper);
        sys::mkdirs(work);
        sys::mkdirs(target);
    }
    ~Fixture() {
        for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
    }
    void mount(const std::vector<fs::path>& lowers, bool rw, bool legacy = false) {
        auto u = rw ? upper : fs::path();
        auto w = work;
        if (legacy)
            mount_overlay_legacy(lowers, u, w, target);
        else
            mount_overlay(lowers, u, w, target);
        mounts.push_back(target);
    }
    void unmount() {
        REQUIRE(::umount2(target.c_str(), 0) == 0);
        mounts.pop_back();
        CHECK_FALSE(mounted(target));
    }

    Image image() {
        auto base = berth_test::TarBuilder()
                        .file("a", "lower a")
                        .file("b", "lower b")
                        .dir("d/")
                        .file("d/x", "lower x")
                        .file("d/y", "lower y")
                        .dir("keep/")
                        .file("keep/k", "lower k")
                        .finish();
        MemorySource bsrc(base);
        auto img = store.import_rootfs(bsrc, {});
        auto top = berth_test::TarBuilder()
                       .file(".wh.a", "")
                       .dir("d/")
                       .file("d/.wh..wh..opq", "")
                       .file("d/z", "upper z")
                       .file("c", "new c")
                       .finish();
        MemorySource tsrc(top);
        return store.commit(img.id, &tsrc, {});
    }
};

}  // namespace

TEST_CASE("layers mount as one tree with whiteouts applied, writes go to the upper dir") {
    for (bool legacy : {false, true}) {
        INFO((legacy ? "mount(2) with a lowerdir string" : "fsopen + lowerdir+"));
        Fixture f;
        auto img = f.image();
        auto dirs = f.store.layer_dirs(img);
        REQUIRE(dirs.size() == 2);
        f.mount(dirs, true, legacy);
        CHECK(mounted(f.target));
        CHECK_FALSE(fs::exists(f.target / "a"));  // whited out
        CHECK(sys::read_file(f.target / "b") == "lower b");
        CHECK(sys::read_file(f.target / "c") == "new c");
        CHECK_FALSE(fs::exists(f.target / "d/x"));  // opaque dir hides the lower content
        CHECK_FALSE(fs::exists(f.target / "d/y"));
        CHECK(sys::read_file(f.target / "d/z") == "upper z");
        CHECK(sys::read_file(f.target / "keep/k") == "lower k");

        sys::write_file(f.target / "new", "written");
        REQUIRE(::unlink((f.target / "b").c_str()) == 0);
        sys::write_file(f.target / "keep/k", "changed");
        CHECK(sys::read_file(f.upper / "new") == "written");
        struct stat st;
        REQUIRE(::lstat((f.upper / "b").c_str(), &st) == 0);
        CHECK(S_ISCHR(st.st_mode));
        CHECK(st.st_rdev == makedev(0, 0));
        CHECK(sys::read_file(f.upper / "keep/k") == "changed");
        // The layers themselves are untouched.
        CHECK(sys::read_file(dirs[1] / "b") == "lower b");
        CHECK(sys::read_file(dirs[1] / "keep/k") == "lower k");
        CHECK_FALSE(fs::exists(dirs[0] / "new"));
        f.unmount();
    }
}

TEST_CASE("a read-only rootfs has no upper dir") {
    Fixture f;
    auto img = f.image();
    f.mount(f.store.layer_dirs(img), false);
    CHECK(sys::read_file(f.target / "c") == "new c");
    int fd = ::open((f.target / "new").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    CHECK(fd < 0);
    CHECK(errno == EROFS);
    if (fd >= 0) ::close(fd);
    f.unmount();
}

TEST_CASE("an image with no layers still mounts") {
    Fixture f;
    f.mount({}, true);
    CHECK(sys::list_dir(f.target).empty());
    sys::write_file(f.target / "f", "x");
    CHECK(sys::read_file(f.upper / "f") == "x");
    f.unmount();
    Fixture ro;
    ro.mount({}, false);
    CHECK(sys::list_dir(ro.target).empty());
    ro.unmount();
}

TEST_CASE("a one-layer image mounts read-only too") {
    Fixture f;
    auto base = berth_test::TarBuilder().file("only", "one layer").finish();
    MemorySource src(base);
    auto img = f.store.import_rootfs(src, {});
    for (bool legacy : {false, true}) {
        f.mount(f.store.layer_dirs(img), false, legacy);
        CHECK(sys::read_file(f.target / "only") == "one layer");
        f.unmount();
    }
}

TEST_CASE("a missing layer dir is a clear error and mounts nothing") {
    Fixture f;
    try {
        mount_overlay({f.tmp.path() / "nope"}, f.upper, f.work, f.target);
        f.mounts.push_back(f.target);
        FAIL("mounted");
    } catch (const sys::Error& e) {
        CHECK(std::string(e.what()).find("lowerdir+") != std::string::npos);
        CHECK(e.err() == ENOENT);
    }
    CHECK_FALSE(mounted(f.target));
}

TEST_CASE("changes made in a mounted rootfs commit to a new image") {
    Fixture f;
    auto img = f.image();
    f.mount(f.store.layer_dirs(img), true);
    REQUIRE(::unlink((f.target / "b").c_str()) == 0);
    sys::write_file(f.target / "new", "added");
    sys::write_file(f.target / "c", "changed c");
    sys::remove_tree(f.target / "keep");  // a removed dir made again becomes opaque in the upper dir
    sys::mkdirs(f.target / "keep");
    sys::write_file(f.target / "keep/k2", "fresh");
    f.unmount();

    sys::TempDir out(f.tmp.path(), "layer-");
    auto fd = sys::open_path(out.path() / "layer.tar", O_RDWR | O_CREAT | O_EXCL, 0600);
    write_changeset(f.upper, fd.get(), ChangesetOptions{layer_unpack_options().opaque_xattr});
    REQUIRE(::lseek(fd.get(), 0, SEEK_SET) == 0);
    FdSource src(fd.get(), "layer.tar");
    NewImageOptions o;
    o.created_by = "test: commit";
    auto child = f.store.commit(img.id, &src, o);
    REQUIRE(child.layers.size() == 3);

    // The new image, mounted read-only, shows the changes over the old layers.
    f.mount(f.store.layer_dirs(child), false);
    CHECK_FALSE(fs::exists(f.target / "a"));
    CHECK_FALSE(fs::exists(f.target / "b"));
    CHECK(sys::read_file(f.target / "new") == "added");
    CHECK(sys::read_file(f.target / "c") == "changed c");
    CHECK_FALSE(fs::exists(f.target / "keep/k"));
    CHECK(sys::read_file(f.target / "keep/k2") == "fresh");
    CHECK(sys::read_file(f.target / "d/z") == "upper z");
    f.unmount();
}
