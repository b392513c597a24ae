#pragma once
// The typed compose model: what loading produces (PARSING.md) and what the planner consumes.
// Field names follow the compose specification; values are already resolved and checked:
// paths are absolute, sizes are bytes, durations nanoseconds, short syntaxes expanded, defaults
// applied. An unset optional means "not set in the file" (the engine's or image's default).
//
// Attributes of the compose specification that berth does not model one by one (blkio_config,
// develop, gpus, ...) are kept in `extra` as canonical JSON text, so `compose config` prints them
// and the config hash covers them; x- extensions are kept in `extensions` the same way.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace berth::compose {

using StringMap = std::map<std::string, std::string>;
using JsonMap = std::map<std::string, std::string>;  // key -> canonical JSON text

// Label keys Docker Compose puts on what it creates (DESIGN.md "State").
namespace labels {
inline constexpr const char* project = "com.docker.compose.project";
inline constexpr const char* service = "com.docker.compose.service";
inline constexpr const char* container_number = "com.docker.compose.container-number";
inline constexpr const char* config_hash = "com.docker.compose.config-hash";
inline constexpr const char* oneoff = "com.docker.compose.oneoff";
inline constexpr const char* version = "com.docker.compose.version";
inline constexpr const char* working_dir = "com.docker.compose.project.working_dir";
inline constexpr const char* config_files = "com.docker.compose.project.config_files";
inline constexpr const char* environment_file = "com.docker.compose.project.environment_file";
inline constexpr const char* depends_on = "com.docker.compose.depends_on";
inline constexpr const char* image = "com.docker.compose.image";
inline constexpr const char* network = "com.docker.compose.network";
inline constexpr const char* volume = "com.docker.compose.volume";
}  // namespace labels

struct Build {
    std::string context;  // absolute directory, or a URL / git reference
    std::string dockerfile;
    std::string dockerfile_inline;
    std::map<std::string, std::optional<std::string>> args;  // nullopt: declared without a value and unset
    std::string target;
    StringMap labels;
    std::optional<bool> no_cache;
    std::string network;
    std::optional<bool> pull;
    std::vector<std::string> cache_from;
    std::vector<std::string> cache_to;
    std::vector<std::string> tags;
    std::vector<std::string> platforms;
    StringMap additional_contexts;
    std::vector<std::pair<std::string, std::string>> extra_hosts;  // (host, ip)
    std::optional<std::int64_t> shm_size;
    std::optional<bool> privileged;
    JsonMap extra;  // ssh, secrets, ulimits, isolation, entitlements, x-...
};

struct Port {
    std::string name;
    std::string mode = "ingress";
    std::string host_ip;
    std::uint32_t target = 0;
    std::string published;  // "" not published, "8080", or a range "8000-8010"
    std::string protocol = "tcp";
    std::string app_protocol;
};

struct Mount {
    std::string type;  // bind, volume, tmpfs, image, npipe, cluster
    std::string source;
    std::string target;
    bool read_only = false;
    std::string consistency;
    struct Bind {
        std::string propagation;
        bool create_host_path = true;
        std::string selinux;  // "z" or "Z"
        std::string recursive;
    };
    std::optional<Bind> bind;
    struct Volume {
        bool nocopy = false;
        std::string subpath;
        StringMap labels;
    };
    std::optional<Volume> volume;
    struct Tmpfs {
        std::optional<std::int64_t> size;  // bytes
        std::optional<std::uint32_t> mode;
    };
    std::optional<Tmpfs> tmpfs;
    std::string image_subpath;  // type image
};

struct ServiceNetwork {
    std::vector<std::string> aliases;
    std::string ipv4_address;
    std::string ipv6_address;
    std::string mac_address;
    std::string interface_name;
    std::vector<std::string> link_local_ips;
    int priority = 0;
    int gw_priority = 0;
    StringMap driver_opts;
};

struct Dependency {
    std::string condition = "service_started";  // service_started | service_healthy | service_completed_successfully
    bool restart = false;
    bool required = true;
};

struct Healthcheck {
    std::vector<std::string> test;  // [NONE] | [CMD, ...] | [CMD-SHELL, cmd]
    std::optional<std::int64_t> interval;  // nanoseconds
    std::optional<std::int64_t> timeout;
    std::optional<std::int64_t> start_period;
    std::optional<std::int64_t> start_interval;
    std::optional<std::uint64_t> retries;
    bool disable = false;
};

struct Resource {
    std::optional<double> cpus;
    std::optional<std::int64_t> memory;  // bytes
    std::optional<std::int64_t> pids;
    JsonMap extra;  // devices, generic_resources
};

struct RestartPolicy {
    std::string condition;  // none | on-failure | any
    std::optional<std::int64_t> delay;  // nanoseconds
    std::optional<std::uint64_t> max_attempts;
    std::optional<std::int64_t> window;
};

struct Deploy {
    std::string mode;
    std::optional<int> replicas;
    StringMap labels;
    std::optional<Resource> limits;
    std::optional<Resource> reservations;
    std::optional<RestartPolicy> restart_policy;
    JsonMap extra;  // update_config, rollback_config, placement, endpoint_mode
};

struct Ulimit {
    std::optional<std::int64_t> single;  // `nofile: 1024` sets both
    std::int64_t soft = 0;
    std::int64_t hard = 0;
};

struct Logging {
    std::string driver;
    StringMap options;
};

struct Hook {
    std::vector<std::string> command;
    std::string user;
    bool privileged = false;
    std::string working_dir;
    StringMap environment;
};

// A service's use of a top-level config or secret.
struct FileRef {
    std::string source;
    std::string target;  // defaults: /<source> for configs, /run/secrets/<source> for secrets
    std::string uid;
    std::string gid;
    std::optional<std::uint32_t> mode;
};

struct EnvFile {
    std::string path;  // absolute
    bool required = true;
    std::string format;  // "" or "raw"
};

struct Device {
    std::string source;
    std::string target;
    std::string permissions;  // rwm
};

struct Service {
    std::string name;
    std::vector<std::string> profiles;

    std::string image;
    std::optional<Build> build;
    std::string pull_policy;  // always | never | missing | build | daily | weekly | every_<dur>
    std::string platform;

    // nullopt: the image's default; an empty list clears it. A string in the file is split with
    // shell rules, never wrapped in `sh -c` (as Compose).
    std::optional<std::vector<std::string>> command;
    std::optional<std::vector<std::string>> entrypoint;
    StringMap environment;  // env_file values, then `environment` (resolved; unset bare keys dropped)
    std::vector<EnvFile> env_file;
    std::string working_dir;
    std::string user;
    std::vector<std::string> group_add;

    std::vector<Port> ports;
    std::vector<std::string> expose;
    std::vector<Mount> volumes;
    std::vector<std::string> volumes_from;
    std::vector<std::string> tmpfs;
    std::map<std::string, std::optional<ServiceNetwork>> networks;  // nullopt: attached with no options
    std::string network_mode;  // host | none | bridge | service:X | container:X
    std::string hostname;
    std::string domainname;
    std::string mac_address;
    std::vector<std::string> dns;
    std::vector<std::string> dns_search;
    std::vector<std::string> dns_opt;
    std::vector<std::pair<std::string, std::string>> extra_hosts;  // (host, ip), in file order
    std::vector<std::string> links;
    std::vector<std::string> external_links;

    std::map<std::string, Dependency> depends_on;
    std::optional<Healthcheck> healthcheck;
    std::string restart;  // no | always | on-failure[:N] | unless-stopped
    std::optional<Deploy> deploy;
    std::optional<int> scale;

    std::optional<std::int64_t> mem_limit;  // bytes
    std::optional<std::int64_t> memswap_limit;
    std::optional<std::int64_t> mem_reservation;
    std::optional<double> cpus;
    std::optional<std::int64_t> cpu_shares;
    std::optional<std::int64_t> cpu_quota;
    std::optional<std::int64_t> cpu_period;
    std::string cpuset;
    std::optional<std::int64_t> pids_limit;
    std::map<std::string, Ulimit> ulimits;
    std::optional<std::int64_t> shm_size;

    StringMap labels;  // label_file values, then `labels`
    std::vector<std::string> label_file;  // absolute
    StringMap annotations;
    std::optional<bool> init;
    std::string stop_signal;
    std::optional<std::int64_t> stop_grace_period;  // nanoseconds
    bool tty = false;
    bool stdin_open = false;
    bool privileged = false;
    bool read_only = false;
    std::vector<std::string> cap_add;
    std::vector<std::string> cap_drop;
    std::vector<std::string> security_opt;
    std::vector<Device> devices;
    std::vector<std::string> device_cgroup_rules;
    StringMap sysctls;
    std::string container_name;
    std::optional<Logging> logging;
    std::vector<Hook> post_start;
    std::vector<Hook> pre_stop;
    std::vector<FileRef> configs;
    std::vector<FileRef> secrets;
    std::string ipc;
    std::string pid;
    std::string uts;
    std::string userns_mode;
    std::string cgroup_parent;
    std::string runtime;

    JsonMap extra;       // accepted attributes berth does not model
    JsonMap extensions;  // x-*

    // Number of containers: scale, else deploy.replicas, else 1.
    int replicas() const;
    // Services this one needs started first: depends_on plus the implicit ones
    // (network_mode/ipc/pid service:X, volumes_from X, links) — already folded into depends_on
    // by the loader, so this is depends_on's keys.
    std::vector<std::string> dependencies() const;
};

struct IpamPool {
    std::string subnet;
    std::string ip_range;
    std::string gateway;
    StringMap aux_addresses;
};

struct Network {
    std::string name;  // resolved: `name:`, the key for external, else <project>_<key>
    std::string driver;
    StringMap driver_opts;
    std::string ipam_driver;
    std::vector<IpamPool> ipam_config;
    StringMap ipam_options;
    bool external = false;
    bool internal = false;
    bool attachable = false;
    std::optional<bool> enable_ipv4;
    std::optional<bool> enable_ipv6;
    StringMap labels;
    JsonMap extensions;
};

struct Volume {
    std::string name;  // resolved like Network::name
    std::string driver;
    StringMap driver_opts;
    bool external = false;
    StringMap labels;
    JsonMap extensions;
};

// A top-level config or secret.
struct FileObject {
    std::string name;  // resolved like Network::name
    std::string file;  // absolute
    std::string environment;
    std::string content;
    bool external = false;
    StringMap labels;
    std::string driver;
    StringMap driver_opts;
    std::string template_driver;
    JsonMap extensions;
};

struct Project {
    std::string name;
    std::string working_dir;                // the project directory, absolute
    std::vector<std::string> config_files;  // absolute ("-" for stdin)
    std::map<std::string, std::string> environment;  // the interpolation environment (OS + .env)
    std::vector<std::string> env_files;     // the .env / --env-file files read, absolute
    std::vector<std::string> profiles;      // active profiles
    std::map<std::string, Service> services;
    std::vector<std::string> disabled_services;  // left out by profiles
    std::map<std::string, Network> networks;
    std::map<std::string, Volume> volumes;
    std::map<std::string, FileObject> configs;
    std::map<std::string, FileObject> secrets;
    JsonMap extensions;

    // Docker Compose's names (DESIGN.md "State").
    std::string container_name(const Service& svc, int number) const;  // container_name or <project>-<svc>-<n>
    std::string container_name(const std::string& service, int number) const;
    std::string image_name(const Service& svc) const;  // image, else <project>-<svc>
    std::string network_name(const std::string& key) const;  // resolved name of a network key
    std::string volume_name(const std::string& key) const;

    const Service* find_service(const std::string& name) const;
};

// Canonical output as `docker compose config` prints it: long syntax, sorted keys, `name:` first,
// durations as Go prints them, sizes in bytes, absolute paths.
std::string to_yaml(const Project& project);
std::string to_json(const Project& project);
// One service in canonical JSON (sorted keys, compact).
std::string service_to_json(const Service& svc);

// sha256 hex of the service's canonical JSON with build, pull_policy, scale, deploy.replicas,
// depends_on and profiles blanked, so that scaling or editing dependencies recreates nothing
// (docker/compose pkg/compose/hash.go). Goes into the com.docker.compose.config-hash label.
std::string service_config_hash(const Service& svc);

}  // namespace berth::compose
