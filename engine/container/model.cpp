#include "container/model.hpp"

#include "sys/error.hpp"
#include "sys/json.hpp"

namespace berth::container {

namespace {

template <typename J>
J string_map(const std::map<std::string, std::string>& m) {
    J o = J::object();
    for (auto& [k, v] : m) o[k] = v;
    return o;
}

std::map<std::string, std::string> map_from(const json& j, const char* key) {
    std::map<std::string, std::string> out;
    if (j.contains(key) && j[key].is_object())
        for (auto& [k, v] : j[key].items()) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
    return out;
}

std::vector<std::string> strings_from(const json& j, const char* key) {
    if (!j.contains(key) || !j[key].is_array()) return {};
    return j[key].get<std::vector<std::string>>();
}

ojson strings_or_null(const std::vector<std::string>& v) { return v.empty() ? ojson(nullptr) : ojson(v); }

ojson resources_json(const cgroups::Resources& r) {
    ojson o = ojson::object();
    o["Memory"] = r.memory.value_or(0);
    o["MemoryReservation"] = r.memory_reservation.value_or(0);
    o["MemorySwap"] = r.memory_swap.value_or(0);
    o["MemorySwappiness"] = r.memory_swappiness ? ojson(*r.memory_swappiness) : ojson(nullptr);
    o["OomKillDisable"] = r.oom_kill_disable.value_or(false);
    o["NanoCpus"] = r.nano_cpus.value_or(0);
    o["CpuShares"] = r.cpu_shares.value_or(0);
    o["CpuPeriod"] = r.cpu_period.value_or(0);
    o["CpuQuota"] = r.cpu_quota.value_or(0);
    o["CpusetCpus"] = r.cpuset_cpus.value_or("");
    o["CpusetMems"] = r.cpuset_mems.value_or("");
    o["PidsLimit"] = r.pids_limit ? ojson(*r.pids_limit) : ojson(nullptr);
    o["BlkioWeight"] = r.blkio_weight.value_or(0);
    return o;
}

cgroups::Resources resources_from(const json& h) {
    cgroups::Resources r;
    auto i64 = [&](const char* k) -> std::optional<std::int64_t> {
        if (!h.contains(k) || h[k].is_null()) return std::nullopt;
        auto v = h[k].get<std::int64_t>();
        if (v == 0) return std::nullopt;
        return v;
    };
    r.memory = i64("Memory");
    r.memory_reservation = i64("MemoryReservation");
    r.memory_swap = i64("MemorySwap");
    r.memory_swappiness = i64("MemorySwappiness");
    if (h.value("OomKillDisable", false)) r.oom_kill_disable = true;
    r.nano_cpus = i64("NanoCpus");
    if (auto v = i64("CpuShares")) r.cpu_shares = static_cast<std::uint64_t>(*v);
    if (auto v = i64("CpuPeriod")) r.cpu_period = static_cast<std::uint64_t>(*v);
    r.cpu_quota = i64("CpuQuota");
    if (auto s = h.value("CpusetCpus", ""); !s.empty()) r.cpuset_cpus = s;
    if (auto s = h.value("CpusetMems", ""); !s.empty()) r.cpuset_mems = s;
    r.pids_limit = i64("PidsLimit");
    if (auto v = i64("BlkioWeight")) r.blkio_weight = static_cast<std::uint16_t>(*v);
    return r;
}

ojson health_json(const HealthConfig& h) {
    ojson o = {{"Test", h.test}};
    if (h.interval) o["Interval"] = h.interval;
    if (h.timeout) o["Timeout"] = h.timeout;
    if (h.start_period) o["StartPeriod"] = h.start_period;
    if (h.start_interval) o["StartInterval"] = h.start_interval;
    if (h.retries) o["Retries"] = h.retries;
    return o;
}

HealthConfig health_from(const json& j) {
    HealthConfig h;
    h.test = strings_from(j, "Test");
    h.interval = j.value("Interval", std::int64_t{0});
    h.timeout = j.value("Timeout", std::int64_t{0});
    h.start_period = j.value("StartPeriod", std::int64_t{0});
    h.start_interval = j.value("StartInterval", std::int64_t{0});
    h.retries = j.value("Retries", 0);
    return h;
}

ojson mount_json(const MountSpec& m) {
    ojson o = {{"Type", m.type}, {"Source", m.source}, {"Target", m.target}, {"ReadOnly", m.readonly}};
    if (m.type == "bind") o["BindOptions"] = {{"Propagation", m.propagation}, {"CreateMountpoint", m.create_host_path}};
    if (m.type == "volume") {
        o["VolumeOptions"] = {{"NoCopy", m.nocopy}, {"Anonymous", m.anonymous}};
        if (!m.subpath.empty()) o["VolumeOptions"]["Subpath"] = m.subpath;
    }
    if (m.type == "tmpfs")
        o["TmpfsOptions"] = {{"SizeBytes", m.tmpfs_size}, {"Mode", m.tmpfs_mode}, {"Options", m.tmpfs_options}};
    return o;
}

MountSpec mount_from(const json& j) {
    MountSpec m;
    m.type = j.value("Type", "bind");
    m.source = j.value("Source", "");
    m.target = j.value("Target", "");
    m.readonly = j.value("ReadOnly", false);
    if (j.contains("BindOptions")) {
        m.propagation = j["BindOptions"].value("Propagation", "");
        m.create_host_path = j["BindOptions"].value("CreateMountpoint", false);
    }
    if (j.contains("VolumeOptions")) {
        m.nocopy = j["VolumeOptions"].value("NoCopy", false);
        m.anonymous = j["VolumeOptions"].value("Anonymous", false);
        m.subpath = j["VolumeOptions"].value("Subpath", "");
    }
    if (j.contains("TmpfsOptions")) {
        m.tmpfs_size = j["TmpfsOptions"].value("SizeBytes", std::int64_t{0});
        m.tmpfs_mode = j["TmpfsOptions"].value("Mode", 0U);
        m.tmpfs_options = j["TmpfsOptions"].value("Options", "");
    }
    return m;
}

}  // namespace

std::vector<std::string> Container::command() const {
    std::vector<std::string> out;
    if (!path.empty()) out.push_back(path);
    out.insert(out.end(), args.begin(), args.end());
    return out;
}

std::string to_json(const Container& c) {
    const auto& cf = c.config;
    const auto& h = c.host_config;
    ojson exposed = ojson::object();
    for (auto& p : cf.exposed_ports) exposed[p] = ojson::object();
    ojson vols = ojson::object();
    for (auto& v : cf.volumes) vols[v] = ojson::object();
    ojson config = {{"Hostname", cf.hostname},
                    {"Domainname", cf.domainname},
                    {"User", cf.user},
                    {"AttachStdin", cf.attach_stdin},
                    {"AttachStdout", cf.attach_stdout},
                    {"AttachStderr", cf.attach_stderr},
                    {"ExposedPorts", cf.exposed_ports.empty() ? ojson(nullptr) : exposed},
                    {"Tty", cf.tty},
                    {"OpenStdin", cf.open_stdin},
                    {"StdinOnce", cf.stdin_once},
                    {"Env", cf.env},
                    {"Cmd", strings_or_null(cf.cmd)}};
    if (cf.healthcheck) config["Healthcheck"] = health_json(*cf.healthcheck);
    config["Image"] = cf.image;
    config["Volumes"] = cf.volumes.empty() ? ojson(nullptr) : vols;
    config["WorkingDir"] = cf.working_dir;
    config["Entrypoint"] = strings_or_null(cf.entrypoint);
    config["Labels"] = string_map<ojson>(cf.labels);
    if (!cf.stop_signal.empty()) config["StopSignal"] = cf.stop_signal;
    if (cf.stop_timeout) config["StopTimeout"] = *cf.stop_timeout;

    ojson ports = ojson::object();
    for (auto& [p, bs] : h.port_bindings) {
        ojson arr = ojson::array();
        for (auto& b : bs) arr.push_back({{"HostIp", b.host_ip}, {"HostPort", b.host_port}});
        ports[p] = arr;
    }
    ojson ulimits = ojson::array();
    for (auto& u : h.ulimits) ulimits.push_back({{"Name", u.name}, {"Hard", u.hard}, {"Soft", u.soft}});
    ojson devices = ojson::array();
    for (auto& d : h.devices)
        devices.push_back({{"PathOnHost", d.path_on_host}, {"PathInContainer", d.path_in_container}, {"CgroupPermissions", d.permissions}});
    ojson mounts = ojson::array();
    for (auto& m : h.mounts) mounts.push_back(mount_json(m));

    ojson host = {{"Binds", strings_or_null(h.binds)},
                  {"LogConfig", {{"Type", h.log_type}, {"Config", string_map<ojson>(h.log_config)}}},
                  {"NetworkMode", h.network_mode},
                  {"PortBindings", ports},
                  {"RestartPolicy", {{"Name", h.restart_policy}, {"MaximumRetryCount", h.restart_max_retries}}},
                  {"AutoRemove", h.auto_remove},
                  {"VolumesFrom", strings_or_null(h.volumes_from)},
                  {"CapAdd", strings_or_null(h.cap_add)},
                  {"CapDrop", strings_or_null(h.cap_drop)},
                  {"Dns", h.dns},
                  {"DnsOptions", h.dns_options},
                  {"DnsSearch", h.dns_search},
                  {"ExtraHosts", strings_or_null(h.extra_hosts)},
                  {"GroupAdd", strings_or_null(h.group_add)},
                  {"IpcMode", h.ipc_mode},
                  {"PidMode", h.pid_mode},
                  {"Privileged", h.privileged},
                  {"PublishAllPorts", h.publish_all},
                  {"ReadonlyRootfs", h.readonly_rootfs},
                  {"SecurityOpt", strings_or_null(h.security_opt)},
                  {"UTSMode", h.uts_mode},
                  {"UsernsMode", h.userns_mode},
                  {"Tmpfs", h.tmpfs.empty() ? ojson(nullptr) : string_map<ojson>(h.tmpfs)},
                  {"ShmSize", h.shm_size},
                  {"Sysctls", h.sysctls.empty() ? ojson(nullptr) : string_map<ojson>(h.sysctls)}};
    auto resources = resources_json(h.resources);
    for (auto& [k, v] : resources.items()) host[k] = v;
    host["CgroupParent"] = h.cgroup_parent;
    host["Devices"] = devices;
    host["Ulimits"] = ulimits;
    host["Init"] = h.init ? ojson(*h.init) : ojson(nullptr);
    host["Mounts"] = mounts;

    ojson nets = ojson::object();
    for (auto& [name, e] : c.networks)
        nets[name] = {{"Aliases", strings_or_null(e.aliases)}, {"IPv4Address", e.ipv4}, {"IPv6Address", e.ipv6},
                      {"MacAddress", e.mac}};

    ojson out = {{"Id", c.id},
                 {"Created", c.created},
                 {"Path", c.path},
                 {"Args", c.args},
                 {"Image", c.image_id},
                 {"Name", c.name},
                 {"Config", config},
                 {"HostConfig", host},
                 {"Networks", nets},
                 {"MacAddress", c.mac_address}};
    return out.dump(2);
}

Container container_from_json(const std::string& text) {
    try {
        auto j = json::parse(text);
        Container c;
        c.id = j.at("Id").get<std::string>();
        c.name = j.value("Name", "");
        c.created = j.value("Created", std::int64_t{0});
        c.path = j.value("Path", "");
        c.args = strings_from(j, "Args");
        c.image_id = j.value("Image", "");
        c.mac_address = j.value("MacAddress", "");
        const auto& cf = j.at("Config");
        auto& o = c.config;
        o.hostname = cf.value("Hostname", "");
        o.domainname = cf.value("Domainname", "");
        o.user = cf.value("User", "");
        o.attach_stdin = cf.value("AttachStdin", false);
        o.attach_stdout = cf.value("AttachStdout", false);
        o.attach_stderr = cf.value("AttachStderr", false);
        if (cf.contains("ExposedPorts") && cf["ExposedPorts"].is_object())
            for (auto& [k, v] : cf["ExposedPorts"].items()) o.exposed_ports.push_back(k);
        o.tty = cf.value("Tty", false);
        o.open_stdin = cf.value("OpenStdin", false);
        o.stdin_once = cf.value("StdinOnce", false);
        o.env = strings_from(cf, "Env");
        o.cmd = strings_from(cf, "Cmd");
        if (cf.contains("Healthcheck")) o.healthcheck = health_from(cf["Healthcheck"]);
        o.image = cf.value("Image", "");
        if (cf.contains("Volumes") && cf["Volumes"].is_object())
            for (auto& [k, v] : cf["Volumes"].items()) o.volumes.push_back(k);
        o.working_dir = cf.value("WorkingDir", "");
        o.entrypoint = strings_from(cf, "Entrypoint");
        o.labels = map_from(cf, "Labels");
        o.stop_signal = cf.value("StopSignal", "");
        if (cf.contains("StopTimeout")) o.stop_timeout = cf["StopTimeout"].get<int>();

        const auto& h = j.at("HostConfig");
        auto& hc = c.host_config;
        hc.binds = strings_from(h, "Binds");
        if (h.contains("LogConfig")) {
            hc.log_type = h["LogConfig"].value("Type", "json-file");
            hc.log_config = map_from(h["LogConfig"], "Config");
        }
        hc.network_mode = h.value("NetworkMode", "bridge");
        if (h.contains("PortBindings") && h["PortBindings"].is_object())
            for (auto& [p, arr] : h["PortBindings"].items())
                for (auto& b : arr) hc.port_bindings[p].push_back({b.value("HostIp", ""), b.value("HostPort", "")});
        if (h.contains("RestartPolicy")) {
            hc.restart_policy = h["RestartPolicy"].value("Name", "no");
            hc.restart_max_retries = h["RestartPolicy"].value("MaximumRetryCount", 0);
        }
        hc.auto_remove = h.value("AutoRemove", false);
        hc.volumes_from = strings_from(h, "VolumesFrom");
        hc.cap_add = strings_from(h, "CapAdd");
        hc.cap_drop = strings_from(h, "CapDrop");
        hc.dns = strings_from(h, "Dns");
        hc.dns_options = strings_from(h, "DnsOptions");
        hc.dns_search = strings_from(h, "DnsSearch");
        hc.extra_hosts = strings_from(h, "ExtraHosts");
        hc.group_add = strings_from(h, "GroupAdd");
        hc.privileged = h.value("Privileged", false);
        hc.publish_all = h.value("PublishAllPorts", false);
        hc.readonly_rootfs = h.value("ReadonlyRootfs", false);
        hc.security_opt = strings_from(h, "SecurityOpt");
        hc.tmpfs = map_from(h, "Tmpfs");
        hc.shm_size = h.value("ShmSize", hc.shm_size);
        hc.ipc_mode = h.value("IpcMode", "private");
        hc.pid_mode = h.value("PidMode", "");
        hc.uts_mode = h.value("UTSMode", "");
        hc.userns_mode = h.value("UsernsMode", "");
        hc.cgroup_parent = h.value("CgroupParent", "");
        hc.sysctls = map_from(h, "Sysctls");
        hc.resources = resources_from(h);
        for (auto& d : h.value("Devices", json::array()))
            hc.devices.push_back({d.value("PathOnHost", ""), d.value("PathInContainer", ""), d.value("CgroupPermissions", "rwm")});
        for (auto& u : h.value("Ulimits", json::array()))
            hc.ulimits.push_back({u.value("Name", ""), u.value("Soft", std::int64_t{0}), u.value("Hard", std::int64_t{0})});
        if (h.contains("Init") && h["Init"].is_boolean()) hc.init = h["Init"].get<bool>();
        for (auto& m : h.value("Mounts", json::array())) hc.mounts.push_back(mount_from(m));

        if (j.contains("Networks"))
            for (auto& [name, e] : j["Networks"].items())
                c.networks[name] = {strings_from(e, "Aliases"), e.value("IPv4Address", ""), e.value("MacAddress", ""),
                                    e.value("IPv6Address", "")};
        return c;
    } catch (const json::exception& e) {
        throw Error(Errc::corrupt, std::string("container record: ") + e.what());
    }
}

std::string network_state_to_json(const NetworkState& n) {
    json nets = json::object();
    for (auto& [name, e] : n.networks)
        nets[name] = {{"NetworkID", e.network_id}, {"EndpointID", e.endpoint_id}, {"IPAddress", e.ip},
                      {"IPPrefixLen", e.prefix}, {"Gateway", e.gateway}, {"MacAddress", e.mac},
                      {"Interface", e.ifname}, {"HostVeth", e.host_veth}, {"Aliases", e.aliases},
                      {"GlobalIPv6Address", e.ip6}, {"GlobalIPv6PrefixLen", e.prefix6}, {"IPv6Gateway", e.gateway6}};
    json ports = json::array();
    for (auto& p : n.ports) ports.push_back({{"ContainerPort", p.container_port}, {"HostIp", p.host_ip}, {"HostPort", p.host_port}});
    return json{{"SandboxKey", n.sandbox_key}, {"Networks", nets}, {"Ports", ports}}.dump();
}

NetworkState network_state_from_json(const std::string& text) {
    NetworkState n;
    try {
        auto j = json::parse(text);
        n.sandbox_key = j.value("SandboxKey", "");
        auto networks = j.value("Networks", json::object());
        for (auto& [name, e] : networks.items())
            n.networks[name] = {e.value("NetworkID", ""), e.value("EndpointID", ""), e.value("IPAddress", ""),
                                e.value("Gateway", ""), e.value("MacAddress", ""), e.value("Interface", ""),
                                e.value("HostVeth", ""), e.value("IPPrefixLen", 0), strings_from(e, "Aliases"),
                                e.value("GlobalIPv6Address", ""), e.value("IPv6Gateway", ""),
                                e.value("GlobalIPv6PrefixLen", 0)};
        for (auto& p : j.value("Ports", json::array()))
            n.ports.push_back({p.value("ContainerPort", ""), p.value("HostIp", ""), p.value("HostPort", "")});
    } catch (const json::exception& e) {
        throw Error(Errc::corrupt, std::string("container network state: ") + e.what());
    }
    return n;
}

}  // namespace berth::container
