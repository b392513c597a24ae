#include "compose/bind.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "compose/short_syntax.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/strings.hpp"

namespace berth::compose {

namespace {

json node_json(const Node& n) {
    switch (n.kind) {
        case Node::Kind::null:
            return nullptr;
        case Node::Kind::scalar:
            if (n.plain) {
                if (auto i = str::parse_int(n.value)) return *i;
                if (auto d = str::parse_double(n.value)) return *d;
                if (n.value == "true") return true;
                if (n.value == "false") return false;
            }
            return n.value;
        case Node::Kind::sequence: {
            json a = json::array();
            for (auto& i : n.items) a.push_back(node_json(i));
            return a;
        }
        case Node::Kind::mapping: {
            json o = json::object();
            for (auto& e : n.entries) o[e.key] = node_json(e.value);
            return o;
        }
    }
    return nullptr;
}

// Reads typed values out of nodes, reporting what does not fit.
class Reader {
public:
    explicit Reader(BindContext& ctx) : ctx_(ctx) {}

    Problems& problems() { return ctx_.problems; }
    void error(const Node& at, const std::string& path, std::string msg) { ctx_.problems.add(at, path, std::move(msg)); }

    std::optional<std::string> str(const Node& n, const std::string& path) {
        if (n.is_null()) return std::nullopt;
        if (!n.is_scalar()) {
            error(n, path, "must be a string");
            return std::nullopt;
        }
        return n.value;
    }
    std::string str_or(const Node& n, const std::string& path) { return str(n, path).value_or(""); }

    std::optional<bool> boolean(const Node& n, const std::string& path) {
        if (n.is_null()) return std::nullopt;
        if (n.is_scalar()) {
            // compose-go accepts these spellings after interpolation turned everything into strings.
            std::string l = str::to_lower(n.value);
            if (l == "true" || l == "yes" || l == "y" || l == "on") return true;
            if (l == "false" || l == "no" || l == "n" || l == "off") return false;
        }
        error(n, path, "must be a boolean, not " + describe(n));
        return std::nullopt;
    }

    std::optional<std::int64_t> integer(const Node& n, const std::string& path, std::int64_t min = INT64_MIN) {
        if (n.is_null()) return std::nullopt;
        if (n.is_scalar())
            if (auto v = str::parse_int(n.value); v && *v >= min) return v;
        error(n, path, min == 0 ? "must be a non-negative integer, not " + describe(n) : "must be an integer, not " + describe(n));
        return std::nullopt;
    }

    std::optional<double> number(const Node& n, const std::string& path) {
        if (n.is_null()) return std::nullopt;
        if (n.is_scalar())
            if (auto v = str::parse_double(n.value); v && *v >= 0) return v;
        error(n, path, "must be a non-negative number, not " + describe(n));
        return std::nullopt;
    }

    // Byte values: 2048, "512m", "1gb" (binary units, as Docker's RAMInBytes); -1 where allowed.
    std::optional<std::int64_t> bytes(const Node& n, const std::string& path, bool allow_minus_one = false) {
        if (n.is_null()) return std::nullopt;
        if (n.is_scalar()) {
            if (allow_minus_one && n.value == "-1") return -1;
            if (auto v = str::parse_bytes(n.value)) return v;
        }
        error(n, path, "invalid size " + describe(n));
        return std::nullopt;
    }

    // Go durations: "1m30s", "10s", "500ms".
    std::optional<std::int64_t> duration(const Node& n, const std::string& path) {
        if (n.is_null()) return std::nullopt;
        if (n.is_scalar())
            if (auto v = str::parse_duration_ns(n.value); v && *v >= 0) return v;
        error(n, path, "invalid duration " + describe(n));
        return std::nullopt;
    }

    // File modes are octal, written with or without a leading 0 ("0440", 440, 0o440), as the
    // compose specification describes them and as `chmod` reads them.
    std::optional<std::uint32_t> mode(const Node& n, const std::string& path) {
        if (n.is_null()) return std::nullopt;
        if (n.is_scalar() && !n.value.empty()) {
            std::string v = n.value.rfind("0o", 0) == 0 ? n.value.substr(2) : n.value;
            char* end = nullptr;
            unsigned long m = std::strtoul(v.c_str(), &end, 8);
            if (!v.empty() && end && *end == '\0' && m <= 07777) return static_cast<std::uint32_t>(m);
        }
        error(n, path, "invalid file mode " + describe(n) + " (octal, at most 7777)");
        return std::nullopt;
    }

    std::vector<std::string> str_list(const Node& n, const std::string& path) {
        std::vector<std::string> out;
        if (n.is_null()) return out;
        if (!n.is_seq()) {
            error(n, path, "must be a list of strings");
            return out;
        }
        for (size_t i = 0; i < n.items.size(); ++i) {
            auto& item = n.items[i];
            if (!item.is_scalar()) {
                error(item, path_index(path, i), "must be a string");
                continue;
            }
            out.push_back(item.value);
        }
        return out;
    }

    StringMap str_map(const Node& n, const std::string& path) {
        StringMap out;
        if (n.is_null()) return out;
        if (!n.is_map()) {
            error(n, path, "must be a mapping");
            return out;
        }
        for (auto& e : n.entries) {
            if (e.value.is_null()) out[e.key] = "";
            else if (e.value.is_scalar()) out[e.key] = e.value.value;
            else error(e.value, path_join(path, e.key), "must be a string");
        }
        return out;
    }

    // environment-like maps: a key without a value takes it from the interpolation environment,
    // and is dropped when unset there.
    StringMap env_map(const Node& n, const std::string& path) {
        StringMap out;
        if (n.is_null()) return out;
        if (!n.is_map()) {
            error(n, path, "must be a mapping or a list");
            return out;
        }
        for (auto& e : n.entries) {
            if (e.value.is_null()) {
                if (auto it = ctx_.environment.find(e.key); it != ctx_.environment.end()) out[e.key] = it->second;
            } else if (e.value.is_scalar()) {
                out[e.key] = e.value.value;
            } else {
                error(e.value, path_join(path, e.key), "must be a string");
            }
        }
        return out;
    }

    // command / entrypoint: a string is split with shell rules; a list is taken as is.
    std::optional<std::vector<std::string>> command(const Node& n, const std::string& path) {
        if (n.is_null()) return std::nullopt;
        if (n.is_scalar()) {
            auto words = shell_split(n.value);
            if (!words) {
                error(n, path, "unterminated quote in " + describe(n));
                return std::nullopt;
            }
            return words;
        }
        if (n.is_seq()) return str_list(n, path);
        error(n, path, "must be a string or a list of strings");
        return std::nullopt;
    }

    bool is_map(const Node& n, const std::string& path) {
        if (n.is_map()) return true;
        if (!n.is_null()) error(n, path, "must be a mapping, not " + describe(n));
        return false;
    }

    static std::string describe(const Node& n) {
        if (n.is_scalar()) return "\"" + n.value + "\"";
        return n.kind_name();
    }

    const EnvMap& environment() const { return ctx_.environment; }
    BindContext& ctx() { return ctx_; }

private:
    BindContext& ctx_;
};

bool one_of(const std::string& v, std::initializer_list<const char*> allowed) {
    for (auto* a : allowed)
        if (v == a) return true;
    return false;
}

std::string list_text(std::initializer_list<const char*> allowed) {
    std::string out;
    for (auto* a : allowed) {
        if (!out.empty()) out += ", ";
        out += a;
    }
    return out;
}

// An enum-valued string: reports the allowed values when it is not one of them.
std::string enum_value(Reader& r, const Node& n, const std::string& path, std::initializer_list<const char*> allowed) {
    auto v = r.str(n, path);
    if (!v) return "";
    if (!one_of(*v, allowed)) {
        r.error(n, path, "invalid value \"" + *v + "\" (must be one of " + list_text(allowed) + ")");
        return "";
    }
    return *v;
}

std::vector<std::pair<std::string, std::string>> hosts(Reader& r, const Node& n, const std::string& path) {
    std::vector<std::pair<std::string, std::string>> out;
    if (!n.is_map()) return out;
    for (auto& e : n.entries) {
        if (!e.value.is_seq()) continue;
        for (auto& ip : e.value.items) {
            if (!ip.is_scalar()) continue;
            if (ip.value != "host-gateway" && !is_ip_address(ip.value))
                r.error(ip, path_join(path, e.key), "invalid IP address \"" + ip.value + "\"");
            else
                out.emplace_back(e.key, ip.value);
        }
    }
    return out;
}

void bind_build(Reader& r, Build& b, const Node& n, const std::string& path) {
    for (auto& e : n.entries) {
        const Node& v = e.value;
        const std::string& k = e.key;
        std::string p = path_join(path, k);
        if (k == "context") b.context = r.str_or(v, p);
        else if (k == "dockerfile") b.dockerfile = r.str_or(v, p);
        else if (k == "dockerfile_inline") b.dockerfile_inline = r.str_or(v, p);
        else if (k == "args") {
            if (!r.is_map(v, p)) continue;
            for (auto& a : v.entries) {
                if (a.value.is_null()) {
                    auto it = r.environment().find(a.key);
                    b.args[a.key] = it == r.environment().end() ? std::nullopt : std::optional<std::string>(it->second);
                } else if (a.value.is_scalar()) {
                    b.args[a.key] = a.value.value;
                } else {
                    r.error(a.value, path_join(p, a.key), "must be a string");
                }
            }
        } else if (k == "target") b.target = r.str_or(v, p);
        else if (k == "labels") b.labels = r.str_map(v, p);
        else if (k == "no_cache") b.no_cache = r.boolean(v, p);
        else if (k == "network") b.network = r.str_or(v, p);
        else if (k == "pull") b.pull = r.boolean(v, p);
        else if (k == "cache_from") b.cache_from = r.str_list(v, p);
        else if (k == "cache_to") b.cache_to = r.str_list(v, p);
        else if (k == "tags") b.tags = r.str_list(v, p);
        else if (k == "platforms") b.platforms = r.str_list(v, p);
        else if (k == "additional_contexts") b.additional_contexts = r.str_map(v, p);
        else if (k == "extra_hosts") b.extra_hosts = hosts(r, v, p);
        else if (k == "shm_size") b.shm_size = r.bytes(v, p);
        else if (k == "privileged") b.privileged = r.boolean(v, p);
        else b.extra[k] = node_to_json_text(v);
    }
    if (!b.dockerfile.empty() && !b.dockerfile_inline.empty())
        r.error(n, path, "dockerfile and dockerfile_inline are mutually exclusive");
}

void bind_port(Reader& r, std::vector<Port>& out, const Node& n, const std::string& path) {
    if (!n.is_map()) return;
    Port p;
    bool ok = true;
    for (auto& e : n.entries) {
        const Node& v = e.value;
        std::string sp = path_join(path, e.key);
        if (e.key == "target") {
            auto t = r.integer(v, sp);
            if (t && (*t < 1 || *t > 65535)) {
                r.error(v, sp, "invalid port " + Reader::describe(v));
                ok = false;
            } else if (t) {
                p.target = static_cast<std::uint32_t>(*t);
            } else {
                ok = false;
            }
        } else if (e.key == "published") {
            auto s = r.str(v, sp);
            if (!s) continue;
            auto [a, b] = str::split_once(*s, '-');
            auto lo = str::parse_uint(a);
            auto hi = b ? str::parse_uint(*b) : lo;
            if (!lo || !hi || *lo > 65535 || *hi > 65535 || *hi < *lo) {
                r.error(v, sp, "invalid published port " + Reader::describe(v));
                ok = false;
            } else {
                p.published = *s;
            }
        } else if (e.key == "host_ip") {
            p.host_ip = r.str_or(v, sp);
            if (!p.host_ip.empty() && !is_ip_address(p.host_ip)) {
                r.error(v, sp, "invalid IP address \"" + p.host_ip + "\"");
                ok = false;
            }
        } else if (e.key == "protocol") {
            p.protocol = str::to_lower(r.str_or(v, sp));
            if (!one_of(p.protocol, {"tcp", "udp", "sctp"})) {
                r.error(v, sp, "invalid protocol \"" + p.protocol + "\" (must be one of tcp, udp, sctp)");
                ok = false;
            }
        } else if (e.key == "mode") {
            p.mode = enum_value(r, v, sp, {"host", "ingress"});
        } else if (e.key == "name") {
            p.name = r.str_or(v, sp);
        } else if (e.key == "app_protocol") {
            p.app_protocol = r.str_or(v, sp);
        }
    }
    if (p.mode.empty()) p.mode = "ingress";
    if (p.protocol.empty()) p.protocol = "tcp";
    if (!n.find("target")) {
        r.error(n, path, "target is required");
        ok = false;
    }
    if (ok) out.push_back(p);
}

void bind_mount(Reader& r, std::vector<Mount>& out, const Node& n, const std::string& path) {
    if (!n.is_map()) return;
    Mount m;
    bool ok = true;
    for (auto& e : n.entries) {
        const Node& v = e.value;
        std::string sp = path_join(path, e.key);
        if (e.key == "type") {
            m.type = enum_value(r, v, sp, {"bind", "volume", "tmpfs", "image", "npipe", "cluster"});
            if (m.type.empty()) ok = false;
        } else if (e.key == "source") m.source = r.str_or(v, sp);
        else if (e.key == "target") m.target = r.str_or(v, sp);
        else if (e.key == "read_only") m.read_only = r.boolean(v, sp).value_or(false);
        else if (e.key == "consistency") m.consistency = r.str_or(v, sp);
        else if (e.key == "bind") {
            if (!r.is_map(v, sp)) continue;
            Mount::Bind b;
            for (auto& be : v.entries) {
                std::string bp = path_join(sp, be.key);
                if (be.key == "propagation")
                    b.propagation = enum_value(r, be.value, bp, {"shared", "rshared", "slave", "rslave", "private", "rprivate"});
                else if (be.key == "create_host_path") b.create_host_path = r.boolean(be.value, bp).value_or(true);
                else if (be.key == "selinux") b.selinux = enum_value(r, be.value, bp, {"z", "Z"});
                else if (be.key == "recursive")
                    b.recursive = enum_value(r, be.value, bp, {"enabled", "disabled", "writable", "readonly"});
            }
            m.bind = b;
        } else if (e.key == "volume") {
            if (!r.is_map(v, sp)) continue;
            Mount::Volume vol;
            for (auto& ve : v.entries) {
                std::string vp = path_join(sp, ve.key);
                if (ve.key == "nocopy") vol.nocopy = r.boolean(ve.value, vp).value_or(false);
                else if (ve.key == "subpath") vol.subpath = r.str_or(ve.value, vp);
                else if (ve.key == "labels") vol.labels = r.str_map(ve.value, vp);
            }
            m.volume = vol;
        } else if (e.key == "tmpfs") {
            if (!r.is_map(v, sp)) continue;
            Mount::Tmpfs t;
            for (auto& te : v.entries) {
                std::string tp = path_join(sp, te.key);
                if (te.key == "size") t.size = r.bytes(te.value, tp);
                else if (te.key == "mode") t.mode = r.mode(te.value, tp);
            }
            m.tmpfs = t;
        } else if (e.key == "image") {
            if (!r.is_map(v, sp)) continue;
            if (auto* s = v.find("subpath")) m.image_subpath = r.str_or(*s, path_join(sp, "subpath"));
        }
    }
    if (!ok) return;
    if (m.type.empty()) {
        r.error(n, path, "type is required");
        return;
    }
    if (m.target.empty()) {
        r.error(n, path, "target is required");
        return;
    }
    if (m.target[0] != '/') {
        r.error(n, path_join(path, "target"), "target \"" + m.target + "\" must be an absolute path");
        return;
    }
    if (m.type == "bind" && m.source.empty()) {
        r.error(n, path, "a bind mount needs a source");
        return;
    }
    if (m.type == "tmpfs" && !m.source.empty()) {
        r.error(n, path_join(path, "source"), "a tmpfs mount takes no source");
        return;
    }
    if (m.bind && m.type != "bind") r.error(n, path_join(path, "bind"), "bind options on a " + m.type + " mount");
    if (m.volume && m.type != "volume") r.error(n, path_join(path, "volume"), "volume options on a " + m.type + " mount");
    if (m.tmpfs && m.type != "tmpfs") r.error(n, path_join(path, "tmpfs"), "tmpfs options on a " + m.type + " mount");
    if (m.type == "bind" && !m.bind) m.bind = Mount::Bind{};
    out.push_back(std::move(m));
}

std::optional<Resource> bind_resource(Reader& r, const Node& n, const std::string& path) {
    if (!r.is_map(n, path)) return std::nullopt;
    Resource res;
    for (auto& e : n.entries) {
        std::string p = path_join(path, e.key);
        if (e.key == "cpus") res.cpus = r.number(e.value, p);
        else if (e.key == "memory") res.memory = r.bytes(e.value, p);
        else if (e.key == "pids") res.pids = r.integer(e.value, p, -1);
        else res.extra[e.key] = node_to_json_text(e.value);
    }
    return res;
}

void bind_deploy(Reader& r, Deploy& d, const Node& n, const std::string& path) {
    for (auto& e : n.entries) {
        const Node& v = e.value;
        std::string p = path_join(path, e.key);
        if (e.key == "mode") d.mode = enum_value(r, v, p, {"replicated", "global"});
        else if (e.key == "replicas") {
            if (auto n2 = r.integer(v, p, 0)) d.replicas = static_cast<int>(*n2);
        } else if (e.key == "labels") d.labels = r.str_map(v, p);
        else if (e.key == "resources") {
            if (!r.is_map(v, p)) continue;
            for (auto& re : v.entries) {
                std::string rp = path_join(p, re.key);
                if (re.key == "limits") d.limits = bind_resource(r, re.value, rp);
                else if (re.key == "reservations") d.reservations = bind_resource(r, re.value, rp);
            }
        } else if (e.key == "restart_policy") {
            if (!r.is_map(v, p)) continue;
            RestartPolicy rp;
            for (auto& re : v.entries) {
                std::string pp = path_join(p, re.key);
                if (re.key == "condition") rp.condition = enum_value(r, re.value, pp, {"none", "on-failure", "any"});
                else if (re.key == "delay") rp.delay = r.duration(re.value, pp);
                else if (re.key == "max_attempts") {
                    if (auto m = r.integer(re.value, pp, 0)) rp.max_attempts = static_cast<std::uint64_t>(*m);
                } else if (re.key == "window") rp.window = r.duration(re.value, pp);
            }
            d.restart_policy = rp;
        } else {
            d.extra[e.key] = node_to_json_text(v);
        }
    }
}

void bind_healthcheck(Reader& r, Healthcheck& h, const Node& n, const std::string& path) {
    for (auto& e : n.entries) {
        const Node& v = e.value;
        std::string p = path_join(path, e.key);
        if (e.key == "test") {
            if (v.is_scalar()) {
                h.test = {"CMD-SHELL", v.value};
            } else if (v.is_seq()) {
                h.test = r.str_list(v, p);
                if (!h.test.empty() && !one_of(h.test[0], {"NONE", "CMD", "CMD-SHELL"})) {
                    r.error(v, p, "the first item must be NONE, CMD or CMD-SHELL, not \"" + h.test[0] + "\"");
                    h.test.clear();
                } else if (!h.test.empty() && h.test[0] != "NONE" && h.test.size() < 2) {
                    r.error(v, p, h.test[0] + " needs a command");
                }
            } else if (!v.is_null()) {
                r.error(v, p, "must be a string or a list");
            }
        } else if (e.key == "interval") h.interval = r.duration(v, p);
        else if (e.key == "timeout") h.timeout = r.duration(v, p);
        else if (e.key == "start_period") h.start_period = r.duration(v, p);
        else if (e.key == "start_interval") h.start_interval = r.duration(v, p);
        else if (e.key == "retries") {
            if (auto n2 = r.integer(v, p, 0)) h.retries = static_cast<std::uint64_t>(*n2);
        } else if (e.key == "disable") h.disable = r.boolean(v, p).value_or(false);
    }
}

Hook bind_hook(Reader& r, const Node& n, const std::string& path) {
    Hook h;
    if (!r.is_map(n, path)) return h;
    for (auto& e : n.entries) {
        std::string p = path_join(path, e.key);
        if (e.key == "command") h.command = r.command(e.value, p).value_or(std::vector<std::string>{});
        else if (e.key == "user") h.user = r.str_or(e.value, p);
        else if (e.key == "privileged") h.privileged = r.boolean(e.value, p).value_or(false);
        else if (e.key == "working_dir") h.working_dir = r.str_or(e.value, p);
        else if (e.key == "environment") h.environment = r.env_map(e.value, p);
    }
    if (h.command.empty()) r.error(n, path, "a hook needs a command");
    return h;
}

std::vector<FileRef> bind_refs(Reader& r, const Node& n, const std::string& path, bool secret) {
    std::vector<FileRef> out;
    if (!n.is_seq()) {
        if (!n.is_null()) r.error(n, path, "must be a list");
        return out;
    }
    for (size_t i = 0; i < n.items.size(); ++i) {
        const Node& item = n.items[i];
        std::string ip = path_index(path, i);
        if (!r.is_map(item, ip)) continue;
        FileRef f;
        for (auto& e : item.entries) {
            std::string p = path_join(ip, e.key);
            if (e.key == "source") f.source = r.str_or(e.value, p);
            else if (e.key == "target") f.target = r.str_or(e.value, p);
            else if (e.key == "uid") f.uid = r.str_or(e.value, p);
            else if (e.key == "gid") f.gid = r.str_or(e.value, p);
            else if (e.key == "mode") f.mode = r.mode(e.value, p);
        }
        if (f.source.empty()) {
            r.error(item, ip, "source is required");
            continue;
        }
        if (f.target.empty()) f.target = secret ? "/run/secrets/" + f.source : "/" + f.source;
        out.push_back(f);
    }
    return out;
}

bool valid_restart(const std::string& v) {
    if (one_of(v, {"no", "always", "unless-stopped", "on-failure"})) return true;
    if (v.rfind("on-failure:", 0) == 0) return str::parse_uint(v.substr(11)).has_value();
    return false;
}

bool valid_pull_policy(const std::string& v) {
    if (one_of(v, {"always", "never", "missing", "build", "if_not_present", "refresh", "daily", "weekly"})) return true;
    if (v.rfind("every_", 0) == 0) {
        auto d = str::parse_duration_ns(v.substr(6));
        return d && *d > 0;
    }
    return false;
}

// container:X and service:X references, host|none|bridge|default.
bool valid_network_mode(const std::string& v) {
    if (one_of(v, {"host", "none", "bridge", "default"})) return true;
    for (const char* pre : {"service:", "container:"})
        if (v.rfind(pre, 0) == 0 && v.size() > std::string(pre).size()) return true;
    return false;
}

bool valid_namespace_mode(const std::string& v) {
    if (v.empty() || one_of(v, {"host", "private", "shareable", "none"})) return true;
    for (const char* pre : {"service:", "container:"})
        if (v.rfind(pre, 0) == 0 && v.size() > std::string(pre).size()) return true;
    return false;
}

EnvMap read_env_files(Reader& r, std::vector<EnvFile>& files, const Node& n, const std::string& path) {
    EnvMap env;
    if (!n.is_seq()) return env;
    Lookup lookup = [&r](const std::string& k) -> std::optional<std::string> {
        auto it = r.environment().find(k);
        if (it == r.environment().end()) return std::nullopt;
        return it->second;
    };
    for (size_t i = 0; i < n.items.size(); ++i) {
        const Node& item = n.items[i];
        std::string ip = path_index(path, i);
        if (!r.is_map(item, ip)) continue;
        EnvFile f;
        for (auto& e : item.entries) {
            std::string p = path_join(ip, e.key);
            if (e.key == "path") f.path = r.str_or(e.value, p);
            else if (e.key == "required") f.required = r.boolean(e.value, p).value_or(true);
            else if (e.key == "format") {
                f.format = r.str_or(e.value, p);
                if (!f.format.empty() && f.format != "raw") {
                    r.error(e.value, p, "unsupported env_file format \"" + f.format + "\" (berth knows \"raw\")");
                    f.format.clear();
                }
            }
        }
        if (f.path.empty()) {
            r.error(item, ip, "path is required");
            continue;
        }
        files.push_back(f);
        if (sys::is_dir(f.path)) {
            r.error(item, ip, "env file " + f.path + " is a directory");
            continue;
        }
        std::optional<std::string> text;
        try {
            text = sys::read_file_if_exists(f.path);
        } catch (const std::exception& ex) {
            r.error(item, ip, std::string("reading env file: ") + ex.what());
            continue;
        }
        if (!text) {
            if (f.required) r.error(item, ip, "env file " + f.path + " not found");
            continue;
        }
        std::string shown = f.path;
        if (!r.ctx().working_dir.empty()) {
            auto rel = std::filesystem::path(f.path).lexically_relative(r.ctx().working_dir).string();
            if (!rel.empty() && rel.rfind("..", 0) != 0) shown = rel;
        }
        auto file = std::make_shared<const std::string>(shown);
        EnvMap vars = f.format == "raw" ? parse_dotenv_raw(*text, file, r.problems())
                                        : parse_dotenv(*text, file, lookup, r.problems(), r.ctx().warnings);
        for (auto& [k, v] : vars) env[k] = v;
    }
    return env;
}

// label_file: KEY=VALUE files in the dotenv syntax, read in order (later files win).
StringMap read_label_files(Reader& r, const std::vector<std::string>& files, const Node& n, const std::string& path) {
    StringMap out;
    Lookup lookup = [&r](const std::string& k) -> std::optional<std::string> {
        auto it = r.environment().find(k);
        if (it == r.environment().end()) return std::nullopt;
        return it->second;
    };
    for (size_t i = 0; i < files.size(); ++i) {
        const Node& at = n.is_seq() && i < n.items.size() ? n.items[i] : n;
        std::optional<std::string> text;
        try {
            if (!sys::is_dir(files[i])) text = sys::read_file_if_exists(files[i]);
        } catch (const std::exception& ex) {
            r.error(at, path_index(path, i), std::string("reading label file: ") + ex.what());
            continue;
        }
        if (!text) {
            r.error(at, path_index(path, i), "label file " + files[i] + " not found");
            continue;
        }
        auto vars = parse_dotenv(*text, std::make_shared<const std::string>(files[i]), lookup, r.problems(),
                                 r.ctx().warnings);
        for (auto& [k, v] : vars) out[k] = v;
    }
    return out;
}

void bind_device(Reader& r, std::vector<Device>& out, const Node& n, const std::string& path) {
    Device d;
    if (n.is_scalar()) {
        auto parts = str::split(n.value, ':');
        if (parts.size() > 3 || parts[0].empty()) {
            r.error(n, path, "invalid device \"" + n.value + "\"");
            return;
        }
        d.source = parts[0];
        d.target = parts.size() > 1 ? parts[1] : parts[0];
        d.permissions = parts.size() > 2 ? parts[2] : "rwm";
    } else if (n.is_map()) {
        for (auto& e : n.entries) {
            std::string p = path_join(path, e.key);
            if (e.key == "source") d.source = r.str_or(e.value, p);
            else if (e.key == "target") d.target = r.str_or(e.value, p);
            else if (e.key == "permissions") d.permissions = r.str_or(e.value, p);
        }
        if (d.source.empty()) {
            r.error(n, path, "source is required");
            return;
        }
        if (d.target.empty()) d.target = d.source;
        if (d.permissions.empty()) d.permissions = "rwm";
    } else {
        r.error(n, path, "must be a string or a mapping");
        return;
    }
    if (d.permissions.find_first_not_of("rwm") != std::string::npos)
        r.error(n, path, "invalid device permissions \"" + d.permissions + "\" (a combination of r, w, m)");
    else
        out.push_back(d);
}

}  // namespace

std::string node_to_json_text(const Node& node) { return node_json(node).dump(); }

Service bind_service(const std::string& name, const Node& node, BindContext& ctx) {
    Reader r(ctx);
    Service s;
    s.name = name;
    std::string path = path_join("services", name);
    if (!node.is_map()) return s;
    EnvMap from_files;
    StringMap env;
    for (auto& e : node.entries) {
        const Node& v = e.value;
        const std::string& k = e.key;
        std::string p = path_join(path, k);
        if (k.rfind("x-", 0) == 0) {
            s.extensions[k] = node_to_json_text(v);
        } else if (k == "image") s.image = r.str_or(v, p);
        else if (k == "build") {
            if (!r.is_map(v, p)) continue;
            Build b;
            bind_build(r, b, v, p);
            s.build = b;
        } else if (k == "pull_policy") {
            s.pull_policy = r.str_or(v, p);
            if (!s.pull_policy.empty() && !valid_pull_policy(s.pull_policy)) {
                r.error(v, p, "invalid pull_policy \"" + s.pull_policy +
                                  "\" (must be always, never, missing, build, daily, weekly or every_<duration>)");
                s.pull_policy.clear();
            }
            if (s.pull_policy == "if_not_present") s.pull_policy = "missing";
        } else if (k == "platform") s.platform = r.str_or(v, p);
        else if (k == "command") s.command = r.command(v, p);
        else if (k == "entrypoint") s.entrypoint = r.command(v, p);
        else if (k == "environment") env = r.env_map(v, p);
        else if (k == "env_file") from_files = read_env_files(r, s.env_file, v, p);
        else if (k == "working_dir") s.working_dir = r.str_or(v, p);
        else if (k == "user") s.user = r.str_or(v, p);
        else if (k == "group_add") s.group_add = r.str_list(v, p);
        else if (k == "ports") {
            if (v.is_seq())
                for (size_t i = 0; i < v.items.size(); ++i) bind_port(r, s.ports, v.items[i], path_index(p, i));
        } else if (k == "expose") {
            s.expose = r.str_list(v, p);
            for (size_t i = 0; i < s.expose.size(); ++i) {
                auto parsed = parse_port_spec(s.expose[i]);
                if (!parsed.ok || str::contains(s.expose[i], ":"))
                    r.error(v.items[i], path_index(p, i), "invalid port \"" + s.expose[i] + "\"");
            }
        } else if (k == "volumes") {
            if (v.is_seq())
                for (size_t i = 0; i < v.items.size(); ++i) bind_mount(r, s.volumes, v.items[i], path_index(p, i));
        } else if (k == "volumes_from") s.volumes_from = r.str_list(v, p);
        else if (k == "tmpfs") s.tmpfs = r.str_list(v, p);
        else if (k == "networks") {
            if (!r.is_map(v, p)) continue;
            for (auto& ne : v.entries) {
                std::string np = path_join(p, ne.key);
                if (ne.value.is_null()) {
                    s.networks[ne.key] = std::nullopt;
                    continue;
                }
                if (!r.is_map(ne.value, np)) continue;
                ServiceNetwork sn;
                for (auto& ae : ne.value.entries) {
                    std::string ap = path_join(np, ae.key);
                    const Node& av = ae.value;
                    if (ae.key == "aliases") sn.aliases = r.str_list(av, ap);
                    else if (ae.key == "ipv4_address" || ae.key == "ipv6_address") {
                        std::string ip = r.str_or(av, ap);
                        if (!ip.empty() && !is_ip_address(ip)) r.error(av, ap, "invalid IP address \"" + ip + "\"");
                        (ae.key == "ipv4_address" ? sn.ipv4_address : sn.ipv6_address) = ip;
                    } else if (ae.key == "mac_address") sn.mac_address = r.str_or(av, ap);
                    else if (ae.key == "interface_name") sn.interface_name = r.str_or(av, ap);
                    else if (ae.key == "link_local_ips") sn.link_local_ips = r.str_list(av, ap);
                    else if (ae.key == "priority") sn.priority = static_cast<int>(r.integer(av, ap).value_or(0));
                    else if (ae.key == "gw_priority") sn.gw_priority = static_cast<int>(r.integer(av, ap).value_or(0));
                    else if (ae.key == "driver_opts") sn.driver_opts = r.str_map(av, ap);
                }
                s.networks[ne.key] = sn;
            }
        } else if (k == "network_mode") {
            s.network_mode = r.str_or(v, p);
            if (!s.network_mode.empty() && !valid_network_mode(s.network_mode)) {
                r.error(v, p, "invalid network_mode \"" + s.network_mode +
                                  "\" (must be host, none, bridge, service:<name> or container:<name>)");
                s.network_mode.clear();
            }
        } else if (k == "hostname") s.hostname = r.str_or(v, p);
        else if (k == "domainname") s.domainname = r.str_or(v, p);
        else if (k == "mac_address") s.mac_address = r.str_or(v, p);
        else if (k == "dns") s.dns = r.str_list(v, p);
        else if (k == "dns_search") s.dns_search = r.str_list(v, p);
        else if (k == "dns_opt") s.dns_opt = r.str_list(v, p);
        else if (k == "extra_hosts") s.extra_hosts = hosts(r, v, p);
        else if (k == "links") s.links = r.str_list(v, p);
        else if (k == "external_links") s.external_links = r.str_list(v, p);
        else if (k == "depends_on") {
            if (!r.is_map(v, p)) continue;
            for (auto& de : v.entries) {
                std::string dp = path_join(p, de.key);
                Dependency d;
                if (r.is_map(de.value, dp)) {
                    for (auto& ce : de.value.entries) {
                        std::string cp = path_join(dp, ce.key);
                        if (ce.key == "condition") {
                            d.condition = enum_value(r, ce.value, cp,
                                                     {"service_started", "service_healthy", "service_completed_successfully"});
                            if (d.condition.empty()) d.condition = "service_started";
                        } else if (ce.key == "restart") d.restart = r.boolean(ce.value, cp).value_or(false);
                        else if (ce.key == "required") d.required = r.boolean(ce.value, cp).value_or(true);
                    }
                }
                s.depends_on[de.key] = d;
            }
        } else if (k == "healthcheck") {
            if (!r.is_map(v, p)) continue;
            Healthcheck h;
            bind_healthcheck(r, h, v, p);
            s.healthcheck = h;
        } else if (k == "restart") {
            s.restart = r.str_or(v, p);
            if (!s.restart.empty() && !valid_restart(s.restart)) {
                r.error(v, p, "invalid restart policy \"" + s.restart +
                                  "\" (must be no, always, on-failure[:max-retries] or unless-stopped)");
                s.restart.clear();
            }
        } else if (k == "deploy") {
            if (!r.is_map(v, p)) continue;
            Deploy d;
            bind_deploy(r, d, v, p);
            s.deploy = d;
        } else if (k == "scale") {
            if (auto n2 = r.integer(v, p, 0)) s.scale = static_cast<int>(*n2);
        } else if (k == "mem_limit") s.mem_limit = r.bytes(v, p);
        else if (k == "memswap_limit") s.memswap_limit = r.bytes(v, p, true);
        else if (k == "mem_reservation") s.mem_reservation = r.bytes(v, p);
        else if (k == "cpus") s.cpus = r.number(v, p);
        else if (k == "cpu_shares") s.cpu_shares = r.integer(v, p, 0);
        else if (k == "cpu_quota") s.cpu_quota = r.integer(v, p, -1);
        else if (k == "cpu_period") s.cpu_period = r.integer(v, p, 0);
        else if (k == "cpuset") s.cpuset = r.str_or(v, p);
        else if (k == "pids_limit") s.pids_limit = r.integer(v, p, -1);
        else if (k == "ulimits") {
            if (!r.is_map(v, p)) continue;
            for (auto& ue : v.entries) {
                std::string up = path_join(p, ue.key);
                Ulimit u;
                if (ue.value.is_scalar()) {
                    u.single = r.integer(ue.value, up);
                    if (!u.single) continue;
                    u.soft = u.hard = *u.single;
                } else if (ue.value.is_map()) {
                    auto* soft = ue.value.find("soft");
                    auto* hard = ue.value.find("hard");
                    if (!soft || !hard) {
                        r.error(ue.value, up, "needs both soft and hard");
                        continue;
                    }
                    auto sv = r.integer(*soft, path_join(up, "soft"));
                    auto hv = r.integer(*hard, path_join(up, "hard"));
                    if (!sv || !hv) continue;
                    if (*sv > *hv && *hv >= 0) {
                        r.error(ue.value, up, "soft limit " + std::to_string(*sv) + " is above the hard limit " +
                                                  std::to_string(*hv));
                        continue;
                    }
                    u.soft = *sv;
                    u.hard = *hv;
                } else {
                    r.error(ue.value, up, "must be a number or a mapping with soft and hard");
                    continue;
                }
                s.ulimits[ue.key] = u;
            }
        } else if (k == "shm_size") s.shm_size = r.bytes(v, p);
        else if (k == "labels") s.labels = r.str_map(v, p);
        else if (k == "annotations") s.annotations = r.str_map(v, p);
        else if (k == "init") s.init = r.boolean(v, p);
        else if (k == "stop_signal") s.stop_signal = r.str_or(v, p);
        else if (k == "stop_grace_period") s.stop_grace_period = r.duration(v, p);
        else if (k == "tty") s.tty = r.boolean(v, p).value_or(false);
        else if (k == "stdin_open") s.stdin_open = r.boolean(v, p).value_or(false);
        else if (k == "privileged") s.privileged = r.boolean(v, p).value_or(false);
        else if (k == "read_only") s.read_only = r.boolean(v, p).value_or(false);
        else if (k == "cap_add") s.cap_add = r.str_list(v, p);
        else if (k == "cap_drop") s.cap_drop = r.str_list(v, p);
        else if (k == "security_opt") s.security_opt = r.str_list(v, p);
        else if (k == "devices") {
            if (v.is_seq())
                for (size_t i = 0; i < v.items.size(); ++i) bind_device(r, s.devices, v.items[i], path_index(p, i));
            else if (!v.is_null())
                r.error(v, p, "must be a list");
        } else if (k == "device_cgroup_rules") s.device_cgroup_rules = r.str_list(v, p);
        else if (k == "sysctls") s.sysctls = r.str_map(v, p);
        else if (k == "container_name") {
            s.container_name = r.str_or(v, p);
            if (!s.container_name.empty() && !str::valid_object_name(s.container_name)) {
                r.error(v, p, "invalid container name \"" + s.container_name +
                                  "\" (only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed)");
                s.container_name.clear();
            }
        } else if (k == "logging") {
            if (!r.is_map(v, p)) continue;
            Logging l;
            for (auto& le : v.entries) {
                std::string lp = path_join(p, le.key);
                if (le.key == "driver") l.driver = r.str_or(le.value, lp);
                else if (le.key == "options") l.options = r.str_map(le.value, lp);
            }
            s.logging = l;
        } else if (k == "post_start" || k == "pre_stop") {
            if (!v.is_seq()) {
                if (!v.is_null()) r.error(v, p, "must be a list");
                continue;
            }
            auto& hooks = k == "post_start" ? s.post_start : s.pre_stop;
            for (size_t i = 0; i < v.items.size(); ++i) hooks.push_back(bind_hook(r, v.items[i], path_index(p, i)));
        } else if (k == "configs") s.configs = bind_refs(r, v, p, false);
        else if (k == "secrets") s.secrets = bind_refs(r, v, p, true);
        else if (k == "ipc" || k == "pid" || k == "uts" || k == "userns_mode") {
            std::string val = r.str_or(v, p);
            if (k != "userns_mode" && !valid_namespace_mode(val)) {
                r.error(v, p, "invalid " + k + " mode \"" + val + "\"");
                continue;
            }
            (k == "ipc" ? s.ipc : k == "pid" ? s.pid : k == "uts" ? s.uts : s.userns_mode) = val;
        } else if (k == "cgroup_parent") s.cgroup_parent = r.str_or(v, p);
        else if (k == "runtime") s.runtime = r.str_or(v, p);
        else if (k == "profiles") s.profiles = r.str_list(v, p);
        else if (k == "label_file") {
            s.label_file = r.str_list(v, p);
        } else if (k == "extends") {
            // resolved by the loader before binding
        } else {
            s.extra[k] = node_to_json_text(v);
        }
    }
    if (!s.label_file.empty()) {
        // label_file first, then `labels` wins (compose-spec 05-services.md#label_file).
        StringMap labels = read_label_files(r, s.label_file, *node.find("label_file"), path_join(path, "label_file"));
        for (auto& [k, v] : s.labels) labels[k] = v;
        s.labels = std::move(labels);
    }
    // env_file first, then `environment` wins (compose-spec 05-services.md#env_file).
    for (auto& [k, v] : from_files) s.environment[k] = v;
    for (auto& [k, v] : env) s.environment[k] = v;
    // An environment entry written without a value and unset everywhere is dropped, even if an
    // env_file set it: `environment` has precedence "even if those values are empty or undefined".
    if (auto* en = node.find("environment"); en && en->is_map())
        for (auto& e : en->entries)
            if (e.value.is_null() && !ctx.environment.count(e.key)) s.environment.erase(e.key);

    if (s.scale && s.deploy && s.deploy->replicas && *s.scale != *s.deploy->replicas)
        r.error(node, path, "scale (" + std::to_string(*s.scale) + ") and deploy.replicas (" +
                                std::to_string(*s.deploy->replicas) + ") disagree");
    if (!s.network_mode.empty() && node.find("networks"))
        r.error(*node.find("network_mode"), path, "network_mode and networks cannot both be set");
    return s;
}

Network bind_network(const std::string& key, const Node& node, BindContext& ctx) {
    Reader r(ctx);
    Network n;
    std::string path = path_join("networks", key);
    if (!r.is_map(node, path)) return n;
    for (auto& e : node.entries) {
        const Node& v = e.value;
        std::string p = path_join(path, e.key);
        if (e.key.rfind("x-", 0) == 0) n.extensions[e.key] = node_to_json_text(v);
        else if (e.key == "name") n.name = r.str_or(v, p);
        else if (e.key == "driver") n.driver = r.str_or(v, p);
        else if (e.key == "driver_opts") n.driver_opts = r.str_map(v, p);
        else if (e.key == "external") n.external = r.boolean(v, p).value_or(false);
        else if (e.key == "internal") n.internal = r.boolean(v, p).value_or(false);
        else if (e.key == "attachable") n.attachable = r.boolean(v, p).value_or(false);
        else if (e.key == "enable_ipv4") n.enable_ipv4 = r.boolean(v, p);
        else if (e.key == "enable_ipv6") n.enable_ipv6 = r.boolean(v, p);
        else if (e.key == "labels") n.labels = r.str_map(v, p);
        else if (e.key == "ipam") {
            if (!r.is_map(v, p)) continue;
            for (auto& ie : v.entries) {
                std::string ip = path_join(p, ie.key);
                if (ie.key == "driver") n.ipam_driver = r.str_or(ie.value, ip);
                else if (ie.key == "options") n.ipam_options = r.str_map(ie.value, ip);
                else if (ie.key == "config") {
                    if (!ie.value.is_seq()) {
                        if (!ie.value.is_null()) r.error(ie.value, ip, "must be a list");
                        continue;
                    }
                    for (size_t i = 0; i < ie.value.items.size(); ++i) {
                        const Node& c = ie.value.items[i];
                        std::string cp = path_index(ip, i);
                        if (!r.is_map(c, cp)) continue;
                        IpamPool pool;
                        for (auto& ce : c.entries) {
                            std::string pp = path_join(cp, ce.key);
                            if (ce.key == "subnet") pool.subnet = r.str_or(ce.value, pp);
                            else if (ce.key == "ip_range") pool.ip_range = r.str_or(ce.value, pp);
                            else if (ce.key == "gateway") pool.gateway = r.str_or(ce.value, pp);
                            else if (ce.key == "aux_addresses") pool.aux_addresses = r.str_map(ce.value, pp);
                        }
                        for (auto* cidr : {&pool.subnet, &pool.ip_range}) {
                            if (cidr->empty()) continue;
                            auto [addr, bits] = str::split_once(*cidr, '/');
                            auto b = bits ? str::parse_uint(*bits) : std::nullopt;
                            bool v6 = str::contains(addr, ":");
                            if (!is_ip_address(addr) || !b || *b > (v6 ? 128u : 32u))
                                r.error(c, cp, "invalid CIDR \"" + *cidr + "\"");
                        }
                        if (!pool.gateway.empty() && !is_ip_address(pool.gateway))
                            r.error(c, path_join(cp, "gateway"), "invalid IP address \"" + pool.gateway + "\"");
                        n.ipam_config.push_back(pool);
                    }
                }
            }
        }
    }
    if (n.external && (!n.driver.empty() || !n.driver_opts.empty() || !n.ipam_config.empty() || !n.ipam_driver.empty()))
        r.error(node, path, "an external network cannot set driver, driver_opts or ipam");
    return n;
}

Volume bind_volume(const std::string& key, const Node& node, BindContext& ctx) {
    Reader r(ctx);
    Volume v;
    std::string path = path_join("volumes", key);
    if (!r.is_map(node, path)) return v;
    for (auto& e : node.entries) {
        std::string p = path_join(path, e.key);
        if (e.key.rfind("x-", 0) == 0) v.extensions[e.key] = node_to_json_text(e.value);
        else if (e.key == "name") v.name = r.str_or(e.value, p);
        else if (e.key == "driver") v.driver = r.str_or(e.value, p);
        else if (e.key == "driver_opts") v.driver_opts = r.str_map(e.value, p);
        else if (e.key == "external") v.external = r.boolean(e.value, p).value_or(false);
        else if (e.key == "labels") v.labels = r.str_map(e.value, p);
    }
    if (v.external && (!v.driver.empty() || !v.driver_opts.empty()))
        r.error(node, path, "an external volume cannot set driver or driver_opts");
    return v;
}

FileObject bind_file_object(const std::string& section, const std::string& key, const Node& node, BindContext& ctx) {
    Reader r(ctx);
    FileObject f;
    std::string path = path_join(section, key);
    if (!r.is_map(node, path)) return f;
    for (auto& e : node.entries) {
        std::string p = path_join(path, e.key);
        if (e.key.rfind("x-", 0) == 0) f.extensions[e.key] = node_to_json_text(e.value);
        else if (e.key == "name") f.name = r.str_or(e.value, p);
        else if (e.key == "file") f.file = r.str_or(e.value, p);
        else if (e.key == "environment") f.environment = r.str_or(e.value, p);
        else if (e.key == "content") f.content = r.str_or(e.value, p);
        else if (e.key == "external") f.external = r.boolean(e.value, p).value_or(false);
        else if (e.key == "labels") f.labels = r.str_map(e.value, p);
        else if (e.key == "driver") f.driver = r.str_or(e.value, p);
        else if (e.key == "driver_opts") f.driver_opts = r.str_map(e.value, p);
        else if (e.key == "template_driver") f.template_driver = r.str_or(e.value, p);
    }
    int sources = !f.file.empty() + !f.environment.empty() + !f.content.empty() + f.external;
    bool secret = section == "secrets";
    if (secret && !f.content.empty()) r.error(node, path, "a secret cannot set content (use file or environment)");
    else if (sources != 1)
        r.error(node, path, secret ? "exactly one of file, environment or external must be set"
                                   : "exactly one of file, environment, content or external must be set");
    if (!f.environment.empty()) {
        if (auto it = ctx.environment.find(f.environment); it != ctx.environment.end()) f.content = it->second;
        else ctx.warnings.add(section + " " + key + ": environment variable " + f.environment + " is not set");
    }
    return f;
}

}  // namespace berth::compose
