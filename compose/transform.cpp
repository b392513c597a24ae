#include "compose/transform.hpp"

#include <filesystem>

#include "compose/short_syntax.hpp"
#include "sys/strings.hpp"

namespace berth::compose {
namespace {

namespace fs = std::filesystem;

// list_or_dict: how a list item without "=" is read.
enum class Bare { null, empty };

// ["A=1", "B"] -> {A: "1", B: null|""}; a mapping stays; null becomes {}.
void to_dict(Node& n, const std::string& path, Bare bare, Problems& problems) {
    if (n.is_null()) {
        std::string tag = n.tag;
        Pos pos = n.pos;
        n = Node::mapping(pos);
        n.tag = tag;
        return;
    }
    if (n.is_map()) {
        for (size_t i = 0; i < n.entries.size();) {
            auto& e = n.entries[i];
            if (!e.value.is_scalar() && !e.value.is_null()) {
                problems.add(e.value, path_join(path, e.key), "must be a string, number, boolean or null");
                n.entries.erase(n.entries.begin() + static_cast<long>(i));
                continue;
            }
            ++i;
        }
        return;
    }
    if (!n.is_seq()) {
        problems.add(n, path, "must be a mapping or a list of KEY=VALUE strings");
        n = Node::mapping(n.pos);
        return;
    }
    Node out = Node::mapping(n.pos);
    out.tag = n.tag;
    for (size_t i = 0; i < n.items.size(); ++i) {
        auto& item = n.items[i];
        if (!item.is_scalar()) {
            problems.add(item, path_index(path, i), "must be a KEY=VALUE string");
            continue;
        }
        auto [k, v] = str::split_once(item.value, '=');
        if (k.empty()) {
            problems.add(item, path_index(path, i), "missing name in \"" + item.value + "\"");
            continue;
        }
        Node value = v ? Node::scalar(*v, item.pos) : (bare == Bare::null ? Node::null(item.pos) : Node::scalar("", item.pos));
        out.set(k, std::move(value), item.pos);
    }
    n = std::move(out);
}

// A string becomes a one-item list; null becomes [].
void to_list(Node& n) {
    if (n.is_scalar()) {
        Node s = std::move(n);
        n = Node::sequence(s.pos);
        n.tag = s.tag;
        s.tag.clear();
        n.items.push_back(std::move(s));
    } else if (n.is_null()) {
        std::string tag = n.tag;
        n = Node::sequence(n.pos);
        n.tag = tag;
    }
}

Node scalar_at(std::string v, const Node& at) { return Node::scalar(std::move(v), at.pos); }

void resolve_in_place(Node& n, const FileContext& ctx) {
    if (n.is_scalar() && !n.value.empty()) n.value = resolve_path(ctx.base_dir, n.value, ctx.home);
}

// Invalid items are replaced by null, which later phases skip, so indexes in messages stay those
// of the file.
void ports(Node& n, const std::string& path, Problems& problems) {
    if (n.is_null()) to_list(n);
    if (!n.is_seq()) {
        problems.add(n, path, "must be a list");
        n = Node::sequence(n.pos);
        return;
    }
    std::vector<Node> out;
    for (size_t i = 0; i < n.items.size(); ++i) {
        auto& item = n.items[i];
        std::string ipath = path_index(path, i);
        if (item.is_map()) {
            out.push_back(std::move(item));
            continue;
        }
        if (!item.is_scalar()) {
            problems.add(item, ipath, "must be a port string, a number or a mapping");
            out.push_back(Node::null(item.pos));
            continue;
        }
        auto parsed = parse_port_spec(item.value);
        if (!parsed.ok) {
            problems.add(item, ipath,
                         "invalid port \"" + item.value + "\"" + (parsed.reason.empty() ? "" : ": " + parsed.reason));
            out.push_back(Node::null(item.pos));
            continue;
        }
        for (auto& p : parsed.ports) {
            Node m = Node::mapping(item.pos);
            m.set("mode", scalar_at("ingress", item));
            if (!p.host_ip.empty()) m.set("host_ip", scalar_at(p.host_ip, item));
            m.set("target", scalar_at(std::to_string(p.target), item));
            if (!p.published.empty()) m.set("published", scalar_at(p.published, item));
            m.set("protocol", scalar_at(p.protocol, item));
            out.push_back(std::move(m));
        }
    }
    n.items = std::move(out);
}

void volumes(Node& n, const std::string& path, const FileContext& ctx, Problems& problems) {
    if (n.is_null()) to_list(n);
    if (!n.is_seq()) {
        problems.add(n, path, "must be a list");
        n = Node::sequence(n.pos);
        return;
    }
    std::vector<Node> out;
    for (size_t i = 0; i < n.items.size(); ++i) {
        auto& item = n.items[i];
        std::string ipath = path_index(path, i);
        if (item.is_map()) {
            auto* type = item.find("type");
            auto* source = item.find("source");
            if (type && type->is_scalar() && type->value == "bind" && source) resolve_in_place(*source, ctx);
            out.push_back(std::move(item));
            continue;
        }
        if (!item.is_scalar()) {
            problems.add(item, ipath, "must be a volume string or a mapping");
            out.push_back(Node::null(item.pos));
            continue;
        }
        auto parsed = parse_volume_spec(item.value);
        if (!parsed.error.empty()) {
            problems.add(item, ipath, "invalid volume \"" + item.value + "\": " + parsed.error);
            out.push_back(Node::null(item.pos));
            continue;
        }
        auto& v = parsed.volume;
        Node m = Node::mapping(item.pos);
        m.set("type", scalar_at(v.type, item));
        if (!v.source.empty())
            m.set("source", scalar_at(v.type == "bind" ? resolve_path(ctx.base_dir, v.source, ctx.home) : v.source, item));
        m.set("target", scalar_at(v.target, item));
        // Only an explicit ro/rw is written, so a later file without a mode keeps the earlier one.
        if (v.read_only) m.set("read_only", scalar_at(*v.read_only ? "true" : "false", item));
        if (!v.consistency.empty()) m.set("consistency", scalar_at(v.consistency, item));
        if (v.type == "bind") {
            // The short syntax creates a missing host directory (Docker's historical behaviour).
            Node b = Node::mapping(item.pos);
            if (!v.propagation.empty()) b.set("propagation", scalar_at(v.propagation, item));
            b.set("create_host_path", scalar_at("true", item));
            if (!v.selinux.empty()) b.set("selinux", scalar_at(v.selinux, item));
            m.set("bind", std::move(b));
        } else if (v.nocopy) {
            Node vol = Node::mapping(item.pos);
            vol.set("nocopy", scalar_at("true", item));
            m.set("volume", std::move(vol));
        }
        out.push_back(std::move(m));
    }
    n.items = std::move(out);
}

// secrets/configs entries: "name" -> {source: name}
void file_refs(Node& n, const std::string& path, Problems& problems) {
    if (n.is_null()) to_list(n);
    if (!n.is_seq()) {
        problems.add(n, path, "must be a list");
        n = Node::sequence(n.pos);
        return;
    }
    for (size_t i = 0; i < n.items.size(); ++i) {
        auto& item = n.items[i];
        if (item.is_scalar()) {
            Node m = Node::mapping(item.pos);
            m.set("source", std::move(item));
            item = std::move(m);
        }
    }
}

void env_files(Node& n, const std::string& path, const FileContext& ctx, Problems& problems) {
    to_list(n);
    if (!n.is_seq()) return;
    for (auto& item : n.items) {
        if (item.is_scalar()) {
            Node m = Node::mapping(item.pos);
            m.set("path", std::move(item));
            item = std::move(m);
        }
        if (auto* p = item.find("path")) resolve_in_place(*p, ctx);
    }
}

void string_to_map(Node& n, const char* key) {
    if (!n.is_scalar()) return;
    Node m = Node::mapping(n.pos);
    m.tag = n.tag;
    Node v = std::move(n);
    v.tag.clear();
    m.set(key, std::move(v));
    n = std::move(m);
}

// extra_hosts: ["host=ip", "host:ip"] or {host: ip | [ip...]} -> {host: [ip...]}
void extra_hosts(Node& n, const std::string& path, Problems& problems) {
    if (n.is_null()) {
        to_dict(n, path, Bare::empty, problems);
        return;
    }
    Node out = Node::mapping(n.pos);
    out.tag = n.tag;
    auto add = [&](const std::string& host, std::string ip, const Node& at) {
        if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
        Node* list = out.find(host);
        if (!list) list = &out.set(host, Node::sequence(at.pos), at.pos);
        list->items.push_back(Node::scalar(ip, at.pos));
    };
    if (n.is_seq()) {
        for (size_t i = 0; i < n.items.size(); ++i) {
            auto& item = n.items[i];
            if (!item.is_scalar()) {
                problems.add(item, path_index(path, i), "must be a \"host=ip\" string");
                continue;
            }
            auto sep = item.value.find('=');
            if (sep == std::string::npos) sep = item.value.find(':');
            if (sep == std::string::npos || sep == 0 || sep + 1 == item.value.size()) {
                problems.add(item, path_index(path, i), "invalid extra host \"" + item.value + "\": expected host=ip");
                continue;
            }
            add(item.value.substr(0, sep), item.value.substr(sep + 1), item);
        }
    } else if (n.is_map()) {
        for (auto& e : n.entries) {
            if (e.value.is_scalar()) {
                add(e.key, e.value.value, e.value);
            } else if (e.value.is_seq()) {
                for (auto& ip : e.value.items)
                    if (ip.is_scalar()) add(e.key, ip.value, ip);
                    else problems.add(ip, path_join(path, e.key), "must be an IP address");
            } else {
                problems.add(e.value, path_join(path, e.key), "must be an IP address or a list of them");
            }
        }
    } else {
        problems.add(n, path, "must be a mapping or a list of host=ip strings");
    }
    n = std::move(out);
}

void build(Node& n, const std::string& path, const FileContext& ctx, Problems& problems) {
    string_to_map(n, "context");
    if (!n.is_map()) return;
    if (auto* c = n.find("context"); c && c->is_scalar() && !is_remote_context(c->value)) resolve_in_place(*c, ctx);
    if (auto* a = n.find("args")) to_dict(*a, path_join(path, "args"), Bare::null, problems);
    if (auto* l = n.find("labels")) to_dict(*l, path_join(path, "labels"), Bare::empty, problems);
    if (auto* h = n.find("extra_hosts")) extra_hosts(*h, path_join(path, "extra_hosts"), problems);
    if (auto* a = n.find("additional_contexts")) to_dict(*a, path_join(path, "additional_contexts"), Bare::empty, problems);
}

void resolve_external(Node& obj, const std::string& path, Problems& problems) {
    // Legacy `external: {name: x}` is `external: true` + `name: x`.
    auto* ext = obj.find("external");
    if (!ext || !ext->is_map()) return;
    const Node* name_node = ext->find("name");
    std::optional<Node> name;
    if (name_node && name_node->is_scalar()) name = *name_node;
    Pos pos = ext->pos;
    *ext = Node::scalar("true", pos, true);
    if (name) {
        if (obj.find("name")) problems.add(*name, path_join(path, "external.name"), "can't use both \"external.name\" (deprecated) and \"name\"");
        else obj.set("name", std::move(*name));
    }
}

void top_level_object(Node& n, const std::string& path, const FileContext& ctx, Problems& problems, bool file_paths) {
    if (n.is_null()) {
        n = Node::mapping(n.pos);
        return;
    }
    if (!n.is_map()) return;
    resolve_external(n, path, problems);
    if (auto* l = n.find("labels")) to_dict(*l, path_join(path, "labels"), Bare::empty, problems);
    if (auto* d = n.find("driver_opts")) to_dict(*d, path_join(path, "driver_opts"), Bare::empty, problems);
    if (file_paths)
        if (auto* f = n.find("file")) resolve_in_place(*f, ctx);
}

}  // namespace

bool is_remote_context(const std::string& s) {
    return s.find("://") != std::string::npos || s.rfind("git@", 0) == 0 || s.rfind("github.com/", 0) == 0;
}

std::string resolve_path(const std::string& base, const std::string& p, const std::string& home) {
    fs::path out;
    if ((p == "~" || p.rfind("~/", 0) == 0) && !home.empty()) out = fs::path(home) / p.substr(p.size() > 1 ? 2 : 1);
    else if (!p.empty() && p[0] == '/') out = p;
    else out = fs::path(base) / p;
    std::string s = out.lexically_normal().string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
}

void canonicalize_service(Node& svc, const std::string& path, const FileContext& ctx, Problems& problems) {
    if (svc.is_null()) {
        svc = Node::mapping(svc.pos);
        return;
    }
    if (!svc.is_map()) {
        problems.add(svc, path, "a service must be a mapping");
        svc = Node::mapping(svc.pos);
        return;
    }
    auto sub = [&](const char* k) { return path_join(path, k); };
    for (auto& e : svc.entries) {
        Node& v = e.value;
        const std::string& k = e.key;
        std::string p = sub(k.c_str());
        if (k == "environment") to_dict(v, p, Bare::null, problems);
        else if (k == "labels" || k == "annotations" || k == "sysctls" || k == "storage_opt") to_dict(v, p, Bare::empty, problems);
        else if (k == "ports") ports(v, p, problems);
        else if (k == "volumes") volumes(v, p, ctx, problems);
        else if (k == "secrets" || k == "configs") file_refs(v, p, problems);
        else if (k == "env_file") env_files(v, p, ctx, problems);
        else if (k == "label_file") {
            to_list(v);
            if (v.is_seq())
                for (auto& f : v.items) resolve_in_place(f, ctx);
        } else if (k == "dns" || k == "dns_search" || k == "tmpfs") to_list(v);
        else if (k == "extra_hosts") extra_hosts(v, p, problems);
        else if (k == "build") build(v, p, ctx, problems);
        else if (k == "extends") {
            string_to_map(v, "service");
            if (auto* f = v.find("file")) resolve_in_place(*f, ctx);
        } else if (k == "depends_on") {
            if (v.is_seq()) {
                Node m = Node::mapping(v.pos);
                m.tag = v.tag;
                for (size_t i = 0; i < v.items.size(); ++i) {
                    auto& item = v.items[i];
                    if (!item.is_scalar()) {
                        problems.add(item, path_index(p, i), "must be a service name");
                        continue;
                    }
                    Node dep = Node::mapping(item.pos);
                    dep.set("condition", Node::scalar("service_started", item.pos));
                    m.set(item.value, std::move(dep), item.pos);
                }
                v = std::move(m);
            } else if (v.is_null()) {
                to_dict(v, p, Bare::null, problems);
            }
        } else if (k == "networks") {
            if (v.is_seq()) {
                Node m = Node::mapping(v.pos);
                m.tag = v.tag;
                for (size_t i = 0; i < v.items.size(); ++i) {
                    auto& item = v.items[i];
                    if (!item.is_scalar()) {
                        problems.add(item, path_index(p, i), "must be a network name");
                        continue;
                    }
                    m.set(item.value, Node::null(item.pos), item.pos);
                }
                v = std::move(m);
            }
        } else if (k == "deploy") {
            if (auto* l = v.find("labels")) to_dict(*l, path_join(p, "labels"), Bare::empty, problems);
        } else if (k == "post_start" || k == "pre_stop") {
            if (v.is_seq())
                for (size_t i = 0; i < v.items.size(); ++i)
                    if (auto* env = v.items[i].find("environment"))
                        to_dict(*env, path_join(path_index(p, i), "environment"), Bare::null, problems);
        } else if (k == "logging") {
            if (auto* o = v.find("options")) to_dict(*o, path_join(p, "options"), Bare::empty, problems);
        }
    }
}

void canonicalize(Node& root, const FileContext& ctx, Problems& problems) {
    if (!root.is_map()) return;
    if (auto* services = root.find("services"); services && services->is_map())
        for (auto& e : services->entries) canonicalize_service(e.value, path_join("services", e.key), ctx, problems);
    for (const char* section : {"networks", "volumes", "configs", "secrets"}) {
        auto* s = root.find(section);
        if (!s || !s->is_map()) continue;
        bool file_paths = std::string(section) == "configs" || std::string(section) == "secrets";
        for (auto& e : s->entries) top_level_object(e.value, path_join(section, e.key), ctx, problems, file_paths);
        if (std::string(section) == "volumes") {
            // A local volume that is really a bind mount: its device is a host path.
            for (auto& e : s->entries) {
                auto* opts = e.value.find("driver_opts");
                if (!opts) continue;
                auto* o = opts->find("o");
                auto* dev = opts->find("device");
                if (o && o->is_scalar() && str::contains(o->value, "bind") && dev) resolve_in_place(*dev, ctx);
            }
        }
    }
    if (auto* inc = root.find("include"); inc && inc->is_seq()) {
        for (size_t i = 0; i < inc->items.size(); ++i) {
            auto& item = inc->items[i];
            if (item.is_scalar()) {
                Node m = Node::mapping(item.pos);
                m.set("path", std::move(item));
                item = std::move(m);
            }
            if (!item.is_map()) continue;
            for (const char* k : {"path", "env_file"}) {
                if (auto* v = item.find(k)) {
                    to_list(*v);
                    if (v->is_seq())
                        for (auto& f : v->items) resolve_in_place(f, ctx);
                }
            }
            if (auto* d = item.find("project_directory")) resolve_in_place(*d, ctx);
        }
    }
}

}  // namespace berth::compose
