#include "compose/merge.hpp"

#include <functional>
#include <map>
#include <set>

namespace berth::compose {
namespace {

enum class Rule { deep, replace, logging, unique_port, unique_target, unique_secret, unique_config, unique_path, set };

// Merge exceptions keyed by path pattern ("*" stands for a name), as compose-go's mergeSpecials.
const std::map<std::string, Rule>& rules() {
    static const std::map<std::string, Rule> r = {
        {"services.*.command", Rule::replace},
        {"services.*.entrypoint", Rule::replace},
        {"services.*.healthcheck.test", Rule::replace},
        {"services.*.ulimits.*", Rule::replace},
        {"services.*.extra_hosts.*", Rule::replace},
        {"services.*.build.extra_hosts.*", Rule::replace},
        {"services.*.logging", Rule::logging},
        {"services.*.ports", Rule::unique_port},
        {"services.*.volumes", Rule::unique_target},
        {"services.*.secrets", Rule::unique_secret},
        {"services.*.configs", Rule::unique_config},
        {"services.*.env_file", Rule::unique_path},
        {"services.*.cap_add", Rule::set},
        {"services.*.cap_drop", Rule::set},
        {"services.*.dns", Rule::set},
        {"services.*.dns_opt", Rule::set},
        {"services.*.dns_search", Rule::set},
        {"services.*.expose", Rule::set},
        {"services.*.external_links", Rule::set},
        {"services.*.links", Rule::set},
        {"services.*.profiles", Rule::set},
        {"services.*.security_opt", Rule::set},
        {"services.*.tmpfs", Rule::set},
        {"services.*.volumes_from", Rule::set},
        {"services.*.group_add", Rule::set},
        {"services.*.device_cgroup_rules", Rule::set},
        {"services.*.devices", Rule::set},
        {"services.*.label_file", Rule::set},
        {"services.*.build.tags", Rule::set},
        {"services.*.build.cache_from", Rule::set},
        {"services.*.build.cache_to", Rule::set},
        {"services.*.build.platforms", Rule::set},
        {"services.*.networks.*.aliases", Rule::set},
    };
    return r;
}

// Mappings whose keys are user-chosen names: their children match "<pattern>.*".
const std::set<std::string>& named() {
    static const std::set<std::string> s = {"services",
                                            "networks",
                                            "volumes",
                                            "configs",
                                            "secrets",
                                            "services.*.depends_on",
                                            "services.*.networks",
                                            "services.*.ulimits",
                                            "services.*.extra_hosts",
                                            "services.*.build.extra_hosts"};
    return s;
}

std::string child_pattern(const std::string& pattern, const std::string& key) {
    if (named().count(pattern)) return pattern + ".*";
    return pattern.empty() ? key : pattern + "." + key;
}

std::string scalar_of(const Node* n, const std::string& dflt = "") {
    return n && n->is_scalar() ? n->value : dflt;
}

std::string item_key(const Node& item, Rule rule) {
    if (!item.is_map()) return item.is_scalar() ? "=" + item.value : "";
    switch (rule) {
        case Rule::unique_port:
            return scalar_of(item.find("host_ip")) + "|" + scalar_of(item.find("target")) + "|" +
                   scalar_of(item.find("published")) + "|" + scalar_of(item.find("protocol"), "tcp");
        case Rule::unique_target:
            return scalar_of(item.find("target"));
        case Rule::unique_secret:
            return scalar_of(item.find("target"), "/run/secrets/" + scalar_of(item.find("source")));
        case Rule::unique_config:
            return scalar_of(item.find("target"), "/" + scalar_of(item.find("source")));
        case Rule::unique_path:
            return scalar_of(item.find("path"));
        default:
            return "";
    }
}

void merge_node(Node& base, Node over, const std::string& path, const std::string& pattern);

void merge_mapping(Node& base, Node over, const std::string& path, const std::string& pattern) {
    for (auto& e : over.entries) {
        if (e.value.tag == "!reset") {
            base.erase(e.key);
            continue;
        }
        Node* existing = base.find(e.key);
        if (e.value.tag == "!override" || !existing) {
            // The value lands as written; a nested !reset in it has nothing to reset.
            base.set(e.key, std::move(e.value), e.key_pos);
            continue;
        }
        merge_node(*existing, std::move(e.value), path_join(path, e.key), child_pattern(pattern, e.key));
    }
}

void merge_keyed_list(Node& base, Node over, Rule rule, const std::string& path, const std::string& pattern) {
    for (auto& item : over.items) {
        std::string key = item_key(item, rule);
        Node* match = nullptr;
        if (!key.empty())
            for (auto& b : base.items)
                if (item_key(b, rule) == key) match = &b;
        if (!match) {
            base.items.push_back(std::move(item));
        } else if (rule != Rule::set) {
            if (match->is_map() && item.is_map()) merge_mapping(*match, std::move(item), path, pattern + "[]");
            else *match = std::move(item);
        }
    }
}

void merge_node(Node& base, Node over, const std::string& path, const std::string& pattern) {
    auto it = rules().find(pattern);
    Rule rule = it == rules().end() ? Rule::deep : it->second;
    if (rule == Rule::replace || base.kind != over.kind || over.is_scalar() || over.is_null()) {
        // Different kinds (or a scalar): the later value wins.
        over.tag.clear();
        base = std::move(over);
        return;
    }
    if (rule == Rule::logging && base.is_map()) {
        const Node* bd = base.find("driver");
        const Node* od = over.find("driver");
        if (bd && od && scalar_of(bd) != scalar_of(od)) {
            base = std::move(over);
            return;
        }
    }
    if (base.is_map()) {
        merge_mapping(base, std::move(over), path, pattern);
    } else if (base.is_seq()) {
        if (rule == Rule::deep || rule == Rule::logging) {
            for (auto& i : over.items) base.items.push_back(std::move(i));
        } else {
            merge_keyed_list(base, std::move(over), rule, path, pattern);
        }
    }
}

std::string pattern_of(const std::string& path) {
    // "services.web" -> "services.*"; "" -> "". Only used for the roots merge_into is given.
    if (path.empty()) return "";
    auto dot = path.find('.');
    std::string head = path.substr(0, dot);
    if (dot == std::string::npos) return head;
    return head + ".*";
}

}  // namespace

void merge_into(Node& base, Node over, const std::string& path) {
    if (base.is_map() && over.is_map()) {
        merge_mapping(base, std::move(over), path, pattern_of(path));
        return;
    }
    merge_node(base, std::move(over), path, pattern_of(path));
}

void strip_merge_tags(Node& node) {
    node.tag.clear();
    if (node.is_map()) {
        for (size_t i = 0; i < node.entries.size();) {
            if (node.entries[i].value.tag == "!reset") {
                node.entries.erase(node.entries.begin() + static_cast<long>(i));
                continue;
            }
            strip_merge_tags(node.entries[i].value);
            ++i;
        }
    } else if (node.is_seq()) {
        for (size_t i = 0; i < node.items.size();) {
            if (node.items[i].tag == "!reset") {
                node.items.erase(node.items.begin() + static_cast<long>(i));
                continue;
            }
            strip_merge_tags(node.items[i]);
            ++i;
        }
    }
}

}  // namespace berth::compose
