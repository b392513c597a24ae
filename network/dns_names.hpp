#pragma once
// The names the embedded DNS server answers, built from the network store as it is now (a
// snapshot: the server builds a new table when the store changes and answers from the old one
// meanwhile). Pure.
//
// On each user-defined network (Network::dns(): a bridge network other than the default `bridge`)
// every endpoint is known by its container name, by the first 12 hex digits of its container id,
// by each of its aliases (which include Compose's service name), and by "<name>.<network name>"
// for each of those. Names are case-insensitive. Several endpoints sharing a name (replicas under
// one service alias) give several addresses, in a stable order that the server rotates per query.
// The reverse name of an endpoint's address gives "<container name>.<network name>", as Docker's
// embedded server answers (moby issue 26298).
//
// Who resolves what: a query arrives on one network's gateway. If its source is a known endpoint,
// the names come from every network that endpoint's container is attached to, the arrival network
// first (a container on `front` and `back` whose resolv.conf names front's gateway still finds
// the services on back, as with Docker); otherwise from the arrival network alone. A source
// outside the arrival network's subnet is refused: another network's container must not read
// this network's names by sending to its gateway.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "network/ipam.hpp"
#include "network/ipam6.hpp"
#include "network/network.hpp"

namespace berth::network::dns {

// What the DNS server keeps of one network.
struct NetworkNames {
    std::string id, name;
    Ip4 gateway;
    Subnet4 subnet;
    bool internal = false;  // --internal: nothing is forwarded outside (Docker's proxyDNS off)
    std::map<std::string, std::vector<Ip4>> addresses;  // Name::key() form -> addresses, sorted
    std::map<std::string, std::vector<Ip6>> addresses6;  // the same for dual-stack endpoints
    std::map<Ip4, std::string> reverse;                 // address -> "<container name>.<network name>"
    std::map<Ip6, std::string> reverse6;
    std::map<Ip4, std::string> container_at;            // address -> container id
};

class NameTable {
public:
    NameTable() = default;
    // The networks whose Network::dns() is true and that have a valid subnet and gateway; others
    // are left out (the default bridge has no embedded DNS, as docker0).
    explicit NameTable(const std::vector<Network>& networks);

    const std::vector<NetworkNames>& networks() const { return networks_; }
    const NetworkNames* find(const std::string& network_id) const;

    // The networks a query from client arriving on network_id resolves over (see above); empty
    // when the client may not use this network's server.
    std::vector<const NetworkNames*> scope(const std::string& network_id, Ip4 client) const;

    // The container a client address belongs to on a network, if any.
    std::optional<std::string> container_at(const std::string& network_id, Ip4 client) const;

    // True while some user-defined network has an endpoint (the server's reason to run).
    bool any_endpoint() const;

private:
    std::vector<NetworkNames> networks_;                                    // by network name
    std::map<std::string, std::vector<std::string>> container_networks_;  // container id -> network ids
};

// A name looked up over a scope: the addresses of the first network that knows it.
// A name known on an IPv4-only network has no v6 addresses (AAAA answers NODATA).
struct Lookup {
    bool known = false;
    std::vector<Ip4> v4;
    std::vector<Ip6> v6;
};
Lookup lookup(const std::vector<const NetworkNames*>& scope, const std::string& key);
std::optional<std::string> lookup_reverse(const std::vector<const NetworkNames*>& scope, Ip4 addr);
std::optional<std::string> lookup_reverse(const std::vector<const NetworkNames*>& scope, const Ip6& addr);

}  // namespace berth::network::dns
