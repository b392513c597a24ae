// docker network connect / disconnect: a running container gets (or loses) a veth in its own
// network namespace at once; a stopped one only has its record changed, and its next start
// attaches what the record says.
#include <fcntl.h>
#include <unistd.h>

#include "container/engine.hpp"
#include "network/dns.hpp"
#include "network/network.hpp"
#include "sys/error.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"

namespace berth::container {

namespace {

void check_mode(const Container& c) {
    const auto& mode = c.host_config.network_mode;
    if (mode == "host")
        throw Error(Errc::invalid, "container cannot be disconnected from host network or connected to host network");
    if (mode == "none" || mode.rfind("container:", 0) == 0)
        throw Error(Errc::invalid, "container sharing network namespace with another container or host cannot be connected to any other network");
}

}  // namespace

void Engine::connect(const std::string& id_or_name, const std::string& network, const EndpointConfig& want) {
    auto net = networks().inspect(network);  // "network x not found"
    auto c = records_.get(id_or_name);
    check_mode(c);
    if (net.name == "bridge" && (!want.aliases.empty() || !want.ipv4.empty() || !want.ipv6.empty()))
        throw Error(Errc::invalid, !want.ipv4.empty() || !want.ipv6.empty() ? "user specified IP address is supported on user defined networks only"
                                                      : "network-scoped alias is supported only for containers in user defined networks");
    bool dns = false;
    {
        auto lock = records_.lock(c.id);
        c = records_.get(c.id);
        if (c.networks.count(net.name))
            throw Error(Errc::conflict, "endpoint with name " + c.name + " already exists in network " + net.name);
        auto st = records_.state(c.id);
        if (records_.shim_alive(c.id) && st.running() && st.pid > 0) {
            auto path = "/proc/" + std::to_string(st.pid) + "/ns/net";
            sys::unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
            if (!fd) sys::throw_errno("open", path);
            network::EndpointOptions eo;
            eo.ip = want.ipv4;
            eo.ip6 = want.ipv6;
            eo.aliases = want.aliases;
            eo.mac = want.mac;
            auto ep = networks().attach(net.name, c.id, c.name, fd.get(), eo);
            auto ns = records_.network_state(c.id).value_or(NetworkState{});
            ns.networks[net.name] = EndpointState{ep.network_id, ep.endpoint_id, ep.ip, ep.gateway, ep.mac, ep.ifname, ep.host_veth, ep.prefix, want.aliases,
                                                  ep.ip6, ep.gateway6, ep.prefix6};
            try {
                sys::write_file_replace(records_.run_dir(c.id) / "network.json", network_state_to_json(ns));
            } catch (...) {
                networks().detach(net.name, c.id);
                throw;
            }
            dns = net.dns();
        }
        c.networks[net.name] = want;
        records_.save(c);
    }
    if (dns) network::ensure_dns_server(paths());
}

void Engine::disconnect(const std::string& id_or_name, const std::string& network, bool force) {
    auto c = records_.get(id_or_name);
    std::string name = network;
    try {
        name = networks().inspect(network).name;
    } catch (const Error& e) {
        if (!force || e.kind() != Errc::not_found) throw;
    }
    check_mode(c);
    {
        auto lock = records_.lock(c.id);
        c = records_.get(c.id);
        if (!c.networks.count(name)) {
            if (force) return;
            throw Error(Errc::invalid, "container " + c.id + " is not connected to network " + network);
        }
        if (records_.shim_alive(c.id)) {
            networks().detach(name, c.id);
            if (auto ns = records_.network_state(c.id)) {
                ns->networks.erase(name);
                sys::write_file_replace(records_.run_dir(c.id) / "network.json", network_state_to_json(*ns));
            }
        }
        c.networks.erase(name);
        if (c.host_config.network_mode == name) c.host_config.network_mode = c.networks.empty() ? "none" : c.networks.begin()->first;
        records_.save(c);
    }
    if (network::dns_server_running(paths())) network::notify_dns_server(paths());
}

}  // namespace berth::container
