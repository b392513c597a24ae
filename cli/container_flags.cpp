#include "cli/container_flags.hpp"

#include <cstdlib>
#include <iostream>

#include "container/parse.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"

namespace berth::cli {

void add_container_flags(CLI::App* c, ContainerFlags& f) {
    // Docker's run/create use -h for --hostname; help is --help only there.
    c->set_help_flag("--help", "Print this help message and exit");
    c->add_option("--name", f.name, "Assign a name to the container");
    c->add_flag("-i,--interactive", f.interactive, "Keep STDIN open even if not attached");
    c->add_flag("-t,--tty", f.tty, "Allocate a pseudo-TTY");
    c->add_option("-a,--attach", f.attach, "Attach to STDIN, STDOUT or STDERR");
    c->add_option("-e,--env", f.env, "Set environment variables")->allow_extra_args(false);
    c->add_option("--env-file", f.env_file, "Read in a file of environment variables")->allow_extra_args(false);
    c->add_option("-l,--label", f.label, "Set meta data on a container")->allow_extra_args(false);
    c->add_option("--label-file", f.label_file, "Read in a line delimited file of labels")->allow_extra_args(false);
    f.workdir_opt = c->add_option("-w,--workdir", f.workdir, "Working directory inside the container");
    f.user_opt = c->add_option("-u,--user", f.user, "Username or UID (format: <name|uid>[:<group|gid>])");
    f.entrypoint_opt = c->add_option("--entrypoint", f.entrypoint, "Overwrite the default ENTRYPOINT of the image");
    c->add_option("-h,--hostname", f.hostname, "Container host name");
    c->add_option("--domainname", f.domainname, "Container NIS domain name");
    c->add_option("-p,--publish", f.publish, "Publish a container's port(s) to the host")->allow_extra_args(false);
    c->add_flag("-P,--publish-all", f.publish_all, "Publish all exposed ports to random ports");
    c->add_option("--expose", f.expose, "Expose a port or a range of ports")->allow_extra_args(false);
    c->add_option("-v,--volume", f.volume, "Bind mount a volume")->allow_extra_args(false);
    c->add_option("--mount", f.mount, "Attach a filesystem mount to the container")->allow_extra_args(false);
    c->add_option("--tmpfs", f.tmpfs, "Mount a tmpfs directory")->allow_extra_args(false);
    c->add_option("--volumes-from", f.volumes_from, "Mount volumes from the specified container(s)")->allow_extra_args(false);
    c->add_option("--network,--net", f.network, "Connect a container to a network");
    c->add_option("--network-alias,--net-alias", f.network_alias, "Add network-scoped alias for the container")->allow_extra_args(false);
    c->add_option("--ip", f.ip, "IPv4 address (e.g., 172.30.100.104)");
    c->add_option("--ip6", f.ip6, "IPv6 address (e.g., 2001:db8::33)");
    c->add_option("--mac-address", f.mac, "Container MAC address (e.g., 92:d0:c6:0a:29:33)");
    c->add_option("--dns", f.dns, "Set custom DNS servers")->allow_extra_args(false);
    c->add_option("--dns-search", f.dns_search, "Set custom DNS search domains")->allow_extra_args(false);
    c->add_option("--dns-option,--dns-opt", f.dns_option, "Set DNS options")->allow_extra_args(false);
    c->add_option("--add-host", f.add_host, "Add a custom host-to-IP mapping (host:ip)")->allow_extra_args(false);
    c->add_option("--restart", f.restart, "Restart policy to apply when a container exits");
    c->add_flag("--rm", f.rm, "Automatically remove the container when it exits");
    c->add_option("-m,--memory", f.memory, "Memory limit");
    c->add_option("--memory-swap", f.memory_swap, "Swap limit equal to memory plus swap: '-1' to enable unlimited swap");
    c->add_option("--memory-reservation", f.memory_reservation, "Memory soft limit");
    c->add_option("--memory-swappiness", f.memory_swappiness, "Tune container memory swappiness (0 to 100)");
    c->add_flag("--oom-kill-disable", f.oom_kill_disable, "Disable OOM Killer");
    c->add_option("--cpus", f.cpus, "Number of CPUs");
    c->add_option("-c,--cpu-shares", f.cpu_shares, "CPU shares (relative weight)");
    c->add_option("--cpu-period", f.cpu_period, "Limit CPU CFS (Completely Fair Scheduler) period");
    c->add_option("--cpu-quota", f.cpu_quota, "Limit CPU CFS (Completely Fair Scheduler) quota");
    c->add_option("--cpuset-cpus", f.cpuset_cpus, "CPUs in which to allow execution (0-3, 0,1)");
    c->add_option("--cpuset-mems", f.cpuset_mems, "MEMs in which to allow execution (0-3, 0,1)");
    c->add_option("--pids-limit", f.pids_limit, "Tune container pids limit (set -1 for unlimited)");
    c->add_option("--blkio-weight", f.blkio_weight, "Block IO (relative weight), between 10 and 1000, or 0 to disable");
    c->add_option("--ulimit", f.ulimit, "Ulimit options")->allow_extra_args(false);
    c->add_flag("--init", f.init, "Run an init inside the container that forwards signals and reaps processes");
    c->add_flag("--read-only", f.read_only, "Mount the container's root filesystem as read only");
    c->add_option("--cap-add", f.cap_add, "Add Linux capabilities")->allow_extra_args(false);
    c->add_option("--cap-drop", f.cap_drop, "Drop Linux capabilities")->allow_extra_args(false);
    c->add_flag("--privileged", f.privileged, "Give extended privileges to this container");
    c->add_option("--security-opt", f.security_opt, "Security Options")->allow_extra_args(false);
    c->add_option("--stop-signal", f.stop_signal, "Signal to stop the container");
    c->add_option("--stop-timeout", f.stop_timeout, "Timeout (in seconds) to stop a container");
    c->add_option("--shm-size", f.shm_size, "Size of /dev/shm");
    c->add_option("--sysctl", f.sysctl, "Sysctl options")->allow_extra_args(false);
    c->add_option("--device", f.device, "Add a host device to the container")->allow_extra_args(false);
    c->add_option("--group-add", f.group_add, "Add additional groups to join")->allow_extra_args(false);
    c->add_option("--health-cmd", f.health_cmd, "Command to run to check health");
    c->add_option("--health-interval", f.health_interval, "Time between running the check (ms|s|m|h)");
    c->add_option("--health-timeout", f.health_timeout, "Maximum time to allow one check to run (ms|s|m|h)");
    c->add_option("--health-start-period", f.health_start_period, "Start period for the container to initialize");
    c->add_option("--health-start-interval", f.health_start_interval, "Time between running the check during the start period");
    c->add_option("--health-retries", f.health_retries, "Consecutive failures needed to report unhealthy");
    c->add_flag("--no-healthcheck", f.no_healthcheck, "Disable any container-specified HEALTHCHECK");
    c->add_option("--log-driver", f.log_driver, "Logging driver for the container");
    c->add_option("--log-opt", f.log_opt, "Log driver options")->allow_extra_args(false);
    c->add_option("--ipc", f.ipc, "IPC mode to use");
    c->add_option("--pid", f.pid, "PID namespace to use");
    c->add_option("--uts", f.uts, "UTS namespace to use");
    c->add_option("--userns", f.userns, "User namespace to use");
    c->add_option("--cgroup-parent", f.cgroup_parent, "Optional parent cgroup for the container");
    c->add_option("--platform", f.platform, "Set platform if server is multi-platform capable");
    c->add_option("--pull", f.pull, "Pull image before running (\"always\", \"missing\", \"never\")");
}

namespace {

[[noreturn]] void invalid(std::string msg) { throw Error(Errc::invalid, std::move(msg)); }

container::Lookup host_env() {
    return [](const std::string& k) -> std::optional<std::string> {
        if (const char* v = std::getenv(k.c_str())) return std::string(v);
        return std::nullopt;
    };
}

std::int64_t number(const std::string& flag, const std::string& v) {
    auto n = str::parse_int(v);
    if (!n) invalid("invalid argument \"" + v + "\" for \"" + flag + "\" flag: strconv.ParseInt: parsing \"" + v + "\": invalid syntax");
    return *n;
}

std::int64_t bytes(const std::string& flag, const std::string& v) {
    if (v == "-1") return -1;
    auto n = str::parse_bytes(v);
    if (!n) invalid("invalid argument \"" + v + "\" for \"" + flag + "\" flag: invalid size: '" + v + "'");
    return *n;
}

std::int64_t duration(const std::string& flag, const std::string& v) {
    auto d = str::parse_duration_ns(v);
    if (!d || *d < 0) invalid("invalid argument \"" + v + "\" for \"" + flag + "\" flag: time: invalid duration \"" + v + "\"");
    return *d;
}

// A bind source as Docker's CLI takes it: absolute, or "." / ".." / "~" relative (23.0+).
std::string absolute_source(const std::string& s) {
    if (s == "~" || s.rfind("~/", 0) == 0) {
        const char* home = std::getenv("HOME");
        return std::string(home ? home : "/root") + s.substr(1);
    }
    if (s == "." || s == ".." || s.rfind("./", 0) == 0 || s.rfind("../", 0) == 0)
        return std::filesystem::absolute(s).lexically_normal().string();
    return s;
}

}  // namespace

container::CreateRequest make_create_request(const ContainerFlags& f, const std::string& image,
                                             const std::vector<std::string>& command) {
    container::CreateRequest r;
    auto env = host_env();
    r.name = f.name;
    r.image = image;
    if (!command.empty()) r.cmd = command;
    if (f.entrypoint_opt && f.entrypoint_opt->count()) {
        // --entrypoint "" resets it; otherwise one executable (Docker does not split it).
        r.entrypoint = f.entrypoint.empty() ? std::vector<std::string>{} : std::vector<std::string>{f.entrypoint};
    }
    for (auto& file : f.env_file) {
        auto content = sys::read_file_if_exists(file);
        if (!content) invalid("open " + file + ": no such file or directory");
        for (auto& e : container::parse_env_file(*content, file, env)) r.env.push_back(e);
    }
    for (auto& e : f.env)
        if (auto v = container::parse_env_flag(e, env)) r.env.push_back(*v);
    if (f.user_opt && f.user_opt->count()) r.user = f.user;
    if (f.workdir_opt && f.workdir_opt->count()) r.working_dir = f.workdir;
    r.hostname = f.hostname;
    r.domainname = f.domainname;
    r.tty = f.tty;
    r.open_stdin = f.interactive;
    for (auto& file : f.label_file) {
        auto content = sys::read_file_if_exists(file);
        if (!content) invalid("open " + file + ": no such file or directory");
        for (auto& line : str::split(*content, '\n')) {
            auto t = std::string(str::trim(line));
            if (t.empty() || t[0] == '#') continue;
            r.labels.insert(container::parse_label(t));
        }
    }
    for (auto& l : f.label) {
        auto [k, v] = container::parse_label(l);
        r.labels[k] = v;
    }
    r.expose = f.expose;
    r.stop_signal = f.stop_signal;
    if (!f.stop_timeout.empty()) r.stop_timeout = static_cast<int>(number("--stop-timeout", f.stop_timeout));
    r.no_healthcheck = f.no_healthcheck;
    if (!f.health_cmd.empty() || !f.health_interval.empty() || !f.health_timeout.empty() || !f.health_start_period.empty() ||
        !f.health_start_interval.empty() || !f.health_retries.empty()) {
        if (f.no_healthcheck) invalid("--no-healthcheck conflicts with --health-* options");
        container::HealthConfig h;
        if (!f.health_cmd.empty()) h.test = {"CMD-SHELL", f.health_cmd};
        if (!f.health_interval.empty()) h.interval = duration("--health-interval", f.health_interval);
        if (!f.health_timeout.empty()) h.timeout = duration("--health-timeout", f.health_timeout);
        if (!f.health_start_period.empty()) h.start_period = duration("--health-start-period", f.health_start_period);
        if (!f.health_start_interval.empty()) h.start_interval = duration("--health-start-interval", f.health_start_interval);
        if (!f.health_retries.empty()) {
            h.retries = static_cast<int>(number("--health-retries", f.health_retries));
            if (h.retries < 0) invalid("--health-retries cannot be negative");
        }
        r.healthcheck = h;
    }

    auto& h = r.host;
    for (auto& v : f.volume) {
        std::string spec = v;
        // Resolve a relative or ~ bind source before parsing (Docker's CLI does the same).
        auto colon = spec.find(':');
        if (colon != std::string::npos) spec = absolute_source(spec.substr(0, colon)) + spec.substr(colon);
        auto m = container::parse_volume_flag(spec);
        h.binds.push_back(v);
        h.mounts.push_back(m);
    }
    for (auto& m : f.mount) h.mounts.push_back(container::parse_mount_flag(m));
    for (auto& t : f.tmpfs) {
        auto [path, opts] = str::split_once(t, ':');
        container::parse_tmpfs_flag(t);  // validates
        h.tmpfs[path] = opts.value_or("");
    }
    h.port_bindings = container::port_bindings_from_flags(f.publish);
    h.publish_all = f.publish_all;
    auto [policy, retries] = container::parse_restart(f.restart);
    h.restart_policy = policy;
    h.restart_max_retries = retries;
    h.auto_remove = f.rm;
    h.volumes_from = f.volumes_from;
    h.cap_add = f.cap_add;
    h.cap_drop = f.cap_drop;
    h.dns = f.dns;
    h.dns_search = f.dns_search;
    h.dns_options = f.dns_option;
    for (auto& a : f.add_host) {
        auto [name, ip] = container::parse_add_host(a);
        h.extra_hosts.push_back(name + ":" + ip);
    }
    h.security_opt = f.security_opt;
    h.group_add = f.group_add;
    h.privileged = f.privileged;
    h.readonly_rootfs = f.read_only;
    h.ipc_mode = f.ipc;
    h.pid_mode = f.pid;
    h.uts_mode = f.uts;
    h.userns_mode = f.userns;
    h.cgroup_parent = f.cgroup_parent;
    if (f.init) h.init = true;
    bool host_net = f.network == "host";
    for (auto& s : f.sysctl) {
        auto [k, v] = container::parse_sysctl(s, host_net);
        h.sysctls[k] = v;
    }
    if (f.log_driver != "json-file" && f.log_driver != "local" && f.log_driver != "none")
        invalid("logging driver \"" + f.log_driver + "\" is not supported (json-file, local, none)");
    h.log_type = f.log_driver;
    for (auto& o : f.log_opt) {
        auto [k, v] = str::split_once(o, '=');
        if (!v) invalid("invalid log opt format: " + o);
        if (k != "max-size" && k != "max-file" && k != "compress" && k != "labels" && k != "env" && k != "tag")
            invalid("unknown log opt '" + k + "' for json-file log driver");
        h.log_config[k] = *v;
    }
    if (!f.shm_size.empty()) {
        h.shm_size = bytes("--shm-size", f.shm_size);
        if (h.shm_size <= 0) invalid("invalid --shm-size: must be positive");
    }
    for (auto& u : f.ulimit) h.ulimits.push_back(container::parse_ulimit(u));
    for (auto& d : f.device) h.devices.push_back(container::parse_device(d));

    auto& res = h.resources;
    if (!f.memory.empty()) res.memory = bytes("--memory", f.memory);
    if (!f.memory_swap.empty()) res.memory_swap = bytes("--memory-swap", f.memory_swap);
    if (!f.memory_reservation.empty()) res.memory_reservation = bytes("--memory-reservation", f.memory_reservation);
    if (!f.memory_swappiness.empty()) res.memory_swappiness = number("--memory-swappiness", f.memory_swappiness);
    if (f.oom_kill_disable) res.oom_kill_disable = true;
    if (!f.cpus.empty()) {
        auto c = str::parse_double(f.cpus);
        if (!c || *c < 0) invalid("invalid argument \"" + f.cpus + "\" for \"--cpus\" flag: failed to parse " + f.cpus + " as a rational number");
        res.nano_cpus = static_cast<std::int64_t>(*c * 1e9);
    }
    if (!f.cpu_shares.empty()) res.cpu_shares = static_cast<std::uint64_t>(number("--cpu-shares", f.cpu_shares));
    if (!f.cpu_period.empty()) res.cpu_period = static_cast<std::uint64_t>(number("--cpu-period", f.cpu_period));
    if (!f.cpu_quota.empty()) res.cpu_quota = number("--cpu-quota", f.cpu_quota);
    if (!f.cpuset_cpus.empty()) res.cpuset_cpus = f.cpuset_cpus;
    if (!f.cpuset_mems.empty()) res.cpuset_mems = f.cpuset_mems;
    if (!f.pids_limit.empty()) res.pids_limit = number("--pids-limit", f.pids_limit);
    if (!f.blkio_weight.empty()) res.blkio_weight = static_cast<std::uint16_t>(number("--blkio-weight", f.blkio_weight));

    if (!f.network.empty()) {
        r.networks.push_back(f.network);
        container::EndpointConfig ep;
        ep.aliases = f.network_alias;
        ep.ipv4 = f.ip;
        ep.ipv6 = f.ip6;
        ep.mac = f.mac;
        r.endpoints[f.network] = ep;
    } else if (!f.network_alias.empty() || !f.ip.empty() || !f.ip6.empty()) {
        invalid(!f.ip.empty() || !f.ip6.empty() ? "user specified IP address is supported on user defined networks only"
                              : "network-scoped alias is supported only for containers in user defined networks");
    }
    r.mac_address = f.mac;
    return r;
}

void print_warnings(container::Engine& e) {
    for (auto& w : e.take_warnings()) std::cerr << "WARNING: " << w << "\n";
}

}  // namespace berth::cli
