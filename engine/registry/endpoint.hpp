#pragma once
// Where a registry named in a reference is reached, and how its TLS is checked, following
// Docker's conventions:
//   - docker.io is served by registry-1.docker.io;
//   - HTTPS with the system CAs plus every *.crt in a per-registry folder
//     ($DOCKER_CONFIG/certs.d/<host:port>/, /etc/docker/certs.d/<host:port>/,
//     /etc/containers/certs.d/<host:port>/), and a client certificate from <name>.cert +
//     <name>.key there;
//   - plain HTTP only for "insecure" registries: loopback ones (localhost, 127.0.0.0/8, ::1)
//     and those listed in /etc/docker/daemon.json "insecure-registries" or in
//     $BERTH_INSECURE_REGISTRIES (comma separated host[:port] or CIDR). For them HTTPS is tried
//     first and HTTP used when that fails, as Docker does.
// One deliberate difference: Docker skips certificate verification for every insecure
// registry; berth skips it only for listed ones and verifies a loopback registry's
// certificate (so a certs.d CA is honoured, and checked, for a registry on this host too).
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace berth::registry {

struct TlsConfig {
    bool verify = true;
    std::vector<std::filesystem::path> ca_files;
    std::filesystem::path client_cert, client_key;
    std::vector<std::filesystem::path> searched;  // the certs.d folders looked in (for errors)
};

struct Endpoint {
    std::string domain;  // as in the reference: "docker.io", "localhost:5000"
    std::string host;    // to connect to: "registry-1.docker.io", "localhost"
    std::string port;    // "" = the scheme's default
    bool allow_http = false;
    TlsConfig tls;
};

Endpoint endpoint_for(std::string_view domain);

// Pure parts, for tests.
bool is_loopback_host(std::string_view host);
// host[:port] (port may be "") against entries "host", "host:port" or "a.b.c.d/n".
bool listed_insecure(std::string_view host, std::string_view port, const std::vector<std::string>& entries);
// "host:port" -> {host, port}; "[::1]:5000" -> {"::1", "5000"}.
std::pair<std::string, std::string> split_host_port(std::string_view domain);

}  // namespace berth::registry
