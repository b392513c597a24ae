// The model's names, its canonical JSON/YAML form and the config hash.
#include "compose/model.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>

#include "sys/json.hpp"
#include "sys/sha256.hpp"
#include "sys/strings.hpp"

namespace berth::compose {

int Service::replicas() const {
    if (scale) return *scale;
    if (deploy && deploy->replicas) return *deploy->replicas;
    return 1;
}

std::vector<std::string> Service::dependencies() const {
    std::vector<std::string> out;
    for (auto& [k, _] : depends_on) out.push_back(k);
    return out;
}

std::string Project::container_name(const Service& svc, int number) const {
    if (!svc.container_name.empty()) return svc.container_name;
    return name + "-" + svc.name + "-" + std::to_string(number);
}

std::string Project::container_name(const std::string& service, int number) const {
    if (auto* s = find_service(service)) return container_name(*s, number);
    return name + "-" + service + "-" + std::to_string(number);
}

std::string Project::image_name(const Service& svc) const {
    if (!svc.image.empty()) return svc.image;
    return name + "-" + svc.name;
}

std::string Project::network_name(const std::string& key) const {
    if (auto it = networks.find(key); it != networks.end() && !it->second.name.empty()) return it->second.name;
    return name + "_" + key;
}

std::string Project::volume_name(const std::string& key) const {
    if (auto it = volumes.find(key); it != volumes.end() && !it->second.name.empty()) return it->second.name;
    return name + "_" + key;
}

const Service* Project::find_service(const std::string& n) const {
    auto it = services.find(n);
    return it == services.end() ? nullptr : &it->second;
}

namespace {

void put(json& j, const char* k, const std::string& v) {
    if (!v.empty()) j[k] = v;
}
void put(json& j, const char* k, const StringMap& v) {
    if (!v.empty()) j[k] = v;
}
void put(json& j, const char* k, const std::vector<std::string>& v) {
    if (!v.empty()) j[k] = v;
}
void put_true(json& j, const char* k, bool v) {
    if (v) j[k] = true;
}
template <typename T>
void put(json& j, const char* k, const std::optional<T>& v) {
    if (v) j[k] = *v;
}
// Sizes print as a string of bytes, as compose-go's UnitBytes does.
void put_bytes(json& j, const char* k, const std::optional<std::int64_t>& v) {
    if (v) j[k] = std::to_string(*v);
}
void put_duration(json& j, const char* k, const std::optional<std::int64_t>& v) {
    if (v) j[k] = str::format_duration_ns(*v);
}
void put_extra(json& j, const JsonMap& m) {
    for (auto& [k, v] : m) j[k] = json::parse(v);
}
json hosts_json(const std::vector<std::pair<std::string, std::string>>& hosts) {
    json a = json::array();
    for (auto& [h, ip] : hosts) a.push_back(h + "=" + ip);
    return a;
}
std::string octal(std::uint32_t mode) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0%o", mode);
    return buf;
}

json resource_json(const Resource& r) {
    json j = json::object();
    put(j, "cpus", r.cpus);
    put_bytes(j, "memory", r.memory);
    put(j, "pids", r.pids);
    put_extra(j, r.extra);
    return j;
}

json hook_json(const Hook& h) {
    json j = json::object();
    j["command"] = h.command;
    put(j, "user", h.user);
    put_true(j, "privileged", h.privileged);
    put(j, "working_dir", h.working_dir);
    put(j, "environment", h.environment);
    return j;
}

json file_ref_json(const FileRef& f) {
    json j = json::object();
    put(j, "source", f.source);
    put(j, "target", f.target);
    put(j, "uid", f.uid);
    put(j, "gid", f.gid);
    if (f.mode) j["mode"] = octal(*f.mode);
    return j;
}

json mount_json(const Mount& m) {
    json j = json::object();
    j["type"] = m.type;
    put(j, "source", m.source);
    put(j, "target", m.target);
    put_true(j, "read_only", m.read_only);
    put(j, "consistency", m.consistency);
    if (m.bind) {
        json b = json::object();
        put(b, "propagation", m.bind->propagation);
        b["create_host_path"] = m.bind->create_host_path;
        put(b, "selinux", m.bind->selinux);
        put(b, "recursive", m.bind->recursive);
        j["bind"] = b;
    }
    if (m.volume) {
        json v = json::object();
        put_true(v, "nocopy", m.volume->nocopy);
        put(v, "subpath", m.volume->subpath);
        put(v, "labels", m.volume->labels);
        j["volume"] = v;
    }
    if (m.tmpfs) {
        json t = json::object();
        put_bytes(t, "size", m.tmpfs->size);
        if (m.tmpfs->mode) t["mode"] = octal(*m.tmpfs->mode);
        j["tmpfs"] = t;
    }
    if (!m.image_subpath.empty()) j["image"] = json{{"subpath", m.image_subpath}};
    return j;
}

json service_json(const Service& s) {
    json j = json::object();
    put(j, "profiles", s.profiles);
    put(j, "image", s.image);
    if (s.build) {
        const Build& b = *s.build;
        json bj = json::object();
        put(bj, "context", b.context);
        put(bj, "dockerfile", b.dockerfile);
        put(bj, "dockerfile_inline", b.dockerfile_inline);
        if (!b.args.empty()) {
            json a = json::object();
            for (auto& [k, v] : b.args) a[k] = v ? json(*v) : json(nullptr);
            bj["args"] = a;
        }
        put(bj, "target", b.target);
        put(bj, "labels", b.labels);
        put(bj, "no_cache", b.no_cache);
        put(bj, "network", b.network);
        put(bj, "pull", b.pull);
        put(bj, "cache_from", b.cache_from);
        put(bj, "cache_to", b.cache_to);
        put(bj, "tags", b.tags);
        put(bj, "platforms", b.platforms);
        put(bj, "additional_contexts", b.additional_contexts);
        if (!b.extra_hosts.empty()) bj["extra_hosts"] = hosts_json(b.extra_hosts);
        put_bytes(bj, "shm_size", b.shm_size);
        put(bj, "privileged", b.privileged);
        put_extra(bj, b.extra);
        j["build"] = bj;
    }
    put(j, "pull_policy", s.pull_policy);
    put(j, "platform", s.platform);
    put(j, "command", s.command);
    put(j, "entrypoint", s.entrypoint);
    put(j, "environment", s.environment);
    if (!s.env_file.empty()) {
        json a = json::array();
        for (auto& e : s.env_file) {
            json ej = {{"path", e.path}, {"required", e.required}};
            put(ej, "format", e.format);
            a.push_back(ej);
        }
        j["env_file"] = a;
    }
    put(j, "working_dir", s.working_dir);
    put(j, "user", s.user);
    put(j, "group_add", s.group_add);
    if (!s.ports.empty()) {
        json a = json::array();
        for (auto& p : s.ports) {
            json pj = json::object();
            put(pj, "name", p.name);
            put(pj, "mode", p.mode);
            put(pj, "host_ip", p.host_ip);
            pj["target"] = p.target;
            put(pj, "published", p.published);
            put(pj, "protocol", p.protocol);
            put(pj, "app_protocol", p.app_protocol);
            a.push_back(pj);
        }
        j["ports"] = a;
    }
    put(j, "expose", s.expose);
    if (!s.volumes.empty()) {
        json a = json::array();
        for (auto& m : s.volumes) a.push_back(mount_json(m));
        j["volumes"] = a;
    }
    put(j, "volumes_from", s.volumes_from);
    put(j, "tmpfs", s.tmpfs);
    if (!s.networks.empty()) {
        json n = json::object();
        for (auto& [k, v] : s.networks) {
            if (!v) {
                n[k] = nullptr;
                continue;
            }
            json nj = json::object();
            put(nj, "aliases", v->aliases);
            put(nj, "ipv4_address", v->ipv4_address);
            put(nj, "ipv6_address", v->ipv6_address);
            put(nj, "mac_address", v->mac_address);
            put(nj, "interface_name", v->interface_name);
            put(nj, "link_local_ips", v->link_local_ips);
            if (v->priority) nj["priority"] = v->priority;
            if (v->gw_priority) nj["gw_priority"] = v->gw_priority;
            put(nj, "driver_opts", v->driver_opts);
            n[k] = nj;
        }
        j["networks"] = n;
    }
    put(j, "network_mode", s.network_mode);
    put(j, "hostname", s.hostname);
    put(j, "domainname", s.domainname);
    put(j, "mac_address", s.mac_address);
    put(j, "dns", s.dns);
    put(j, "dns_search", s.dns_search);
    put(j, "dns_opt", s.dns_opt);
    if (!s.extra_hosts.empty()) j["extra_hosts"] = hosts_json(s.extra_hosts);
    put(j, "links", s.links);
    put(j, "external_links", s.external_links);
    if (!s.depends_on.empty()) {
        json d = json::object();
        for (auto& [k, v] : s.depends_on) {
            json dj = {{"condition", v.condition}, {"required", v.required}};
            put_true(dj, "restart", v.restart);
            d[k] = dj;
        }
        j["depends_on"] = d;
    }
    if (s.healthcheck) {
        const Healthcheck& h = *s.healthcheck;
        json hj = json::object();
        put(hj, "test", h.test);
        put_duration(hj, "interval", h.interval);
        put_duration(hj, "timeout", h.timeout);
        put_duration(hj, "start_period", h.start_period);
        put_duration(hj, "start_interval", h.start_interval);
        put(hj, "retries", h.retries);
        put_true(hj, "disable", h.disable);
        j["healthcheck"] = hj;
    }
    put(j, "restart", s.restart);
    if (s.deploy) {
        const Deploy& d = *s.deploy;
        json dj = json::object();
        put(dj, "mode", d.mode);
        put(dj, "replicas", d.replicas);
        put(dj, "labels", d.labels);
        if (d.limits || d.reservations) {
            json r = json::object();
            if (d.limits) r["limits"] = resource_json(*d.limits);
            if (d.reservations) r["reservations"] = resource_json(*d.reservations);
            dj["resources"] = r;
        }
        if (d.restart_policy) {
            const RestartPolicy& rp = *d.restart_policy;
            json r = json::object();
            put(r, "condition", rp.condition);
            put_duration(r, "delay", rp.delay);
            put(r, "max_attempts", rp.max_attempts);
            put_duration(r, "window", rp.window);
            dj["restart_policy"] = r;
        }
        put_extra(dj, d.extra);
        j["deploy"] = dj;
    }
    put(j, "scale", s.scale);
    put_bytes(j, "mem_limit", s.mem_limit);
    put_bytes(j, "memswap_limit", s.memswap_limit);
    put_bytes(j, "mem_reservation", s.mem_reservation);
    put(j, "cpus", s.cpus);
    put(j, "cpu_shares", s.cpu_shares);
    put(j, "cpu_quota", s.cpu_quota);
    put(j, "cpu_period", s.cpu_period);
    put(j, "cpuset", s.cpuset);
    put(j, "pids_limit", s.pids_limit);
    if (!s.ulimits.empty()) {
        json u = json::object();
        for (auto& [k, v] : s.ulimits) u[k] = v.single ? json(*v.single) : json{{"soft", v.soft}, {"hard", v.hard}};
        j["ulimits"] = u;
    }
    put_bytes(j, "shm_size", s.shm_size);
    put(j, "labels", s.labels);
    put(j, "label_file", s.label_file);
    put(j, "annotations", s.annotations);
    put(j, "init", s.init);
    put(j, "stop_signal", s.stop_signal);
    put_duration(j, "stop_grace_period", s.stop_grace_period);
    put_true(j, "tty", s.tty);
    put_true(j, "stdin_open", s.stdin_open);
    put_true(j, "privileged", s.privileged);
    put_true(j, "read_only", s.read_only);
    put(j, "cap_add", s.cap_add);
    put(j, "cap_drop", s.cap_drop);
    put(j, "security_opt", s.security_opt);
    if (!s.devices.empty()) {
        json a = json::array();
        for (auto& d : s.devices) {
            json dj = json::object();
            put(dj, "source", d.source);
            put(dj, "target", d.target);
            put(dj, "permissions", d.permissions);
            a.push_back(dj);
        }
        j["devices"] = a;
    }
    put(j, "device_cgroup_rules", s.device_cgroup_rules);
    put(j, "sysctls", s.sysctls);
    put(j, "container_name", s.container_name);
    if (s.logging) {
        json l = json::object();
        put(l, "driver", s.logging->driver);
        put(l, "options", s.logging->options);
        j["logging"] = l;
    }
    for (auto [key, hooks] : {std::pair{"post_start", &s.post_start}, std::pair{"pre_stop", &s.pre_stop}}) {
        if (hooks->empty()) continue;
        json a = json::array();
        for (auto& h : *hooks) a.push_back(hook_json(h));
        j[key] = a;
    }
    for (auto [key, refs] : {std::pair{"configs", &s.configs}, std::pair{"secrets", &s.secrets}}) {
        if (refs->empty()) continue;
        json a = json::array();
        for (auto& f : *refs) a.push_back(file_ref_json(f));
        j[key] = a;
    }
    put(j, "ipc", s.ipc);
    put(j, "pid", s.pid);
    put(j, "uts", s.uts);
    put(j, "userns_mode", s.userns_mode);
    put(j, "cgroup_parent", s.cgroup_parent);
    put(j, "runtime", s.runtime);
    put_extra(j, s.extra);
    put_extra(j, s.extensions);
    return j;
}

json network_json(const Network& n) {
    json j = json::object();
    put(j, "name", n.name);
    put(j, "driver", n.driver);
    put(j, "driver_opts", n.driver_opts);
    if (!n.ipam_driver.empty() || !n.ipam_config.empty() || !n.ipam_options.empty()) {
        json ipam = json::object();
        put(ipam, "driver", n.ipam_driver);
        if (!n.ipam_config.empty()) {
            json a = json::array();
            for (auto& p : n.ipam_config) {
                json pj = json::object();
                put(pj, "subnet", p.subnet);
                put(pj, "ip_range", p.ip_range);
                put(pj, "gateway", p.gateway);
                put(pj, "aux_addresses", p.aux_addresses);
                a.push_back(pj);
            }
            ipam["config"] = a;
        }
        put(ipam, "options", n.ipam_options);
        j["ipam"] = ipam;
    }
    put_true(j, "external", n.external);
    put_true(j, "internal", n.internal);
    put_true(j, "attachable", n.attachable);
    put(j, "enable_ipv4", n.enable_ipv4);
    put(j, "enable_ipv6", n.enable_ipv6);
    put(j, "labels", n.labels);
    put_extra(j, n.extensions);
    return j;
}

json volume_json(const Volume& v) {
    json j = json::object();
    put(j, "name", v.name);
    put(j, "driver", v.driver);
    put(j, "driver_opts", v.driver_opts);
    put_true(j, "external", v.external);
    put(j, "labels", v.labels);
    put_extra(j, v.extensions);
    return j;
}

json file_object_json(const FileObject& f, bool secret) {
    json j = json::object();
    put(j, "name", f.name);
    put(j, "file", f.file);
    put(j, "environment", f.environment);
    // A secret's content never prints; a config's only when written inline.
    if (!secret && f.environment.empty()) put(j, "content", f.content);
    put_true(j, "external", f.external);
    put(j, "labels", f.labels);
    put(j, "driver", f.driver);
    put(j, "driver_opts", f.driver_opts);
    put(j, "template_driver", f.template_driver);
    put_extra(j, f.extensions);
    return j;
}

// The project without `name` (which goes first), keys sorted.
json project_body(const Project& p) {
    json j = json::object();
    json services = json::object();
    for (auto& [k, s] : p.services) services[k] = service_json(s);
    j["services"] = services;
    if (!p.networks.empty()) {
        json n = json::object();
        for (auto& [k, v] : p.networks) n[k] = network_json(v);
        j["networks"] = n;
    }
    if (!p.volumes.empty()) {
        json n = json::object();
        for (auto& [k, v] : p.volumes) n[k] = volume_json(v);
        j["volumes"] = n;
    }
    if (!p.configs.empty()) {
        json n = json::object();
        for (auto& [k, v] : p.configs) n[k] = file_object_json(v, false);
        j["configs"] = n;
    }
    if (!p.secrets.empty()) {
        json n = json::object();
        for (auto& [k, v] : p.secrets) n[k] = file_object_json(v, true);
        j["secrets"] = n;
    }
    put_extra(j, p.extensions);
    return j;
}

// A plain YAML scalar that a reader would take for something other than this string (YAML 1.1
// and 1.2 readers both), or that cannot be written plain.
bool needs_quotes(const std::string& s) {
    if (s.empty()) return true;
    std::string l = str::to_lower(s);
    static const char* words[] = {"null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", ".inf", "-.inf",
                                  "+.inf", ".nan"};
    for (auto* w : words)
        if (l == w) return true;
    if (str::parse_double(s) || str::parse_int(s)) return true;
    if (l.rfind("0x", 0) == 0 || l.rfind("0o", 0) == 0) return true;
    // YAML 1.1 integers with underscores (1_000) and sexagesimal numbers (1:30).
    std::string_view v = s;
    if (v[0] == '-' || v[0] == '+') v.remove_prefix(1);
    if (!v.empty() && std::isdigit(static_cast<unsigned char>(v[0])) &&
        v.find_first_not_of("0123456789_:.") == std::string_view::npos &&
        (v.find('_') != std::string_view::npos || v.find(':') != std::string_view::npos))
        return true;
    if (std::string_view(":-?,[]{}#&*!|>'\"%@`").find(s.front()) != std::string_view::npos) return true;
    if (s.front() == ' ' || s.back() == ' ' || s.find('\n') != std::string::npos) return true;
    return false;
}

std::string number_text(double d) {
    if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    // Shortest form that reads back the same.
    for (int prec = 1; prec <= 17; ++prec) {
        char t[64];
        std::snprintf(t, sizeof t, "%.*g", prec, d);
        if (std::strtod(t, nullptr) == d) return t;
    }
    return buf;
}

void emit(YAML::Emitter& out, const json& j) {
    switch (j.type()) {
        case json::value_t::object:
            if (j.empty()) {
                out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
                return;
            }
            out << YAML::BeginMap;
            for (auto& [k, v] : j.items()) {
                out << YAML::Key;
                if (needs_quotes(k)) out << YAML::DoubleQuoted;
                out << k << YAML::Value;
                emit(out, v);
            }
            out << YAML::EndMap;
            return;
        case json::value_t::array:
            if (j.empty()) {
                out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
                return;
            }
            out << YAML::BeginSeq;
            for (auto& v : j) emit(out, v);
            out << YAML::EndSeq;
            return;
        case json::value_t::string: {
            const auto& s = j.get_ref<const std::string&>();
            if (needs_quotes(s)) out << YAML::DoubleQuoted;
            out << s;
            return;
        }
        case json::value_t::boolean:
            out << (j.get<bool>() ? "true" : "false");
            return;
        case json::value_t::number_integer:
            out << j.get<std::int64_t>();
            return;
        case json::value_t::number_unsigned:
            out << j.get<std::uint64_t>();
            return;
        case json::value_t::number_float:
            out << number_text(j.get<double>());
            return;
        default:
            out << YAML::Null;
            return;
    }
}

}  // namespace

std::string service_to_json(const Service& svc) { return service_json(svc).dump(); }

std::string to_json(const Project& p) {
    ojson out = ojson::object();
    out["name"] = p.name;
    json body = project_body(p);
    for (auto& [k, v] : body.items()) out[k] = ojson::parse(v.dump());
    return out.dump(2) + "\n";
}

std::string to_yaml(const Project& p) {
    YAML::Emitter out;
    out.SetIndent(2);
    out.SetNullFormat(YAML::LowerNull);
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value;
    if (needs_quotes(p.name)) out << YAML::DoubleQuoted;
    out << p.name;
    json body = project_body(p);
    for (auto& [k, v] : body.items()) {
        out << YAML::Key << k << YAML::Value;
        emit(out, v);
    }
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

std::string service_config_hash(const Service& svc) {
    json j = service_json(svc);
    for (const char* k : {"build", "pull_policy", "scale", "depends_on", "profiles"}) j.erase(k);
    if (auto it = j.find("deploy"); it != j.end()) {
        it->erase("replicas");
        if (it->empty()) j.erase(it);
    }
    return sys::sha256_hex(j.dump());
}

}  // namespace berth::compose
