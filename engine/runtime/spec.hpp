#pragma once
// The runtime spec: everything the shim needs to start (and restart) one container, computed
// and validated by the CLI beforehand, so the child between clone and exec makes no decisions
// (shared/STYLE.md, conventions 1 and 10). Written as JSON to <run>/containers/<id>/spec.json.
#include <sys/resource.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::runtime {

// A mount inside the container. Sources are host paths (already resolved and validated);
// targets are container paths, resolved inside the rootfs at mount time.
struct Mount {
    enum class Kind { bind, tmpfs };
    Kind kind = Kind::bind;
    std::string source;  // bind: host path
    std::string target;  // absolute path inside the container
    bool readonly = false;
    bool recursive = true;       // rbind (Docker's default for -v)
    std::string propagation;     // "", "private", "rprivate", "shared", "rshared", "slave", "rslave"
    std::string tmpfs_options;   // tmpfs: "size=...,mode=..." (mount data)
    unsigned long flags = 0;     // extra MS_NOSUID|MS_NODEV|MS_NOEXEC for tmpfs
    bool target_is_file = false; // bind of a regular file: create an empty file as the target
    // A named volume mounted over image content is first filled with it (Docker's copy-up):
    // when the target is a directory with entries in the rootfs and the volume (source) is
    // still empty, the child copies the image's tree into it before binding it over.
    bool copy_up = false;
};

struct Rlimit {
    int resource = 0;
    std::uint64_t soft = 0;
    std::uint64_t hard = 0;
};

struct Device {
    std::string host_path;       // e.g. /dev/fuse
    std::string container_path;  // e.g. /dev/fuse
    char type = 'c';             // 'c' or 'b'
    unsigned major = 0, minor = 0;
    unsigned mode = 0666;
};

// A port published on the host's IPv6 loopback, which kernel NAT cannot carry (see
// network/nat.cpp): the shim accepts on `fd` (bound and, for tcp, listening; handed over by
// the CLI at this number) and relays to target:port (engine/shim/proxy.hpp).
struct LoopbackProxy {
    int fd = -1;
    std::string proto;   // tcp or udp
    std::string target;  // the container's address
    int port = 0;        // the container's port
};

// The process to run: the container's main process, an exec, or a health check.
struct Process {
    std::vector<std::string> args;  // argv; args[0] is looked up in PATH inside the container
    std::vector<std::string> env;   // KEY=VALUE
    std::string cwd = "/";
    std::string user;               // "", "name", "uid", "uid:gid", "name:group"
    std::vector<std::string> additional_groups;
    bool tty = false;
    bool stdin_open = false;
    bool no_new_privileges = false;
    std::vector<int> caps;          // capability numbers kept (bounding = permitted = effective for root)
    bool seccomp = false;           // apply <run>/containers/<id>/seccomp.bpf before exec
    std::vector<Rlimit> rlimits;
};

struct Healthcheck {
    std::vector<std::string> test;  // Docker form: ["CMD", ...] or ["CMD-SHELL", "..."]
    std::int64_t interval_ns = 30'000'000'000LL;
    std::int64_t timeout_ns = 30'000'000'000LL;
    std::int64_t start_period_ns = 0;
    std::int64_t start_interval_ns = 5'000'000'000LL;
    int retries = 3;
};

struct RestartPolicy {
    std::string name = "no";  // no | always | on-failure | unless-stopped
    int max_retries = 0;      // on-failure:N
};

struct Spec {
    std::string id;
    std::string name;
    std::string hostname;
    std::string domainname;

    // Root filesystem: overlay of lowerdirs (top-most first) + upper/work, mounted at rootfs
    // (a directory on the host, mounted only inside the container's mount namespace).
    std::vector<std::string> lowerdirs;
    std::string upperdir;
    std::string workdir;
    std::string rootfs;
    bool readonly_rootfs = false;

    std::vector<Mount> mounts;  // user mounts, then /etc/hosts, /etc/hostname, /etc/resolv.conf
    std::vector<Device> devices;
    std::vector<std::string> masked_paths;
    std::vector<std::string> readonly_paths;
    bool privileged = false;
    std::int64_t shm_size = 64 * 1024 * 1024;
    std::map<std::string, std::string> sysctls;

    // Namespaces. The network namespace is made by the CLI and handed to the shim as fd 4
    // (netns_fd = true); "none" gets a fresh empty one; "host" shares the host's.
    enum class Net { own_fd, none, host, container_path };
    Net net = Net::none;
    std::string net_path;  // Net::container_path: /proc/<pid>/ns/net of another container
    // IPC and PID (docker run --ipc, --pid): a new namespace, the host's, or another container's
    // joined through its /proc/<pid>/ns/<type> path. UTS: new, or the host's (--uts host: the
    // hostname is then left alone).
    enum class Share { own, host, path };
    Share ipc = Share::own, pid = Share::own;
    std::string ipc_path, pid_path;
    bool uts_host = false;
    // /dev/shm: a fresh tmpfs of shm_size (shm_source empty), a bind of shm_source (--ipc
    // shareable: the tmpfs the engine mounted for this container on the host; host: /dev/shm;
    // container:X: X's), or nothing at all (--ipc none).
    std::string shm_source;
    bool no_shm = false;

    std::vector<std::string> cgroup_procs;  // files the child writes "0" into to join its cgroup
    std::string cgroup_parent;              // store::Paths::prefix, for the shim's OOM and freezer use
    std::string cgroup_name;                // the container ID
    std::string run_id;                     // this start's id; written to state, passed to cleanup

    Process process;
    bool init = false;  // run berth-shim's tini-like init as PID 1 (docker run --init)

    // Supervision, done by the shim.
    std::string log_path;
    std::int64_t log_max_size = -1;  // bytes, -1 unlimited
    int log_max_file = 1;
    RestartPolicy restart;
    std::optional<Healthcheck> health;
    int stop_signal = 15;
    int stop_timeout = 10;
    std::string state_path;        // <root>/containers/<id>/state.json (written by the shim)
    std::string socket_path;       // <run>/containers/<id>/shim.sock
    std::string lock_path;         // <run>/containers/<id>/shim.lock, held by the shim while alive
    std::string seccomp_path;      // compiled BPF program, if process.seccomp
    std::vector<std::string> exit_command;  // run when the container stops for good (cleanup)
    std::vector<LoopbackProxy> proxies;     // [::1] published ports
    bool auto_remove = false;  // --rm: the exit record is read once by the cleanup, then removed
    // The root whose event log the shim writes (start, die, kill, ...) and the container's
    // Actor.Attributes for those events (container/events.hpp).
    std::string event_root;
    std::map<std::string, std::string> event_attrs;
};

std::string to_json(const Spec&);
Spec spec_from_json(const std::string&);

std::string process_to_json(const Process&);
Process process_from_json(const std::string&);

}  // namespace berth::runtime
