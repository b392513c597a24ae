#pragma once
// The last steps of starting any process inside a container (its main process, an exec, a
// health check), run in a child that is already in the container's namespaces and root:
// rlimits, user, working directory, environment, no_new_privs, seccomp, capabilities, exec.
#include <string>
#include <vector>

#include "runtime/spec.hpp"

namespace berth::runtime {

// Why a child could not become the container's process: sent to the parent over a pipe and
// shown to the user as one sentence. exit_code follows Docker: 127 command not found,
// 126 not executable, 125 anything else berth could not set up.
struct ChildError {
    int exit_code;
    std::string message;
};

// Runs the final steps and execs; never returns. Throws ChildError.
// seccomp_bpf: the compiled filter (empty when process.seccomp is false).
[[noreturn]] void finish_and_exec(const Process& p, const std::string& seccomp_bpf);

// The environment the process gets: p.env plus Docker's defaults (PATH when missing, HOME
// from the user's passwd entry when missing). Pure.
std::vector<std::string> final_env(const std::vector<std::string>& env, const std::string& home);

// Docker's default PATH inside containers.
inline constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Child-to-parent error channel: the child writes "<code>\n<message>" and exits; the parent
// reads to EOF (the pipe is O_CLOEXEC, so a successful exec closes it with nothing written).
void write_child_error(int fd, const ChildError& e);
// Returns nullopt on EOF without data (exec succeeded).
bool read_child_error(int fd, ChildError& out);

}  // namespace berth::runtime
