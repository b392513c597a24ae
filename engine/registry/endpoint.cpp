#include "registry/endpoint.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>

#include "registry/docker_config.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/strings.hpp"

namespace berth::registry {

namespace fs = std::filesystem;

std::pair<std::string, std::string> split_host_port(std::string_view d) {
    if (!d.empty() && d[0] == '[') {
        auto close = d.find(']');
        if (close != std::string_view::npos) {
            std::string host(d.substr(1, close - 1));
            std::string port;
            if (close + 1 < d.size() && d[close + 1] == ':') port = std::string(d.substr(close + 2));
            return {host, port};
        }
    }
    auto c = d.rfind(':');
    if (c == std::string_view::npos || d.find(':') != c) return {std::string(d), ""};
    return {std::string(d.substr(0, c)), std::string(d.substr(c + 1))};
}

bool is_loopback_host(std::string_view host) {
    std::string h = str::to_lower(host);
    if (h == "localhost" || (h.size() > 10 && h.substr(h.size() - 10) == ".localhost")) return true;
    in_addr a4{};
    if (::inet_pton(AF_INET, h.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    in6_addr a6{};
    if (::inet_pton(AF_INET6, h.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

bool listed_insecure(std::string_view host, std::string_view port, const std::vector<std::string>& entries) {
    std::string h = str::to_lower(host);
    std::string hp = port.empty() ? h : h + ":" + std::string(port);
    for (auto e : entries) {
        e = str::to_lower(std::string(str::trim(e)));
        if (auto p = e.find("://"); p != std::string::npos) e = e.substr(p + 3);
        while (!e.empty() && e.back() == '/') e.pop_back();
        if (e.empty()) continue;
        if (e == hp || e == h) return true;
        auto slash = e.find('/');
        if (slash == std::string::npos) continue;
        in_addr net{}, addr{};
        auto bits = str::parse_int(e.substr(slash + 1));
        if (!bits || *bits < 0 || *bits > 32) continue;
        if (::inet_pton(AF_INET, e.substr(0, slash).c_str(), &net) != 1) continue;
        if (::inet_pton(AF_INET, h.c_str(), &addr) != 1) continue;
        std::uint32_t mask = *bits == 0 ? 0 : ~std::uint32_t(0) << (32 - *bits);
        if ((ntohl(net.s_addr) & mask) == (ntohl(addr.s_addr) & mask)) return true;
    }
    return false;
}

namespace {

std::vector<std::string> insecure_entries() {
    std::vector<std::string> out;
    if (const char* e = std::getenv("BERTH_INSECURE_REGISTRIES"); e && *e)
        for (auto& x : str::split(e, ',')) out.push_back(x);
    if (auto text = sys::read_file_if_exists("/etc/docker/daemon.json")) {
        auto j = json::parse(*text, nullptr, false);
        if (j.is_object() && j.contains("insecure-registries") && j["insecure-registries"].is_array())
            for (auto& x : j["insecure-registries"])
                if (x.is_string()) out.push_back(x.get<std::string>());
    }
    return out;
}

void add_cert_dir(TlsConfig& tls, const fs::path& dir) {
    tls.searched.push_back(dir);
    if (!sys::is_dir(dir)) return;
    auto names = sys::list_dir(dir);
    std::sort(names.begin(), names.end());
    for (auto& n : names) {
        auto ends = [&](std::string_view suf) { return n.size() > suf.size() && n.compare(n.size() - suf.size(), suf.size(), suf) == 0; };
        if (ends(".crt")) tls.ca_files.push_back(dir / n);
        if (ends(".cert") && tls.client_cert.empty()) {
            auto key = dir / (n.substr(0, n.size() - 5) + ".key");
            if (sys::exists(key)) {
                tls.client_cert = dir / n;
                tls.client_key = key;
            }
        }
    }
}

}  // namespace

Endpoint endpoint_for(std::string_view domain) {
    Endpoint ep;
    ep.domain = std::string(domain);
    if (domain == "docker.io" || domain == "index.docker.io") {
        ep.host = "registry-1.docker.io";
    } else {
        auto [h, p] = split_host_port(domain);
        ep.host = h;
        ep.port = p;
    }
    bool listed = listed_insecure(ep.host, ep.port, insecure_entries());
    ep.allow_http = listed || is_loopback_host(ep.host);
    ep.tls.verify = !listed;
    std::string dir_name(domain);
    add_cert_dir(ep.tls, docker_config_dir() / "certs.d" / dir_name);
    add_cert_dir(ep.tls, fs::path("/etc/docker/certs.d") / dir_name);
    add_cert_dir(ep.tls, fs::path("/etc/containers/certs.d") / dir_name);
    return ep;
}

}  // namespace berth::registry
