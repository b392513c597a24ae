#pragma once
// The network store and the data path of a container's attachment.
//
// Network definitions live as Docker-shaped JSON in <root>/networks/<id>.json. What exists only
// while containers run (endpoints with their leases, the sequential-allocation pointer,
// published ports) lives in the run dir, <run>/networks/<id>/<container>.json and
// <run>/networks/ports/<container>.json: a reboot clears it together with the bridges, veths and
// nftables elements it describes, so no stale lease can outlive them.
// Every mutation holds <root>/networks/.lock (one lock: subnets and host ports are shared by all
// networks of a root). The predefined networks `bridge` (bridge device <prefix>0, 172.17.0.0/16
// unless taken, no embedded DNS, as docker0), `host` and `none` exist implicitly.
//
// Who calls what: the CLI creates a container's netns (netns.hpp), attach()es it (bridge created
// if missing, address leased, veth made with its peer directly in the netns, addresses and
// routes set), publish()es its ports, and hands the netns fd to the shim. When the container is
// gone for good, unpublish() and detach() undo it; both are idempotent.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "network/nat.hpp"
#include "store/paths.hpp"

namespace berth::network {

struct NetworkOptions {
    std::string driver = "bridge";
    std::string subnet, gateway, ip_range;     // IPv4
    std::string subnet6, gateway6, ip_range6;  // IPv6, with ipv6 (dual-stack)
    bool internal = false;
    bool attachable = false;
    bool ipv6 = false;
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> options;  // -o (com.docker.network.bridge.name, ...mtu)
};

struct EndpointOptions {
    std::string ip;                    // --ip; "" = next free
    std::vector<std::string> aliases;  // DNS aliases on this network
    std::string mac;                   // --mac-address; "" = derived from the IP (02:42:<ip>)
    std::string ifname;                // "" = next free ethN in the netns
    std::string ip6;                   // --ip6 (dual-stack networks); "" = lowest free
    // Set by a start, which made the namespace and attaches its networks in order, so the links
    // in it are known and not listed: true for the attachment that takes the default route (and
    // brings lo up). Needs ifname. Unset: the links are listed, and the first ethN routes.
    std::optional<bool> default_route;
};

// One container's attachment to one network.
struct EndpointRecord {
    std::string container_id;
    std::string container_name;
    std::string endpoint_id;
    std::string ifname;  // inside the container
    std::string ip;
    int prefix = 0;
    std::string ip6;  // "" unless the network has IPv6
    int prefix6 = 0;
    std::string mac;
    std::string host_veth;
    int host_index = 0;  // host_veth's ifindex, to see it gone without the RTNL lock; 0 if unknown
    std::vector<std::string> aliases;
};

struct Network {
    std::string name, id, created;
    std::string driver = "bridge";
    bool ipv6 = false, internal = false, attachable = false;
    std::string subnet, gateway, ip_range;     // empty for host/none
    std::string subnet6, gateway6, ip_range6;  // empty unless ipv6
    bool user_subnet = false;                  // --subnet given (static IPs allowed)
    bool user_subnet6 = false;                 // an IPv6 --subnet given (--ip6 allowed)
    std::map<std::string, std::string> labels, options;
    std::string bridge;   // kernel bridge device; empty for host/none
    std::string last_ip;  // where sequential allocation continues
    std::map<std::string, EndpointRecord> endpoints;  // by container id

    bool predefined() const { return name == "bridge" || name == "host" || name == "none"; }
    bool dns() const { return driver == "bridge" && name != "bridge"; }
};

// What attach() did, for the container's config, /etc/hosts and `inspect`.
struct Endpoint {
    std::string network_id, network_name;
    std::string endpoint_id;
    std::string ifname;
    std::string ip;
    int prefix = 0;
    std::string gateway;
    std::string mac;
    std::string host_veth;
    std::string ip6, gateway6;  // "" unless the network has IPv6
    int prefix6 = 0;
    bool dns = false;  // the network has embedded DNS (Network::dns())
};

// False when BERTH_IP_FORWARD is "0" or "false".
bool ip_forward_from_env();

struct ManagerOptions {
    // Set net.ipv4.ip_forward=1 when a non-internal bridge is set up, as Docker does (without
    // it containers have no egress: replies enter on the uplink, whose forwarding flag decides),
    // and net.ipv6.conf.all.forwarding=1 for a non-internal dual-stack one (IPv6 forwarding has
    // only the global switch; Docker sets it too).
    // Every bridge also gets per-device forwarding. Default: on, unless BERTH_IP_FORWARD=0 in
    // the environment (tests on shared hosts, hosts whose forwarding is managed elsewhere).
    bool enable_ip_forward = ip_forward_from_env();
    // The iptables-nft table whose FORWARD policy may drop berth's traffic (see nat.hpp).
    std::string host_filter_table = "filter";
};

class Manager {
public:
    explicit Manager(store::Paths paths, ManagerOptions opts = {});
    ~Manager();

    Network create(const std::string& name, const NetworkOptions& opts);
    std::vector<Network> list();  // sorted by name, predefined ones included
    // with_endpoints false: the record alone, without reading who is attached.
    Network inspect(const std::string& name_or_id, bool with_endpoints = true);
    void remove(const std::string& name_or_id);
    // Removes unused user networks (for which keep() is false); returns their names.
    std::vector<std::string> prune(const std::function<bool(const Network&)>& keep = {});

    // On a network with DNS the container's short ID is an alias too, as Docker resolves it.
    Endpoint attach(const std::string& network, const std::string& container_id, const std::string& container_name,
                    int netns_fd, const EndpointOptions& opts = {});
    // Releases the container's endpoint on the network and deletes its veth. after_run: the
    // run is over, so the veth is going already (its shim deletes it when the run ends, and the
    // kernel when the namespace goes), and a delete of our own would only queue behind that one
    // for the RTNL lock; it is waited for (a bounded time) before the address is released.
    void detach(const std::string& network, const std::string& container_id, bool after_run = false);

    // Checks every mapping (already published by a container, or bound by a host process)
    // before changing anything; returns the mappings with ephemeral ports resolved. A port
    // without a host address is published on 0.0.0.0 and, when the container has an IPv6
    // address (container_ip6), on :: too, as Docker does; an IPv6 host address needs
    // container_ip6 (NAT does not cross families), except ::1, which the container's shim
    // relays (listened_on_loopback6) to the IPv4 address when there is no IPv6 one.
    std::vector<PortMapping> publish(const std::string& container_id, const std::string& container_ip,
                                     const std::vector<PortSpec>& ports, const std::string& container_ip6 = {});
    void unpublish(const std::string& container_id);
    std::vector<PortMapping> published(const std::string& container_id);

    // Removes the default bridge's device (and berth's nftables table when no bridge is left)
    // if no container is attached to it. For uninstall and tests.
    void release_default_bridge();

    std::string default_bridge_name() const { return paths_.prefix + "0"; }
    const std::string& nft_table() const { return paths_.prefix; }

private:
    struct Lock;
    Lock lock();
    // Makes bridge, host and none if missing; returns every network (without endpoints).
    std::vector<Network> ensure_predefined();
    std::vector<Network> load_all(bool with_endpoints = true);
    std::optional<Network> load_one(const std::string& id);  // nullopt: no such record
    void load_endpoints_of(Network& n);
    std::optional<Network> find(const std::vector<Network>& all, const std::string& name_or_id);
    void save(const Network& n);
    void ensure_bridge(const Network& n);
    void teardown_bridge(const Network& n);
    void drop_table_if_unused(const std::vector<Network>& remaining);

    store::Paths paths_;
    ManagerOptions opts_;
    NatTable nat_;   // ip <prefix>
    NatTable nat6_;  // ip6 <prefix>, while a dual-stack network exists
};

// `docker network inspect`'s object for a network, as compact JSON in Docker's key order (parse
// it with nlohmann::ordered_json to keep the order).
std::string inspect_json(const Network& n);

// Docker's short id (first 12 hex digits).
inline std::string short_id(const std::string& id) { return id.substr(0, 12); }

// "02:42:ac:12:00:02" for 172.18.0.2, as Docker derived MACs from IPs.
std::string mac_for_ip(const std::string& ip);

}  // namespace berth::network
