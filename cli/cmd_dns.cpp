// berth system dns-serve (hidden): the embedded DNS server of the root's user-defined networks,
// in the foreground. network::ensure_dns_server() starts it detached; run by hand it is a way to
// watch it work (--log-queries). See network/dns.hpp.
#include <iostream>

#include "cli/cli.hpp"
#include "network/dns.hpp"
#include "network/dns_upstream.hpp"
#include "sys/error.hpp"

namespace berth::cli {
namespace {

struct ServeFlags {
    std::vector<std::string> upstreams;
    std::string resolv_conf = "/etc/resolv.conf";
    int port = 53;
    int idle_exit = 5;
    int ready_fd = -1;
    bool log_queries = false;
};

Registrar reg(95, {"system"}, [](CLI::App& app, Context& ctx) {
    auto flags = std::make_shared<ServeFlags>();
    auto* serve = system_group(app)->add_subcommand("dns-serve", "Run the embedded DNS server of user-defined networks");
    serve->group("");  // internal: started on demand by the engine
    serve->add_option("--upstream", flags->upstreams,
                      "Forward to this resolver (IP, IP:PORT or [IPv6]:PORT) instead of the resolv.conf nameservers");
    serve->add_option("--resolv-conf", flags->resolv_conf, "Where the host's nameservers are read");
    serve->add_option("--port", flags->port, "Port to listen on at each network's gateway")->check(CLI::Range(1, 65535));
    serve->add_option("--idle-exit", flags->idle_exit,
                      "Exit after this many seconds without a container on a user-defined network (0: never)")
        ->check(CLI::NonNegativeNumber);
    serve->add_option("--ready-fd", flags->ready_fd, "Write 1 to this fd once listening");
    serve->add_flag("--log-queries", flags->log_queries, "Log every query and what was done with it");
    serve->callback([flags, &ctx] {
        network::DnsServeOptions o;
        if (!flags->upstreams.empty()) {
            std::vector<network::dns::Upstream> ups;
            for (const auto& u : flags->upstreams) {
                auto p = network::dns::parse_upstream(u);
                if (!p) throw_error(Errc::invalid, "invalid --upstream " + u + ": an IP address, IP:PORT or [IPv6]:PORT");
                ups.push_back(*p);
            }
            o.upstreams = std::move(ups);
        }
        o.resolv_conf = flags->resolv_conf;
        o.port = static_cast<std::uint16_t>(flags->port);
        o.idle_exit = std::chrono::seconds(flags->idle_exit);
        o.ready_fd = flags->ready_fd;
        o.log_queries = flags->log_queries;
        int rc = network::run_dns_server(ctx.paths(), o);
        if (rc != 0) throw Exit{rc};
    });
});

}  // namespace
}  // namespace berth::cli
