#pragma once
// IPv4 address management, as Docker's default IPAM driver does it: subnets from the default
// local pools unless given, a gateway (first usable address unless given), an optional
// --ip-range that dynamic allocation is confined to, static addresses, and sequential
// allocation that continues after the last address handed out and wraps around.
// Pure logic: the caller passes in what is taken (host routes, other networks, leases).
#include <compare>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace berth::network {

struct Ip4 {
    std::uint32_t v = 0;  // host byte order
    static std::optional<Ip4> parse(std::string_view s);  // dotted quad only
    std::string str() const;
    auto operator<=>(const Ip4&) const = default;
};

struct Subnet4 {
    Ip4 base;  // network address (host bits zero)
    int prefix = 0;

    // "172.18.0.0/16". Host bits must be zero (Docker: "it should be 172.18.0.0/16").
    // Throws berth::Error(invalid) worded for what ("subnet", "ip-range").
    static Subnet4 parse(std::string_view s, std::string_view what = "subnet");
    std::string str() const;
    std::uint32_t mask() const { return prefix == 0 ? 0 : ~std::uint32_t(0) << (32 - prefix); }
    Ip4 network() const { return base; }
    Ip4 broadcast() const { return Ip4{base.v | ~mask()}; }
    bool contains(Ip4 ip) const { return (ip.v & mask()) == base.v; }
    bool contains(const Subnet4& o) const { return o.prefix >= prefix && contains(o.base); }
    bool overlaps(const Subnet4& o) const { return contains(o.base) || o.contains(base); }
    auto operator<=>(const Subnet4&) const = default;
};

// Docker's local default pools (libnetwork/ipamutils): 172.17.0.0/16 ... 172.31.0.0/16 as /16s,
// then 192.168.0.0/16 split into /20s; in the order they are handed out.
std::vector<Subnet4> default_pool_subnets();

// The first default subnet that overlaps nothing in taken (other networks, host routes).
// Throws berth::Error(failed) with Docker's words when every pool is taken.
Subnet4 pick_default_subnet(const std::vector<Subnet4>& taken);

struct IpamConfig {
    Subnet4 subnet;
    Ip4 gateway;
    std::optional<Subnet4> ip_range;
};

// Validates --subnet/--gateway/--ip-range as Docker does and fills in the defaults. A given
// subnet must not overlap other_networks ("Pool overlaps with other one on this address
// space"); a picked one also avoids host_routes. Reports every problem at once.
IpamConfig make_ipam_config(const std::string& subnet, const std::string& gateway, const std::string& ip_range,
                            const std::vector<Subnet4>& other_networks, const std::vector<Subnet4>& host_routes);

// The addresses of one network: the gateway, network and broadcast addresses are never handed
// out; dynamic allocation stays inside the ip-range when there is one.
class Allocator {
public:
    Allocator(IpamConfig cfg, std::set<std::uint32_t> used = {}, std::optional<Ip4> last = std::nullopt);

    // The next free address after the last one handed out, wrapping around (Docker's serial
    // allocation). Throws berth::Error(failed) "no available IPv4 addresses ..." when full.
    Ip4 allocate();
    // A static address (--ip): inside the subnet, not the network/broadcast/gateway address,
    // not taken. Throws berth::Error(invalid / conflict) in Docker's words.
    void reserve(Ip4 ip);
    // Frees an address; freeing one that is not held is not an error (cleanup runs twice).
    void release(Ip4 ip);

    bool in_use(Ip4 ip) const { return used_.count(ip.v) > 0; }
    const std::set<std::uint32_t>& used() const { return used_; }
    std::optional<Ip4> last() const { return last_; }
    const IpamConfig& config() const { return cfg_; }

private:
    IpamConfig cfg_;
    std::set<std::uint32_t> used_;
    std::optional<Ip4> last_;
};

}  // namespace berth::network
