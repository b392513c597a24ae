#include "network/dns_upstream.hpp"

#include <arpa/inet.h>

#include "sys/json.hpp"
#include "sys/strings.hpp"

namespace berth::network::dns {

namespace {

bool is_v4(const std::string& s) {
    in_addr a{};
    return ::inet_pton(AF_INET, s.c_str(), &a) == 1;
}

// An IPv6 address with an optional zone ("%eth0": an interface name, 1..15 bytes).
bool is_v6(const std::string& s) {
    auto pct = s.find('%');
    std::string addr = s.substr(0, pct);
    if (pct != std::string::npos) {
        auto zone = s.substr(pct + 1);
        if (zone.empty() || zone.size() > 15) return false;
        for (char c : zone)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
    }
    in6_addr a{};
    return ::inet_pton(AF_INET6, addr.c_str(), &a) == 1;
}

std::optional<std::uint16_t> port_of(std::string_view s) {
    auto p = str::parse_uint(s);
    if (!p || *p < 1 || *p > 65535 || s.empty() || s[0] == '+') return std::nullopt;
    return static_cast<std::uint16_t>(*p);
}

}  // namespace

std::string Upstream::str() const { return (v6() ? "[" + host + "]" : host) + ":" + std::to_string(port); }

std::optional<Upstream> parse_upstream(std::string_view in) {
    std::string s(str::trim(in));
    if (s.empty()) return std::nullopt;
    if (s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string::npos) return std::nullopt;
        Upstream u{s.substr(1, close - 1), 53};
        std::string rest = s.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') return std::nullopt;
            auto p = port_of(rest.substr(1));
            if (!p) return std::nullopt;
            u.port = *p;
        }
        if (!is_v6(u.host)) return std::nullopt;
        return u;
    }
    if (is_v6(s)) return Upstream{s, 53};
    auto [host, port] = str::split_once(s, ':');
    if (!is_v4(host)) return std::nullopt;
    Upstream u{host, 53};
    if (port) {
        auto p = port_of(*port);
        if (!p) return std::nullopt;
        u.port = *p;
    }
    return u;
}

std::vector<Upstream> parse_resolv_conf(std::string_view text) {
    std::vector<Upstream> out;
    for (const auto& raw : str::split(text, '\n')) {
        std::string line(str::trim(raw));
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        std::vector<std::string> f;
        for (const auto& a : str::split(line, ' '))
            for (const auto& b : str::split(a, '\t'))
                if (!b.empty()) f.push_back(b);
        // resolv.conf(5): "nameserver Name-server IP address"; no port syntax there.
        if (f.size() >= 2 && f[0] == "nameserver" && f[1].find(']') == std::string::npos &&
            (is_v4(f[1]) || is_v6(f[1])))
            out.push_back(Upstream{f[1], 53});
    }
    return out;
}

std::optional<std::vector<Upstream>> parse_container_dns(std::string_view text) {
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("servers") || !j["servers"].is_array()) return std::nullopt;
    std::vector<Upstream> out;
    for (const auto& s : j["servers"]) {
        if (!s.is_string()) return std::nullopt;
        auto u = parse_upstream(s.get<std::string>());
        if (!u) return std::nullopt;
        out.push_back(*u);
    }
    return out;
}

}  // namespace berth::network::dns
