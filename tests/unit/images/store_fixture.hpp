#pragma once
// A temporary image store plus builders for image archives, for the store tests.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "images/store.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/sha256.hpp"
#include "unit/images/tar_builder.hpp"

namespace berth_test {

namespace fs = std::filesystem;

struct StoreFixture {
    berth::sys::TempDir tmp{"/tmp", "berth-unit-store-"};
    berth::images::Store store{tmp.path() / "images"};

    // Every file under the store (path -> size), lock files left out: two equal snapshots mean
    // a failed operation left nothing behind.
    std::map<std::string, std::uintmax_t> snapshot() const {
        std::map<std::string, std::uintmax_t> out;
        if (!fs::exists(store.dir())) return out;
        for (auto& e : fs::recursive_directory_iterator(store.dir())) {
            if (e.is_directory() && !e.is_symlink()) continue;
            auto rel = fs::relative(e.path(), store.dir()).string();
            if (rel.size() > 5 && rel.substr(rel.size() - 5) == ".lock") continue;
            out[rel] = e.is_regular_file() ? e.file_size() : 0;
        }
        return out;
    }
};

inline std::string rootfs_tar(const std::string& marker = "v1") {
    return TarBuilder()
        .dir("bin/")
        .file("bin/busybox", "#!fake busybox " + marker, 0755)
        .symlink("bin/sh", "/bin/busybox")
        .dir("etc/")
        .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        .file("etc/marker", marker)
        .finish();
}

struct ArchiveImage {
    std::vector<std::string> layers;       // blobs as written into the archive
    std::vector<std::string> uncompressed;  // the same layers uncompressed (for DiffIDs)
    std::vector<std::string> layer_media;   // OCI media types
    std::vector<std::string> tags;          // "busybox:latest"
    std::string config;                     // filled by make_config unless set
};

inline std::string make_config(const std::vector<std::string>& uncompressed, const std::string& cmd = "sh") {
    berth::json diff = berth::json::array();
    for (auto& l : uncompressed) diff.push_back(berth::sys::sha256_digest(l));
    berth::json c = {{"architecture", "amd64"},
                     {"os", "linux"},
                     {"config", {{"Cmd", {cmd}}}},
                     {"created", "2024-01-01T00:00:00Z"},
                     {"rootfs", {{"type", "layers"}, {"diff_ids", diff}}}};
    return c.dump();
}

inline std::string hex(const std::string& data) { return berth::sys::sha256_hex(data); }

// A classic `docker save` archive: <id>.json, <layer id>/layer.tar, manifest.json, repositories.
inline std::string docker_archive(std::vector<ArchiveImage> images) {
    TarBuilder t;
    berth::json manifest = berth::json::array();
    for (auto& img : images) {
        if (img.config.empty()) img.config = make_config(img.uncompressed);
        t.file(hex(img.config) + ".json", img.config);
        berth::json layers = berth::json::array();
        for (auto& l : img.layers) {
            std::string dir = hex(l + img.config);
            t.dir(dir + "/");
            t.file(dir + "/layer.tar", l);
            t.file(dir + "/VERSION", "1.0");
            layers.push_back(dir + "/layer.tar");
        }
        manifest.push_back({{"Config", hex(img.config) + ".json"}, {"RepoTags", img.tags}, {"Layers", layers}});
    }
    t.file("manifest.json", manifest.dump());
    return t.finish();
}

// An OCI image layout archive (skopeo's oci-archive: shape), names in ref.name annotations.
inline std::string oci_archive(std::vector<ArchiveImage> images, const std::string& manifest_override = "") {
    TarBuilder t;
    t.file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    t.dir("blobs/");
    t.dir("blobs/sha256/");
    berth::json index = {{"schemaVersion", 2}, {"manifests", berth::json::array()}};
    for (auto& img : images) {
        if (img.config.empty()) img.config = make_config(img.uncompressed);
        t.file("blobs/sha256/" + hex(img.config), img.config);
        berth::json layers = berth::json::array();
        for (size_t i = 0; i < img.layers.size(); ++i) {
            t.file("blobs/sha256/" + hex(img.layers[i]), img.layers[i]);
            layers.push_back({{"mediaType", img.layer_media.size() > i ? img.layer_media[i] : "application/vnd.oci.image.layer.v1.tar"},
                              {"digest", "sha256:" + hex(img.layers[i])},
                              {"size", img.layers[i].size()}});
        }
        berth::json m = {{"schemaVersion", 2},
                         {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                         {"config",
                          {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                           {"digest", "sha256:" + hex(img.config)},
                           {"size", img.config.size()}}},
                         {"layers", layers}};
        std::string mt = manifest_override.empty() ? m.dump() : manifest_override;
        t.file("blobs/sha256/" + hex(mt), mt);
        berth::json d = {{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                         {"digest", "sha256:" + hex(mt)},
                         {"size", mt.size()}};
        if (!img.tags.empty()) d["annotations"] = {{"org.opencontainers.image.ref.name", img.tags[0]}};
        index["manifests"].push_back(d);
    }
    t.file("index.json", index.dump());
    return t.finish();
}

// An anonymous file to save into and load from.
struct MemFile {
    int fd = ::memfd_create("berth-test", MFD_CLOEXEC);
    ~MemFile() { ::close(fd); }
    std::string contents() const {
        ::lseek(fd, 0, SEEK_SET);
        return berth::sys::read_fd(fd);
    }
};

}  // namespace berth_test
