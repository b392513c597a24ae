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
    std::vector<sys::unique_fd> proxy_fds;  // [::1] ports for the shim: fds 5, 6, … there
};

std::vector<int> container_caps(const HostConfig& hc);

// namespaces.cpp. At create: Docker's checks of --ipc/--pid/--uts/--userns/--cgroup-parent,
// resolving "container:<name>" to "container:<id>" (hostname: the one asked for).
void check_namespace_modes(const Records& records, HostConfig& hc, const std::string& hostname);
// The container's cgroup parent: --cgroup-parent without its outer slashes, or prefix.
std::string cgroup_parent_path(const std::string& prefix, const HostConfig& hc);
// At start: the spec's IPC/PID/UTS sharing and /dev/shm; a donor must be running (and, for
// IPC, shareable). --ipc shareable mounts its /dev/shm tmpfs at <rundir>/shm on the host.
void share_namespaces(const Records& records, const Container& c, const std::filesystem::path& rundir, runtime::Spec& s);
// Undoes share_namespaces' host mount (none: nothing to do).
void release_shm(const std::filesystem::path& rundir);
// volume-subpath: the host path of subpath inside the volume's directory (which must exist
// there, resolved without leaving it) and whether it is a directory.
std::pair<std::string, bool> volume_subpath(const std::string& volume_dir, const std::string& subpath);

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
// The data of a claimant's 'c': the directories Engine::cleanup deferred, one a line, which the
// shim deletes once the claimant has its answer.
std::string deferred_removals(const std::vector<std::filesystem::path>& trash);

}  // namespace berth::container
