#pragma once
// The flags `berth run` and `berth create` share (Docker's), and their conversion into the
// engine's CreateRequest.
#include <optional>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "container/engine.hpp"

namespace berth::cli {

struct ContainerFlags {
    std::string name, hostname, domainname, user, workdir, entrypoint, network, ip, ip6, mac, platform;
    std::string ipc, pid, uts, userns, cgroup_parent;  // namespaces: checked by the engine
    bool interactive = false, tty = false, privileged = false, read_only = false, init = false, publish_all = false,
         no_healthcheck = false, rm = false, oom_kill_disable = false;
    std::vector<std::string> env, env_file, label, label_file, publish, expose, volume, mount, tmpfs, cap_add, cap_drop,
        dns, dns_search, dns_option, add_host, security_opt, sysctl, device, ulimit, network_alias, group_add, log_opt,
        volumes_from, attach;
    std::string restart = "no", memory, memory_swap, memory_reservation, cpus, cpuset_cpus, cpuset_mems, shm_size,
                stop_signal, log_driver = "json-file", pull = "missing";
    // Numbers as strings, parsed with Docker's messages (CLI11 would print its own).
    std::string pids_limit, cpu_shares, cpu_period, cpu_quota, blkio_weight, memory_swappiness, stop_timeout;
    std::string health_cmd, health_interval, health_timeout, health_start_period, health_start_interval, health_retries;
    CLI::Option* entrypoint_opt = nullptr;
    CLI::Option* workdir_opt = nullptr;
    CLI::Option* user_opt = nullptr;
};

// Adds the shared flags to a run/create subcommand.
void add_container_flags(CLI::App* cmd, ContainerFlags& f);

// image and command come from the positional arguments after the flags. Every flag value is
// validated here (Docker's messages); nothing is created.
container::CreateRequest make_create_request(const ContainerFlags& f, const std::string& image,
                                             const std::vector<std::string>& command);

// Prints the engine's warnings as Docker does ("WARNING: ...") on stderr.
void print_warnings(container::Engine& e);

}  // namespace berth::cli
