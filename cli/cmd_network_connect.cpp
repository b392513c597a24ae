// berth network connect / disconnect (the rest of `network` is in cmd_network.cpp).
#include "cli/cli.hpp"
#include "container/engine.hpp"
#include "sys/error.hpp"

namespace berth::cli {
namespace {

Registrar reg(51, {"network"}, [](CLI::App& app, Context& ctx) {
    auto* group = app.get_subcommand("network");
    {
        struct Args {
            std::string network, container, ip, ip6, mac;
            std::vector<std::string> aliases, links;
        };
        auto a = std::make_shared<Args>();
        auto* cmd = group->add_subcommand("connect", "Connect a container to a network");
        cmd->add_option("--alias", a->aliases, "Add network-scoped alias for the container");
        cmd->add_option("--ip", a->ip, "IPv4 address (e.g., \"172.30.100.104\")");
        cmd->add_option("--ip6", a->ip6, "IPv6 address (e.g., \"2001:db8::33\")");
        cmd->add_option("--link", a->links, "Add link to another container");
        cmd->add_option("network", a->network, "NETWORK")->required();
        cmd->add_option("container", a->container, "CONTAINER")->required();
        cmd->callback([a, &ctx] {
            if (!a->links.empty()) throw berth::Error(Errc::unsupported, "--link is not supported; use a user-defined network and names");
            container::Engine e(ctx.paths());
            container::EndpointConfig ep;
            ep.aliases = a->aliases;
            ep.ipv4 = a->ip;
            ep.ipv6 = a->ip6;
            e.connect(a->container, a->network, ep);
        });
    }
    {
        auto a = std::make_shared<std::pair<std::string, std::string>>();
        auto force = std::make_shared<bool>(false);
        auto* cmd = group->add_subcommand("disconnect", "Disconnect a container from a network");
        cmd->add_flag("-f,--force", *force, "Force the container to disconnect from a network");
        cmd->add_option("network", a->first, "NETWORK")->required();
        cmd->add_option("container", a->second, "CONTAINER")->required();
        cmd->callback([a, force, &ctx] {
            container::Engine e(ctx.paths());
            e.disconnect(a->second, a->first, *force);
        });
    }
});

}  // namespace
}  // namespace berth::cli
