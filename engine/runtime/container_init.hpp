#pragma once
// Starting a container's first process: clone3 into new namespaces, then, in the child, the
// containment pipeline in order (DESIGN.md "Container start"): cgroup, network namespace,
// rootfs overlay, /proc /sys /dev, user mounts, sysctls, masked and read-only paths, console,
// pivot_root, hostname, then the process steps of process.hpp and exec.
//
// Called by the shim, which is single-threaded, so the child may allocate and throw; its
// failures come back to the parent as (step: errno) text over an O_CLOEXEC pipe.
#include <sys/types.h>

#include <string>

#include "runtime/spec.hpp"
#include "sys/error.hpp"
#include "sys/fd.hpp"

namespace berth::runtime {

struct Stdio {
    int in = -1;   // -1: /dev/null inside the container
    int out = -1;  // required unless tty
    int err = -1;  // required unless tty
};

struct Started {
    pid_t pid = -1;
    sys::unique_fd pidfd;
    sys::unique_fd pty_master;  // when spec.process.tty
};

// The container's process could not start. exit_code as Docker reports it (125/126/127).
class StartError : public Error {
public:
    StartError(int exit_code, std::string message) : Error(Errc::failed, std::move(message)), exit_code_(exit_code) {}
    int exit_code() const noexcept { return exit_code_; }

private:
    int exit_code_;
};

struct StartContext {
    int netns_fd = -1;         // Spec::Net::own_fd
    std::string seccomp_bpf;   // compiled filter when spec.process.seccomp
    std::string init_binary;   // host path of berth-shim, bind-mounted as /sbin/docker-init for --init
};

// Returns once the container's process has exec'd; throws StartError otherwise (nothing of
// the attempt remains: the child is reaped, its namespaces and mounts die with it).
Started start_container(const Spec& spec, const Stdio& stdio, const StartContext& ctx);

// Brings up "lo" in the calling thread's network namespace.
void bring_up_loopback();

}  // namespace berth::runtime
