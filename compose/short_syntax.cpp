#include "compose/short_syntax.hpp"

#include <arpa/inet.h>

#include "sys/strings.hpp"

namespace berth::compose {
namespace {

struct Range {
    std::uint32_t start = 0, end = 0;
};

std::optional<Range> parse_range(std::string_view s, std::uint32_t min) {
    auto [a, b] = str::split_once(s, '-');
    auto lo = str::parse_uint(a);
    if (!lo || *lo < min || *lo > 65535) return std::nullopt;
    Range r{static_cast<std::uint32_t>(*lo), static_cast<std::uint32_t>(*lo)};
    if (b) {
        auto hi = str::parse_uint(*b);
        if (!hi || *hi < *lo || *hi > 65535) return std::nullopt;
        r.end = static_cast<std::uint32_t>(*hi);
    }
    return r;
}

}  // namespace

bool is_ip_address(std::string_view s) {
    std::string t(s);
    unsigned char buf[16];
    return inet_pton(AF_INET, t.c_str(), buf) == 1 || inet_pton(AF_INET6, t.c_str(), buf) == 1;
}

PortParse parse_port_spec(std::string_view spec) {
    PortParse out;
    std::string_view raw = spec;
    std::string proto = "tcp";
    if (auto slash = raw.rfind('/'); slash != std::string_view::npos) {
        proto = str::to_lower(raw.substr(slash + 1));
        raw = raw.substr(0, slash);
        if (proto != "tcp" && proto != "udp" && proto != "sctp") {
            out.reason = "invalid protocol \"" + proto + "\"";
            return out;
        }
    }
    // Docker's splitParts: the last part is the container port, the one before it the host
    // port, everything before that the host IP (which may itself contain colons).
    auto parts = str::split(raw, ':');
    size_t n = parts.size();
    std::string ip, host, container = parts[n - 1];
    if (n == 2) {
        host = parts[0];
    } else if (n == 3) {
        ip = parts[0];
        host = parts[1];
    } else if (n > 3) {
        std::vector<std::string> ipparts(parts.begin(), parts.end() - 2);
        ip = str::join(ipparts, ":");
        host = parts[n - 2];
    }
    if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    if (!ip.empty() && !is_ip_address(ip)) {
        out.reason = "invalid host IP \"" + ip + "\"";
        return out;
    }
    if (container.empty()) {
        out.reason = "no container port";
        return out;
    }
    auto c = parse_range(container, 1);
    if (!c) return out;
    std::optional<Range> h;
    if (!host.empty()) {
        h = parse_range(host, 0);
        if (!h) return out;
        std::uint32_t clen = c->end - c->start, hlen = h->end - h->start;
        // A range of host ports for one container port lets the engine pick a free one;
        // otherwise both sides must be the same length.
        if (clen != hlen && !(clen == 0 && hlen > 0)) {
            out.reason = "host and container port ranges differ in length";
            return out;
        }
    }
    out.ok = true;
    for (std::uint32_t p = c->start; p <= c->end; ++p) {
        PortSpec ps;
        ps.host_ip = ip;
        ps.target = p;
        ps.protocol = proto;
        if (h) {
            if (c->start == c->end && h->start != h->end)
                ps.published = std::to_string(h->start) + "-" + std::to_string(h->end);
            else
                ps.published = std::to_string(h->start + (p - c->start));
        }
        out.ports.push_back(ps);
    }
    return out;
}

bool is_host_path(std::string_view s) {
    return !s.empty() && (s[0] == '/' || s[0] == '.' || s[0] == '~');
}

VolumeParse parse_volume_spec(std::string_view spec) {
    VolumeParse out;
    auto parts = str::split(spec, ':');
    if (parts.size() > 3) {
        out.error = "too many colons";
        return out;
    }
    VolumeSpec& v = out.volume;
    if (parts.size() == 1) {
        v.target = parts[0];
    } else {
        v.source = parts[0];
        v.target = parts[1];
    }
    if (v.target.empty()) {
        out.error = "no target path";
        return out;
    }
    v.type = is_host_path(v.source) ? "bind" : "volume";
    if (parts.size() == 3) {
        for (auto& o : str::split(parts[2], ',')) {
            if (o == "ro") v.read_only = true;
            else if (o == "rw") v.read_only = false;
            else if (o == "z" || o == "Z") v.selinux = o;
            else if (o == "nocopy") v.nocopy = true;
            else if (o == "shared" || o == "rshared" || o == "slave" || o == "rslave" || o == "private" ||
                     o == "rprivate")
                v.propagation = o;
            else if (o == "consistent" || o == "cached" || o == "delegated") v.consistency = o;
            else {
                out.error = "unknown option \"" + o + "\"";
                return out;
            }
        }
        if (v.type == "volume" && (!v.selinux.empty() || !v.propagation.empty()) && v.source.empty()) {
            out.error = "bind options on an anonymous volume";
            return out;
        }
    }
    return out;
}

std::optional<std::vector<std::string>> shell_split(std::string_view s) {
    std::vector<std::string> out;
    std::string cur;
    bool have = false;
    size_t i = 0;
    while (i < s.size()) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (have) out.push_back(cur);
            cur.clear();
            have = false;
            ++i;
        } else if (c == '\\') {
            have = true;
            if (i + 1 < s.size()) {
                if (s[i + 1] != '\n') cur += s[i + 1];
                i += 2;
            } else {
                ++i;
            }
        } else if (c == '\'') {
            have = true;
            auto end = s.find('\'', i + 1);
            if (end == std::string_view::npos) return std::nullopt;
            cur += s.substr(i + 1, end - i - 1);
            i = end + 1;
        } else if (c == '"') {
            have = true;
            ++i;
            bool closed = false;
            while (i < s.size()) {
                char d = s[i];
                if (d == '"') {
                    closed = true;
                    ++i;
                    break;
                }
                if (d == '\\' && i + 1 < s.size() &&
                    (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == '$' || s[i + 1] == '`')) {
                    cur += s[i + 1];
                    i += 2;
                    continue;
                }
                cur += d;
                ++i;
            }
            if (!closed) return std::nullopt;
        } else {
            have = true;
            cur += c;
            ++i;
        }
    }
    if (have) out.push_back(cur);
    return out;
}

}  // namespace berth::compose
