#include "runtime/spec.hpp"

#include "sys/error.hpp"
#include "sys/json.hpp"

namespace berth::runtime {

namespace {

json mount_json(const Mount& m) {
    return {{"kind", m.kind == Mount::Kind::bind ? "bind" : "tmpfs"},
            {"source", m.source},
            {"target", m.target},
            {"readonly", m.readonly},
            {"recursive", m.recursive},
            {"propagation", m.propagation},
            {"tmpfs_options", m.tmpfs_options},
            {"flags", m.flags},
            {"target_is_file", m.target_is_file},
            {"copy_up", m.copy_up}};
}

Mount mount_from(const json& j) {
    Mount m;
    m.kind = j.at("kind").get<std::string>() == "tmpfs" ? Mount::Kind::tmpfs : Mount::Kind::bind;
    m.source = j.value("source", "");
    m.target = j.at("target").get<std::string>();
    m.readonly = j.value("readonly", false);
    m.recursive = j.value("recursive", true);
    m.propagation = j.value("propagation", "");
    m.tmpfs_options = j.value("tmpfs_options", "");
    m.flags = j.value("flags", 0UL);
    m.target_is_file = j.value("target_is_file", false);
    m.copy_up = j.value("copy_up", false);
    return m;
}

json process_json(const Process& p) {
    json rl = json::array();
    for (auto& r : p.rlimits) rl.push_back({{"resource", r.resource}, {"soft", r.soft}, {"hard", r.hard}});
    return {{"args", p.args},
            {"env", p.env},
            {"cwd", p.cwd},
            {"user", p.user},
            {"additional_groups", p.additional_groups},
            {"tty", p.tty},
            {"stdin_open", p.stdin_open},
            {"no_new_privileges", p.no_new_privileges},
            {"caps", p.caps},
            {"seccomp", p.seccomp},
            {"rlimits", rl}};
}

Process process_from(const json& j) {
    Process p;
    p.args = j.at("args").get<std::vector<std::string>>();
    p.env = j.value("env", std::vector<std::string>{});
    p.cwd = j.value("cwd", "/");
    p.user = j.value("user", "");
    p.additional_groups = j.value("additional_groups", std::vector<std::string>{});
    p.tty = j.value("tty", false);
    p.stdin_open = j.value("stdin_open", false);
    p.no_new_privileges = j.value("no_new_privileges", false);
    p.caps = j.value("caps", std::vector<int>{});
    p.seccomp = j.value("seccomp", false);
    for (auto& r : j.value("rlimits", json::array()))
        p.rlimits.push_back({r.at("resource").get<int>(), r.at("soft").get<std::uint64_t>(), r.at("hard").get<std::uint64_t>()});
    return p;
}

const char* net_name(Spec::Net n) {
    switch (n) {
        case Spec::Net::own_fd: return "fd";
        case Spec::Net::none: return "none";
        case Spec::Net::host: return "host";
        case Spec::Net::container_path: return "path";
    }
    return "none";
}

Spec::Net net_from(const std::string& s) {
    if (s == "fd") return Spec::Net::own_fd;
    if (s == "host") return Spec::Net::host;
    if (s == "path") return Spec::Net::container_path;
    return Spec::Net::none;
}

const char* share_name(Spec::Share v) {
    return v == Spec::Share::host ? "host" : v == Spec::Share::path ? "path" : "own";
}

Spec::Share share_from(const std::string& s) {
    return s == "host" ? Spec::Share::host : s == "path" ? Spec::Share::path : Spec::Share::own;
}

}  // namespace

std::string to_json(const Spec& s) {
    json mounts = json::array();
    for (auto& m : s.mounts) mounts.push_back(mount_json(m));
    json devices = json::array();
    for (auto& d : s.devices)
        devices.push_back({{"host_path", d.host_path},
                           {"container_path", d.container_path},
                           {"type", std::string(1, d.type)},
                           {"major", d.major},
                           {"minor", d.minor},
                           {"mode", d.mode}});
    json j = {{"id", s.id},
              {"name", s.name},
              {"hostname", s.hostname},
              {"domainname", s.domainname},
              {"lowerdirs", s.lowerdirs},
              {"upperdir", s.upperdir},
              {"workdir", s.workdir},
              {"rootfs", s.rootfs},
              {"readonly_rootfs", s.readonly_rootfs},
              {"mounts", mounts},
              {"devices", devices},
              {"masked_paths", s.masked_paths},
              {"readonly_paths", s.readonly_paths},
              {"privileged", s.privileged},
              {"shm_size", s.shm_size},
              {"sysctls", s.sysctls},
              {"net", net_name(s.net)},
              {"net_path", s.net_path},
              {"ipc", share_name(s.ipc)},
              {"ipc_path", s.ipc_path},
              {"pid", share_name(s.pid)},
              {"pid_path", s.pid_path},
              {"uts_host", s.uts_host},
              {"shm_source", s.shm_source},
              {"no_shm", s.no_shm},
              {"cgroup_procs", s.cgroup_procs},
              {"cgroup_parent", s.cgroup_parent},
              {"cgroup_name", s.cgroup_name},
              {"run_id", s.run_id},
              {"process", process_json(s.process)},
              {"init", s.init},
              {"log_path", s.log_path},
              {"log_max_size", s.log_max_size},
              {"log_max_file", s.log_max_file},
              {"restart", {{"name", s.restart.name}, {"max_retries", s.restart.max_retries}}},
              {"stop_signal", s.stop_signal},
              {"stop_timeout", s.stop_timeout},
              {"state_path", s.state_path},
              {"socket_path", s.socket_path},
              {"lock_path", s.lock_path},
              {"seccomp_path", s.seccomp_path},
              {"exit_command", s.exit_command},
              {"auto_remove", s.auto_remove},
              {"event_root", s.event_root},
              {"event_attrs", s.event_attrs}};
    if (!s.proxies.empty()) {
        json proxies = json::array();
        for (auto& p : s.proxies)
            proxies.push_back({{"fd", p.fd}, {"proto", p.proto}, {"target", p.target}, {"port", p.port}});
        j["proxies"] = proxies;
    }
    if (s.health)
        j["health"] = {{"test", s.health->test},
                       {"interval_ns", s.health->interval_ns},
                       {"timeout_ns", s.health->timeout_ns},
                       {"start_period_ns", s.health->start_period_ns},
                       {"start_interval_ns", s.health->start_interval_ns},
                       {"retries", s.health->retries}};
    return j.dump();
}

Spec spec_from_json(const std::string& text) {
    try {
        json j = json::parse(text);
        Spec s;
        s.id = j.at("id").get<std::string>();
        s.name = j.value("name", "");
        s.hostname = j.value("hostname", "");
        s.domainname = j.value("domainname", "");
        s.lowerdirs = j.value("lowerdirs", std::vector<std::string>{});
        s.upperdir = j.value("upperdir", "");
        s.workdir = j.value("workdir", "");
        s.rootfs = j.at("rootfs").get<std::string>();
        s.readonly_rootfs = j.value("readonly_rootfs", false);
        for (auto& m : j.value("mounts", json::array())) s.mounts.push_back(mount_from(m));
        for (auto& d : j.value("devices", json::array())) {
            Device dev;
            dev.host_path = d.value("host_path", "");
            dev.container_path = d.value("container_path", "");
            dev.type = d.value("type", "c")[0];
            dev.major = d.value("major", 0U);
            dev.minor = d.value("minor", 0U);
            dev.mode = d.value("mode", 0666U);
            s.devices.push_back(dev);
        }
        s.masked_paths = j.value("masked_paths", std::vector<std::string>{});
        s.readonly_paths = j.value("readonly_paths", std::vector<std::string>{});
        s.privileged = j.value("privileged", false);
        s.shm_size = j.value("shm_size", s.shm_size);
        s.sysctls = j.value("sysctls", std::map<std::string, std::string>{});
        s.net = net_from(j.value("net", "none"));
        s.net_path = j.value("net_path", "");
        s.ipc = share_from(j.value("ipc", "own"));
        s.ipc_path = j.value("ipc_path", "");
        s.pid = share_from(j.value("pid", "own"));
        s.pid_path = j.value("pid_path", "");
        s.uts_host = j.value("uts_host", false);
        s.shm_source = j.value("shm_source", "");
        s.no_shm = j.value("no_shm", false);
        s.cgroup_procs = j.value("cgroup_procs", std::vector<std::string>{});
        s.cgroup_parent = j.value("cgroup_parent", "");
        s.cgroup_name = j.value("cgroup_name", "");
        s.run_id = j.value("run_id", "");
        s.process = process_from(j.at("process"));
        s.init = j.value("init", false);
        s.log_path = j.value("log_path", "");
        s.log_max_size = j.value("log_max_size", -1LL);
        s.log_max_file = j.value("log_max_file", 1);
        if (j.contains("restart")) {
            s.restart.name = j["restart"].value("name", "no");
            s.restart.max_retries = j["restart"].value("max_retries", 0);
        }
        if (j.contains("health")) {
            auto& h = j["health"];
            Healthcheck hc;
            hc.test = h.at("test").get<std::vector<std::string>>();
            hc.interval_ns = h.value("interval_ns", hc.interval_ns);
            hc.timeout_ns = h.value("timeout_ns", hc.timeout_ns);
            hc.start_period_ns = h.value("start_period_ns", hc.start_period_ns);
            hc.start_interval_ns = h.value("start_interval_ns", hc.start_interval_ns);
            hc.retries = h.value("retries", hc.retries);
            s.health = hc;
        }
        s.stop_signal = j.value("stop_signal", 15);
        s.stop_timeout = j.value("stop_timeout", 10);
        s.state_path = j.value("state_path", "");
        s.socket_path = j.value("socket_path", "");
        s.lock_path = j.value("lock_path", "");
        s.seccomp_path = j.value("seccomp_path", "");
        s.exit_command = j.value("exit_command", std::vector<std::string>{});
        for (auto& p : j.value("proxies", json::array()))
            s.proxies.push_back({p.value("fd", -1), p.value("proto", "tcp"), p.value("target", ""), p.value("port", 0)});
        s.auto_remove = j.value("auto_remove", false);
        s.event_root = j.value("event_root", "");
        s.event_attrs = j.value("event_attrs", std::map<std::string, std::string>{});
        return s;
    } catch (const json::exception& e) {
        throw Error(Errc::corrupt, std::string("runtime spec: ") + e.what());
    }
}

std::string process_to_json(const Process& p) { return process_json(p).dump(); }

Process process_from_json(const std::string& text) {
    try {
        return process_from(json::parse(text));
    } catch (const json::exception& e) {
        throw Error(Errc::corrupt, std::string("process spec: ") + e.what());
    }
}

}  // namespace berth::runtime
