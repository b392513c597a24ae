#pragma once
// berth-shim's supervisor: one per container (DESIGN.md "Process model"). It starts the
// container's process, owns its stdio (pipes or a pty), writes the json-file log, answers
// attach/stop/kill/pause over a unix socket, records exits and OOM kills, applies the restart
// policy with Docker's back-off, runs health checks, and, when the container stops for good,
// runs the exit command (berth's cleanup of that run) and exits.
//
// Single-threaded: one poll() loop. That is what lets it clone the container's process with
// ordinary C++ in the child (shared/STYLE.md, convention 10).
#include <string>

#include "runtime/spec.hpp"

namespace berth::shim {

// start_fd: the CLI's end of the start socket (first frame 'A' or 'D'; the shim answers 'P'
// or 'X'). netns_fd: the container's network namespace for Spec::Net::own_fd, else -1.
// Returns the shim's exit status.
int supervise(runtime::Spec spec, int start_fd, int netns_fd);

}  // namespace berth::shim
