#pragma once
// Filesystem steps that need no container (COPY, ADD, WORKDIR): a forked child mounts the
// current image's layers with a fresh upper dir in its own private mount namespace (nothing is
// mounted in the host's, and the mounts end with the child), does the work inside it with every
// destination path resolved in the rootfs (openat2 RESOLVE_IN_ROOT), and the upper dir is then
// the step's layer. A COPY --from source image is mounted read-only beside it.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "build/context.hpp"

namespace berth::build {

namespace fs = std::filesystem;

struct FsJob {
    std::vector<fs::path> lowers;  // the current image's layer dirs, top-most first
    fs::path scratch;              // an empty dir on the store's filesystem (upper, work, mounts)

    // COPY/ADD: from the context (items already expanded) or from an image (patterns expanded
    // in the child, over its mounted rootfs).
    fs::path context_dir;
    std::vector<CopyItem> items;
    bool from_image = false;
    std::vector<fs::path> src_lowers;
    std::vector<std::string> src_patterns;
    bool multiple = false;                  // the sources name more than one entry
    std::vector<std::pair<std::string, std::string>> files;  // heredoc files: (name, content)
    std::vector<std::string> tars;          // ADD: context files to extract into dest
    std::string dest;                       // absolute path in the image ("" = no copy)
    bool keep_owner = false;                // COPY --from keeps owners unless --chown
    std::optional<std::string> chown;       // "user[:group]"
    std::optional<unsigned> chmod;
    std::string mkdir;                      // WORKDIR: create this (absolute) if missing
    std::string where;                      // "Dockerfile:7" for errors
};

// Runs the job; returns the upper dir holding the changes (inside scratch). Throws
// berth::Error with the child's message when it fails.
fs::path run_fs_job(const FsJob& job);

// Sets every mtime in the tree newer than epoch_s to epoch_s (not following symlinks), so a
// layer's tar is the same whenever it is built (SOURCE_DATE_EPOCH).
void clamp_times(const fs::path& dir, std::int64_t epoch_s);

// True when the directory has no entries.
bool dir_empty(const fs::path& dir);

}  // namespace berth::build
