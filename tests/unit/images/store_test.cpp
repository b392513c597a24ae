#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "images/digest.hpp"
#include "images/media_types.hpp"
#include "sys/error.hpp"
#include "unit/images/store_fixture.hpp"

using namespace berth;
using namespace berth::images;
using namespace berth_test;

namespace {

Image import(Store& s, const std::string& tar, const std::string& tag = "", std::vector<std::string> changes = {}) {
    MemorySource src(tar);
    NewImageOptions o;
    if (!tag.empty()) o.tag = parse_reference(tag);
    o.changes = std::move(changes);
    return s.import_rootfs(src, o);
}

template <typename F>
Errc failure(F&& f) {
    try {
        f();
    } catch (const berth::Error& e) {
        return e.kind();
    }
    return Errc::failed;  // "no error" reads as a failure of the test
}

std::vector<std::string> lines(const std::vector<DeleteRecord>& recs) {
    std::vector<std::string> out;
    for (auto& r : recs) out.push_back(r.untagged.empty() ? "Deleted: " + r.deleted : "Untagged: " + r.untagged);
    return out;
}

std::vector<LoadedImage> load(Store& s, const std::string& archive) {
    MemorySource src(archive);
    return s.load(src);
}

}  // namespace

TEST_CASE("import makes a one-layer image addressed by its config digest") {
    StoreFixture f;
    auto tar = rootfs_tar();
    auto img = import(f.store, tar, "busybox", {"CMD [\"sh\"]", "ENV A=1"});
    CHECK(img.id == sys::sha256_digest(img.config_json));
    REQUIRE(img.layers.size() == 1);
    CHECK(img.layers[0].diff_id == sys::sha256_digest(tar));
    CHECK(img.layers[0].blob_digest == img.layers[0].diff_id);
    CHECK(img.layers[0].media_type == media::kOciLayer);
    CHECK(img.config.cmd == std::vector<std::string>{"sh"});
    CHECK(img.config.env == std::vector<std::string>{"A=1"});
    CHECK(img.config.comment == "Imported from -");
    CHECK(img.config.os == "linux");
    REQUIRE(img.config.history.size() == 1);
    CHECK(img.config.history[0].comment == "Imported from -");
    REQUIRE(img.tags.size() == 1);
    CHECK(img.tags[0].familiar() == "busybox:latest");
    CHECK(img.size == std::string("#!fake busybox v1").size() + 30 + 2);
    CHECK(img.created_ns() > 0);

    std::string hex(digest_hex(img.id));
    for (std::string name : std::vector<std::string>{"busybox", "busybox:latest", "docker.io/library/busybox", img.id, hex, hex.substr(0, 12),
                             "sha256:" + hex.substr(0, 12)}) {
        INFO(name);
        CHECK(f.store.resolve(name).id == img.id);
    }
    try {
        f.store.resolve("nope");
        FAIL("resolved");
    } catch (const berth::Error& e) {
        CHECK(e.kind() == Errc::not_found);
        CHECK(std::string(e.what()) == "No such image: nope:latest");
    }
    CHECK(failure([&] { f.store.resolve("Bad:Name"); }) == Errc::invalid);

    auto dirs = f.store.layer_dirs(img);
    REQUIRE(dirs.size() == 1);
    CHECK(sys::read_file(dirs[0] / "etc/marker") == "v1");
    CHECK(std::filesystem::read_symlink(dirs[0] / "bin/sh") == "/bin/busybox");
}

TEST_CASE("compressed imports store the uncompressed layer") {
    StoreFixture f;
    auto tar = rootfs_tar();
    auto plain = import(f.store, tar);
    auto gz = import(f.store, gzip(tar));
    auto zs = import(f.store, zstd(tar));
    CHECK(gz.layers[0].diff_id == plain.layers[0].diff_id);
    CHECK(zs.layers[0].blob_digest == plain.layers[0].diff_id);
}

TEST_CASE("failed imports leave the store unchanged") {
    StoreFixture f;
    import(f.store, rootfs_tar("base"), "base");
    auto before = f.snapshot();
    auto tar = rootfs_tar();
    CHECK(failure([&] { import(f.store, TarBuilder().file("ok", "x").file("../escape", "y").finish(), "bad"); }) == Errc::invalid);
    CHECK(failure([&] { import(f.store, tar, "bad", {"RUN rm -rf /"}); }) == Errc::invalid);
    auto gz = gzip(tar);
    CHECK(failure([&] { import(f.store, gz.substr(0, gz.size() / 2), "bad"); }) == Errc::corrupt);
    CHECK(failure([&] { import(f.store, tar.substr(0, tar.size() - 1500), "bad"); }) == Errc::corrupt);
    CHECK(f.snapshot() == before);
    CHECK(f.store.list().size() == 1);
}

TEST_CASE("a missing unpacked layer is unpacked again from its blob") {
    StoreFixture f;
    auto img = import(f.store, rootfs_tar());
    sys::remove_tree(f.store.layer_dir(img.layers[0].chain_id));
    auto dirs = f.store.layer_dirs(img);
    CHECK(sys::read_file(dirs.at(0) / "etc/marker") == "v1");
}

TEST_CASE("a corrupt blob in the store is detected on read") {
    StoreFixture f;
    auto img = import(f.store, rootfs_tar(), "x");
    sys::write_file(f.store.blob_path(img.id), sys::read_file(f.store.blob_path(img.id)) + " ");
    CHECK(failure([&] { f.store.resolve("x"); }) == Errc::corrupt);
}

TEST_CASE("tags and rmi follow Docker's untag/delete rules") {
    StoreFixture f;
    auto img = import(f.store, rootfs_tar(), "busybox");
    CHECK_FALSE(f.store.tag(img.id, parse_reference("busybox:2")));
    CHECK_FALSE(f.store.tag(img.id, parse_reference("other/repo:1")));
    CHECK(failure([&] { f.store.tag(img.id, parse_reference("x@sha256:" + std::string(64, 'a'))); }) == Errc::invalid);
    CHECK(f.store.resolve("busybox").tags.size() == 3);

    // By tag: only the tag goes while others remain.
    CHECK(lines(f.store.remove("busybox:2", {})) == std::vector<std::string>{"Untagged: busybox:2"});
    // By ID with tags in two repositories: refused unless forced.
    std::string sid = short_id(img.id);
    try {
        f.store.remove(sid, {});
        FAIL("removed");
    } catch (const berth::Error& e) {
        CHECK(e.kind() == Errc::conflict);
        CHECK(std::string(e.what()) == "conflict: unable to delete " + sid +
                                           " (must be forced) - image is referenced in multiple repositories");
    }
    CHECK(lines(f.store.remove("other/repo:1", {})) == std::vector<std::string>{"Untagged: other/repo:1"});
    // The last tag takes the image and its layer along.
    auto recs = lines(f.store.remove("busybox", {}));
    REQUIRE(recs.size() == 3);
    CHECK(recs[0] == "Untagged: busybox:latest");
    CHECK(recs[1] == "Deleted: " + img.id);
    CHECK(recs[2] == "Deleted: " + img.layers[0].chain_id);
    CHECK(f.store.list().empty());
    CHECK(f.snapshot().count("repositories.json") == 1);
    CHECK(f.snapshot().size() == 1);  // nothing but the empty tag index is left
}

TEST_CASE("rmi by ID deletes an image with one tag; several tags need force, as in Docker") {
    StoreFixture f;
    auto img = import(f.store, rootfs_tar(), "a:1");
    auto recs = lines(f.store.remove(img.id, {}));
    REQUIRE(recs.size() == 3);
    CHECK(recs[0] == "Untagged: a:1");
    CHECK(recs[1] == "Deleted: " + img.id);
    auto img2 = import(f.store, rootfs_tar(), "a:1");
    f.store.tag(img2.id, parse_reference("a:2"));
    CHECK(failure([&] { f.store.remove(img2.id, {}); }) == Errc::conflict);  // two tags, even in one repository
    RemoveOptions force;
    force.force = true;
    CHECK(lines(f.store.remove(short_id(img2.id), force)).size() == 4);
    CHECK(f.store.list().empty());
    CHECK(failure([&] { f.store.remove("a:1", {}); }) == Errc::not_found);
}

TEST_CASE("images used by containers are never deleted") {
    StoreFixture f;
    auto img = import(f.store, rootfs_tar(), "busybox");
    RemoveOptions o;
    o.in_use[img.id] = std::string(64, 'c');
    try {
        f.store.remove("busybox", o);
        FAIL("removed");
    } catch (const berth::Error& e) {
        CHECK(e.kind() == Errc::conflict);
        CHECK(std::string(e.what()) == "conflict: unable to remove repository reference \"busybox\" (must force) - container cccccccccccc"
                                       " is using its referenced image " + short_id(img.id));
    }
    CHECK(failure([&] { f.store.remove(img.id, o); }) == Errc::conflict);
    o.force = true;
    CHECK(lines(f.store.remove("busybox", o)) == std::vector<std::string>{"Untagged: busybox:latest"});
    auto kept = f.store.get(img.id);  // untagged, still there for its container
    CHECK(kept.tags.empty());
    CHECK(f.store.layer_dirs(kept).size() == 1);
    PruneOptions p;
    p.all = true;
    p.in_use = o.in_use;
    CHECK(f.store.prune(p).records.empty());
    CHECK(f.store.list().size() == 1);
}

TEST_CASE("commit stacks a layer on a parent; parents with children stay") {
    StoreFixture f;
    auto base = import(f.store, rootfs_tar(), "base");
    auto layer = TarBuilder().file("etc/marker", "v2").file("etc/.wh.passwd", "").finish();
    MemorySource src(layer);
    NewImageOptions o;
    o.changes = {"ENV B=2"};
    o.created_by = "/bin/sh -c echo v2 > /etc/marker";
    o.tag = parse_reference("child:1");
    auto child = f.store.commit(base.id, &src, o);
    CHECK(child.parent == base.id);
    REQUIRE(child.layers.size() == 2);
    CHECK(child.layers[0].chain_id == base.layers[0].chain_id);
    CHECK(child.layers[1].chain_id == chain_ids({base.layers[0].diff_id, child.layers[1].diff_id})[1]);
    CHECK(child.config.env == std::vector<std::string>{"B=2"});
    auto dirs = f.store.layer_dirs(child);
    REQUIRE(dirs.size() == 2);
    CHECK(sys::read_file(dirs[0] / "etc/marker") == "v2");  // top-most first
    CHECK(sys::read_file(dirs[1] / "etc/marker") == "v1");

    auto h = f.store.history(child);
    REQUIRE(h.size() == 2);
    CHECK(h[0].id == child.id);
    CHECK(h[0].created_by == "/bin/sh -c echo v2 > /etc/marker");
    CHECK(h[0].tags == std::vector<std::string>{"child:1"});
    CHECK(h[1].id == base.id);
    CHECK(h[1].comment == "Imported from -");

    CHECK(f.store.children(base.id) == std::vector<std::string>{child.id});
    try {
        RemoveOptions force;
        force.force = true;
        f.store.remove(base.id, force);
        FAIL("removed a parent");
    } catch (const berth::Error& e) {
        CHECK(std::string(e.what()).find("(cannot be forced) - image has dependent child images") != std::string::npos);
    }
    // Its last tag goes, the image stays for its child (an intermediate image, as in Docker).
    CHECK(lines(f.store.remove("base", {})) == std::vector<std::string>{"Untagged: base:latest"});
    CHECK(f.store.list().size() == 2);
    auto recs = lines(f.store.remove("child:1", {}));
    CHECK(std::count(recs.begin(), recs.end(), "Deleted: " + base.id) == 1);  // the untagged parent goes too
    CHECK(f.store.list().empty());
}

TEST_CASE("prune removes dangling images, or every unused one with all") {
    StoreFixture f;
    auto a = import(f.store, rootfs_tar("a"), "keep:1");
    auto b = import(f.store, rootfs_tar("b"), "dangle:1");
    auto c = import(f.store, rootfs_tar("c"));
    auto a2 = rootfs_tar("a2");
    MemorySource src(a2);
    f.store.import_rootfs(src, NewImageOptions{{}, "", "", "", parse_reference("dangle:1")});  // b loses its tag
    auto r = f.store.prune({});
    std::set<std::string> deleted;
    for (auto& rec : r.records) deleted.insert(rec.deleted);
    CHECK(deleted.count(b.id));
    CHECK(deleted.count(c.id));
    CHECK_FALSE(deleted.count(a.id));
    CHECK(r.reclaimed > 0);
    CHECK(f.store.list().size() == 2);  // keep:1 and the new dangle:1
    PruneOptions all;
    all.all = true;
    auto r2 = f.store.prune(all);
    CHECK(f.store.list().empty());
    CHECK(std::count_if(r2.records.begin(), r2.records.end(), [](auto& x) { return !x.untagged.empty(); }) == 2);
}

TEST_CASE("save and load round-trip in every format") {
    for (auto format : {SaveFormat::both, SaveFormat::docker, SaveFormat::oci}) {
        StoreFixture src, dst;
        auto img = import(src.store, rootfs_tar(), "busybox");
        src.store.tag(img.id, parse_reference("example.com/a/b:tag"));
        MemFile out;
        src.store.save({"busybox", "example.com/a/b:tag"}, out.fd, format);
        auto loaded = load(dst.store, out.contents());
        REQUIRE(loaded.size() == 1);
        CHECK(loaded[0].id == img.id);
        CHECK(loaded[0].tags == std::vector<std::string>{"busybox:latest", "example.com/a/b:tag"});
        auto got = dst.store.resolve("busybox");
        CHECK(got.id == img.id);
        CHECK(got.layers[0].diff_id == img.layers[0].diff_id);
        CHECK(got.layers[0].blob_digest == img.layers[0].blob_digest);
        CHECK(sys::read_file(dst.store.layer_dirs(got)[0] / "etc/marker") == "v1");
        // The same images give the same bytes.
        MemFile again;
        src.store.save({"busybox", "example.com/a/b:tag"}, again.fd, format);
        CHECK(again.contents() == out.contents());
    }
}

TEST_CASE("save of an untagged image and load of it report the ID") {
    StoreFixture src, dst;
    auto img = import(src.store, rootfs_tar());
    MemFile out;
    src.store.save({short_id(img.id)}, out.fd);
    auto loaded = load(dst.store, gzip(out.contents()));  // compressed archives load too
    REQUIRE(loaded.size() == 1);
    CHECK(loaded[0].id == img.id);
    CHECK(loaded[0].tags.empty());
    CHECK(failure([&] { src.store.save({"nope"}, out.fd); }) == Errc::not_found);
}

TEST_CASE("classic docker-archive and OCI archives with compressed layers load") {
    StoreFixture f;
    auto l1 = rootfs_tar("one");
    auto l2 = TarBuilder().file("etc/marker", "two").finish();
    auto loaded = load(f.store, docker_archive({{{gzip(l1), l2}, {l1, l2}, {}, {"legacy:1"}}}));
    REQUIRE(loaded.size() == 1);
    auto img = f.store.resolve("legacy:1");
    CHECK(img.layers.size() == 2);
    CHECK(img.layers[0].media_type == media::kOciLayerGzip);
    CHECK(img.layers[0].diff_id == sys::sha256_digest(l1));
    CHECK(sys::read_file(f.store.layer_dirs(img)[0] / "etc/marker") == "two");

    auto oci = load(f.store, oci_archive({{{zstd(l1)}, {l1}, {std::string(media::kOciLayerZstd)}, {"example.com/x:y"}}}));
    REQUIRE(oci.size() == 1);
    auto o = f.store.resolve("example.com/x:y");
    CHECK(o.layers[0].blob_digest == sys::sha256_digest(zstd(l1)));
    CHECK(o.layers[0].diff_id == sys::sha256_digest(l1));
    // The loaded OCI manifest is kept as it was.
    CHECK(o.manifest_media_type == media::kOciManifest);

    // Loading over an existing tag moves it and says so.
    auto again = load(f.store, docker_archive({{{l2}, {l2}, {}, {"legacy:1"}}}));
    REQUIRE(again.at(0).replaced.size() == 1);
    CHECK(again[0].replaced[0].second == img.id);
}

TEST_CASE("bad archives are refused with the store unchanged") {
    StoreFixture f;
    import(f.store, rootfs_tar("base"), "base");
    auto before = f.snapshot();
    auto layer = rootfs_tar();
    auto ok_oci = oci_archive({{{layer}, {layer}, {}, {"x:1"}}});

    // A corrupt layer blob: the content no longer matches the digest the manifest names.
    std::string corrupt_layer = layer;
    corrupt_layer[corrupt_layer.find("fake busybox")] = 'F';
    ArchiveImage bad{{corrupt_layer}, {layer}, {}, {"x:1"}};
    bad.config = make_config({layer});
    {
        TarBuilder t;  // an OCI layout whose manifest names the good layer's digest but holds the bad bytes
        t.file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
        t.file("blobs/sha256/" + hex(bad.config), bad.config);
        t.file("blobs/sha256/" + hex(layer), corrupt_layer);
        json m = {{"schemaVersion", 2},
                  {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                  {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", "sha256:" + hex(bad.config)}, {"size", bad.config.size()}}},
                  {"layers", {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"}, {"digest", "sha256:" + hex(layer)}, {"size", layer.size()}}}}};
        t.file("blobs/sha256/" + hex(m.dump()), m.dump());
        t.file("index.json", json{{"schemaVersion", 2},
                                   {"manifests", {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"}, {"digest", "sha256:" + hex(m.dump())}, {"size", m.dump().size()}}}}}
                                 .dump());
        CHECK(failure([&] { load(f.store, t.finish()); }) == Errc::corrupt);
    }
    // A DiffID that does not match the layer (docker-archive: no blob digest to check first).
    ArchiveImage wrong{{layer}, {layer}, {}, {"x:1"}};
    wrong.config = make_config({rootfs_tar("other")});
    CHECK(failure([&] { load(f.store, docker_archive({wrong})); }) == Errc::corrupt);
    // Truncated archive.
    CHECK(failure([&] { load(f.store, ok_oci.substr(0, ok_oci.size() / 2)); }) == Errc::corrupt);
    // Unknown layer media type.
    CHECK(failure([&] { load(f.store, oci_archive({{{layer}, {layer}, {"application/x-unknown"}, {"x:1"}}})); }) == Errc::unsupported);
    // Malformed manifests.
    CHECK(failure([&] { load(f.store, oci_archive({{{layer}, {layer}, {}, {"x:1"}}}, "{not json")); }) == Errc::corrupt);
    CHECK(failure([&] { load(f.store, TarBuilder().file("manifest.json", "{}").finish()); }) == Errc::corrupt);
    CHECK(failure([&] { load(f.store, TarBuilder().file("manifest.json", "null").finish()); }) == Errc::corrupt);
    CHECK(failure([&] { load(f.store, TarBuilder().file("manifest.json", R"([{"Config":"c.json","Layers":["l.tar"]}])").finish()); }) == Errc::invalid);
    // Not an image archive at all; an empty one; a malicious layer.
    CHECK(failure([&] { load(f.store, TarBuilder().file("hello", "x").finish()); }) == Errc::invalid);
    CHECK(failure([&] { load(f.store, "garbage that is not a tar file...................."); }) == Errc::corrupt);
    auto evil = TarBuilder().file("../../etc/evil", "x").finish();
    CHECK(failure([&] { load(f.store, docker_archive({{{evil}, {evil}, {}, {"x:1"}}})); }) == Errc::invalid);
    // The outer archive itself may not climb out either.
    CHECK(failure([&] { load(f.store, TarBuilder().file("../manifest.json", "[]").finish()); }) == Errc::invalid);
    CHECK(f.snapshot() == before);
    // And the good one still loads afterwards.
    CHECK(load(f.store, ok_oci).size() == 1);
}
