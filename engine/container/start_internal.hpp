#pragma once
// Shared by the files that implement Engine (not part of its interface).
#include <string>
#include <vector>

#include "container/engine.hpp"
#include "runtime/spec.hpp"
#include "sys/fd.hpp"

namespace berth::container {

// What prepare_run() made for one run; Engine::release_run() undoes all of it.
struct PreparedRun {
    std::string run_id;
    runtime::Spec spec;
    sys::unique_fd netns;
    std::vector<std::string> attached;
    bool published = false;
    bool cgroup_made = false;
};

std::vector<int> container_caps(const HostConfig& hc);

unsigned char attach_flags(const StartOptions& opts);
// How an attachment ended: the container's exit code, and whether the shim handed this client
// the run's cleanup ('C' rather than 'E', see runtime/attach.hpp).
struct AttachEnd {
    int exit_code = 0;
    bool cleanup_owed = false;
};
// Streams an attached container's output to opts.on_output and opts.stdin_fd to it until the
// shim sends 'E' or 'C'. Forwards SIGINT/SIGTERM (docker's --sig-proxy) and, with a tty, the
// terminal size.
AttachEnd stream_attach(int sock, const StartOptions& opts);

}  // namespace berth::container
