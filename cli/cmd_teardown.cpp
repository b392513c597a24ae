// berth system teardown (hidden): removes every container of this root, every user network,
// the default bridge, berth's nftables table, the root's parent cgroup and its DNS server. For
// tests (their cleanup must leave nothing in the kernel) and for uninstalling. Images and volumes
// are kept.
#include <iostream>

#include "cgroups/cgroups.hpp"
#include "cli/cli.hpp"
#include "container/engine.hpp"
#include "network/dns.hpp"
#include "network/network.hpp"

namespace berth::cli {
namespace {

Registrar reg(91, {"system"}, [](CLI::App& app, Context& ctx) {
    auto* sys = app.get_subcommand("system");
    auto* cmd = sys->add_subcommand("teardown", "");
    cmd->group("");
    cmd->callback([&ctx] {
        container::Engine engine(ctx.paths());
        bool failed = false;
        for (auto& c : engine.records().list()) {
            try {
                engine.remove(c.id, true, true);
            } catch (const std::exception& e) {
                std::cerr << "Error: " << c.name << ": " << e.what() << "\n";
                failed = true;
            }
        }
        engine.sweep_trash(std::chrono::seconds(0));
        try {
            engine.networks().prune();
            engine.networks().release_default_bridge();
            network::stop_dns_server(ctx.paths());
        } catch (const std::exception& e) {
            std::cerr << "Error: networks: " << e.what() << "\n";
            failed = true;
        }
        try {
            cgroups::remove_parent(cgroups::detect(), ctx.paths().prefix);
        } catch (const std::exception& e) {
            std::cerr << "Error: cgroups: " << e.what() << "\n";
            failed = true;
        }
        if (failed) throw Exit{1};
    });
});

}  // namespace
}  // namespace berth::cli
