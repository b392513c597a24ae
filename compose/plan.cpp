// plan_up / plan_down: pure functions from (project, observed, options) to operations with causes.
#include "compose/plan.hpp"

#include <algorithm>
#include <cstdint>
#include <set>

#include "compose/graph.hpp"
#include "compose/service_refs.hpp"
#include "network/ipam6.hpp"
#include "sys/error.hpp"
#include "sys/sha256.hpp"
#include "sys/strings.hpp"

namespace berth::compose {

const ObservedResource* Observed::network(const std::string& name) const {
    for (auto& n : networks)
        if (n.name == name) return &n;
    return nullptr;
}

const ObservedResource* Observed::volume(const std::string& name) const {
    for (auto& v : volumes)
        if (v.name == name) return &v;
    return nullptr;
}

const char* op_verb(OpKind k) {
    switch (k) {
        case OpKind::create_network: return "create network";
        case OpKind::create_volume: return "create volume";
        case OpKind::build_image: return "build image";
        case OpKind::pull_image: return "pull image";
        case OpKind::create_container: return "create container";
        case OpKind::recreate_container: return "recreate container";
        case OpKind::start_container: return "start container";
        case OpKind::restart_container: return "restart container";
        case OpKind::remove_container: return "remove container";
        case OpKind::wait_service: return "wait for service";
        case OpKind::remove_network: return "remove network";
        case OpKind::remove_volume: return "remove volume";
        case OpKind::remove_image: return "remove image";
    }
    return "?";
}

std::string Plan::text() const {
    std::string out;
    for (size_t i = 0; i < ops.size(); ++i) {
        auto& op = ops[i];
        out += std::to_string(i + 1) + ". " + op_verb(op.kind) + " " + op.target;
        if (op.kind == OpKind::wait_service) out += " (" + op.condition + (op.required ? "" : ", optional") + ")";
        out += ": " + op.cause;
        if (!op.after.empty()) {
            std::vector<std::string> a;
            for (auto j : op.after) a.push_back(std::to_string(j + 1));
            out += " [after " + str::join(a, ", ") + "]";
        }
        out += "\n";
    }
    return out;
}

namespace {

std::string short_hash(const std::string& h) { return h.size() > 12 ? h.substr(0, 12) : (h.empty() ? "none" : h); }

std::string service_ref(const std::string& v) { return v.rfind("service:", 0) == 0 ? v.substr(8) : ""; }

// Services whose namespaces or volumes svc shares: recreating one of them recreates svc.
std::set<std::string> namespace_parents(const Service& svc) {
    std::set<std::string> out;
    for (auto* m : {&svc.network_mode, &svc.ipc, &svc.pid, &svc.uts})
        if (auto r = service_ref(*m); !r.empty()) out.insert(r);
    for (auto& v : svc.volumes_from) {
        if (v.rfind("container:", 0) == 0) continue;
        std::string rest = v.rfind("service:", 0) == 0 ? v.substr(8) : v;
        out.insert(str::split_once(rest, ':').first);
    }
    return out;
}

// A top-level network's definition as a hash (Compose's NetworkHash), kept in the config-hash
// label of the network it creates.
std::string network_config_hash(const Network& n) {
    std::string text = "driver=" + (n.driver.empty() ? std::string("bridge") : n.driver) + "\n";
    for (auto& [k, v] : n.driver_opts) text += "opt:" + k + "=" + v + "\n";
    text += "ipam=" + n.ipam_driver + "\n";
    for (auto& pool : n.ipam_config) {
        text += "pool:" + pool.subnet + "," + pool.ip_range + "," + pool.gateway + "\n";
        for (auto& [k, v] : pool.aux_addresses) text += "aux:" + k + "=" + v + "\n";
    }
    for (auto& [k, v] : n.ipam_options) text += "ipam_opt:" + k + "=" + v + "\n";
    text += std::string("internal=") + (n.internal ? "1" : "0") + " attachable=" + (n.attachable ? "1" : "0") +
            " ipv4=" + (n.enable_ipv4 ? (*n.enable_ipv4 ? "1" : "0") : "-") + " ipv6=" + (n.enable_ipv6 ? (*n.enable_ipv6 ? "1" : "0") : "-") + "\n";
    for (auto& [k, v] : n.labels) text += "label:" + k + "=" + v + "\n";
    return sys::sha256_hex(text);
}

// A top-level volume's definition as a hash (Compose's VolumeHash: the driver defaulted to
// local), kept in the config-hash label of the volume it creates.
std::string volume_config_hash(const Volume& v) {
    std::string text = "driver=" + (v.driver.empty() ? std::string("local") : v.driver) + "\n";
    for (auto& [k, val] : v.driver_opts) text += "opt:" + k + "=" + val + "\n";
    for (auto& [k, val] : v.labels) text += "label:" + k + "=" + val + "\n";
    return sys::sha256_hex(text);
}

std::set<std::string> expected_networks(const Project& p, const Service& svc) {
    std::set<std::string> out;
    if (!svc.network_mode.empty()) return out;
    for (auto& [k, _] : svc.networks) out.insert(p.network_name(k));
    return out;
}

// Compose keeps a recreated container's anonymous volumes (image VOLUMEs, `- /path`): the new
// container mounts the old one's at the same targets unless its config mounts something else there.
void inherit_anonymous_volumes(container::CreateRequest& r, const ObservedContainer& old) {
    for (auto& [target, name] : old.anonymous_volumes) {
        bool covered = false;
        for (auto& m : r.host.mounts) {
            if (m.target != target) continue;
            covered = true;
            if (m.type == "volume" && m.source.empty()) m.source = name;
        }
        if (covered || r.host.tmpfs.count(target)) continue;
        container::MountSpec m;
        m.type = "volume";
        m.source = name;
        m.target = target;
        m.anonymous = true;
        r.host.mounts.push_back(m);
    }
}

struct Builder {
    Plan plan;
    size_t add(Op op) {
        std::sort(op.after.begin(), op.after.end());
        op.after.erase(std::unique(op.after.begin(), op.after.end()), op.after.end());
        plan.ops.push_back(std::move(op));
        return plan.ops.size() - 1;
    }
};

}  // namespace

Plan plan_up(const Project& project, const Observed& observed, const UpOptions& opts) {
    std::vector<std::string> problems;
    Builder b;
    Graph graph(project);

    // Which services: the named ones (and, unless --no-deps, what they depend on).
    for (auto& s : opts.services)
        if (!project.services.count(s)) problems.push_back("no such service: " + s);
    for (auto& [s, n] : opts.scale) {
        if (!project.services.count(s)) problems.push_back("no such service: " + s);
        else if (n < 0) problems.push_back("invalid scale for service \"" + s + "\": " + std::to_string(n));
    }
    if (!problems.empty()) throw Error(Errc::invalid, str::join(problems, "\n"));
    std::set<std::string> targeted;
    if (opts.services.empty()) {
        for (auto& [s, _] : project.services) targeted.insert(s);
    } else if (opts.no_deps) {
        targeted.insert(opts.services.begin(), opts.services.end());
    } else {
        for (auto& s : graph.with_dependencies(opts.services)) targeted.insert(s);
    }
    auto named = [&](const std::string& s) {
        return opts.services.empty() || std::find(opts.services.begin(), opts.services.end(), s) != opts.services.end();
    };

    // Orphans first (Compose removes them before converging).
    std::set<std::string> known(project.disabled_services.begin(), project.disabled_services.end());
    for (auto& [s, _] : project.services) known.insert(s);
    std::vector<std::string> orphans;
    std::vector<size_t> orphan_ops;
    for (auto& c : observed.containers) {
        if (c.oneoff || known.count(c.service)) continue;
        if (opts.remove_orphans) {
            Op op;
            op.kind = OpKind::remove_container;
            op.target = c.name;
            op.container_id = c.id;
            op.timeout = opts.timeout;
            op.cause = "orphan (service \"" + c.service + "\" is not in the project)";
            orphan_ops.push_back(b.add(std::move(op)));
        } else {
            orphans.push_back(c.name);
        }
    }
    if (!orphans.empty())
        b.plan.warnings.push_back("Found orphan containers ([" + str::join(orphans, " ") +
                                  "]) for this project. If you removed or renamed this service in your compose file, "
                                  "you can run this command with the --remove-orphans flag to clean it up.");

    // Networks and volumes.
    std::map<std::string, size_t> net_op, vol_op;  // by key
    std::set<std::string> dropped;                 // containers removed because their network is made again
    for (auto& [key, n] : project.networks) {
        auto* seen = observed.network(n.name);
        if (n.external) {
            if (!seen) problems.push_back("network " + n.name + " declared as external, but could not be found");
            continue;
        }
        std::vector<size_t> create_after = orphan_ops;
        std::string cause = "not found";
        const std::string want_hash = network_config_hash(n);
        if (seen) {
            auto it = seen->labels.find(labels::project);
            auto h = seen->labels.find(labels::config_hash);
            if (it == seen->labels.end()) {
                b.plan.warnings.push_back("a network with name " + n.name +
                                          " exists but was not created by compose.\nSet `external: true` to use an existing network");
                continue;
            }
            if (it->second != project.name) {
                problems.push_back("network " + n.name + " was found but has incorrect label " + labels::project + " set to \"" +
                                   it->second + "\" (expected: \"" + project.name + "\")");
                continue;
            }
            if (h == seen->labels.end() || h->second == want_hash) continue;
            // Changed definition (Compose >= 2.24, removeDivergedNetwork): the project's containers
            // on it go, the network is made again, and they are created anew on it.
            cause = "configuration changed (config-hash " + short_hash(h->second) + " -> " + short_hash(want_hash) + ")";
            std::vector<size_t> gone;
            for (auto& c : observed.containers) {
                if (!std::binary_search(c.networks.begin(), c.networks.end(), n.name)) continue;
                if (c.oneoff || !targeted.count(c.service)) {
                    problems.push_back("network " + n.name + " changed, but container " + c.name +
                                       " is attached to it and not part of this up");
                    continue;
                }
                Op op;
                op.kind = OpKind::remove_container;
                op.service = c.service;
                op.target = c.name;
                op.container_id = c.id;
                op.number = c.number;
                op.timeout = opts.timeout;
                op.cause = "network " + n.name + " is made again";
                op.after = orphan_ops;
                gone.push_back(b.add(std::move(op)));
                dropped.insert(c.id);
            }
            Op rm;
            rm.kind = OpKind::remove_network;
            rm.target = n.name;
            rm.cause = cause;
            rm.after = gone;
            create_after = {b.add(std::move(rm))};
        }
        if (n.driver != "" && n.driver != "bridge") {
            problems.push_back("network " + key + ": driver \"" + n.driver + "\" is not supported (bridge)");
            continue;
        }
        network::NetworkOptions no;
        no.internal = n.internal;
        no.attachable = n.attachable;
        no.ipv6 = n.enable_ipv6.value_or(false);
        no.options = n.driver_opts;
        // One IPv4 and one IPv6 pool (enable_ipv6), told apart by the subnet's text.
        for (auto it = n.ipam_config.rbegin(); it != n.ipam_config.rend(); ++it) {
            bool v6 = network::is_ipv6_text(it->subnet);
            (v6 ? no.subnet6 : no.subnet) = it->subnet;
            (v6 ? no.gateway6 : no.gateway) = it->gateway;
            (v6 ? no.ip_range6 : no.ip_range) = it->ip_range;
        }
        no.labels = n.labels;
        no.labels[labels::project] = project.name;
        no.labels[labels::network] = key;
        if (!opts.version.empty()) no.labels[labels::version] = opts.version;
        no.labels[labels::config_hash] = want_hash;
        Op op;
        op.kind = OpKind::create_network;
        op.target = n.name;
        op.network = no;
        op.cause = cause;
        op.after = create_after;
        net_op[key] = b.add(std::move(op));
    }
    for (auto& [key, v] : project.volumes) {
        auto* seen = observed.volume(v.name);
        const std::string want_hash = volume_config_hash(v);
        if (v.external) {
            if (!seen) problems.push_back("external volume \"" + v.name + "\" not found");
            continue;
        }
        if (seen) {
            auto it = seen->labels.find(labels::project);
            if (it == seen->labels.end())
                b.plan.warnings.push_back("volume \"" + v.name +
                                          "\" already exists but was not created by Docker Compose. Use `external: true` to use an existing volume");
            else if (it->second != project.name)
                b.plan.warnings.push_back("volume \"" + v.name + "\" already exists but was created for project \"" + it->second +
                                          "\" (expected \"" + project.name + "\"). Use `external: true` to use an existing volume");
            else if (auto h = seen->labels.find(labels::config_hash);
                     h != seen->labels.end() && h->second != want_hash)
                // Compose asks before recreating ("data will be lost"); berth does not ask, it refuses.
                problems.push_back("volume \"" + v.name + "\" exists but doesn't match configuration in compose file (config-hash " +
                                   short_hash(h->second) + " -> " + short_hash(want_hash) +
                                   "); remove it to recreate it (its data will be lost): compose down -v, or volume rm " + v.name);
            continue;
        }
        volumes::CreateOptions vo;
        vo.driver = v.driver;
        vo.driver_opts = v.driver_opts;
        vo.labels = v.labels;
        vo.labels[labels::project] = project.name;
        vo.labels[labels::volume] = key;
        vo.labels[labels::config_hash] = want_hash;
        if (!opts.version.empty()) vo.labels[labels::version] = opts.version;
        Op op;
        op.kind = OpKind::create_volume;
        op.target = v.name;
        op.volume = vo;
        op.cause = "not found";
        vol_op[key] = b.add(std::move(op));
    }

    // Images: build or pull what is missing (--build: build every service that has a build).
    std::map<std::string, size_t> image_op;  // by service
    std::set<std::string> rebuilt;
    std::map<std::string, size_t> image_ref_op;  // one op per image reference
    for (auto& s : targeted) {
        auto& svc = project.services.at(s);
        std::string ref = project.image_name(svc);
        bool present = observed.images.count(ref) != 0;
        const std::string& policy = opts.pull.empty() ? svc.pull_policy : opts.pull;
        if (svc.build && (opts.build || !present) && svc.pull_policy != "never") {
            if (opts.no_build) {
                if (!present) problems.push_back("service \"" + s + "\": image " + ref + " is missing and --no-build was given");
                continue;
            }
            Op op;
            op.kind = OpKind::build_image;
            op.service = s;
            op.target = ref;
            op.cause = present ? "--build" : "image not found (service \"" + s + "\" has a build section)";
            image_op[s] = b.add(std::move(op));
            rebuilt.insert(s);
        } else if (!present || policy == "always") {
            if (auto it = image_ref_op.find(ref); it != image_ref_op.end()) {
                image_op[s] = it->second;
                continue;
            }
            if (policy == "never") {
                problems.push_back("service \"" + s + "\": image " + ref + " not found (pull_policy: never)");
                continue;
            }
            Op op;
            op.kind = OpKind::pull_image;
            op.service = s;
            op.target = ref;
            op.cause = present ? "pull_policy: always (service \"" + s + "\")" : "image not found locally (service \"" + s + "\")";
            image_op[s] = image_ref_op[ref] = b.add(std::move(op));
        }
    }

    // Containers, service by service in dependency order.
    std::map<std::string, std::vector<size_t>> creates, starts;  // by service
    std::set<std::string> recreated;                              // services with a recreate
    std::map<std::pair<std::string, std::string>, size_t> waits;  // (service, condition) -> op
    std::vector<std::vector<std::string>> levels;
    try {
        levels = graph.levels();
    } catch (const Error& e) {
        problems.push_back(e.what());
    }
    for (auto& level : levels) {
        for (auto& s : level) {
            if (!targeted.count(s)) continue;
            auto& svc = project.services.at(s);
            int want = svc.replicas();
            if (auto it = opts.scale.find(s); it != opts.scale.end()) want = it->second;
            if (!svc.container_name.empty() && want > 1)
                problems.push_back("service \"" + s + "\": container_name \"" + svc.container_name +
                                   "\" cannot be used with more than one replica");
            // Shared namespaces and volumes are hashed with the containers they join (as the
            // executor labels them at create): a parent replaced since is seen here.
            std::string hash = service_config_hash(svc, [&](const std::string& parent) {
                std::string want = project.container_name(parent, 1);
                for (auto& c : observed.containers)
                    if (c.name == want && !dropped.count(c.id)) return c.id;
                return std::string();
            });
            std::string image_id;
            if (auto it = observed.images.find(project.image_name(svc)); it != observed.images.end() && !rebuilt.count(s))
                image_id = it->second;
            auto want_nets = expected_networks(project, svc);
            auto parents = namespace_parents(svc);

            // What creating a container of this service needs first.
            std::vector<size_t> prereq;
            for (auto& [k, _] : svc.networks)
                if (auto it = net_op.find(k); it != net_op.end()) prereq.push_back(it->second);
            for (auto& m : svc.volumes)
                if (m.type == "volume")
                    if (auto it = vol_op.find(m.source); it != vol_op.end()) prereq.push_back(it->second);
            if (auto it = image_op.find(s); it != image_op.end()) prereq.push_back(it->second);
            for (auto& d : svc.dependencies())
                for (auto i : creates[d]) prereq.push_back(i);
            prereq.insert(prereq.end(), orphan_ops.begin(), orphan_ops.end());

            auto request = [&](int number) {
                return container_request(project, svc, number, opts, image_id, problems);
            };

            std::vector<const ObservedContainer*> existing;
            int max_number = 0;
            for (auto& c : observed.containers)
                if (c.service == s && !c.oneoff) {
                    if (dropped.count(c.id)) {
                        recreated.insert(s);  // made anew: what shares its namespaces follows
                        continue;
                    }
                    existing.push_back(&c);
                    max_number = std::max(max_number, c.number);
                }
            std::stable_sort(existing.begin(), existing.end(), [](auto* a, auto* b) { return a->number < b->number; });

            std::vector<std::pair<std::string, size_t>> start_list;  // (container name, after op) ; op = npos: nothing before
            std::vector<std::string> kept_running;
            for (size_t i = 0; i < existing.size(); ++i) {
                auto& c = *existing[i];
                if (static_cast<int>(i) >= want) {
                    Op op;
                    op.kind = OpKind::remove_container;
                    op.service = s;
                    op.target = c.name;
                    op.container_id = c.id;
                    op.number = c.number;
                    op.timeout = opts.timeout;
                    op.cause = "service \"" + s + "\" scaled to " + std::to_string(want);
                    b.add(std::move(op));
                    continue;
                }
                std::string why;
                if (!opts.no_recreate) {
                    if (opts.force_recreate && named(s)) why = "--force-recreate";
                    else if (c.config_hash != hash)
                        why = "configuration changed (config-hash " + short_hash(c.config_hash) + " -> " + short_hash(hash) + ")";
                    else if (rebuilt.count(s)) why = "image rebuilt";
                    else if (!image_id.empty() && !c.image_label.empty() && c.image_label != image_id)
                        why = "image changed (" + short_hash(c.image_label) + " -> " + short_hash(image_id) + ")";
                    else {
                        for (auto& p : parents)
                            if (recreated.count(p)) {
                                why = "shares namespaces or volumes with service \"" + p + "\", which is recreated";
                                break;
                            }
                        if (why.empty())
                            for (auto& n : want_nets)
                                if (!std::binary_search(c.networks.begin(), c.networks.end(), n)) {
                                    why = "not attached to network " + n;
                                    break;
                                }
                    }
                }
                if (!why.empty()) {
                    Op op;
                    op.kind = OpKind::recreate_container;
                    op.service = s;
                    op.target = c.name;
                    op.container_id = c.id;
                    op.number = c.number;
                    op.timeout = opts.timeout;
                    op.cause = why;
                    op.request = request(c.number);
                    if (!opts.renew_anon_volumes) inherit_anonymous_volumes(*op.request, c);
                    op.remove_volumes = opts.renew_anon_volumes;  // -V: the old ones go with the old container
                    op.after = prereq;
                    size_t idx = b.add(std::move(op));
                    creates[s].push_back(idx);
                    recreated.insert(s);
                    start_list.emplace_back(c.name, idx);
                } else if (c.status != "running" && c.status != "paused" && c.status != "restarting") {
                    start_list.emplace_back(c.name, SIZE_MAX);
                } else {
                    kept_running.push_back(c.name);
                }
            }
            for (int n = static_cast<int>(existing.size()); n < want; ++n) {
                int number = ++max_number;
                Op op;
                op.kind = OpKind::create_container;
                op.service = s;
                op.number = number;
                op.target = project.container_name(svc, number);
                op.cause = existing.empty() && n == 0 ? "service \"" + s + "\" has no container"
                                                      : "service \"" + s + "\" scaled to " + std::to_string(want);
                op.request = request(number);
                op.after = prereq;
                size_t idx = b.add(std::move(op));
                creates[s].push_back(idx);
                start_list.emplace_back(project.container_name(svc, number), idx);
            }
            if (opts.no_start) continue;

            // depends_on restart: true: a running container whose dependency was recreated restarts.
            std::vector<std::string> restarted_by;
            for (auto& [d, dep] : svc.depends_on)
                if (dep.restart && recreated.count(d) && !parents.count(d)) restarted_by.push_back(d);
            if (restarted_by.empty()) kept_running.clear();
            if (start_list.empty() && kept_running.empty()) continue;

            // What starting needs: the dependencies started, healthy or completed.
            std::vector<size_t> gate;
            for (auto& [d, dep] : svc.depends_on) {
                if (!targeted.count(d)) continue;
                if (dep.condition == "service_started") {
                    for (auto i : starts[d]) gate.push_back(i);
                    continue;
                }
                auto key = std::make_pair(d, dep.condition);
                auto it = waits.find(key);
                if (it == waits.end()) {
                    Op op;
                    op.kind = OpKind::wait_service;
                    op.service = s;  // a failure is the dependent's: it cannot start
                    op.target = d;
                    op.condition = dep.condition;
                    op.required = dep.required;
                    op.cause = "service \"" + s + "\" depends on it";
                    op.after = starts[d];
                    it = waits.emplace(key, b.add(std::move(op))).first;
                }
                gate.push_back(it->second);
            }
            for (auto& [name, before] : start_list) {
                Op op;
                op.kind = OpKind::start_container;
                op.service = s;
                op.target = name;
                op.cause = before == SIZE_MAX ? "not running" : b.plan.ops[before].kind == OpKind::create_container ? "created" : "recreated";
                if (before != SIZE_MAX) op.after.push_back(before);
                op.after.insert(op.after.end(), gate.begin(), gate.end());
                starts[s].push_back(b.add(std::move(op)));
            }
            for (auto& name : kept_running) {
                Op op;
                op.kind = OpKind::restart_container;
                op.service = s;
                op.target = name;
                op.timeout = opts.timeout;
                op.cause = "dependency \"" + str::join(restarted_by, "\", \"") + "\" recreated (depends_on restart: true)";
                for (auto& d : restarted_by)
                    for (auto i : starts[d]) op.after.push_back(i);
                op.after.insert(op.after.end(), gate.begin(), gate.end());
                starts[s].push_back(b.add(std::move(op)));
            }
        }
    }

    // --wait: every targeted service running (healthy when it has a health check) at the end.
    if (opts.wait && !opts.no_start) {
        for (auto& level : levels)
            for (auto& s : level) {
                if (!targeted.count(s)) continue;
                int want = project.services.at(s).replicas();
                if (auto it = opts.scale.find(s); it != opts.scale.end()) want = it->second;
                if (want == 0) continue;
                Op op;
                op.kind = OpKind::wait_service;
                op.service = s;
                op.target = s;
                op.condition = "running_or_healthy";
                op.cause = "--wait";
                op.after = starts[s];
                b.add(std::move(op));
            }
    }
    if (!problems.empty()) {
        std::sort(problems.begin(), problems.end());
        problems.erase(std::unique(problems.begin(), problems.end()), problems.end());
        throw Error(Errc::invalid, str::join(problems, "\n"));
    }
    return std::move(b.plan);
}

Plan plan_down(const Project* project, const Observed& observed, const DownOptions& opts) {
    Builder b;
    std::set<std::string> known;
    if (project) {
        known.insert(project->disabled_services.begin(), project->disabled_services.end());
        for (auto& [s, _] : project->services) known.insert(s);
    }
    auto selected = [&](const std::string& s) {
        return opts.services.empty() || std::find(opts.services.begin(), opts.services.end(), s) != opts.services.end();
    };

    // Dependents go first: a service's containers are removed after those of the services that
    // depend on it (reverse start order).
    std::map<std::string, std::vector<std::string>> dependents;
    std::vector<std::string> order;  // services, dependents before dependencies
    if (project) {
        Graph g(*project);
        auto levels = g.levels();
        for (auto it = levels.rbegin(); it != levels.rend(); ++it) order.insert(order.end(), it->begin(), it->end());
        for (auto& s : g.services()) dependents[s] = g.dependents(s);
    }
    std::map<std::string, std::vector<size_t>> removes;  // by service
    std::vector<size_t> all_removes;
    std::vector<std::string> orphans;
    // Orphans and one-off containers first, then services in reverse dependency order.
    for (auto& c : observed.containers) {
        bool orphan = !c.oneoff && project && !known.count(c.service);
        if (!orphan && !(c.oneoff && opts.services.empty())) continue;
        if (orphan && !opts.remove_orphans) {
            orphans.push_back(c.name);
            continue;
        }
        Op op;
        op.kind = OpKind::remove_container;
        op.service = c.service;
        op.target = c.name;
        op.container_id = c.id;
        op.timeout = opts.timeout;
        op.remove_volumes = opts.volumes;
        op.cause = orphan ? "orphan (service \"" + c.service + "\" is not in the project)" : "one-off container of service \"" + c.service + "\"";
        all_removes.push_back(b.add(std::move(op)));
    }
    if (!orphans.empty())
        b.plan.warnings.push_back("Found orphan containers ([" + str::join(orphans, " ") +
                                  "]) for this project. If you removed or renamed this service in your compose file, "
                                  "you can run this command with the --remove-orphans flag to clean it up.");
    if (!project) {
        // No model: every labelled service container goes, in name order.
        for (auto& c : observed.containers)
            if (!c.oneoff && std::find(order.begin(), order.end(), c.service) == order.end()) order.push_back(c.service);
    }
    for (auto& s : order) {
        if (!selected(s)) continue;
        for (auto& c : observed.containers) {
            if (c.service != s || c.oneoff) continue;
            Op op;
            op.kind = OpKind::remove_container;
            op.service = s;
            op.target = c.name;
            op.container_id = c.id;
            op.timeout = opts.timeout;
            op.remove_volumes = opts.volumes;
            op.cause = "down";
            for (auto& d : dependents[s])
                for (auto i : removes[d]) op.after.push_back(i);
            size_t idx = b.add(std::move(op));
            removes[s].push_back(idx);
            all_removes.push_back(idx);
        }
    }
    if (!opts.services.empty()) return std::move(b.plan);  // down SERVICE... keeps networks and volumes

    for (auto& n : observed.networks) {
        auto it = n.labels.find(labels::project);
        if (it == n.labels.end() || it->second != observed.project) continue;
        if (project) {
            bool external = false;
            for (auto& [_, pn] : project->networks)
                if (pn.name == n.name && pn.external) external = true;
            if (external) continue;
        }
        Op op;
        op.kind = OpKind::remove_network;
        op.target = n.name;
        op.container_id = n.id;
        op.cause = "down";
        op.after = all_removes;
        b.add(std::move(op));
    }
    if (opts.volumes) {
        for (auto& v : observed.volumes) {
            auto it = v.labels.find(labels::project);
            if (it == v.labels.end() || it->second != observed.project) continue;
            Op op;
            op.kind = OpKind::remove_volume;
            op.target = v.name;
            op.cause = "down -v";
            op.after = all_removes;
            b.add(std::move(op));
        }
    }
    if (project && (opts.rmi == "all" || opts.rmi == "local")) {
        std::set<std::string> images;
        for (auto& [_, svc] : project->services)
            if (opts.rmi == "all" || svc.image.empty()) images.insert(project->image_name(svc));
        for (auto& ref : images) {
            if (!observed.images.count(ref)) continue;
            Op op;
            op.kind = OpKind::remove_image;
            op.target = ref;
            op.cause = "--rmi " + opts.rmi;
            op.after = all_removes;
            b.add(std::move(op));
        }
    }
    return std::move(b.plan);
}

}  // namespace berth::compose
