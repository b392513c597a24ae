#include "network/dns_names.hpp"

#include <algorithm>

#include "network/dns_message.hpp"

namespace berth::network::dns {

namespace {

// The table key of a name, or nullopt when it is not a usable DNS name.
std::optional<std::string> key_of(std::string_view text) {
    if (!text.empty() && text.front() == '/') text.remove_prefix(1);  // Docker's "/name" form
    if (text.empty() || text.back() == '.') return std::nullopt;
    auto n = Name::from_text(text);
    if (!n || n->labels.empty()) return std::nullopt;
    return n->key();
}

template <typename Ip>
void add(std::map<std::string, std::vector<Ip>>& table, const std::string& key, const Ip& ip) {
    auto& v = table[key];
    if (std::find(v.begin(), v.end(), ip) == v.end()) v.push_back(ip);
}

}  // namespace

NameTable::NameTable(const std::vector<Network>& networks) {
    for (const auto& net : networks) {
        if (!net.dns()) continue;
        NetworkNames nn;
        nn.id = net.id;
        nn.name = net.name;
        nn.internal = net.internal;
        auto gw = Ip4::parse(net.gateway);
        if (!gw) continue;
        try {
            nn.subnet = Subnet4::parse(net.subnet);
        } catch (const std::exception&) {
            continue;
        }
        nn.gateway = *gw;
        auto net_key = key_of(net.name);
        for (const auto& [cid, ep] : net.endpoints) {
            auto ip = Ip4::parse(ep.ip);
            if (!ip) continue;
            std::vector<std::string> names;
            if (auto k = key_of(ep.container_name)) names.push_back(*k);
            if (ep.container_id.size() >= 12)
                if (auto k = key_of(short_id(ep.container_id))) names.push_back(*k);
            for (const auto& a : ep.aliases)
                if (auto k = key_of(a)) names.push_back(*k);
            auto ip6 = Ip6::parse(ep.ip6);
            for (const auto& k : names) {
                add(nn.addresses, k, *ip);
                if (net_key) add(nn.addresses, k + "." + *net_key, *ip);
                if (ip6) {
                    add(nn.addresses6, k, *ip6);
                    if (net_key) add(nn.addresses6, k + "." + *net_key, *ip6);
                }
            }
            // PTR: the container name, or for a nameless endpoint its first alias (moby
            // libnetwork PR 994), with the network's name as the domain.
            std::string host = ep.container_name;
            if (!host.empty() && host.front() == '/') host.erase(0, 1);
            if (host.empty() && !ep.aliases.empty()) host = ep.aliases.front();
            if (host.empty()) host = short_id(ep.container_id);
            if (!host.empty()) nn.reverse[*ip] = host + "." + net.name;
            if (!host.empty() && ip6) nn.reverse6[*ip6] = host + "." + net.name;
            nn.container_at[*ip] = ep.container_id;
            container_networks_[ep.container_id].push_back(net.id);
        }
        for (auto& [k, v] : nn.addresses) std::sort(v.begin(), v.end());
        for (auto& [k, v] : nn.addresses6) std::sort(v.begin(), v.end());
        networks_.push_back(std::move(nn));
    }
    std::sort(networks_.begin(), networks_.end(),
              [](const NetworkNames& a, const NetworkNames& b) { return a.name < b.name; });
}

const NetworkNames* NameTable::find(const std::string& id) const {
    for (const auto& n : networks_)
        if (n.id == id) return &n;
    return nullptr;
}

std::optional<std::string> NameTable::container_at(const std::string& network_id, Ip4 client) const {
    const auto* n = find(network_id);
    if (!n) return std::nullopt;
    auto it = n->container_at.find(client);
    if (it == n->container_at.end()) return std::nullopt;
    return it->second;
}

std::vector<const NetworkNames*> NameTable::scope(const std::string& network_id, Ip4 client) const {
    const auto* arrival = find(network_id);
    if (!arrival || !arrival->subnet.contains(client)) return {};
    std::vector<const NetworkNames*> out{arrival};
    auto cid = container_at(network_id, client);
    if (!cid) return out;
    auto it = container_networks_.find(*cid);
    if (it == container_networks_.end()) return out;
    // The container's other networks, in name order (networks_ is sorted by name).
    for (const auto& n : networks_)
        if (&n != arrival && std::find(it->second.begin(), it->second.end(), n.id) != it->second.end())
            out.push_back(&n);
    return out;
}

bool NameTable::any_endpoint() const {
    return std::any_of(networks_.begin(), networks_.end(), [](const NetworkNames& n) { return !n.container_at.empty(); });
}

Lookup lookup(const std::vector<const NetworkNames*>& scope, const std::string& key) {
    for (const auto* n : scope) {
        auto it = n->addresses.find(key);
        if (it != n->addresses.end()) {
            auto it6 = n->addresses6.find(key);
            return Lookup{true, it->second, it6 != n->addresses6.end() ? it6->second : std::vector<Ip6>{}};
        }
    }
    return {};
}

std::optional<std::string> lookup_reverse(const std::vector<const NetworkNames*>& scope, Ip4 addr) {
    for (const auto* n : scope) {
        auto it = n->reverse.find(addr);
        if (it != n->reverse.end()) return it->second;
    }
    return std::nullopt;
}

std::optional<std::string> lookup_reverse(const std::vector<const NetworkNames*>& scope, const Ip6& addr) {
    for (const auto* n : scope) {
        auto it = n->reverse6.find(addr);
        if (it != n->reverse6.end()) return it->second;
    }
    return std::nullopt;
}

}  // namespace berth::network::dns
