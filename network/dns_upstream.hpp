#pragma once
// Where the embedded DNS server forwards the names it does not know. Pure parsing.
//
// By default: every `nameserver` of the host's /etc/resolv.conf, in order, loopback ones
// included (the server runs in the host's namespace, so 127.0.0.53 is reachable; Docker likewise
// forwards to host-loopback resolvers from the host's namespace).
//
// A container created with --dns gets those servers instead, as Docker's embedded server uses
// them for that container: the engine writes <run>/containers/<id>/dns.json as
// {"servers": ["1.1.1.1", "10.0.0.2:5353", "[fd00::53]:53"]}, and the server picks it by the
// querying container (found from the query's network and source address). Those servers are
// also contacted from the host's namespace.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::network::dns {

struct Upstream {
    std::string host;  // an IPv4 or IPv6 address; IPv6 may carry a zone ("fe80::1%eth0")
    std::uint16_t port = 53;
    bool v6() const { return host.find(':') != std::string::npos; }
    std::string str() const;  // "1.2.3.4:53", "[::1]:53"
    bool operator==(const Upstream&) const = default;
};

// "1.2.3.4", "1.2.3.4:5353", "::1", "[::1]:5353", "fe80::1%eth0"; nullopt when not an address
// (names are not resolved: a resolver's address must not need a resolver).
std::optional<Upstream> parse_upstream(std::string_view s);

// The nameserver lines of a resolv.conf, in order; lines that are not an address are left out.
std::vector<Upstream> parse_resolv_conf(std::string_view text);

// A container's dns.json; nullopt when it is not {"servers": [address...]}.
std::optional<std::vector<Upstream>> parse_container_dns(std::string_view json_text);

}  // namespace berth::network::dns
