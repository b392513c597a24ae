#include "compose/schema.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace berth::compose {
namespace {

using Keys = std::vector<std::string>;

// Object path patterns -> allowed keys. "*" is a user-chosen name (service, network...), "[]" an
// item of a list. Taken from compose-spec/schema/compose-spec.json.
const std::map<std::string, Keys>& objects() {
    static const std::map<std::string, Keys> m = {
        {"", {"version", "name", "include", "services", "models", "networks", "volumes", "secrets", "configs"}},
        {"include[]", {"path", "env_file", "project_directory"}},
        {"services.*",
         {"develop", "deploy", "annotations", "attach", "build", "blkio_config", "cap_add", "cap_drop", "cgroup",
          "cgroup_parent", "command", "configs", "container_name", "cpu_count", "cpu_percent", "cpu_shares",
          "cpu_quota", "cpu_period", "cpu_rt_period", "cpu_rt_runtime", "cpus", "cpuset", "credential_spec",
          "depends_on", "device_cgroup_rules", "devices", "dns", "dns_opt", "dns_search", "domainname",
          "entrypoint", "env_file", "label_file", "environment", "expose", "extends", "provider", "external_links",
          "extra_hosts", "gpus", "group_add", "healthcheck", "hostname", "image", "init", "ipc", "isolation",
          "labels", "links", "logging", "mac_address", "mem_limit", "mem_reservation", "mem_swappiness",
          "memswap_limit", "network_mode", "models", "networks", "oom_kill_disable", "oom_score_adj", "pid",
          "pids_limit", "platform", "ports", "post_start", "pre_stop", "privileged", "profiles", "pull_policy",
          "pull_refresh_after", "read_only", "restart", "runtime", "scale", "security_opt", "shm_size", "secrets",
          "sysctls", "stdin_open", "stop_grace_period", "stop_signal", "storage_opt", "tmpfs", "tty", "ulimits",
          "use_api_socket", "user", "uts", "userns_mode", "volumes", "volumes_from", "working_dir"}},
        {"services.*.build",
         {"context", "dockerfile", "dockerfile_inline", "entitlements", "args", "ssh", "labels", "cache_from",
          "cache_to", "no_cache", "additional_contexts", "network", "pull", "target", "shm_size", "extra_hosts",
          "isolation", "privileged", "secrets", "tags", "ulimits", "platforms"}},
        {"services.*.deploy",
         {"mode", "endpoint_mode", "replicas", "labels", "rollback_config", "update_config", "resources",
          "restart_policy", "placement"}},
        {"services.*.deploy.resources", {"limits", "reservations"}},
        {"services.*.deploy.resources.limits", {"cpus", "memory", "pids"}},
        {"services.*.deploy.resources.reservations", {"cpus", "memory", "generic_resources", "devices"}},
        {"services.*.deploy.restart_policy", {"condition", "delay", "max_attempts", "window"}},
        {"services.*.deploy.update_config",
         {"parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order"}},
        {"services.*.deploy.rollback_config",
         {"parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order"}},
        {"services.*.deploy.placement", {"constraints", "preferences", "max_replicas_per_node"}},
        {"services.*.depends_on.*", {"restart", "required", "condition"}},
        {"services.*.devices[]", {"source", "target", "permissions"}},
        {"services.*.env_file[]", {"path", "format", "required"}},
        {"services.*.extends", {"service", "file"}},
        {"services.*.healthcheck",
         {"disable", "interval", "retries", "test", "timeout", "start_period", "start_interval"}},
        {"services.*.logging", {"driver", "options"}},
        {"services.*.networks.*",
         {"aliases", "interface_name", "ipv4_address", "ipv6_address", "link_local_ips", "mac_address",
          "driver_opts", "priority", "gw_priority"}},
        {"services.*.ports[]", {"name", "mode", "host_ip", "target", "published", "protocol", "app_protocol"}},
        {"services.*.post_start[]", {"command", "user", "privileged", "working_dir", "environment"}},
        {"services.*.pre_stop[]", {"command", "user", "privileged", "working_dir", "environment"}},
        {"services.*.configs[]", {"source", "target", "uid", "gid", "mode"}},
        {"services.*.secrets[]", {"source", "target", "uid", "gid", "mode"}},
        {"services.*.ulimits.*", {"soft", "hard"}},
        {"services.*.volumes[]",
         {"type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs", "image"}},
        {"services.*.volumes[].bind", {"propagation", "create_host_path", "recursive", "selinux"}},
        {"services.*.volumes[].volume", {"labels", "nocopy", "subpath"}},
        {"services.*.volumes[].tmpfs", {"size", "mode"}},
        {"services.*.volumes[].image", {"subpath"}},
        {"networks.*",
         {"name", "driver", "driver_opts", "ipam", "external", "internal", "enable_ipv4", "enable_ipv6",
          "attachable", "labels"}},
        {"networks.*.ipam", {"driver", "config", "options"}},
        {"networks.*.ipam.config[]", {"subnet", "ip_range", "gateway", "aux_addresses"}},
        {"networks.*.external", {"name"}},
        {"volumes.*", {"name", "driver", "driver_opts", "external", "labels"}},
        {"volumes.*.external", {"name"}},
        {"secrets.*",
         {"name", "environment", "file", "external", "labels", "driver", "driver_opts", "template_driver"}},
        {"secrets.*.external", {"name"}},
        {"configs.*", {"name", "content", "environment", "file", "external", "labels", "template_driver"}},
        {"configs.*.external", {"name"}},
    };
    return m;
}

// Mappings whose keys are names chosen by the user; their values follow pattern ".*".
const std::set<std::string>& named_maps() {
    static const std::set<std::string> s = {"services", "networks", "volumes", "secrets", "configs",
                                            "services.*.depends_on", "services.*.networks", "services.*.ulimits"};
    return s;
}

// Where the schema forbids `x-` keys.
bool extensions_allowed(const std::string& pattern) { return pattern != "include[]"; }

void walk(Node& node, const std::string& path, const std::string& pattern, Problems& problems) {
    if (node.is_seq()) {
        std::string item = pattern + "[]";
        if (!objects().count(item)) return;
        for (size_t i = 0; i < node.items.size(); ++i) walk(node.items[i], path_index(path, i), item, problems);
        return;
    }
    if (!node.is_map()) return;
    if (named_maps().count(pattern)) {
        for (auto& e : node.entries) walk(e.value, path_join(path, e.key), pattern + ".*", problems);
        return;
    }
    auto it = objects().find(pattern);
    if (it == objects().end()) return;
    const Keys& allowed = it->second;
    auto& entries = node.entries;
    for (size_t i = 0; i < entries.size();) {
        auto& e = entries[i];
        bool ok = std::find(allowed.begin(), allowed.end(), e.key) != allowed.end() ||
                  (e.key.rfind("x-", 0) == 0 && extensions_allowed(pattern));
        if (!ok) {
            std::string msg = "unknown key \"" + e.key + "\"";
            if (auto s = closest(e.key, allowed); !s.empty()) msg += " (did you mean \"" + s + "\"?)";
            problems.add(e.key_pos, path, msg);
            entries.erase(entries.begin() + static_cast<long>(i));
            continue;
        }
        if (e.key.rfind("x-", 0) != 0) walk(e.value, path_join(path, e.key), pattern.empty() ? e.key : pattern + "." + e.key, problems);
        ++i;
    }
}

}  // namespace

size_t edit_distance(std::string_view a, std::string_view b) {
    // Optimal string alignment distance: insertions, deletions, substitutions and transpositions
    // of two neighbours ("imgae" is one step from "image").
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.size()][b.size()];
}

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
    // Close means at most a third of the word's letters wrong (and at least one allowed).
    size_t limit = std::max<size_t>(1, word.size() / 3);
    std::string best;
    size_t best_d = limit + 1;
    for (auto& c : candidates) {
        size_t d = edit_distance(word, c);
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    return best;
}

void check_keys(Node& root, Problems& problems) { walk(root, "", "", problems); }

}  // namespace berth::compose
