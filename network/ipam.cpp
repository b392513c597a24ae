#include "network/ipam.hpp"

#include "sys/error.hpp"
#include "sys/strings.hpp"

namespace berth::network {

std::optional<Ip4> Ip4::parse(std::string_view s) {
    std::uint32_t v = 0;
    int parts = 0;
    size_t i = 0;
    while (parts < 4) {
        size_t start = i;
        unsigned n = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) n = n * 10 + unsigned(s[i++] - '0');
        if (i == start || n > 255) return std::nullopt;
        if (i - start > 1 && s[start] == '0') return std::nullopt;  // no octal-looking "010"
        v = (v << 8) | n;
        ++parts;
        if (parts < 4) {
            if (i >= s.size() || s[i] != '.') return std::nullopt;
            ++i;
        }
    }
    if (i != s.size()) return std::nullopt;
    return Ip4{v};
}

std::string Ip4::str() const {
    return std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 255) + "." + std::to_string((v >> 8) & 255) +
           "." + std::to_string(v & 255);
}

Subnet4 Subnet4::parse(std::string_view s, std::string_view what) {
    auto [addr, len] = str::split_once(s, '/');
    auto ip = Ip4::parse(addr);
    std::optional<std::uint64_t> p = len ? str::parse_uint(*len) : std::nullopt;
    if (!ip || !p || *p > 32 || len->empty() || (*len)[0] == '+')
        throw_error(Errc::invalid, "invalid " + std::string(what) + " " + std::string(s) + ": invalid CIDR address");
    Subnet4 n{*ip, static_cast<int>(*p)};
    if ((ip->v & n.mask()) != ip->v) {
        Subnet4 canon{Ip4{ip->v & n.mask()}, n.prefix};
        throw_error(Errc::invalid,
                    "invalid " + std::string(what) + " " + std::string(s) + ": it should be " + canon.str());
    }
    return n;
}

std::string Subnet4::str() const { return base.str() + "/" + std::to_string(prefix); }

std::vector<Subnet4> default_pool_subnets() {
    std::vector<Subnet4> out;
    for (std::uint32_t b = 17; b <= 31; ++b) out.push_back({Ip4{(172u << 24) | (b << 16)}, 16});
    for (std::uint32_t i = 0; i < 16; ++i) out.push_back({Ip4{(192u << 24) | (168u << 16) | (i << 12)}, 20});
    return out;
}

Subnet4 pick_default_subnet(const std::vector<Subnet4>& taken) {
    for (const auto& cand : default_pool_subnets()) {
        bool free = true;
        for (const auto& t : taken)
            if (t.prefix > 0 && cand.overlaps(t)) {
                free = false;
                break;
            }
        if (free) return cand;
    }
    throw_error(Errc::failed,
                "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the "
                "network");
}

IpamConfig make_ipam_config(const std::string& subnet, const std::string& gateway, const std::string& ip_range,
                            const std::vector<Subnet4>& other_networks, const std::vector<Subnet4>& host_routes) {
    std::vector<std::string> problems;
    auto attempt = [&](auto&& f) {
        try {
            f();
        } catch (const Error& e) {
            problems.push_back(e.what());
        }
    };
    if (subnet.empty() && (!gateway.empty() || !ip_range.empty()))
        throw_error(Errc::invalid, "every ip-range or gateway must have a corresponding subnet");

    IpamConfig cfg;
    if (subnet.empty()) {
        std::vector<Subnet4> taken = other_networks;
        taken.insert(taken.end(), host_routes.begin(), host_routes.end());
        cfg.subnet = pick_default_subnet(taken);
        cfg.gateway = Ip4{cfg.subnet.base.v + 1};
        return cfg;
    }

    bool have_subnet = false;
    attempt([&] {
        cfg.subnet = Subnet4::parse(subnet, "subnet");
        have_subnet = true;
    });
    if (have_subnet && cfg.subnet.prefix > 30)
        problems.push_back("invalid subnet " + subnet + ": it must have at least 2 usable addresses (a /30 or larger)");
    if (have_subnet)
        for (const auto& o : other_networks)
            if (o.overlaps(cfg.subnet)) {
                problems.push_back("Pool overlaps with other one on this address space");
                break;
            }

    if (!gateway.empty()) {
        auto gw = Ip4::parse(gateway);
        if (!gw) {
            problems.push_back("invalid gateway address " + gateway);
        } else if (have_subnet) {
            if (!cfg.subnet.contains(*gw))
                problems.push_back("no matching subnet for gateway " + gateway);
            else if (*gw == cfg.subnet.network() || *gw == cfg.subnet.broadcast())
                problems.push_back("invalid gateway " + gateway + ": it is the network or broadcast address of " +
                                   cfg.subnet.str());
            else
                cfg.gateway = *gw;
        }
    } else if (have_subnet) {
        cfg.gateway = Ip4{cfg.subnet.base.v + 1};
    }

    if (!ip_range.empty()) {
        attempt([&] {
            auto r = Subnet4::parse(ip_range, "ip-range");
            if (have_subnet && !cfg.subnet.contains(r))
                problems.push_back("no matching subnet for range " + ip_range);
            else
                cfg.ip_range = r;
        });
    }
    if (!problems.empty()) throw_error(Errc::invalid, str::join(problems, "\n"));
    return cfg;
}

Allocator::Allocator(IpamConfig cfg, std::set<std::uint32_t> used, std::optional<Ip4> last)
    : cfg_(cfg), used_(std::move(used)), last_(last) {}

Ip4 Allocator::allocate() {
    const auto& s = cfg_.subnet;
    std::uint32_t lo = s.network().v + 1, hi = s.broadcast().v - 1;
    if (cfg_.ip_range) {
        lo = std::max(lo, cfg_.ip_range->network().v);
        hi = std::min(hi, cfg_.ip_range->broadcast().v);
    }
    if (lo <= hi) {
        std::uint64_t count = std::uint64_t(hi) - lo + 1;
        std::uint32_t start = lo;
        if (last_ && last_->v >= lo && last_->v < hi) start = last_->v + 1;
        for (std::uint64_t i = 0; i < count; ++i) {
            std::uint32_t cand = lo + static_cast<std::uint32_t>((std::uint64_t(start - lo) + i) % count);
            if (cand == cfg_.gateway.v || used_.count(cand)) continue;
            used_.insert(cand);
            last_ = Ip4{cand};
            return Ip4{cand};
        }
    }
    throw_error(Errc::failed, "no available IPv4 addresses on this network's address pools");
}

void Allocator::reserve(Ip4 ip) {
    const auto& s = cfg_.subnet;
    if (!s.contains(ip)) throw_error(Errc::invalid, "no configured subnet or ip-range contain the IP address " + ip.str());
    if (ip == s.network() || ip == s.broadcast())
        throw_error(Errc::invalid, "invalid IP address " + ip.str() + ": it is the network or broadcast address of " +
                                       s.str());
    if (ip == cfg_.gateway || used_.count(ip.v)) throw_error(Errc::conflict, "Address already in use");
    used_.insert(ip.v);
}

void Allocator::release(Ip4 ip) { used_.erase(ip.v); }

}  // namespace berth::network
