#pragma once
// berth's image store, one directory (store::Paths::images()):
//
//   blobs/sha256/<hex>      content-addressed blobs: configs, manifests, layer blobs as received
//                           (written to a temp file and renamed; verified on write and on read)
//   layers/<chain hex>/     a layer unpacked once per ChainID: diff/ (overlay lower dir, OCI
//                           whiteouts already in overlayfs form) and layer.json (its DiffID, size)
//   records/<id hex>.json   one per image: its manifest descriptor, parent, last tag time
//   repositories.json       the tag index: full reference -> image ID
//   tmp/                    staging for imports and loads (same filesystem, so moves are renames)
//   index.lock              held (flock) while records, tags or the staged content change
//   gc.lock                 shared by anything adding content, exclusive while unreferenced
//                           blobs and layers are deleted (locks are always taken gc, then index)
//
// Image ID = digest of the config blob. Everything new (import, load, commit) is staged under
// tmp/ and checked completely, then moved in and registered in one step under the index lock:
// bad input leaves the store as it was.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "images/config.hpp"
#include "images/reference.hpp"
#include "images/source.hpp"

namespace berth::images {

namespace fs = std::filesystem;

struct Layer {
    std::string diff_id;      // sha256 of the uncompressed tar
    std::string chain_id;     // names the unpacked dir
    std::string blob_digest;  // the stored blob (may be compressed)
    std::string media_type;   // of the stored blob
    std::int64_t blob_size = 0;
    std::uint64_t size = 0;   // bytes of file content once unpacked
};

struct Image {
    std::string id;           // "sha256:<hex>" (the config digest)
    std::string config_json;  // the raw config blob
    ImageConfig config;
    std::string manifest_digest;
    std::string manifest_media_type;
    std::vector<Layer> layers;  // base first
    std::string parent;         // "sha256:..." for images made by commit/build on this host, else ""
    std::vector<Reference> tags;     // repo:tag references, sorted
    std::vector<Reference> digests;  // repo@sha256 references, sorted
    std::uint64_t size = 0;          // sum of the layers' sizes
    std::int64_t last_tag_time_ns = 0;
    std::int64_t created_ns() const;  // from config.created, 0 when absent
    bool has_created() const;         // a valid config.created (1970-01-01 is a valid one)
};

// Which images containers use: image ID -> the ID of one container using it. Built by the caller
// (the container store); an image in it is never deleted.
using InUse = std::map<std::string, std::string>;

// One line of `rmi` / `image prune` output: exactly one field is set.
struct DeleteRecord {
    std::string untagged;  // familiar reference
    std::string deleted;   // image ID or layer chain ID
};

struct RemoveOptions {
    bool force = false;          // -f
    bool prune_parents = true;   // !--no-prune
    InUse in_use;
};

struct PruneOptions {
    bool all = false;  // -a: every image no container uses, not only dangling ones
    InUse in_use;
    std::function<bool(const struct Image&)> filter;  // --filter (label=, until=): true = candidate
};

struct PruneResult {
    std::vector<DeleteRecord> records;
    std::uint64_t reclaimed = 0;  // bytes of unpacked layers and blobs deleted
};

struct HistoryItem {
    std::string id;  // "sha256:..." or "<missing>"
    std::int64_t created_ns = 0;
    std::string created_by, comment;
    std::uint64_t size = 0;
    std::vector<std::string> tags;
};

// For `import` (and the test image) and `commit`.
struct NewImageOptions {
    std::vector<std::string> changes;  // Dockerfile instructions (--change)
    std::string comment;               // -m; default for import "Imported from <src>"
    std::string author;
    std::string created_by;            // the history line ("" for import)
    std::optional<Reference> tag;      // tag the new image
    std::string platform_os = "linux";
    std::string platform_arch;         // "" = the host's
};

struct LoadedImage {
    std::string id;
    std::vector<std::string> tags;  // familiar "busybox:latest"
    std::vector<std::pair<std::string, std::string>> replaced;  // (tag, old image ID) moved away
};

enum class SaveFormat {
    both,    // OCI layout + manifest.json + repositories in one tar (Docker 25+), the default
    docker,  // manifest.json + repositories only
    oci,     // OCI image layout only
};

class Store {
public:
    explicit Store(fs::path dir);
    const fs::path& dir() const { return dir_; }

    // ---- lookups (no lock: every file read is replaced atomically) -----------------------
    // By reference ("busybox", "busybox:1", "x@sha256:.."), full ID ("sha256:<hex>" or bare
    // hex) or a unique prefix of the ID's hex. Throws berth::Error(Errc::not_found,
    // "No such image: busybox:latest").
    Image resolve(std::string_view ref_or_id) const;
    std::optional<Image> find(std::string_view ref_or_id) const;
    Image get(const std::string& id) const;  // by full ID
    std::vector<Image> list() const;         // every image, newest first
    std::vector<std::string> children(const std::string& id) const;  // images whose parent is id

    // ---- layers ----------------------------------------------------------------------------
    // The image's unpacked layer dirs, top-most first (overlay lowerdir order), unpacking any
    // that are missing (and verifying them) first. Empty for an image with no layers.
    std::vector<fs::path> layer_dirs(const Image& img);

    // ---- making images ---------------------------------------------------------------------
    // `import`: a rootfs tarball (plain, gzip or zstd) becomes a one-layer image. The layer is
    // stored uncompressed (its blob digest is its DiffID).
    Image import_rootfs(Source& tarball, const NewImageOptions& opts);
    // `commit` / `build`: a new image whose config is parent's (or empty) with opts.changes
    // applied, plus one layer read from layer_tar (an uncompressed or compressed tar, already
    // in OCI changeset form: whiteouts as .wh. entries). With no layer_tar, the image gets an
    // empty_layer history entry and the parent's layers only. images/changeset.hpp writes that
    // tar from a container's overlay upper dir (write_changeset), e.g. into a temp file.
    Image commit(const std::string& parent_id, Source* layer_tar, const NewImageOptions& opts);

    // ---- tags ------------------------------------------------------------------------------
    // Points ref (which must have a tag, not a digest) at the image; returns the image ID it
    // pointed at before, if that was another image.
    std::optional<std::string> tag(const std::string& id, const Reference& ref);

    // ---- removal ---------------------------------------------------------------------------
    // `rmi NAME`, with Docker's rules: a reference is untagged and the image deleted once
    // nothing refers to it; an ID deletes the image (its tags too when all are in one
    // repository, or with force). Images containers use are never deleted: without force that
    // is a conflict error, with force only the tags go. Untagged parents are pruned.
    std::vector<DeleteRecord> remove(std::string_view name, const RemoveOptions& opts);
    PruneResult prune(const PruneOptions& opts);

    // ---- archives --------------------------------------------------------------------------
    // `load`: docker-archive (manifest.json; legacy <id>/layer.tar and Docker 25+ layouts;
    // skopeo's docker-archive), OCI image layout (index.json; skopeo's oci-archive), gzip or
    // zstd compressed. Everything is checked before anything is stored.
    std::vector<LoadedImage> load(Source& archive);
    // `save`: the images named (references or IDs) as one tar written to fd.
    void save(const std::vector<std::string>& names, int fd, SaveFormat format = SaveFormat::both);

    std::vector<HistoryItem> history(const Image& img) const;

    // ---- used by the implementation files ------------------------------------------------
    // Records an image event (sys/event_log.hpp) in the log of the root this store is in.
    void emit_event(std::string_view action, const std::string& id, const std::string& name) const;
    fs::path blob_path(std::string_view digest) const;
    std::string read_blob(std::string_view digest) const;  // verified
    fs::path layer_dir(std::string_view chain_id) const;   // layers/<hex>
    fs::path tmp_dir() const { return dir_ / "tmp"; }
    fs::path index_lock() const { return dir_ / "index.lock"; }
    fs::path gc_lock() const { return dir_ / "gc.lock"; }
    fs::path record_path(std::string_view id) const;
    std::map<std::string, std::string> read_refs() const;  // full ref string -> image ID
    void write_refs(const std::map<std::string, std::string>& refs) const;
    // Deletes blobs, layers and staging dirs nothing refers to; caller holds gc (exclusive)
    // and index locks. Returns the layers deleted (chain IDs) and bytes reclaimed.
    std::pair<std::vector<std::string>, std::uint64_t> collect_garbage();

private:
    fs::path dir_;
    Image build_image(const std::string& id, const std::map<std::string, std::string>& refs) const;
    Image new_image(const ImageConfig& base, const std::vector<Layer>& parent_layers, const std::string& parent_id,
                    Source* layer_tar, const NewImageOptions& opts, bool import);
};

}  // namespace berth::images
