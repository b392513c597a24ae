#pragma once
// A container's record, <root>/containers/<id>/config.json: Docker's Config and HostConfig with
// Docker's field names, so `inspect` is a view of it and users' jq scripts keep working.
// What exists only while it runs (addresses, published ports) lives in the run dir
// (<run>/containers/<id>/network.json) and is gone after a reboot, as Docker's is after a stop.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cgroups/cgroups.hpp"

namespace berth::container {

struct PortBinding {
    std::string host_ip;    // "" = all addresses
    std::string host_port;  // "" = ephemeral
    bool operator==(const PortBinding&) const = default;
};

// One mount as resolved at create time.
struct MountSpec {
    std::string type;    // "bind" | "volume" | "tmpfs"
    std::string source;  // bind: absolute host path; volume: volume name ("" until created)
    std::string target;  // absolute path in the container
    bool readonly = false;
    std::string propagation;        // bind: "" (rprivate) | private | rprivate | shared | rshared | slave | rslave
    bool nocopy = false;            // volume: do not fill a new volume from the image
    bool create_host_path = false;  // bind from -v: a missing host path is created (Docker's legacy)
    bool anonymous = false;         // volume made for this container (-v /path, image VOLUME)
    std::string subpath;            // volume: mount only this path inside it (volume-subpath)
    std::int64_t tmpfs_size = 0;    // bytes, 0 = kernel default (half of RAM)
    unsigned tmpfs_mode = 0;        // 0 = 1777
    std::string tmpfs_options;      // --tmpfs raw "size=64m,mode=755,noexec"
    bool operator==(const MountSpec&) const = default;
};

struct Ulimit {
    std::string name;  // nofile, nproc, core, ...
    std::int64_t soft = 0, hard = 0;
    bool operator==(const Ulimit&) const = default;
};

struct DeviceMapping {
    std::string path_on_host, path_in_container, permissions = "rwm";
    bool operator==(const DeviceMapping&) const = default;
};

struct HealthConfig {
    std::vector<std::string> test;  // ["CMD", ...], ["CMD-SHELL", "..."], ["NONE"]
    std::int64_t interval = 0, timeout = 0, start_period = 0, start_interval = 0;  // ns, 0 = default
    int retries = 0;                                                              // 0 = default (3)
    bool operator==(const HealthConfig&) const = default;
};

// What the user asked for on one network.
struct EndpointConfig {
    std::vector<std::string> aliases;
    std::string ipv4;
    std::string mac;
    std::string ipv6;  // --ip6, on a dual-stack network
    bool operator==(const EndpointConfig&) const = default;
};

struct Config {
    std::string hostname, domainname, user;
    bool attach_stdin = false, attach_stdout = false, attach_stderr = false;
    bool tty = false, open_stdin = false, stdin_once = false;
    std::vector<std::string> exposed_ports;  // "80/tcp", sorted
    std::vector<std::string> env;
    std::vector<std::string> cmd;
    std::vector<std::string> entrypoint;
    std::optional<HealthConfig> healthcheck;
    std::string image;  // as the user named it
    std::vector<std::string> volumes;  // anonymous volume targets (image VOLUME, -v /path), sorted
    std::string working_dir;
    std::map<std::string, std::string> labels;
    std::string stop_signal;
    std::optional<int> stop_timeout;
};

struct HostConfig {
    std::vector<std::string> binds;  // -v as given
    std::string network_mode = "bridge";
    std::map<std::string, std::vector<PortBinding>> port_bindings;  // "80/tcp" -> bindings
    bool publish_all = false;
    std::string restart_policy = "no";  // no | always | on-failure | unless-stopped
    int restart_max_retries = 0;
    bool auto_remove = false;
    std::vector<std::string> volumes_from, cap_add, cap_drop, dns, dns_search, dns_options, extra_hosts,
        security_opt, group_add;
    bool privileged = false, readonly_rootfs = false;
    std::optional<bool> init;
    std::map<std::string, std::string> tmpfs, sysctls;
    std::string log_type = "json-file";
    std::map<std::string, std::string> log_config;  // max-size, max-file
    std::int64_t shm_size = 64 * 1024 * 1024;
    // Namespaces (docker run --ipc, --pid, --uts, --userns): "container:<id>" once created.
    std::string ipc_mode = "private";  // private | shareable | host | none | container:<id>
    std::string pid_mode;              // "" (own) | host | container:<id>
    std::string uts_mode;              // "" (own) | host
    std::string userns_mode;           // "" | host: berth does no user namespace remapping
    std::string cgroup_parent;         // --cgroup-parent as given; "" = store::Paths::prefix
    cgroups::Resources resources;
    std::vector<Ulimit> ulimits;
    std::vector<DeviceMapping> devices;
    std::vector<MountSpec> mounts;  // every mount, resolved (binds, volumes, tmpfs)
};

struct Container {
    std::string id;    // 64 hex
    std::string name;  // without Docker's leading "/"
    std::int64_t created = 0;  // ns since the epoch
    std::string image_id;      // "sha256:..."
    std::string path;          // the command's executable (entrypoint[0] or cmd[0])
    std::vector<std::string> args;
    Config config;
    HostConfig host_config;
    std::map<std::string, EndpointConfig> networks;  // network name -> what was asked for it
    std::string mac_address;

    std::vector<std::string> command() const;  // path + args
    std::string short_id() const { return id.substr(0, 12); }
};

std::string to_json(const Container&);  // Docker's key order
Container container_from_json(const std::string&);

// One attachment while the container runs (Docker's NetworkSettings.Networks.<name>).
struct EndpointState {
    std::string network_id, endpoint_id, ip, gateway, mac, ifname, host_veth;
    int prefix = 0;
    std::vector<std::string> aliases;
    std::string ip6, gateway6;  // dual-stack networks only
    int prefix6 = 0;
};

struct PublishedPort {
    std::string container_port;  // "80/tcp"
    std::string host_ip;         // "0.0.0.0" or the given address
    std::string host_port;
};

struct NetworkState {
    std::string sandbox_key;                         // /proc/<pid>/ns/net or ""
    std::map<std::string, EndpointState> networks;   // by network name
    std::vector<PublishedPort> ports;
};

std::string network_state_to_json(const NetworkState&);
NetworkState network_state_from_json(const std::string&);

}  // namespace berth::container
