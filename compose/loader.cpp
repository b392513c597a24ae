// The loading pipeline (PARSING.md), phase by phase.
#include "compose/loader.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <iostream>
#include <iterator>
#include <set>

#include "compose/bind.hpp"
#include "compose/dotenv.hpp"
#include "compose/graph.hpp"
#include "compose/interpolate.hpp"
#include "compose/merge.hpp"
#include "compose/node.hpp"
#include "compose/parse.hpp"
#include "compose/schema.hpp"
#include "compose/transform.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"

namespace berth::compose {

namespace fs = std::filesystem;

std::string normalize_project_name(std::string_view name) {
    std::string out;
    for (char c : name) {
        char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '_' || l == '-') out += l;
    }
    size_t start = out.find_first_not_of("_-");
    return start == std::string::npos ? std::string() : out.substr(start);
}

bool valid_project_name(std::string_view name) {
    return !name.empty() && normalize_project_name(name) == name;
}

std::vector<std::string> find_default_files(const std::string& start, std::vector<std::string>& warnings) {
    static const char* names[] = {"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"};
    static const char* overrides[] = {"compose.override.yml", "compose.override.yaml", "docker-compose.override.yml",
                                      "docker-compose.override.yaml"};
    fs::path dir = fs::path(start).lexically_normal();
    for (;;) {
        std::vector<std::string> found;
        for (auto* n : names)
            if (sys::exists(dir / n) && !sys::is_dir(dir / n)) found.push_back((dir / n).string());
        if (!found.empty()) {
            if (found.size() > 1) {
                std::vector<std::string> base;
                for (auto& f : found) base.push_back(fs::path(f).filename().string());
                warnings.push_back("Found multiple config files with supported names: " + str::join(base, ", ") +
                                   "\nUsing " + base[0]);
            }
            std::vector<std::string> out{found[0]};
            std::vector<std::string> ov;
            for (auto* n : overrides)
                if (sys::exists(dir / n) && !sys::is_dir(dir / n)) ov.push_back((dir / n).string());
            if (ov.size() > 1) {
                std::vector<std::string> base;
                for (auto& f : ov) base.push_back(fs::path(f).filename().string());
                warnings.push_back("Found multiple override files with supported names: " + str::join(base, ", ") +
                                   "\nUsing " + base[0]);
            }
            if (!ov.empty()) out.push_back(ov[0]);
            return out;
        }
        if (!dir.has_parent_path() || dir.parent_path() == dir) return {};
        dir = dir.parent_path();
    }
}

namespace {

std::string absolute_in(const std::string& base, const std::string& p) {
    if (p.empty()) return base;
    return (p[0] == '/' ? fs::path(p) : fs::path(base) / p).lexically_normal().string();
}

std::string parent_dir(const std::string& file) {
    auto p = fs::path(file).parent_path().string();
    return p.empty() ? "/" : p;
}

Lookup lookup_in(const EnvMap& env) {
    return [&env](const std::string& k) -> std::optional<std::string> {
        auto it = env.find(k);
        if (it == env.end()) return std::nullopt;
        return it->second;
    };
}

// A file the user named or a default one; `display` is how problems name it.
struct SourceFile {
    std::string path;  // absolute, or "-"
    std::shared_ptr<const std::string> display;
    std::vector<Node> docs;
};

class Loader {
public:
    Loader(const LoadOptions& opts, Problems& problems, Warnings& warnings)
        : opts_(opts), problems_(problems), warnings_(warnings) {}

    LoadResult run();

private:
    // --- files and environment ---------------------------------------------------------------
    std::shared_ptr<const std::string> display_name(const std::string& path) const {
        if (path == "-") return std::make_shared<const std::string>("<stdin>");
        auto rel = fs::path(path).lexically_relative(working_dir_).string();
        if (!rel.empty() && rel.rfind("..", 0) != 0) return std::make_shared<const std::string>(rel);
        return std::make_shared<const std::string>(path);
    }

    std::optional<SourceFile> read_source(const std::string& path) {
        SourceFile f{path, display_name(path), {}};
        std::string text;
        if (path == "-") {
            if (opts_.stdin_content) {
                text = *opts_.stdin_content;
            } else {
                text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
            }
        } else {
            if (sys::is_dir(path)) {
                problems_.add(Pos{}, "", path + " is a directory, not a compose file");
                return std::nullopt;
            }
            std::optional<std::string> t;
            try {
                t = sys::read_file_if_exists(path);
            } catch (const std::exception& e) {
                problems_.add(Pos{}, "", std::string("reading ") + path + ": " + e.what());
                return std::nullopt;
            }
            if (!t) {
                problems_.add(Pos{}, "", "open " + path + ": no such file or directory");
                return std::nullopt;
            }
            text = std::move(*t);
        }
        f.docs = parse_yaml(text, f.display, problems_);
        return f;
    }

    // Reads dotenv files into env (later files win), each value interpolated against the OS
    // environment first.
    EnvMap read_env_files(const std::vector<std::string>& files, bool must_exist) {
        EnvMap out;
        for (auto& path : files) {
            if (sys::is_dir(path)) {
                if (must_exist) problems_.add(Pos{}, "", "env file " + path + " is a directory");
                continue;
            }
            std::optional<std::string> text;
            try {
                text = sys::read_file_if_exists(path);
            } catch (const std::exception& e) {
                problems_.add(Pos{}, "", std::string("reading env file: ") + e.what());
                continue;
            }
            if (!text) {
                if (must_exist) problems_.add(Pos{}, "", "couldn't find env file: " + path);
                continue;
            }
            env_files_read_.push_back(path);
            // Variables of earlier files are visible to later ones, the OS environment to all.
            EnvMap visible = out;
            for (auto& [k, v] : opts_.environment) visible[k] = v;
            auto vars = parse_dotenv(*text, display_name(path), lookup_in(visible), problems_, warnings_);
            for (auto& [k, v] : vars) out[k] = v;
        }
        return out;
    }

    // The OS environment wins over .env / --env-file.
    EnvMap environment_with(const EnvMap& dotenv) const {
        EnvMap env = dotenv;
        for (auto& [k, v] : opts_.environment) env[k] = v;
        return env;
    }

    EnvMap project_environment(const std::string& dir) {
        env_files_read_.clear();
        if (!opts_.env_files.empty()) {
            std::vector<std::string> files;
            for (auto& f : opts_.env_files) files.push_back(absolute_in(working_dir_, f));
            return environment_with(read_env_files(files, true));
        }
        auto it = opts_.environment.find("COMPOSE_DISABLE_ENV_FILE");
        if (it != opts_.environment.end() && (it->second == "true" || it->second == "1")) return environment_with({});
        return environment_with(read_env_files({(fs::path(dir) / ".env").string()}, false));
    }

    // --- one file, before merging --------------------------------------------------------------
    // interpolate -> check keys -> canonical form -> extends (PARSING.md phases 3-6)
    Node prepare_layer(Node doc, const std::string& file_path, const std::string& base_dir, const EnvMap& env) {
        if (doc.is_null()) doc = Node::mapping(doc.pos);
        if (!doc.is_map()) {
            problems_.add(doc, "", "a compose file must be a mapping, not " + std::string(doc.kind_name()));
            return Node::mapping(doc.pos);
        }
        if (auto* v = doc.find_entry("version")) {
            warnings_.add(v->value.pos.file_name() +
                          ": the attribute `version` is obsolete, it will be ignored, please remove it to avoid "
                          "potential confusion");
            doc.erase("version");
        }
        if (opts_.interpolate) interpolate_tree(doc, lookup_in(env), problems_, warnings_);
        check_keys(doc, problems_);
        FileContext fc{base_dir, home()};
        canonicalize(doc, fc, problems_);
        resolve_extends(doc, file_path, env);
        return doc;
    }

    std::string home() const {
        auto it = opts_.environment.find("HOME");
        return it == opts_.environment.end() ? std::string() : it->second;
    }

    // --- extends (phase 6) ----------------------------------------------------------------------
    struct ExtendsKey {
        std::string file;
        std::string service;
        bool operator<(const ExtendsKey& o) const { return std::tie(file, service) < std::tie(o.file, o.service); }
    };

    // Another file named by `extends.file`, prepared with its own directory as base (cached).
    Node* extends_file(const std::string& path, const EnvMap& env, const Node& at, const std::string& at_path) {
        if (auto it = extends_files_.find(path); it != extends_files_.end()) return &it->second;
        if (!sys::exists(path) || sys::is_dir(path)) {
            problems_.add(at, at_path, "extends file " + path + " not found");
            return nullptr;
        }
        auto src = read_source(path);
        if (!src) return nullptr;
        Node root = Node::mapping();
        bool first = true;
        for (auto& d : src->docs) {
            if (d.is_null()) d = Node::mapping(d.pos);
            if (!d.is_map()) continue;
            if (opts_.interpolate) interpolate_tree(d, lookup_in(env), problems_, warnings_);
            d.erase("version");
            check_keys(d, problems_);
            canonicalize(d, FileContext{parent_dir(path), home()}, problems_);
            if (first) {
                strip_merge_tags(d);
                root = std::move(d);
                first = false;
            } else {
                merge_into(root, std::move(d), "");
                strip_merge_tags(root);
            }
        }
        auto [it, _] = extends_files_.emplace(path, std::move(root));
        return &it->second;
    }

    // The service with everything it extends merged in, extends chains followed, cycles reported.
    std::optional<Node> resolved_service(Node& file_root, const std::string& file_path, const std::string& name,
                                         const EnvMap& env, std::vector<ExtendsKey>& stack) {
        Node* services = file_root.find("services");
        Node* svc = services ? services->find(name) : nullptr;
        if (!svc) return std::nullopt;
        ExtendsKey key{file_path, name};
        if (auto it = resolved_.find(key); it != resolved_.end()) return it->second;
        const Node* ext = svc->find("extends");
        if (!ext || !ext->is_map()) {
            Node copy = *svc;
            copy.erase("extends");
            return copy;
        }
        std::string path = path_join("services", name) + ".extends";
        for (auto& k : stack) {
            if (!(k.file == file_path && k.service == name)) continue;
            // Report each cycle once, from the first of its services met in the file.
            if (in_cycle_.count(key)) return std::nullopt;
            std::string chain;
            bool on = false;
            for (auto& s : stack) {
                on = on || (s.file == file_path && s.service == name);
                if (on) {
                    chain += s.service + " -> ";
                    in_cycle_.insert(s);
                }
            }
            problems_.add(*ext, path, "circular reference: " + chain + name);
            return std::nullopt;
        }
        const Node* target = ext->find("service");
        if (!target || !target->is_scalar() || target->value.empty()) {
            problems_.add(*ext, path, "service is required");
            return std::nullopt;
        }
        std::string target_file = file_path;
        Node* target_root = &file_root;
        if (const Node* f = ext->find("file"); f && f->is_scalar() && !f->value.empty() && f->value != file_path) {
            target_file = f->value;
            target_root = extends_file(f->value, env, *f, path + ".file");
            if (!target_root) return std::nullopt;
        }
        stack.push_back(key);
        auto base = resolved_service(*target_root, target_file, target->value, env, stack);
        stack.pop_back();
        if (!base) {
            // A cycle below was already reported; only report what is missing here.
            Node* tservices = target_root->find("services");
            if (!tservices || !tservices->find(target->value))
                problems_.add(*target, path + ".service",
                              "service \"" + target->value + "\" not found in " +
                                  (target_file == file_path ? std::string("this file") : target_file));
            return std::nullopt;
        }
        Node local = *svc;
        local.erase("extends");
        Node merged = std::move(*base);
        merge_into(merged, std::move(local), path_join("services", name));
        strip_merge_tags(merged);
        resolved_[key] = merged;
        return merged;
    }

    void resolve_extends(Node& root, const std::string& file_path, const EnvMap& env) {
        Node* services = root.find("services");
        if (!services || !services->is_map()) return;
        std::vector<std::pair<std::string, Node>> done;
        for (auto& e : services->entries) {
            if (!e.value.find("extends")) continue;
            std::vector<ExtendsKey> stack;
            auto r = resolved_service(root, file_path, e.key, env, stack);
            if (!r) broken_services_.insert(e.key);
            done.emplace_back(e.key, r ? std::move(*r) : [&] {
                Node copy = e.value;
                copy.erase("extends");
                return copy;
            }());
        }
        for (auto& [k, v] : done) *services->find(k) = std::move(v);
    }

    // --- a (sub-)project's tree: layers merged, includes imported (phases 3-8) ---------------------
    Node build_tree(std::vector<SourceFile>& files, const std::string& project_dir, const EnvMap& env,
                    std::vector<std::string>& include_stack) {
        Node acc = Node::mapping();
        bool first = true;
        for (auto& f : files) {
            for (auto& doc : f.docs) {
                Node layer = prepare_layer(std::move(doc), f.path, project_dir, env);
                if (first) {
                    strip_merge_tags(layer);
                    acc = std::move(layer);
                    first = false;
                } else {
                    merge_into(acc, std::move(layer), "");
                    strip_merge_tags(acc);
                }
            }
        }
        import_includes(acc, env, include_stack);
        return acc;
    }

    // include (compose-spec 14-include.md): each entry is loaded as its own project (own
    // directory, own .env overridden by this project's environment) and its resources copied in.
    void import_includes(Node& acc, const EnvMap& env, std::vector<std::string>& include_stack) {
        const Entry* inc_entry = acc.find_entry("include");
        if (!inc_entry) return;
        Node inc = inc_entry->value;
        acc.erase("include");
        if (!inc.is_seq()) {
            problems_.add(inc, "include", "must be a list");
            return;
        }
        for (size_t i = 0; i < inc.items.size(); ++i) {
            const Node& item = inc.items[i];
            std::string ipath = path_index("include", i);
            if (!item.is_map()) continue;
            const Node* paths = item.find("path");
            if (!paths || !paths->is_seq() || paths->items.empty()) {
                problems_.add(item, ipath, "path is required");
                continue;
            }
            std::vector<std::string> file_paths;
            for (auto& p : paths->items)
                if (p.is_scalar()) file_paths.push_back(p.value);
            std::string key = str::join(file_paths, ",");
            if (std::find(include_stack.begin(), include_stack.end(), key) != include_stack.end()) {
                problems_.add(item, ipath, "include cycle: " + str::join(include_stack, " -> ") + " -> " + key);
                continue;
            }
            std::string sub_dir = parent_dir(file_paths[0]);
            if (const Node* d = item.find("project_directory"); d && d->is_scalar()) sub_dir = d->value;
            std::vector<std::string> envs;
            bool explicit_env = false;
            if (const Node* ef = item.find("env_file"); ef && ef->is_seq()) {
                for (auto& e : ef->items)
                    if (e.is_scalar()) envs.push_back(e.value);
                explicit_env = true;
            } else {
                envs.push_back((fs::path(sub_dir) / ".env").string());
            }
            auto saved = env_files_read_;
            EnvMap sub_env = read_env_files(envs, explicit_env);
            env_files_read_ = saved;
            for (auto& [k, v] : env) sub_env[k] = v;  // the including project's environment wins
            std::vector<SourceFile> sources;
            for (auto& p : file_paths) {
                if (auto s = read_source(p)) sources.push_back(std::move(*s));
            }
            if (sources.size() != file_paths.size()) continue;
            include_stack.push_back(key);
            Node sub = build_tree(sources, sub_dir, sub_env, include_stack);
            include_stack.pop_back();
            for (const char* section : {"services", "networks", "volumes", "configs", "secrets"}) {
                Node* from = sub.find(section);
                if (!from || !from->is_map()) continue;
                Node* to = acc.find(section);
                if (!to) to = &acc.set(section, Node::mapping(from->pos), from->pos);
                if (!to->is_map()) continue;
                for (auto& e : from->entries) {
                    if (auto* existing = to->find_entry(e.key)) {
                        problems_.add(existing->key_pos, path_join(section, e.key),
                                      "conflicts with the one imported from " + file_paths[0]);
                        continue;
                    }
                    to->entries.push_back(e);
                }
            }
        }
    }

    // --- profiles (phase 9) ---------------------------------------------------------------------
    static std::vector<std::string> service_profiles(const Node& svc) {
        std::vector<std::string> out;
        if (const Node* p = svc.find("profiles"); p && p->is_seq())
            for (auto& i : p->items)
                if (i.is_scalar()) out.push_back(i.value);
        return out;
    }

    static std::vector<std::string> tree_dependencies(const Node& svc) {
        std::vector<std::string> out;
        if (const Node* d = svc.find("depends_on"); d && d->is_map())
            for (auto& e : d->entries) out.push_back(e.key);
        for (const char* k : {"network_mode", "ipc", "pid", "uts"})
            if (const Node* v = svc.find(k); v && v->is_scalar() && v->value.rfind("service:", 0) == 0)
                out.push_back(v->value.substr(8));
        for (const char* k : {"volumes_from", "links"})
            if (const Node* l = svc.find(k); l && l->is_seq())
                for (auto& i : l->items)
                    if (i.is_scalar() && i.value.rfind("container:", 0) != 0)
                        out.push_back(str::split(i.value, ':')[0]);
        return out;
    }

    void apply_profiles(Node& root, const EnvMap& env, Project& project) {
        std::vector<std::string> active = opts_.profiles;
        if (active.empty()) {
            if (auto it = env.find("COMPOSE_PROFILES"); it != env.end())
                for (auto& p : str::split(it->second, ','))
                    if (auto t = std::string(str::trim(p)); !t.empty()) active.push_back(t);
        }
        Node* services = root.find("services");
        if (!services || !services->is_map()) {
            project.profiles = active;
            return;
        }
        std::set<std::string> targeted;
        for (auto& name : opts_.services) {
            const Node* svc = services->find(name);
            if (!svc) {
                problems_.add(Pos{}, "", "no such service: " + name);
                continue;
            }
            targeted.insert(name);
            for (auto& p : service_profiles(*svc))
                if (std::find(active.begin(), active.end(), p) == active.end()) active.push_back(p);
        }
        bool all = std::find(active.begin(), active.end(), "*") != active.end();
        std::set<std::string> enabled;
        for (auto& e : services->entries) {
            auto profiles = service_profiles(e.value);
            bool on = profiles.empty() || all;
            for (auto& p : profiles) on = on || std::find(active.begin(), active.end(), p) != active.end();
            if (on) enabled.insert(e.key);
        }
        // What a targeted service depends on comes along (Docker Compose's WithServicesEnabled).
        std::vector<std::string> todo(targeted.begin(), targeted.end());
        while (!todo.empty()) {
            std::string s = todo.back();
            todo.pop_back();
            if (!enabled.insert(s).second && !targeted.count(s)) continue;
            if (const Node* svc = services->find(s))
                for (auto& d : tree_dependencies(*svc))
                    if (services->find(d) && !enabled.count(d)) todo.push_back(d);
        }
        std::vector<Entry> kept;
        for (auto& e : services->entries) {
            if (enabled.count(e.key)) kept.push_back(std::move(e));
            else project.disabled_services.push_back(e.key);
        }
        services->entries = std::move(kept);
        project.profiles = active;
    }

    // --- project name ---------------------------------------------------------------------------
    std::string project_name(std::vector<SourceFile>& files, EnvMap& env, const std::string& project_dir) {
        auto invalid = [this](const std::string& n, const char* from) {
            problems_.add(Pos{}, "", std::string("invalid project name \"") + n + "\" (from " + from +
                                         "): must consist only of lowercase alphanumeric characters, hyphens, and "
                                         "underscores as well as start with a letter or number");
        };
        if (!opts_.project_name.empty()) {
            if (!valid_project_name(opts_.project_name)) invalid(opts_.project_name, "-p");
            return opts_.project_name;
        }
        if (auto it = env.find("COMPOSE_PROJECT_NAME"); it != env.end() && !it->second.empty()) {
            if (!valid_project_name(it->second)) invalid(it->second, "COMPOSE_PROJECT_NAME");
            return it->second;
        }
        // The last file that sets `name:` wins; its value may use variables.
        std::optional<std::string> from_file;
        for (auto& f : files)
            for (auto& d : f.docs)
                if (const Node* n = d.find("name"); n && n->is_scalar()) {
                    if (!opts_.interpolate) {
                        from_file = n->value;
                        continue;
                    }
                    auto r = substitute(n->value, lookup_in(env));
                    if (r.error) continue;  // reported by the interpolation phase
                    from_file = r.value;
                }
        if (from_file && !from_file->empty()) {
            auto n = normalize_project_name(*from_file);
            if (n.empty()) problems_.add(Pos{}, "", "project name \"" + *from_file + "\" has no valid character");
            return n;
        }
        auto base = fs::path(project_dir).filename().string();
        auto n = normalize_project_name(base);
        if (n.empty())
            problems_.add(Pos{}, "", "cannot derive a project name from directory \"" + base +
                                         "\": set one with -p, COMPOSE_PROJECT_NAME or `name:`");
        return n;
    }

    // --- normalise (phase 11) and references (phase 12) -------------------------------------------
    void normalize(Project& p) {
        bool uses_default = false;
        for (auto& [name, s] : p.services) {
            if (s.build) {
                if (s.build->context.empty()) s.build->context = p.working_dir;
                if (s.build->dockerfile.empty() && s.build->dockerfile_inline.empty()) s.build->dockerfile = "Dockerfile";
            }
            if (s.networks.empty() && s.network_mode.empty()) s.networks["default"] = std::nullopt;
            if (s.networks.count("default")) uses_default = true;
        }
        if (uses_default && !p.networks.count("default")) p.networks["default"] = Network{};
        auto name_of = [&](const std::string& key, const std::string& name, bool external) {
            if (!name.empty()) return name;
            return external ? key : p.name + "_" + key;
        };
        for (auto& [k, n] : p.networks) n.name = name_of(k, n.name, n.external);
        for (auto& [k, v] : p.volumes) v.name = name_of(k, v.name, v.external);
        for (auto& [k, c] : p.configs) c.name = name_of(k, c.name, c.external);
        for (auto& [k, c] : p.secrets) c.name = name_of(k, c.name, c.external);
    }

    // links, network_mode/ipc/pid/uts service:X and volumes_from X are dependencies too (as
    // compose-go's normalize adds them); only for services that exist, the others were reported.
    void add_implicit_dependencies(Project& p) {
        for (auto& [name, s] : p.services) {
            auto implicit = [&](const std::string& dep, bool restart) {
                if (dep.empty() || dep == name || s.depends_on.count(dep) || !p.services.count(dep)) return;
                Dependency d;
                d.restart = restart;
                s.depends_on[dep] = d;
            };
            for (auto& l : s.links) implicit(str::split(l, ':')[0], true);
            for (auto* ns : {&s.network_mode, &s.ipc, &s.pid, &s.uts})
                if (ns->rfind("service:", 0) == 0) implicit(ns->substr(8), true);
            for (auto& v : s.volumes_from)
                if (v.rfind("container:", 0) != 0) implicit(str::split(v, ':')[0], false);
        }
    }

    // Position of a node in the merged tree, for reference errors found on the typed model.
    static const Node* at(const Node& root, std::initializer_list<std::string> keys) {
        const Node* n = &root;
        for (auto& k : keys) {
            const Node* next = n->find(k);
            if (!next) return n;
            n = next;
        }
        return n;
    }

    void check_references(Project& p, const Node& root) {
        std::set<std::string> disabled(p.disabled_services.begin(), p.disabled_services.end());
        auto service_ref = [&](const std::string& svc, const std::string& dep, const Node& where, const std::string& path,
                               const char* what) {
            if (p.services.count(dep)) return true;
            if (disabled.count(dep))
                problems_.add(where, path, std::string(what) + " service \"" + dep + "\" which is disabled by profiles");
            else
                problems_.add(where, path, std::string(what) + " undefined service \"" + dep + "\"");
            return false;
        };
        std::map<std::string, std::string> container_names;
        for (auto& [name, s] : p.services) {
            std::string sp = path_join("services", name);
            const Node* svc_node = at(root, {"services", name});
            if (s.image.empty() && !s.build && !broken_services_.count(name) && !svc_node->find("image"))
                problems_.add(*svc_node, sp, "service has neither an image nor a build context");
            for (auto& [net, _] : s.networks)
                if (!p.networks.count(net))
                    problems_.add(*at(root, {"services", name, "networks", net}), path_join(sp, "networks"),
                                  "network \"" + net + "\" is not defined");
            for (size_t i = 0; i < s.volumes.size(); ++i) {
                auto& m = s.volumes[i];
                if (m.type == "volume" && !m.source.empty() && !p.volumes.count(m.source))
                    problems_.add(*at(root, {"services", name, "volumes"}), path_index(path_join(sp, "volumes"), i),
                                  "volume \"" + m.source + "\" is not defined");
            }
            for (auto [section, refs, defs] :
                 {std::tuple{"configs", &s.configs, &p.configs}, std::tuple{"secrets", &s.secrets, &p.secrets}})
                for (size_t i = 0; i < refs->size(); ++i)
                    if (!defs->count((*refs)[i].source))
                        problems_.add(*at(root, {"services", name, section}), path_index(path_join(sp, section), i),
                                      std::string(section).substr(0, std::string(section).size() - 1) + " \"" +
                                          (*refs)[i].source + "\" is not defined");
            std::vector<std::string> drop;
            for (auto& [dep, d] : s.depends_on) {
                if (dep == name) {
                    problems_.add(*at(root, {"services", name, "depends_on"}), path_join(sp, "depends_on"),
                                  "service depends on itself");
                    drop.push_back(dep);
                    continue;
                }
                if (p.services.count(dep)) continue;
                if (!d.required) {
                    warnings_.add("service \"" + name + "\" depends on \"" + dep +
                                  "\", which is not part of the project; ignored as it is not required");
                    drop.push_back(dep);
                    continue;
                }
                service_ref(name, dep, *at(root, {"services", name, "depends_on", dep}), path_join(sp, "depends_on"),
                            "depends on");
                drop.push_back(dep);
            }
            for (auto& d : drop) s.depends_on.erase(d);
            for (auto [key, val] : {std::pair{"network_mode", &s.network_mode}, std::pair{"ipc", &s.ipc},
                                    std::pair{"pid", &s.pid}, std::pair{"uts", &s.uts}})
                if (val->rfind("service:", 0) == 0)
                    service_ref(name, val->substr(8), *at(root, {"services", name, key}), path_join(sp, key), "refers to");
            for (auto [key, list] : {std::pair{"volumes_from", &s.volumes_from}, std::pair{"links", &s.links}})
                for (auto& v : *list)
                    if (v.rfind("container:", 0) != 0)
                        service_ref(name, str::split(v, ':')[0], *at(root, {"services", name, key}), path_join(sp, key),
                                    "refers to");
            if (!s.container_name.empty()) {
                if (s.replicas() > 1)
                    problems_.add(*at(root, {"services", name, "container_name"}), path_join(sp, "container_name"),
                                  "container name \"" + s.container_name + "\" must be unique, so the service cannot run " +
                                      std::to_string(s.replicas()) + " replicas");
                auto [it, fresh] = container_names.emplace(s.container_name, name);
                if (!fresh)
                    problems_.add(*at(root, {"services", name, "container_name"}), path_join(sp, "container_name"),
                                  "container name \"" + s.container_name + "\" is already used by service " + it->second);
            }
        }
        if (auto cycle = Graph(p).find_cycle())
            problems_.add(*at(root, {"services", cycle->front(), "depends_on"}), "",
                          "dependency cycle detected: " + str::join(*cycle, " -> "));
    }

    const LoadOptions& opts_;
    Problems& problems_;
    Warnings& warnings_;
    std::string working_dir_;
    std::vector<std::string> env_files_read_;
    std::map<std::string, Node> extends_files_;
    std::map<ExtendsKey, Node> resolved_;
    std::set<ExtendsKey> in_cycle_;
    std::set<std::string> broken_services_;  // extends failed: reported once, not again as incomplete
};

LoadResult Loader::run() {
    working_dir_ = opts_.working_dir.empty() ? fs::current_path().string() : absolute_in(fs::current_path().string(), opts_.working_dir);
    std::string project_dir_opt =
        opts_.project_directory.empty() ? std::string() : absolute_in(working_dir_, opts_.project_directory);

    // Phase 0: which files. The .env of --project-directory (or the working directory) may set
    // COMPOSE_FILE, COMPOSE_PATH_SEPARATOR, COMPOSE_PROFILES and COMPOSE_PROJECT_NAME.
    EnvMap pre_env = project_environment(project_dir_opt.empty() ? working_dir_ : project_dir_opt);
    std::vector<std::string> paths;
    if (!opts_.files.empty()) {
        for (auto& f : opts_.files) paths.push_back(f == "-" ? f : absolute_in(working_dir_, f));
    } else if (auto it = pre_env.find("COMPOSE_FILE"); it != pre_env.end() && !it->second.empty()) {
        std::string sep = ":";
        if (auto s = pre_env.find("COMPOSE_PATH_SEPARATOR"); s != pre_env.end() && !s->second.empty()) sep = s->second;
        std::string rest = it->second;
        for (;;) {
            auto pos = rest.find(sep);
            std::string f = rest.substr(0, pos);
            if (!f.empty()) paths.push_back(absolute_in(working_dir_, f));
            if (pos == std::string::npos) break;
            rest = rest.substr(pos + sep.size());
        }
    } else {
        std::vector<std::string> found_warnings;
        paths = find_default_files(project_dir_opt.empty() ? working_dir_ : project_dir_opt, found_warnings);
        for (auto& w : found_warnings) warnings_.add(w);
        if (paths.empty()) problems_.add(Pos{}, "", "no configuration file provided: not found");
    }
    problems_.throw_if_any();

    Project project;
    project.working_dir = !project_dir_opt.empty() ? project_dir_opt
                          : paths[0] == "-"       ? working_dir_
                                                  : parent_dir(paths[0]);
    project.config_files = paths;

    // Phase 1: the interpolation environment of the project directory.
    EnvMap env = project_environment(project.working_dir);
    project.env_files = env_files_read_;

    // Phase 2: parse.
    std::vector<SourceFile> files;
    for (auto& p : paths)
        if (auto f = read_source(p)) files.push_back(std::move(*f));
    problems_.throw_if_any();

    // Project name, then exposed to interpolation as COMPOSE_PROJECT_NAME.
    project.name = project_name(files, env, project.working_dir);
    problems_.throw_if_any();
    env["COMPOSE_PROJECT_NAME"] = project.name;

    // Phases 3-8: interpolate, keys, canonical form, extends, merge, include.
    std::vector<std::string> include_stack;
    Node root = build_tree(files, project.working_dir, env, include_stack);
    root.erase("name");

    // Phase 9: profiles.
    apply_profiles(root, env, project);

    // Phase 10: bind every section to the typed model.
    BindContext ctx{env, problems_, warnings_, working_dir_};
    if (const Node* services = root.find("services")) {
        if (!services->is_map()) problems_.add(*services, "services", "must be a mapping");
        else
            for (auto& e : services->entries) project.services[e.key] = bind_service(e.key, e.value, ctx);
    }
    if (const Node* n = root.find("networks"); n && n->is_map())
        for (auto& e : n->entries) project.networks[e.key] = bind_network(e.key, e.value, ctx);
    if (const Node* n = root.find("volumes"); n && n->is_map())
        for (auto& e : n->entries) project.volumes[e.key] = bind_volume(e.key, e.value, ctx);
    if (const Node* n = root.find("configs"); n && n->is_map())
        for (auto& e : n->entries) project.configs[e.key] = bind_file_object("configs", e.key, e.value, ctx);
    if (const Node* n = root.find("secrets"); n && n->is_map())
        for (auto& e : n->entries) project.secrets[e.key] = bind_file_object("secrets", e.key, e.value, ctx);
    for (auto& e : root.entries)
        if (e.key.rfind("x-", 0) == 0 || e.key == "models") project.extensions[e.key] = node_to_json_text(e.value);
    for (const char* section : {"networks", "volumes", "configs", "secrets"})
        if (const Node* n = root.find(section); n && !n->is_map() && !n->is_null())
            problems_.add(*n, section, "must be a mapping");

    // Phases 11-12: defaults and names, then every reference and the dependency graph.
    normalize(project);
    check_references(project, root);
    add_implicit_dependencies(project);
    problems_.throw_if_any();

    project.environment = std::move(env);
    LoadResult result;
    result.project = std::move(project);
    result.warnings = warnings_.list();
    return result;
}

}  // namespace

LoadResult load_project(const LoadOptions& options) {
    Problems problems;
    Warnings warnings;
    Loader loader(options, problems, warnings);
    return loader.run();
}

}  // namespace berth::compose
