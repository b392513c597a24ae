// A service's container as the engine's CreateRequest (docker/compose pkg/compose/create.go):
// the service's attributes mapped onto Docker's Config/HostConfig, Compose's labels, and one
// endpoint per network with the service name as a DNS alias. Pure.
#include <algorithm>

#include "compose/plan.hpp"
#include "container/parse.hpp"
#include "sys/error.hpp"
#include "sys/strings.hpp"

namespace berth::compose {
namespace {

std::string service_ref(const std::string& v) {  // "service:x" -> "x"
    return v.rfind("service:", 0) == 0 ? v.substr(8) : "";
}

// Networks in Compose's order: priority descending, then name.
std::vector<std::pair<std::string, const std::optional<ServiceNetwork>*>> ordered_networks(const Service& svc) {
    std::vector<std::pair<std::string, const std::optional<ServiceNetwork>*>> out;
    for (auto& [k, v] : svc.networks) out.emplace_back(k, &v);
    std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) {
        int pa = *a.second ? (*a.second)->priority : 0, pb = *b.second ? (*b.second)->priority : 0;
        return pa > pb;
    });
    return out;
}

}  // namespace

container::CreateRequest container_request(const Project& project, const Service& svc, int number,
                                           const UpOptions& opts, const std::string& image_id,
                                           std::vector<std::string>& problems) {
    auto problem = [&](const std::string& what) { problems.push_back("service \"" + svc.name + "\": " + what); };
    container::CreateRequest r;
    r.name = project.container_name(svc, number);
    r.image = project.image_name(svc);
    r.cmd = svc.command;
    r.entrypoint = svc.entrypoint;
    for (auto& [k, v] : svc.environment) r.env.push_back(k + "=" + v);
    if (!svc.user.empty()) r.user = svc.user;
    if (!svc.working_dir.empty()) r.working_dir = svc.working_dir;
    r.hostname = svc.hostname;
    r.domainname = svc.domainname;
    r.tty = svc.tty;
    r.open_stdin = svc.stdin_open;
    r.expose = svc.expose;
    r.stop_signal = svc.stop_signal;
    if (svc.stop_grace_period) r.stop_timeout = static_cast<int>(*svc.stop_grace_period / 1'000'000'000);
    r.mac_address = svc.mac_address;

    // Labels: the service's, then Compose's (which win).
    r.labels = svc.labels;
    r.labels[labels::project] = project.name;
    r.labels[labels::service] = svc.name;
    r.labels[labels::container_number] = std::to_string(number);
    r.labels[labels::config_hash] = service_config_hash(svc);
    r.labels[labels::oneoff] = "False";
    r.labels[labels::working_dir] = project.working_dir;
    r.labels[labels::config_files] = str::join(project.config_files, ",");
    if (!project.env_files.empty()) r.labels[labels::environment_file] = str::join(project.env_files, ",");
    if (!opts.version.empty()) r.labels[labels::version] = opts.version;
    std::vector<std::string> deps;
    for (auto& [d, dep] : svc.depends_on) deps.push_back(d + ":" + dep.condition + ":" + (dep.restart ? "true" : "false"));
    r.labels[labels::depends_on] = str::join(deps, ",");
    if (!image_id.empty()) r.labels[labels::image] = image_id;

    if (svc.healthcheck) {
        auto& h = *svc.healthcheck;
        if (h.disable || (!h.test.empty() && h.test[0] == "NONE")) {
            r.no_healthcheck = true;
        } else {
            container::HealthConfig hc;
            hc.test = h.test;
            hc.interval = h.interval.value_or(0);
            hc.timeout = h.timeout.value_or(0);
            hc.start_period = h.start_period.value_or(0);
            hc.start_interval = h.start_interval.value_or(0);
            hc.retries = static_cast<int>(h.retries.value_or(0));
            r.healthcheck = hc;
        }
    }

    auto& hc = r.host;
    // Ports as `-p` would give them.
    std::vector<std::string> publish;
    for (auto& p : svc.ports) {
        std::string host = p.host_ip.find(':') != std::string::npos ? "[" + p.host_ip + "]" : p.host_ip;
        std::string spec;
        if (!p.host_ip.empty()) spec = host + ":" + p.published + ":";
        else if (!p.published.empty()) spec = p.published + ":";
        spec += std::to_string(p.target) + "/" + p.protocol;
        publish.push_back(spec);
    }
    try {
        hc.port_bindings = container::port_bindings_from_flags(publish);
    } catch (const std::exception& e) {
        problem(std::string("ports: ") + e.what());
    }

    for (auto& m : svc.volumes) {
        container::MountSpec ms;
        ms.target = m.target;
        ms.readonly = m.read_only;
        if (m.type == "bind") {
            ms.type = "bind";
            ms.source = m.source;
            if (m.bind) {
                ms.propagation = m.bind->propagation;
                ms.create_host_path = m.bind->create_host_path;
            }
        } else if (m.type == "volume") {
            ms.type = "volume";
            if (m.source.empty()) {
                ms.anonymous = true;
            } else {
                ms.source = project.volumes.count(m.source) ? project.volume_name(m.source) : m.source;
            }
            if (m.volume) {
                ms.nocopy = m.volume->nocopy;
                ms.subpath = m.volume->subpath;
                if (!ms.subpath.empty()) {
                    try {
                        container::check_subpath(ms.subpath);
                    } catch (const std::exception& e) {
                        problem(std::string("volumes: ") + e.what());
                    }
                }
            }
        } else if (m.type == "tmpfs") {
            ms.type = "tmpfs";
            if (m.tmpfs) {
                ms.tmpfs_size = m.tmpfs->size.value_or(0);
                ms.tmpfs_mode = m.tmpfs->mode.value_or(0);
            }
        } else {
            problem("volumes: mounts of type \"" + m.type + "\" are not supported");
            continue;
        }
        hc.mounts.push_back(ms);
    }
    for (auto& t : svc.tmpfs) {
        auto [path, o] = str::split_once(t, ':');
        hc.tmpfs[path] = o.value_or("");
    }
    // Configs and secrets from files: read-only binds where Compose mounts them (the others are
    // copied in by the executor once the container exists).
    auto file_refs = [&](const std::vector<FileRef>& refs, const std::map<std::string, FileObject>& objs, const char* what,
                         const std::string& dir) {
        for (auto& ref : refs) {
            auto it = objs.find(ref.source);
            if (it == objs.end()) continue;
            if (it->second.external) {
                problem(std::string(what) + " \"" + ref.source + "\": external " + what + "s need a swarm, which berth is not");
                continue;
            }
            if (it->second.file.empty()) continue;  // content or environment: copied in after create (executor)
            container::MountSpec ms;
            ms.type = "bind";
            ms.source = it->second.file;
            ms.target = !ref.target.empty() ? (ref.target[0] == '/' ? ref.target : dir + ref.target) : dir + ref.source;
            ms.readonly = true;
            hc.mounts.push_back(ms);
        }
    };
    file_refs(svc.configs, project.configs, "config", "/");
    file_refs(svc.secrets, project.secrets, "secret", "/run/secrets/");

    // volumes_from: "svc[:mode]", "service:svc[:mode]", "container:name[:mode]".
    for (auto& v : svc.volumes_from) {
        bool is_container = v.rfind("container:", 0) == 0;
        std::string rest = is_container ? v.substr(10) : v.rfind("service:", 0) == 0 ? v.substr(8) : v;
        auto [name, mode] = str::split_once(rest, ':');
        std::string suffix = mode ? ":" + *mode : "";
        if (!is_container && project.services.count(name)) hc.volumes_from.push_back(project.container_name(name, 1) + suffix);
        else hc.volumes_from.push_back(name + suffix);
    }

    std::string restart = svc.restart;
    if (svc.deploy && svc.deploy->restart_policy) {
        auto& rp = *svc.deploy->restart_policy;
        restart = rp.condition == "any" ? "always" : rp.condition == "none" ? "no" : rp.condition;
        if (rp.condition == "on-failure" && rp.max_attempts) restart += ":" + std::to_string(*rp.max_attempts);
    }
    if (!restart.empty()) {
        try {
            auto [policy, retries] = container::parse_restart(restart);
            hc.restart_policy = policy;
            hc.restart_max_retries = retries;
        } catch (const std::exception& e) {
            problem(std::string("restart: ") + e.what());
        }
    }
    hc.cap_add = svc.cap_add;
    hc.cap_drop = svc.cap_drop;
    hc.dns = svc.dns;
    hc.dns_search = svc.dns_search;
    hc.dns_options = svc.dns_opt;
    for (auto& [h, ip] : svc.extra_hosts) hc.extra_hosts.push_back(h + ":" + ip);
    hc.security_opt = svc.security_opt;
    hc.group_add = svc.group_add;
    hc.privileged = svc.privileged;
    hc.readonly_rootfs = svc.read_only;
    hc.init = svc.init;
    hc.sysctls = svc.sysctls;
    if (svc.shm_size) hc.shm_size = *svc.shm_size;
    if (svc.logging) {
        if (!svc.logging->driver.empty()) hc.log_type = svc.logging->driver;
        hc.log_config = svc.logging->options;
        if (hc.log_type != "json-file" && hc.log_type != "local" && hc.log_type != "none")
            problem("logging driver \"" + hc.log_type + "\" is not supported (json-file, local, none)");
    }
    for (auto& [name, u] : svc.ulimits) {
        container::Ulimit cu;
        cu.name = name;
        cu.soft = u.single ? *u.single : u.soft;
        cu.hard = u.single ? *u.single : u.hard;
        hc.ulimits.push_back(cu);
    }
    for (auto& d : svc.devices) {
        container::DeviceMapping dm;
        dm.path_on_host = d.source;
        dm.path_in_container = d.target.empty() ? d.source : d.target;
        if (!d.permissions.empty()) dm.permissions = d.permissions;
        hc.devices.push_back(dm);
    }

    auto& res = hc.resources;
    if (svc.mem_limit) res.memory = *svc.mem_limit;
    if (svc.memswap_limit) res.memory_swap = *svc.memswap_limit;
    if (svc.mem_reservation) res.memory_reservation = *svc.mem_reservation;
    if (svc.cpus) res.nano_cpus = static_cast<std::int64_t>(*svc.cpus * 1e9);
    if (svc.cpu_shares) res.cpu_shares = static_cast<std::uint64_t>(*svc.cpu_shares);
    if (svc.cpu_quota) res.cpu_quota = *svc.cpu_quota;
    if (svc.cpu_period) res.cpu_period = static_cast<std::uint64_t>(*svc.cpu_period);
    if (!svc.cpuset.empty()) res.cpuset_cpus = svc.cpuset;
    if (svc.pids_limit) res.pids_limit = *svc.pids_limit;
    if (svc.deploy && svc.deploy->limits) {
        auto& l = *svc.deploy->limits;
        if (l.cpus) res.nano_cpus = static_cast<std::int64_t>(*l.cpus * 1e9);
        if (l.memory) res.memory = *l.memory;
        if (l.pids) res.pids_limit = *l.pids;
    }
    if (svc.deploy && svc.deploy->reservations && svc.deploy->reservations->memory)
        res.memory_reservation = *svc.deploy->reservations->memory;

    // Shared namespaces: "service:x" is x's first container (Compose's getMode); the engine
    // checks the rest again at create, but a bad value is reported here with the others.
    auto ns_mode = [&](const char* key, const std::string& v, std::initializer_list<const char*> plain, bool join) {
        if (v.empty()) return v;
        for (auto* p : plain)
            if (v == p) return v;
        if (join && v.rfind("container:", 0) == 0 && v.size() > 10) return v;
        if (auto ref = service_ref(v); join && !ref.empty()) return "container:" + project.container_name(ref, 1);
        problem(std::string(key) + ": invalid mode \"" + v + "\"");
        return std::string();
    };
    hc.ipc_mode = ns_mode("ipc", svc.ipc, {"private", "shareable", "host", "none"}, true);
    hc.pid_mode = ns_mode("pid", svc.pid, {"host"}, true);
    hc.uts_mode = ns_mode("uts", svc.uts, {"host"}, false);
    hc.userns_mode = ns_mode("userns_mode", svc.userns_mode, {"host"}, false);
    hc.cgroup_parent = svc.cgroup_parent;

    // Networks: network_mode, or one endpoint per network with the service name as an alias
    // (create.go getAliases; the engine adds the container's name and short ID itself).
    const std::string& mode = svc.network_mode;
    if (!mode.empty()) {
        if (auto ref = service_ref(mode); !ref.empty()) hc.network_mode = "container:" + project.container_name(ref, 1);
        else hc.network_mode = mode;
    } else {
        for (auto& [key, sn] : ordered_networks(svc)) {
            std::string name = project.network_name(key);
            r.networks.push_back(name);
            container::EndpointConfig ep;
            ep.aliases.push_back(svc.name);
            if (*sn) {
                for (auto& a : (*sn)->aliases)
                    if (std::find(ep.aliases.begin(), ep.aliases.end(), a) == ep.aliases.end()) ep.aliases.push_back(a);
                ep.ipv4 = (*sn)->ipv4_address;
                ep.ipv6 = (*sn)->ipv6_address;
                ep.mac = (*sn)->mac_address;
            }
            r.endpoints[name] = ep;
        }
    }
    return r;
}

}  // namespace berth::compose
