// berth network create / ls / inspect / rm / prune: user-defined bridge networks as Docker's CLI
// shows them (columns, filters, messages). connect/disconnect need running containers and come
// with the container commands, over network::Manager::attach/detach.
#include <unistd.h>

#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "cli/cli.hpp"
#include "cli/output.hpp"
#include "network/ipam6.hpp"
#include "network/network.hpp"
#include "sys/error.hpp"
#include "sys/json.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"

namespace berth::cli {
namespace {

using network::Network;

network::Manager manager(Context& ctx) { return network::Manager(ctx.paths()); }

// "k=v" -> {k, v}; "k" -> {k, ""} (Docker's --label and -o parsing).
std::pair<std::string, std::string> key_value(const std::string& s) {
    auto [k, v] = str::split_once(s, '=');
    return {k, v.value_or("")};
}

// Go's time.Time String(): "2026-01-02 03:04:05.123456789 +0000 UTC".
std::string go_time(const std::string& rfc3339) {
    auto ns = sys::parse_rfc3339(rfc3339);
    if (!ns) return rfc3339;
    std::time_t t = static_cast<std::time_t>(*ns / 1000000000);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    std::string frac = std::to_string(*ns % 1000000000);
    frac.insert(0, 9 - frac.size(), '0');
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    return std::string(buf) + (frac.empty() ? "" : "." + frac) + " +0000 UTC";
}

std::string labels_text(const std::map<std::string, std::string>& labels) {
    std::vector<std::string> parts;
    for (const auto& [k, v] : labels) parts.push_back(k + "=" + v);
    return str::join(parts, ",");
}

// ---- filters (--filter key=value; same key ORed, different keys ANDed) ----

using Filters = std::map<std::string, std::vector<std::string>>;

Filters parse_filters(const std::vector<std::string>& raw, const std::set<std::string>& allowed) {
    Filters f;
    for (const auto& r : raw) {
        auto [k, v] = str::split_once(r, '=');
        if (!v) throw_error(Errc::invalid, "bad format of filter (expected name=value)");
        std::string key = str::to_lower(k);
        if (!allowed.count(key)) throw_error(Errc::invalid, "invalid filter '" + key + "'");
        f[key].push_back(*v);
    }
    return f;
}

bool label_matches(const Network& n, const std::vector<std::string>& wanted) {
    for (const auto& w : wanted) {
        auto [k, v] = str::split_once(w, '=');
        auto it = n.labels.find(k);
        if (it == n.labels.end()) return false;
        if (v && it->second != *v) return false;
    }
    return true;
}

bool matches(const Network& n, const Filters& f) {
    for (const auto& [key, values] : f) {
        if (key == "label") {
            if (!label_matches(n, values)) return false;
            continue;
        }
        bool any = false;
        for (const auto& v : values) {
            if (key == "name") any = any || str::contains(n.name, v);
            else if (key == "id") any = any || n.id.rfind(v, 0) == 0 || str::contains(n.id, v);
            else if (key == "driver") any = any || n.driver == v;
            else if (key == "scope") any = any || v == "local";
            else if (key == "type") {
                if (v != "custom" && v != "builtin") throw_error(Errc::invalid, "invalid filter: 'type'='" + v + "'");
                any = any || (v == "builtin") == n.predefined();
            } else if (key == "dangling") {
                auto b = str::to_lower(v);
                if (b != "true" && b != "false" && b != "1" && b != "0")
                    throw_error(Errc::invalid, "invalid filter 'dangling=" + v + "'");
                bool dangling = b == "true" || b == "1";
                any = any || (dangling ? (!n.predefined() && n.endpoints.empty()) : (n.predefined() || !n.endpoints.empty()));
            }
        }
        if (!any) return false;
    }
    return true;
}

// ---- create ----

struct CreateOpts {
    std::string name, driver = "bridge", subnet, gateway, ip_range, ipam_driver = "default";
    std::vector<std::string> subnets, gateways, ranges, labels, opts, aux;
    bool internal = false, attachable = false, ipv6 = false;
};

void create(Context& ctx, CreateOpts& o) {
    std::vector<std::string> problems;
    if (!o.aux.empty()) problems.push_back("--aux-address is not supported yet");
    if (o.ipam_driver != "default") problems.push_back("IPAM driver \"" + o.ipam_driver + "\" is not supported");
    network::NetworkOptions no;
    no.driver = o.driver;
    // One IPv4 and one IPv6 value of each (a dual-stack network), told apart by their text.
    auto by_family = [&](const std::vector<std::string>& values, const char* flag, std::string& v4, std::string& v6) {
        for (const auto& v : values) {
            std::string& slot = network::is_ipv6_text(v) ? v6 : v4;
            if (!slot.empty())
                problems.push_back(std::string("more than one IPv") + (&slot == &v6 ? "6" : "4") + " " + flag +
                                   " is not supported (" + slot + ", " + v + ")");
            else
                slot = v;
        }
    };
    by_family(o.subnets, "--subnet", no.subnet, no.subnet6);
    by_family(o.gateways, "--gateway", no.gateway, no.gateway6);
    by_family(o.ranges, "--ip-range", no.ip_range, no.ip_range6);
    no.internal = o.internal;
    no.attachable = o.attachable;
    no.ipv6 = o.ipv6;
    for (const auto& l : o.labels) no.labels.insert(key_value(l));
    for (const auto& kv : o.opts) {
        auto [k, v] = str::split_once(kv, '=');
        if (!v) problems.push_back("invalid key/value pair format in driver options: " + kv);
        else no.options[k] = *v;
    }
    if (!problems.empty()) throw_error(Errc::invalid, str::join(problems, "\n"));
    auto n = manager(ctx).create(o.name, no);
    std::cout << n.id << "\n";
}

// ---- ls ----

struct LsOpts {
    std::vector<std::string> filters;
    std::string format;
    bool quiet = false, no_trunc = false;
};

void list(Context& ctx, LsOpts& o) {
    auto filters = parse_filters(o.filters, {"name", "id", "label", "driver", "scope", "type", "dangling"});
    std::vector<ojson> rows;
    for (const auto& n : manager(ctx).list()) {
        if (!matches(n, filters)) continue;
        ojson r;
        r["ID"] = o.no_trunc ? n.id : network::short_id(n.id);
        r["Name"] = n.name;
        r["Driver"] = n.driver;
        r["Scope"] = "local";
        r["IPv6"] = n.ipv6 ? "true" : "false";
        r["Internal"] = n.internal ? "true" : "false";
        r["Labels"] = labels_text(n.labels);
        r["CreatedAt"] = go_time(n.created);
        rows.push_back(std::move(r));
    }
    ListFormat spec;
    spec.default_table = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
    spec.headers = ojson{{"ID", "NETWORK ID"}, {"Name", "NAME"},         {"Driver", "DRIVER"},
                         {"Scope", "SCOPE"},   {"IPv6", "IPV6"},         {"Internal", "INTERNAL"},
                         {"Labels", "LABELS"}, {"CreatedAt", "CREATED AT"}};
    std::string format = o.format;
    if (o.quiet && (format.empty() || format == "table")) format = "{{.ID}}";
    print_list(rows, format, spec);
}

// ---- inspect / rm / prune ----

void inspect(Context& ctx, const std::vector<std::string>& names, const std::string& format) {
    auto mgr = manager(ctx);
    std::vector<ojson> items;
    std::vector<std::string> missing;
    for (const auto& name : names) {
        try {
            items.push_back(ojson::parse(network::inspect_json(mgr.inspect(name))));
        } catch (const Error& e) {
            if (e.kind() != Errc::not_found) throw;
            missing.push_back(name);
        }
    }
    print_inspect(items, format);
    if (!missing.empty()) {
        std::cout.flush();
        for (const auto& m : missing) std::cerr << "Error: No such network: " << m << "\n";
        throw Exit{1};
    }
}

void remove(Context& ctx, const std::vector<std::string>& names, bool force) {
    auto mgr = manager(ctx);
    bool failed = false;
    for (const auto& name : names) {
        try {
            mgr.remove(name);
            std::cout << name << "\n";
        } catch (const Error& e) {
            if (force && e.kind() == Errc::not_found) continue;
            std::cout.flush();
            std::cerr << "Error: " << e.what() << "\n";
            failed = true;
        }
    }
    if (failed) throw Exit{1};
}

bool confirm(const std::string& warning) {
    std::cout << warning << "\nAre you sure you want to continue? [y/N] " << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer)) return false;
    answer = str::to_lower(str::trim(answer));
    return answer == "y" || answer == "yes";
}

void prune(Context& ctx, bool force, const std::vector<std::string>& raw_filters) {
    auto filters = parse_filters(raw_filters, {"label", "label!", "until"});
    std::optional<std::int64_t> until;
    auto now = sys::now_ns();
    for (const auto& u : filters["until"]) {
        until = sys::parse_time_or_duration(u, now);
        if (!until) throw_error(Errc::invalid, "invalid filter 'until=" + u + "'");
    }
    if (!force && !confirm("WARNING! This will remove all custom networks not used by at least one container."))
        return;
    auto removed = manager(ctx).prune([&](const Network& n) {
        if (filters.count("label") && !label_matches(n, filters["label"])) return true;
        for (const auto& w : filters["label!"]) {
            auto [k, v] = str::split_once(w, '=');
            auto it = n.labels.find(k);
            if (it != n.labels.end() && (!v || it->second == *v)) return true;
        }
        if (until) {
            auto created = sys::parse_rfc3339(n.created);
            if (created && *created > *until) return true;
        }
        return false;
    });
    if (!removed.empty()) {
        std::cout << "Deleted Networks:\n";
        for (const auto& r : removed) std::cout << r << "\n";
        std::cout << "\n";
    }
}

Registrar reg(50, {"network"}, [](CLI::App& app, Context& ctx) {
    auto* group = app.add_subcommand("network", "Manage networks");
    group->require_subcommand(1);

    {
        auto o = std::make_shared<CreateOpts>();
        auto* cmd = group->add_subcommand("create", "Create a network");
        cmd->add_option("-d,--driver", o->driver, "Driver to manage the Network (bridge)");
        cmd->add_option("--subnet", o->subnets, "Subnet in CIDR format that represents a network segment");
        cmd->add_option("--gateway", o->gateways, "IPv4 Gateway for the master subnet");
        cmd->add_option("--ip-range", o->ranges, "Allocate container ip from a sub-range");
        cmd->add_option("--aux-address", o->aux, "Auxiliary IPv4 addresses used by Network driver");
        cmd->add_option("--ipam-driver", o->ipam_driver, "IP Address Management Driver");
        cmd->add_flag("--internal", o->internal, "Restrict external access to the network");
        cmd->add_flag("--attachable", o->attachable, "Enable manual container attachment");
        cmd->add_flag("--ipv6", o->ipv6, "Enable or disable IPv6 networking");
        cmd->add_option("--label", o->labels, "Set metadata on a network");
        cmd->add_option("-o,--opt", o->opts, "Set driver specific options");
        cmd->add_option("name", o->name, "NETWORK")->required();
        cmd->callback([o, &ctx] { create(ctx, *o); });
    }
    {
        auto o = std::make_shared<LsOpts>();
        auto* cmd = group->add_subcommand("ls", "List networks");
        cmd->alias("list");
        cmd->add_option("-f,--filter", o->filters, "Provide filter values (e.g. 'driver=bridge')");
        cmd->add_flag("-q,--quiet", o->quiet, "Only display network IDs");
        cmd->add_flag("--no-trunc", o->no_trunc, "Do not truncate the output");
        add_format_flag(cmd, o->format);
        cmd->callback([o, &ctx] { list(ctx, *o); });
    }
    {
        auto names = std::make_shared<std::vector<std::string>>();
        auto format = std::make_shared<std::string>();
        auto* cmd = group->add_subcommand("inspect", "Display detailed information on one or more networks");
        cmd->add_option("-f,--format", *format, "Format output using a custom template");
        cmd->add_option("network", *names, "NETWORK")->required();
        cmd->callback([names, format, &ctx] { inspect(ctx, *names, *format); });
    }
    {
        auto names = std::make_shared<std::vector<std::string>>();
        auto force = std::make_shared<bool>(false);
        auto* cmd = group->add_subcommand("rm", "Remove one or more networks");
        cmd->alias("remove");
        cmd->add_flag("-f,--force", *force, "Do not error if the network does not exist");
        cmd->add_option("network", *names, "NETWORK")->required();
        cmd->callback([names, force, &ctx] { remove(ctx, *names, *force); });
    }
    {
        auto force = std::make_shared<bool>(false);
        auto filters = std::make_shared<std::vector<std::string>>();
        auto* cmd = group->add_subcommand("prune", "Remove all unused networks");
        cmd->add_flag("-f,--force", *force, "Do not prompt for confirmation");
        cmd->add_option("--filter", *filters, "Provide filter values (e.g. 'until=<timestamp>')");
        cmd->callback([force, filters, &ctx] { prune(ctx, *force, *filters); });
    }
});

}  // namespace
}  // namespace berth::cli
