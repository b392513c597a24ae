// berth inspect (any object, like docker inspect) and container inspect.
#include <iostream>

#include "cli/container_group.hpp"
#include "cli/output.hpp"
#include "container/engine.hpp"
#include "images/inspect.hpp"
#include "images/store.hpp"
#include "network/network.hpp"
#include "sys/error.hpp"

namespace berth::cli {
namespace {

ojson container_item(container::Engine& e, const std::string& name) {
    auto c = e.records().get(name);
    return ojson::parse(container::inspect_json(c, e.state(c), e.records().network_state(c.id), e.paths()));
}

void run_inspect(Context& ctx, const std::vector<std::string>& names, const std::string& format, const std::string& type) {
    container::Engine engine(ctx.paths());
    std::vector<ojson> items;
    std::vector<std::string> errors;
    for (auto& n : names) {
        try {
            if (type == "container") {
                items.push_back(container_item(engine, n));
                continue;
            }
            if (type.empty())
                if (auto c = engine.records().find(n)) {
                    items.push_back(container_item(engine, n));
                    continue;
                }
            if (type.empty() || type == "image") {
                if (auto img = engine.images().find(n)) {
                    items.push_back(images::inspect(engine.images(), *img));
                    continue;
                }
                if (type == "image") throw Error(Errc::not_found, "No such image: " + n);
            }
            if (type.empty() || type == "network") {
                try {
                    items.push_back(ojson::parse(network::inspect_json(engine.networks().inspect(n))));
                    continue;
                } catch (const Error& e) {
                    if (type == "network" || e.kind() != Errc::not_found) throw;
                }
            }
            throw Error(Errc::not_found, "No such object: " + n);
        } catch (const std::exception& e) {
            errors.push_back(e.what());
        }
    }
    if (!items.empty() || format.empty()) print_inspect(items, format);
    for (auto& e : errors) std::cerr << "Error: " << e << "\n";
    if (!errors.empty()) throw Exit{1};
}

void add_inspect(CLI::App* parent, Context& ctx, bool containers_only) {
    struct Args {
        std::string format, type;
        bool size = false;
        std::vector<std::string> names;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = parent->add_subcommand("inspect", containers_only ? "Display detailed information on one or more containers"
                                                                   : "Return low-level information on Docker objects");
    cmd->add_option("-f,--format", a->format, "Format output using a custom template");
    cmd->add_flag("-s,--size", a->size, "Display total file sizes");
    if (!containers_only) cmd->add_option("--type", a->type, "Only inspect objects of the given type");
    cmd->add_option("NAME", a->names)->required();
    cmd->callback([a, &ctx, containers_only] {
        if (!a->type.empty() && a->type != "container" && a->type != "image" && a->type != "network" && a->type != "volume")
            throw Error(Errc::invalid, "\"" + a->type + "\" is not a valid value for --type");
        run_inspect(ctx, a->names, a->format, containers_only ? "container" : a->type);
    });
}

Registrar reg(25, {"inspect", "container"}, [](CLI::App& app, Context& ctx) {
    add_inspect(&app, ctx, false);
    add_inspect(container_group(app), ctx, true);
});

}  // namespace
}  // namespace berth::cli
