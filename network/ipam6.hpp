#pragma once
// IPv6 address management for dual-stack networks (`network create --ipv6`), as Docker's default
// IPAM does it: a given --subnet (with optional --gateway and --ip-range), or else a /64 from a
// ULA /48 whose 40-bit Global ID is fixed per berth root (Docker derives it from the engine's
// random ID; berth from its default bridge network's random ID), skipping subnets other networks
// or host routes use. The gateway is the first address after the subnet's; containers get the
// lowest free address after it. There is no broadcast address in IPv6, and the subnet-router
// anycast address (host bits zero) is never handed out. Pure logic, like ipam.hpp.
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace berth::network {

struct Ip6 {
    std::array<std::uint8_t, 16> b{};
    static std::optional<Ip6> parse(std::string_view s);  // inet_pton's text forms
    std::string str() const;                              // RFC 5952 (inet_ntop)
    Ip6 next() const;                                     // +1, wrapping
    auto operator<=>(const Ip6&) const = default;
};

// True when s looks like an IPv6 address or subnet (has a ':'), so the CLI can tell a second
// --subnet/--gateway/--ip-range from the IPv4 one.
inline bool is_ipv6_text(std::string_view s) { return s.find(':') != std::string_view::npos; }
// A publish address that means every address of its family ("0.0.0.0" or "::").
inline bool is_any_address(std::string_view ip) { return ip == "0.0.0.0" || ip == "::"; }

struct Subnet6 {
    Ip6 base;  // host bits zero
    int prefix = 0;

    // "fd00:1::/64". Host bits must be zero ("it should be fd00:1::/64"). Throws
    // berth::Error(invalid) worded for what ("subnet", "ip-range").
    static Subnet6 parse(std::string_view s, std::string_view what = "subnet");
    // The subnet of prefix bits that holds ip (host bits cleared).
    static Subnet6 of(const Ip6& ip, int prefix);
    std::string str() const;
    bool contains(const Ip6& ip) const;
    bool contains(const Subnet6& o) const { return o.prefix >= prefix && contains(o.base); }
    bool overlaps(const Subnet6& o) const { return contains(o.base) || o.contains(base); }
    Ip6 last() const;  // all host bits one
    auto operator<=>(const Subnet6&) const = default;
};

// The /48 ULA prefix fdXX:XXXX:XXXX::/48 whose Global ID is the first 10 hex digits of seed
// (a random hex id), and its /64s in order.
Subnet6 ula_prefix(std::string_view seed_hex);
// The first /64 of the ULA prefix that overlaps nothing in taken. Throws berth::Error(failed).
Subnet6 pick_ula_subnet(std::string_view seed_hex, const std::vector<Subnet6>& taken);

struct Ipam6Config {
    Subnet6 subnet;
    Ip6 gateway;
    std::optional<Subnet6> ip_range;
};

// Validates the IPv6 --subnet/--gateway/--ip-range as Docker does and fills in the defaults
// (a ULA /64 when subnet is empty). Reports every problem at once, as make_ipam_config does.
Ipam6Config make_ipam6_config(const std::string& subnet, const std::string& gateway, const std::string& ip_range,
                              std::string_view ula_seed, const std::vector<Subnet6>& other_networks,
                              const std::vector<Subnet6>& host_routes);

class Allocator6 {
public:
    Allocator6(Ipam6Config cfg, std::set<Ip6> used = {});
    // The lowest free address (after the gateway, inside the ip-range when there is one).
    // Throws berth::Error(failed) "no available IPv6 addresses ..." when none is left.
    Ip6 allocate();
    // A static address (--ip6): inside the subnet, not the subnet-router anycast address or the
    // gateway, not taken. Throws berth::Error(invalid / conflict).
    void reserve(const Ip6& ip);

private:
    Ipam6Config cfg_;
    std::set<Ip6> used_;
};

}  // namespace berth::network
