#pragma once
// Staging of new content for one operation (import, load, commit), internal to the image store.
// Blobs and unpacked layers are written under tmp/<staging>/ and verified there; commit() moves
// them into the store and writes records and tags under the index lock. Dropping an Ingest
// without commit() removes everything it staged, so a failed operation leaves no trace.
// add_blob and add_layer may be called from several threads at once (a pull fetches layers in
// parallel); commit() after they are all done.
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "images/manifest.hpp"
#include "images/store.hpp"
#include "images/unpack.hpp"
#include "sys/fs.hpp"
#include "sys/lock.hpp"

namespace berth::images {

class Ingest {
public:
    explicit Ingest(Store& store);

    // A small blob (config, manifest). Returns its digest.
    std::string add_blob(std::string_view data);

    struct LayerSpec {
        std::string expected_blob;        // "" = not known (docker-archive)
        std::int64_t expected_size = -1;  // of the blob, -1 = not known
        std::string media_type;           // "" = from the detected compression
        std::string expected_diff_id;     // "" = not known (import)
        std::string parent_chain;         // chain ID of the layer below, "" for the base
        bool store_uncompressed = false;  // import: keep the decompressed tar as the blob
        // A regular file on the store's filesystem holding exactly the blob (load: the layer
        // file unpacked from the archive). It is hard-linked in as the blob once verified,
        // instead of being copied while it is read.
        int adopt_fd = -1;
    };
    // Reads a layer blob, verifies its digest, size and DiffID, and stages the blob and the
    // unpacked layer (unless the store already has them). what names it in errors.
    Layer add_layer(Source& in, const LayerSpec& spec, std::string_view what);
    // The layer when the store (or this ingest) already has both its blob and its unpacked
    // form, so there is nothing to read; needs expected_blob and expected_diff_id.
    std::optional<Layer> existing_layer(const LayerSpec& spec) const;

    struct Record {
        std::string id;
        Descriptor manifest;
        std::string parent;
        std::vector<Reference> tags;
    };
    // Moves the staged content in and registers the images. Returns (tag, previous image ID) for
    // each tag that moved from another image.
    std::vector<std::pair<std::string, std::string>> commit(const std::vector<Record>& records);

private:
    Store& store_;
    sys::FileLock gc_;
    sys::TempDir tmp_;
    std::set<std::string> blobs_;   // hex staged under tmp_/blobs
    std::set<std::string> layers_;  // chain hex staged under tmp_/layers
    mutable std::mutex mu_;          // guards blobs_ and layers_
    bool has_blob(const std::string& digest) const;
    bool has_layer(const std::string& chain_id) const;
};

// Extraction options for layers on this host: owners restored and trusted.overlay.opaque when
// root; otherwise (unit tests, rootless) user.overlay.opaque and the caller's ownership.
UnpackOptions layer_unpack_options();

}  // namespace berth::images
