#pragma once
// The files Docker writes for each container and bind-mounts over /etc/hostname, /etc/hosts
// and /etc/resolv.conf. Pure: the host's files are passed in.
#include <string>
#include <utility>
#include <vector>

namespace berth::container {

std::string hostname_file(const std::string& hostname);

// Docker's /etc/hosts: the loopback and IPv6 entries, the --add-host entries, then the
// container's own address(es) with "host.domain host" (or just host).
std::string hosts_file(const std::vector<std::pair<std::string, std::string>>& extra_hosts,  // (name, ip)
                       const std::vector<std::string>& own_ips, const std::string& hostname,
                       const std::string& domainname);

struct DnsSettings {
    std::vector<std::string> servers;  // --dns
    std::vector<std::string> search;   // --dns-search
    std::vector<std::string> options;  // --dns-option
};

// The default bridge (and none): the host's resolv.conf with loopback nameservers removed
// (unreachable from a container), Google's public servers when none remain, and --dns/
// --dns-search/--dns-option replacing the corresponding lines.
std::string resolv_conf_filtered(const std::string& host_resolv, const DnsSettings& dns);

// A user-defined network: the embedded server (on the network's gateway) first; the host's
// search domains and options are kept unless overridden.
std::string resolv_conf_embedded(const std::string& host_resolv, const std::string& nameserver, const DnsSettings& dns);

}  // namespace berth::container
