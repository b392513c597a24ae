#pragma once
// berth build: a Dockerfile and its context turned into an image, step by step as Docker's
// classic builder does (each step an image whose parent is the step before, so intermediate
// images stay hidden from `images` and `rmi` of the result prunes them), with BuildKit's
// output shape and reproducible results:
//
//   FROM      the base image (or scratch, or an earlier stage); only the stages the target
//             needs are built
//   RUN       a berth container from the current image (network bridge by default, so package
//             managers work through NAT); its upper dir becomes the layer
//   COPY/ADD  done in a forked child over the overlay of the current layers (fsop.hpp)
//   WORKDIR   creates the directory when it is missing (a layer only then)
//   others    change the config only (an empty_layer history entry)
//
// Every created time and every file time in a new layer is SOURCE_DATE_EPOCH (clamped), 0 when
// unset, so the same inputs give the same image ID. The cache (<root>/builder/cache) maps a
// step's key (parent image ID, the instruction as expanded, the build args in scope, the hash of
// the files COPY/ADD read) to the image that step made.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "build/run_mount.hpp"
#include "store/paths.hpp"

namespace berth::container {
class Engine;
}

namespace berth::build {

struct BuildOptions {
    std::filesystem::path context;                  // the context directory
    std::filesystem::path dockerfile;               // "" = <context>/Dockerfile; relative: to the cwd, else the context
    std::optional<std::string> dockerfile_inline;   // compose's dockerfile_inline; wins over dockerfile
    std::map<std::string, std::string> args;        // --build-arg K=V
    std::string target;                             // --target stage ("" = the last)
    std::vector<std::string> tags;                  // -t references
    std::map<std::string, std::string> labels;      // --label
    bool no_cache = false;
    std::string network = "bridge";                 // RUN's network: bridge | host | none
    std::optional<std::int64_t> source_date_epoch;  // nullopt: $SOURCE_DATE_EPOCH or the build arg, else 0
    // --secret: what RUN --mount=type=secret reads. Never in an image, its history or a cache key.
    std::vector<SecretSource> secrets;
    // Fetches an image reference into the store and returns its ID (the CLI's registry pull);
    // null = no registry, images must be local. Called for a FROM, COPY --from or RUN --mount
    // from= image the store lacks, and for every FROM image once per build when pull is set.
    std::function<std::string(const std::string& ref)> fetch;
    bool pull = false;  // --pull: fetch a newer version of every FROM image
    // Progress lines as BuildKit's plain output prints them ("#3 [2/4] RUN make"); null = quiet.
    std::function<void(std::string_view line)> progress;
};

struct BuildResult {
    std::string image_id;               // "sha256:..."
    std::vector<std::string> warnings;  // unused build args, deprecated syntax
    int steps = 0, cached = 0;          // filesystem steps run and reused
};

// Builds and tags. Errors are berth::Error naming the Dockerfile line ("Dockerfile:4: ...").
BuildResult build(container::Engine& engine, const BuildOptions& opts);

// The step cache: key (hex) -> image ID.
class Cache {
public:
    explicit Cache(std::filesystem::path dir) : dir_(std::move(dir)) {}
    std::optional<std::string> get(const std::string& key) const;
    void put(const std::string& key, const std::string& image_id) const;
    std::vector<std::pair<std::string, std::string>> entries() const;
    void clear() const;
    const std::filesystem::path& dir() const { return dir_; }

private:
    std::filesystem::path dir_;
};

// The key of one step. parent: image ID ("" for scratch); text: the instruction as expanded;
// args: build args in scope (all of them, sorted); content: hash of the files read ("" none).
std::string cache_key(const std::string& parent, const std::string& text, const std::map<std::string, std::string>& args,
                      const std::string& content);

struct PruneReport {
    int entries = 0;
    std::vector<std::string> deleted;     // image IDs and layers deleted
    std::vector<std::string> containers;  // RUN containers left by interrupted builds, removed
    std::uint64_t reclaimed = 0;
};

// builder prune: removes RUN containers that interrupted builds left (labelled berth.build, not
// running) and the secret files of builds that died, forgets every cache entry and deletes the
// images only the cache kept (untagged, no children, no container using them) and their
// untagged parents. Cache mounts go with prune_cache_mounts (run_mount.hpp).
PruneReport prune_cache(container::Engine& engine);

}  // namespace berth::build
