#pragma once
// Port publishing, masquerade and isolation with nftables, in one table per berth root (family
// ip, named store::Paths::prefix), and a twin of family ip6 while a dual-stack (--ipv6) network
// exists. The tables' rules are fixed when they are created; everything
// that changes with networks and containers is a set or map element (bridges, subnets, published
// ports), so attaching or removing a container never rewrites or reorders a rule.
//
// Chains (see ruleset_text() for the exact rules):
//   guard       filter/raw   packets arriving from a bridge already addressed to loopback
//                            (127.0.0.0/8, ::1) are dropped: the bridges' route_localnet is
//                            for NAT replies only (CVE-2020-8558)
//   prerouting  nat/dstnat   a container's DNS query to its gateway (@dns) is left alone, even
//                            when a container publishes port 53; then `fib daddr type local` ->
//                            published ports (traffic from outside and from containers: hairpin)
//   output      nat/-100     the same for the host's own traffic (127.0.0.1 and its addresses;
//                            not ::1, which the shim serves: listened_on_loopback6())
//   postrouting nat/srcnat   masquerade: 127.0.0.0/8 sources leaving into a bridge
//                            (loopback publish; the bridge gets route_localnet=1), DNAT'ed
//                            traffic from a bridge's own subnet back into it (hairpin), egress
//                            of non-internal subnets to anywhere but a berth bridge
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

#include "sys/fd.hpp"

struct nft_ctx;  // libnftables

namespace berth::network {

// One -p/--publish value, parsed: [ip:][hostPort[-end]:]containerPort[-end][/proto], where ip
// may be an IPv6 address in brackets ("[::]:8080:80", "[fd00::2]:8080:80").
struct PortSpec {
    std::string host_ip;           // "" = all addresses (0.0.0.0, and :: for dual-stack containers)
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
    std::string host_ip = "0.0.0.0";  // "::" for all IPv6 addresses
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

// nft command text (pure, golden-tested). family is "ip" or "ip6": the ip6 table has the same
// sets, maps and rules over IPv6 addresses, for dual-stack (--ipv6) networks.
std::string ruleset_text(const std::string& table, const std::string& family = "ip");
std::string add_bridge_text(const std::string& table, const BridgeRules& b, const std::string& family = "ip");
// Idempotent removal: each element is added (a no-op if present) and deleted in one transaction.
std::string remove_bridge_text(const std::string& table, const BridgeRules& b, const std::string& family = "ip");
std::string add_ports_text(const std::string& table, const std::vector<PortMapping>& ports,
                           const std::string& family = "ip");
std::string remove_ports_text(const std::string& table, const std::vector<PortMapping>& ports,
                              const std::string& family = "ip");

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
    explicit NatTable(std::string table, std::string family = "ip")
        : table_(std::move(table)), family_(std::move(family)) {}
    const std::string& name() const { return table_; }
    const std::string& family() const { return family_; }

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
    std::string table_, family_;
    std::unique_ptr<Nft> nft_;
};

// True when a socket can bind host_ip:port for proto right now (no host process holds it).
// host_ip "" is 0.0.0.0; an IPv6 address (or "::") is checked with IPV6_V6ONLY. Sockets bound
// to one of the IPv4 addresses in ours (berth's embedded DNS on its networks' gateways, which
// the dns set keeps apart from published ports) do not count: when the bind fails, the host's
// sockets on that port are read from /proc/net and only the others make the port busy.
bool host_port_free(const std::string& host_ip, const std::string& proto, std::uint16_t port,
                    const std::vector<std::string>& ours = {});

// The local addresses of the sockets bound to port (TCP: listening) in the calling thread's
// network namespace, from /proc/net/{tcp,udp}{,6} text; IPv6 ones as "[addr]". Pure parsing
// is proc_net_holders(); host_port_holders() reads the files.
std::vector<std::string> proc_net_holders(const std::string& text, bool v6, bool tcp, std::uint16_t port);
std::vector<std::string> host_port_holders(const std::string& proto, std::uint16_t port);
// The socket a container's shim serves [::1]:port with (engine/shim/proxy.hpp): bound, and
// listening for tcp. Busy: Docker's "Bind for [::1]:P failed: port is already allocated".
sys::unique_fd listen_loopback6(const std::string& proto, std::uint16_t port);
// Whether the shim listens on [::1] for a mapping: for -p [::1]:… (which has no nft element)
// and for the [::] twin of a plain -p (NAT'ed on every other IPv6 address). Kernel NAT cannot
// deliver replies to ::1 through a bridge (see nat.cpp), so the output chain leaves ::1 alone.
bool listened_on_loopback6(const PortMapping& m);
// A port the kernel picks from net.ipv4.ip_local_port_range for a bind to host_ip:0.
std::uint16_t ephemeral_port(const std::string& host_ip, const std::string& proto);

}  // namespace berth::network
