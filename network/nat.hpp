#pragma once
// Port publishing, masquerade and isolation with nftables, in one table per berth root (family
// ip, named store::Paths::prefix). The table's rules are fixed when it is created; everything
// that changes with networks and containers is a set or map element (bridges, subnets, published
// ports), so attaching or removing a container never rewrites or reorders a rule.
//
// Chains (see ruleset_text() for the exact rules):
//   prerouting  nat/dstnat   `fib daddr type local` -> published ports (traffic from outside and
//                            from containers: hairpin)
//   output      nat/-100     the same for the host's own traffic (127.0.0.1 and its addresses)
//   postrouting nat/srcnat   masquerade: 127.0.0.0/8 sources leaving into a bridge (loopback
//                            publish; the bridge gets route_localnet=1), DNAT'ed traffic from a
//                            bridge's own subnet back into it (hairpin), egress of non-internal
//                            subnets to anywhere but a berth bridge
//   forward     filter       established/related; same bridge; --internal bridges closed;
//                            DNAT'ed new connections into bridges; different berth bridges
//                            isolated; bridge egress; nothing else new into a bridge
//   input       filter       internal bridges reach the host only for DNS on their gateway
//
// Forwarding with a host firewall that drops (Docker's iptables sets the iptables FORWARD policy
// to DROP): an nftables accept is final only for its own base chain, so berth's accept cannot
// override another table's drop. When an iptables-nft `ip filter` table exists, berth adds
// `iifname <bridge> accept` and `oifname <bridge> accept` to its DOCKER-USER chain (Docker's
// documented place for rules that run first) or, without Docker, to the top of its FORWARD
// chain; berth's own forward chain still enforces isolation. See forward_compat_*().
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct nft_ctx;  // libnftables

namespace berth::network {

// One -p/--publish value, parsed: [ip:][hostPort[-end]:]containerPort[-end][/proto].
struct PortSpec {
    std::string host_ip;           // "" = all addresses (0.0.0.0)
    std::uint16_t host_start = 0;  // 0 = ephemeral (kernel's ip_local_port_range)
    std::uint16_t host_end = 0;
    std::uint16_t container_start = 0;
    std::uint16_t container_end = 0;
    std::string proto = "tcp";  // "tcp" or "udp"
    bool operator==(const PortSpec&) const = default;
};

// Throws berth::Error(invalid) in Docker's words ("invalid containerPort: abc").
PortSpec parse_publish(std::string_view spec);
// -P: every exposed port ("80/tcp", "53/udp", "8000-8010/tcp") to an ephemeral host port.
std::vector<PortSpec> publish_all(const std::vector<std::string>& exposed);

// One published port, resolved: what the kernel gets and what `docker port` prints.
struct PortMapping {
    std::string host_ip = "0.0.0.0";
    std::uint16_t host_port = 0;
    std::string proto = "tcp";
    std::string container_ip;
    std::uint16_t container_port = 0;
    bool operator==(const PortMapping&) const = default;
};

// One bridge network, as the table sees it.
struct BridgeRules {
    std::string bridge;   // "br-1a2b3c4d5e6f"
    std::string subnet;   // "172.18.0.0/16"
    std::string gateway;  // "172.18.0.1"
    bool internal = false;
    bool dns = true;  // user-defined networks: the embedded DNS listens on the gateway
};

// nft command text (pure, golden-tested).
std::string ruleset_text(const std::string& table);
std::string add_bridge_text(const std::string& table, const BridgeRules& b);
// Idempotent removal: each element is added (a no-op if present) and deleted in one transaction.
std::string remove_bridge_text(const std::string& table, const BridgeRules& b);
std::string add_ports_text(const std::string& table, const std::vector<PortMapping>& ports);
std::string remove_ports_text(const std::string& table, const std::vector<PortMapping>& ports);

// libnftables, one context per object. Every run is one atomic transaction.
class Nft {
public:
    Nft();
    ~Nft();
    Nft(const Nft&) = delete;
    Nft& operator=(const Nft&) = delete;

    // Runs commands; throws berth::Error(failed) "nftables: <what nft said>" (with what first).
    void run(const std::string& cmds, std::string_view what = {});
    // Runs commands and returns their output (listing), or nullopt if nft failed.
    std::optional<std::string> try_run(const std::string& cmds, bool json = false);
    bool table_exists(const std::string& family, const std::string& table);

private:
    ::nft_ctx* ctx_;
};

// The NAT layer over one table: creating it on first use, bridge and port elements, removal.
class NatTable {
public:
    explicit NatTable(std::string table) : table_(std::move(table)) {}
    const std::string& name() const { return table_; }

    bool exists();
    void ensure();  // creates the table with its chains and sets when missing
    void add_bridge(const BridgeRules& b);     // ensure() + elements
    void remove_bridge(const BridgeRules& b);  // no-op when the table is gone
    void add_ports(const std::vector<PortMapping>& ports);
    void remove_ports(const std::vector<PortMapping>& ports);
    void drop();  // deletes the table if it exists

    // Rules that let the bridge's traffic through a host `ip <filter_table>` whose FORWARD
    // policy drops (iptables-nft, as Docker leaves it). No-op when that table does not exist.
    void forward_compat_add(const std::string& bridge, const std::string& filter_table = "filter");
    void forward_compat_remove(const std::string& bridge, const std::string& filter_table = "filter");

private:
    Nft& nft();
    std::string table_;
    std::unique_ptr<Nft> nft_;
};

// True when a socket can bind host_ip:port for proto right now (no host process holds it).
bool host_port_free(const std::string& host_ip, const std::string& proto, std::uint16_t port);
// A port the kernel picks from net.ipv4.ip_local_port_range for a bind to host_ip:0.
std::uint16_t ephemeral_port(const std::string& host_ip, const std::string& proto);

}  // namespace berth::network
