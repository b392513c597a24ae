#pragma once
// `push`: an image of the store to a registry, as the distribution spec's push flow: each blob
// (layers, then the config) is skipped when the registry has it (HEAD), mounted from another
// repository of the same registry when the image came from one (cross-repository mount), or
// uploaded (monolithic POST + PUT, or PATCH chunks for large blobs); then the manifest is PUT
// under the tag with its own media type. Afterwards the image gets the repo@digest reference.
#include <string>

#include "images/reference.hpp"
#include "images/store.hpp"
#include "registry/pull.hpp"

namespace berth::registry {

struct PushOptions {
    int max_concurrent = 5;  // blobs uploaded at once (Docker's default)
    // Blobs larger than this go up in PATCH chunks of this size; smaller ones in one PUT.
    // $BERTH_PUSH_CHUNK_SIZE (bytes) overrides the default of 64 MiB.
    std::uint64_t chunk_size = 0;
    ProgressFn progress;
};

struct PushResult {
    std::string digest;  // of the manifest
    std::int64_t size = 0;
};

PushResult push(images::Store& store, const images::Reference& ref, const PushOptions& opts);

}  // namespace berth::registry
