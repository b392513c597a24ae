#pragma once
// Pulling an image with Docker's output, shared by `pull`, `run`/`create` (missing image or
// --pull always) and compose: "latest: Pulling from library/busybox", one line per layer
// (redrawn in place with a progress bar on a terminal, plain status lines otherwise),
// "Digest: ...", "Status: ...".
#include <atomic>
#include <iosfwd>
#include <optional>
#include <string>

#include "images/manifest.hpp"
#include "images/store.hpp"
#include "store/paths.hpp"

namespace berth::cli {

struct PullDisplay {
    bool quiet = false;             // nothing but errors
    std::ostream* out = nullptr;    // where the lines go (stdout for pull, stderr for run)
    int fd = 1;                     // its descriptor, to know whether it is a terminal
    std::optional<images::Platform> platform;
    bool print_reference = true;    // the final "docker.io/library/busybox:latest" line
    const std::atomic<bool>* cancel = nullptr;  // see registry::PullOptions
};

// For the duration of a `pull` command: the first SIGINT/SIGTERM sets cancelled() (the pull
// stops at its next read and its staging is removed, so nothing partial stays), a second one
// exits at once.
class PullInterrupts {
public:
    PullInterrupts();
    ~PullInterrupts();
    const std::atomic<bool>* flag() const;
};

// Pulls name (as the user wrote it) into store. Returns the image ID.
std::string pull_image(images::Store& store, const std::string& name, const PullDisplay& how);

// A pull with no output into paths' image store (compose's pulls, which print their own lines).
std::string pull_quietly(const store::Paths& paths, const std::string& name);

// A build's pull of a base image: Docker's pull lines on stderr (stdout carries the build's
// result), none when quiet. Returns the image ID.
std::string pull_for_build(images::Store& store, const std::string& name, bool quiet);

// --platform as Docker reads it ("" = nullopt).
std::optional<images::Platform> platform_flag(const std::string& text);

}  // namespace berth::cli
