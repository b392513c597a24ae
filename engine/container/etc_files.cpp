#include "container/etc_files.hpp"

#include "sys/strings.hpp"

namespace berth::container {

namespace {

struct Resolv {
    std::vector<std::string> nameservers, search, options, other;
};

Resolv parse_resolv(const std::string& text) {
    Resolv r;
    for (auto& raw : str::split(text, '\n')) {
        auto line = std::string(str::trim(raw));
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        auto fields = str::split(line, ' ');
        std::vector<std::string> f;
        for (auto& x : fields)
            for (auto& y : str::split(x, '\t'))
                if (!y.empty()) f.push_back(y);
        if (f.empty()) continue;
        if (f[0] == "nameserver" && f.size() > 1) r.nameservers.push_back(f[1]);
        else if ((f[0] == "search" || f[0] == "domain") && f.size() > 1) r.search.assign(f.begin() + 1, f.end());
        else if (f[0] == "options" && f.size() > 1) r.options.insert(r.options.end(), f.begin() + 1, f.end());
    }
    return r;
}

bool is_loopback(const std::string& ip) { return ip.rfind("127.", 0) == 0 || ip == "::1"; }

std::string render(const std::vector<std::string>& servers, const std::vector<std::string>& search,
                   const std::vector<std::string>& options) {
    std::string out;
    for (auto& s : servers) out += "nameserver " + s + "\n";
    if (!search.empty()) out += "search " + str::join(search, " ") + "\n";
    if (!options.empty()) out += "options " + str::join(options, " ") + "\n";
    return out;
}

}  // namespace

std::string hostname_file(const std::string& hostname) { return hostname + "\n"; }

std::string hosts_file(const std::vector<std::pair<std::string, std::string>>& extra_hosts,
                       const std::vector<std::string>& own_ips, const std::string& hostname,
                       const std::string& domainname) {
    std::string out =
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\n"
        "ff00::0\tip6-mcastprefix\n"
        "ff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n";
    for (auto& [name, ip] : extra_hosts) out += ip + "\t" + name + "\n";
    std::string names = domainname.empty() ? hostname : hostname + "." + domainname + " " + hostname;
    for (auto& ip : own_ips) out += ip + "\t" + names + "\n";
    return out;
}

std::string resolv_conf_filtered(const std::string& host_resolv, const DnsSettings& dns) {
    auto r = parse_resolv(host_resolv);
    std::vector<std::string> servers;
    if (!dns.servers.empty()) {
        servers = dns.servers;
    } else {
        for (auto& s : r.nameservers)
            if (!is_loopback(s)) servers.push_back(s);
        if (servers.empty()) servers = {"8.8.8.8", "8.8.4.4"};
    }
    return render(servers, dns.search.empty() ? r.search : dns.search, dns.options.empty() ? r.options : dns.options);
}

std::string resolv_conf_embedded(const std::string& host_resolv, const std::string& nameserver, const DnsSettings& dns) {
    auto r = parse_resolv(host_resolv);
    std::vector<std::string> options = dns.options.empty() ? r.options : dns.options;
    return render({nameserver}, dns.search.empty() ? r.search : dns.search, options);
}

}  // namespace berth::container
