#pragma once
// `pull`: an image from a registry into the store. The manifest (or the index, and then this
// platform's manifest) and the config are fetched and checked first; layers the store lacks are
// fetched in parallel and streamed straight into the store's staging (digest, size and DiffID
// verified as they are unpacked); then everything is registered at once through Ingest, so a
// failed or interrupted pull leaves no image behind.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "images/manifest.hpp"
#include "images/reference.hpp"
#include "images/store.hpp"

namespace berth::registry {

// One line of progress, as Docker's JSON messages: id "" is a line of its own ("latest:
// Pulling from library/busybox", "Digest: ..."); otherwise a layer's short ID and its state
// ("Pulling fs layer", "Already exists", "Downloading" with current/total, "Download
// complete", "Pull complete").
struct Progress {
    std::string id;
    std::string status;
    std::uint64_t current = 0, total = 0;
};
using ProgressFn = std::function<void(const Progress&)>;

struct PullOptions {
    std::optional<images::Platform> platform;  // nullopt = this host's
    int max_concurrent = 3;                    // layers fetched at once (Docker's default)
    ProgressFn progress;                       // may be empty; called from several threads, one at a time
    const std::atomic<bool>* cancel = nullptr; // set (e.g. by a SIGINT handler): stop, store nothing
};

struct PullResult {
    std::string id;       // image ID
    std::string digest;   // of what the reference named (the index when there was one)
    bool changed = false; // something was fetched or the tag moved
};

PullResult pull(images::Store& store, const images::Reference& ref, const PullOptions& opts);

// The tags of ref's repository (GET /v2/<name>/tags/list, following Link pages).
std::vector<std::string> list_tags(const images::Reference& ref);

// The Accept header for manifests: every manifest and index media type berth reads.
std::string manifest_accept();

}  // namespace berth::registry
