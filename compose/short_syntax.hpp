#pragma once
// Docker's short syntaxes, parsed as Docker and Compose parse them:
//   ports    [[HOST_IP:][HOST_PORT|RANGE]:]CONTAINER_PORT|RANGE[/PROTOCOL], IPv6 host IP in brackets
//   volumes  [SOURCE:]TARGET[:OPTIONS]  (options: ro, rw, z, Z, nocopy, propagation, consistency)
//   command  a string split with POSIX shell word rules (quotes, backslashes), never run by a shell
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::compose {

struct PortSpec {
    std::string host_ip;    // "" = all addresses
    std::uint32_t target = 0;
    std::string published;  // "" = not published, "8080", or a range "8000-8010" the engine picks from
    std::string protocol = "tcp";
};

// One spec may expand to several ports (a range). Throws nothing; returns the reason on error.
struct PortParse {
    std::vector<PortSpec> ports;
    bool ok = false;
    std::string reason;  // why it is invalid, when there is more to say than "invalid port"
};
PortParse parse_port_spec(std::string_view spec);

struct VolumeSpec {
    std::string type;    // "bind" or "volume"
    std::string source;  // "" for an anonymous volume
    std::string target;
    std::optional<bool> read_only;  // set only by an explicit ro / rw
    bool nocopy = false;
    std::string selinux;      // "z" or "Z"
    std::string propagation;  // rshared, ...
    std::string consistency;
};
struct VolumeParse {
    VolumeSpec volume;
    std::string error;  // empty on success
};
VolumeParse parse_volume_spec(std::string_view spec);

// True when a volume source names a host path rather than a volume: starts with /, . or ~.
bool is_host_path(std::string_view source);

// Splits a command line as a POSIX shell would split words (single quotes, double quotes with
// \" \\ \$ \` escapes, backslash outside quotes). nullopt when a quote is not closed.
std::optional<std::vector<std::string>> shell_split(std::string_view s);

// Valid IPv4 or IPv6 literal.
bool is_ip_address(std::string_view s);

}  // namespace berth::compose
