#pragma once
// Running another process in a running container (docker exec, health checks): join the
// container's cgroup and namespaces from its init pid, then start the process as a child of
// the caller, in the container's pid namespace, with the same final steps as the main process.
#include <sys/types.h>

#include <string>
#include <vector>

#include "runtime/container_init.hpp"
#include "runtime/spec.hpp"

namespace berth::runtime {

struct ExecTarget {
    pid_t init_pid = -1;                    // the container's PID 1, as the host sees it
    std::vector<std::string> cgroup_procs;  // files to write "0" into
    std::string seccomp_bpf;                // when process.seccomp
};

// Returns once the process exec'd; it is the caller's child (reap it through pidfd or waitpid).
// Throws StartError with Docker's exit code (126/127) when the exec itself fails.
Started exec_in_container(const ExecTarget& target, const Process& process, const Stdio& stdio);

}  // namespace berth::runtime
