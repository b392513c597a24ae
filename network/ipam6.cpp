#include "network/ipam6.hpp"

#include <arpa/inet.h>

#include "sys/error.hpp"
#include "sys/strings.hpp"

namespace berth::network {

namespace {

// The bits of a /prefix mask in byte i.
std::uint8_t mask_byte(int prefix, int i) {
    int bits = prefix - i * 8;
    if (bits >= 8) return 0xff;
    if (bits <= 0) return 0;
    return static_cast<std::uint8_t>(0xff << (8 - bits));
}

}  // namespace

std::optional<Ip6> Ip6::parse(std::string_view s) {
    if (s.empty() || s.size() > 45 || !is_ipv6_text(s)) return std::nullopt;
    std::string text(s);
    Ip6 ip;
    if (::inet_pton(AF_INET6, text.c_str(), ip.b.data()) != 1) return std::nullopt;
    return ip;
}

std::string Ip6::str() const {
    char buf[INET6_ADDRSTRLEN];
    ::inet_ntop(AF_INET6, b.data(), buf, sizeof buf);
    return buf;
}

Ip6 Ip6::next() const {
    Ip6 r = *this;
    for (int i = 15; i >= 0; --i)
        if (++r.b[i] != 0) break;
    return r;
}

Subnet6 Subnet6::parse(std::string_view s, std::string_view what) {
    auto [addr, len] = str::split_once(s, '/');
    auto ip = Ip6::parse(addr);
    std::optional<std::uint64_t> p = len && !len->empty() && (*len)[0] != '+' ? str::parse_uint(*len) : std::nullopt;
    if (!ip || !p || *p > 128)
        throw_error(Errc::invalid, "invalid " + std::string(what) + " " + std::string(s) + ": invalid CIDR address");
    Subnet6 n{*ip, static_cast<int>(*p)};
    Subnet6 canon = of(n.base, n.prefix);
    if (canon.base != n.base)
        throw_error(Errc::invalid,
                    "invalid " + std::string(what) + " " + std::string(s) + ": it should be " + canon.str());
    return n;
}

Subnet6 Subnet6::of(const Ip6& ip, int prefix) {
    Subnet6 s{ip, prefix};
    for (int i = 0; i < 16; ++i) s.base.b[i] &= mask_byte(prefix, i);
    return s;
}

std::string Subnet6::str() const { return base.str() + "/" + std::to_string(prefix); }

bool Subnet6::contains(const Ip6& ip) const {
    for (int i = 0; i < 16; ++i)
        if ((ip.b[i] & mask_byte(prefix, i)) != base.b[i]) return false;
    return true;
}

Ip6 Subnet6::last() const {
    Ip6 r = base;
    for (int i = 0; i < 16; ++i) r.b[i] |= static_cast<std::uint8_t>(~mask_byte(prefix, i));
    return r;
}

Subnet6 ula_prefix(std::string_view seed) {
    Subnet6 s;
    s.prefix = 48;
    s.base.b[0] = 0xfd;
    for (int i = 0; i < 5; ++i) {
        auto hex = [&](size_t k) -> std::uint8_t {
            char c = k < seed.size() ? seed[k] : '0';
            return static_cast<std::uint8_t>(c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                             : c >= '0' && c <= '9' ? c - '0' : 0);
        };
        s.base.b[1 + i] = static_cast<std::uint8_t>(hex(2 * i) << 4 | hex(2 * i + 1));
    }
    return s;
}

Subnet6 pick_ula_subnet(std::string_view seed, const std::vector<Subnet6>& taken) {
    Subnet6 cand{ula_prefix(seed).base, 64};
    for (unsigned n = 0; n <= 0xffff; ++n) {
        cand.base.b[6] = static_cast<std::uint8_t>(n >> 8);
        cand.base.b[7] = static_cast<std::uint8_t>(n);
        bool free = true;
        for (const auto& t : taken)
            if (t.prefix > 0 && cand.overlaps(t)) {
                free = false;
                break;
            }
        if (free) return cand;
    }
    throw_error(Errc::failed, "could not find an available, non-overlapping IPv6 address pool to assign to the network");
}

Ipam6Config make_ipam6_config(const std::string& subnet, const std::string& gateway, const std::string& ip_range,
                              std::string_view ula_seed, const std::vector<Subnet6>& other_networks,
                              const std::vector<Subnet6>& host_routes) {
    if (subnet.empty() && (!gateway.empty() || !ip_range.empty()))
        throw_error(Errc::invalid, "every ip-range or gateway must have a corresponding subnet");
    Ipam6Config cfg;
    if (subnet.empty()) {
        std::vector<Subnet6> taken = other_networks;
        taken.insert(taken.end(), host_routes.begin(), host_routes.end());
        cfg.subnet = pick_ula_subnet(ula_seed, taken);
        cfg.gateway = cfg.subnet.base.next();
        return cfg;
    }

    std::vector<std::string> problems;
    bool have_subnet = false;
    try {
        cfg.subnet = Subnet6::parse(subnet, "subnet");
        have_subnet = true;
    } catch (const Error& e) {
        problems.push_back(e.what());
    }
    if (have_subnet && cfg.subnet.prefix > 126)
        problems.push_back("invalid subnet " + subnet + ": it must have at least 2 usable addresses (a /126 or larger)");
    if (have_subnet)
        for (const auto& o : other_networks)
            if (o.overlaps(cfg.subnet)) {
                problems.push_back("Pool overlaps with other one on this address space");
                break;
            }
    if (!gateway.empty()) {
        auto gw = Ip6::parse(gateway);
        if (!gw) {
            problems.push_back("invalid gateway address " + gateway);
        } else if (have_subnet) {
            if (!cfg.subnet.contains(*gw))
                problems.push_back("no matching subnet for gateway " + gateway);
            else if (*gw == cfg.subnet.base)
                problems.push_back("invalid gateway " + gateway + ": it is the subnet-router anycast address of " +
                                   cfg.subnet.str());
            else
                cfg.gateway = *gw;
        }
    } else if (have_subnet) {
        cfg.gateway = cfg.subnet.base.next();
    }
    if (!ip_range.empty()) {
        try {
            auto r = Subnet6::parse(ip_range, "ip-range");
            if (have_subnet && !cfg.subnet.contains(r))
                problems.push_back("no matching subnet for range " + ip_range);
            else
                cfg.ip_range = r;
        } catch (const Error& e) {
            problems.push_back(e.what());
        }
    }
    if (!problems.empty()) throw_error(Errc::invalid, str::join(problems, "\n"));
    return cfg;
}

Allocator6::Allocator6(Ipam6Config cfg, std::set<Ip6> used) : cfg_(cfg), used_(std::move(used)) {}

Ip6 Allocator6::allocate() {
    const Subnet6& range = cfg_.ip_range ? *cfg_.ip_range : cfg_.subnet;
    Ip6 last = range.last();
    Ip6 cand = range.base == cfg_.subnet.base ? range.base.next() : range.base;
    // Only the used addresses and the gateway can be skipped, so this ends within used_.size()+2
    // steps or at the end of the range.
    for (;;) {
        if (cand != cfg_.gateway && !used_.count(cand)) {
            used_.insert(cand);
            return cand;
        }
        if (cand == last) break;
        cand = cand.next();
    }
    throw_error(Errc::failed, "no available IPv6 addresses on this network's address pools");
}

void Allocator6::reserve(const Ip6& ip) {
    if (!cfg_.subnet.contains(ip))
        throw_error(Errc::invalid, "no configured subnet or ip-range contain the IP address " + ip.str());
    if (ip == cfg_.subnet.base)
        throw_error(Errc::invalid, "invalid IP address " + ip.str() + ": it is the subnet-router anycast address of " +
                                       cfg_.subnet.str());
    if (ip == cfg_.gateway || used_.count(ip)) throw_error(Errc::conflict, "Address already in use");
    used_.insert(ip);
}

}  // namespace berth::network
