// berth volume create / ls / inspect / rm / prune: named volumes as Docker's CLI shows them
// (tables, JSON, messages and prompts as docker prints them).
#include <iostream>
#include <map>

#include "cli/cli.hpp"
#include "cli/output.hpp"
#include "sys/error.hpp"
#include "sys/json.hpp"
#include "sys/strings.hpp"
#include "volumes/volumes.hpp"

namespace berth::cli {
namespace {

// docker/cli's volume formatter fields: what --format templates see.
ojson list_row(const volumes::Volume& v) {
    std::vector<std::string> labels;
    for (auto& [k, val] : v.labels) labels.push_back(k + "=" + val);
    ojson o = ojson::object();
    o["Availability"] = "N/A";
    o["Driver"] = v.driver;
    o["Group"] = "N/A";
    o["Labels"] = str::join(labels, ",");
    o["Links"] = "N/A";
    o["Mountpoint"] = v.mountpoint;
    o["Name"] = v.name;
    o["Scope"] = v.scope;
    o["Size"] = "N/A";
    o["Status"] = "N/A";
    return o;
}

ListFormat volume_list_format() {
    ListFormat spec;
    spec.default_table = "table {{.Driver}}\t{{.Name}}";
    spec.headers = ojson{{"Availability", "AVAILABILITY"}, {"Driver", "DRIVER"},    {"Group", "GROUP"},
                         {"Labels", "LABELS"},             {"Links", "LINKS"},      {"Mountpoint", "MOUNTPOINT"},
                         {"Name", "VOLUME NAME"},          {"Scope", "SCOPE"},      {"Size", "SIZE"},
                         {"Status", "STATUS"}};
    return spec;
}

// sortorder.NaturalLess, which docker/cli sorts volume names with: runs of digits compare as
// numbers ("v2" < "v10"), everything else byte by byte.
bool natural_less(const std::string& a, const std::string& b) {
    size_t i = 0, j = 0;
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    while (i < a.size() && j < b.size()) {
        if (digit(a[i]) && digit(b[j])) {
            size_t si = i, sj = j;
            while (si < a.size() && a[si] == '0') ++si;
            while (sj < b.size() && b[sj] == '0') ++sj;
            size_t ei = si, ej = sj;
            while (ei < a.size() && digit(a[ei])) ++ei;
            while (ej < b.size() && digit(b[ej])) ++ej;
            if (ei - si != ej - sj) return ei - si < ej - sj;
            int c = a.compare(si, ei - si, b, sj, ej - sj);
            if (c != 0) return c < 0;
            if (ei - i != ej - j) return ei - i < ej - j;  // fewer leading zeros first
            i = ei;
            j = ej;
            continue;
        }
        if (a[i] != b[j]) return a[i] < b[j];
        ++i;
        ++j;
    }
    return a.size() - i < b.size() - j;
}

bool confirm(const std::string& warning) {
    std::cout << warning << " [y/N] " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    answer = str::to_lower(str::trim(answer));
    return answer == "y" || answer == "yes";
}

// `--label k=v` / `-o k=v` as docker/cli's opts: "k" alone is k="", an empty key is refused.
std::map<std::string, std::string> key_values(const std::vector<std::string>& items, const char* flag) {
    std::map<std::string, std::string> out;
    for (auto& item : items) {
        auto [k, v] = str::split_once(item, '=');
        if (str::trim(k).empty())
            throw CLI::ValidationError("invalid argument \"" + item + "\" for \"" + flag + "\" flag: invalid " +
                                       (std::string(flag) == "--label" ? "label" : "option") + " '" + item +
                                       "': empty name");
        out[k] = v.value_or("");
    }
    return out;
}

volumes::Manager manager(Context& ctx) { return volumes::Manager(ctx.paths()); }

// ---- create ------------------------------------------------------------------------------------

void add_create(CLI::App* group, Context& ctx) {
    struct Opts {
        std::string name, flag_name, driver = "local";
        std::vector<std::string> labels, opts;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = group->add_subcommand("create", "Create a volume");
    cmd->add_option("name", o->name, "VOLUME");
    cmd->add_option("--name", o->flag_name, "Specify volume name")->group("");  // hidden, as Docker's
    cmd->add_option("-d,--driver", o->driver, "Specify volume driver name (default \"local\")");
    cmd->add_option("--label", o->labels, "Set metadata for a volume")->allow_extra_args(false);
    cmd->add_option("-o,--opt", o->opts, "Set driver specific options")->allow_extra_args(false);
    cmd->callback([o, &ctx] {
        std::string name = o->name;
        if (!o->flag_name.empty()) {
            if (!name.empty() && name != o->flag_name)
                throw_error(Errc::invalid, "conflicting options: either specify --name or provide positional arg, not both");
            name = o->flag_name;
        }
        volumes::CreateOptions c;
        c.driver = o->driver;
        c.labels = key_values(o->labels, "--label");
        c.driver_opts = key_values(o->opts, "--opt");
        auto v = manager(ctx).create(name, c);
        std::cout << v.name << "\n";
    });
}

// ---- ls ------------------------------------------------------------------------------------------

void add_ls(CLI::App* group, Context& ctx) {
    struct Opts {
        bool quiet = false;
        std::string format;
        std::vector<std::string> filters;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = group->add_subcommand("ls", "List volumes");
    cmd->alias("list");
    cmd->add_flag("-q,--quiet", o->quiet, "Only display volume names");
    cmd->add_option("-f,--filter", o->filters, "Provide filter values (e.g. \"dangling=true\")")->allow_extra_args(false);
    add_format_flag(cmd, o->format);
    cmd->callback([o, &ctx] {
        auto filters = volumes::parse_filters(o->filters, volumes::FilterFor::list);
        auto m = manager(ctx);
        auto all = m.list();
        volumes::InUse in_use;
        if (filters.dangling) in_use = volumes::volumes_in_use(ctx.paths());
        std::vector<volumes::Volume> shown;
        for (auto& v : all)
            if (filters.match(v, in_use)) shown.push_back(v);
        std::stable_sort(shown.begin(), shown.end(), [](auto& a, auto& b) { return natural_less(a.name, b.name); });
        std::vector<ojson> rows;
        for (auto& v : shown) rows.push_back(list_row(v));
        std::string format = o->format;
        if (o->quiet && (format.empty() || format == "table")) format = "{{.Name}}";
        print_list(rows, format, volume_list_format());
    });
}

// ---- inspect -------------------------------------------------------------------------------------

void add_inspect(CLI::App* group, Context& ctx) {
    struct Opts {
        std::string format;
        std::vector<std::string> names;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = group->add_subcommand("inspect", "Display detailed information on one or more volumes");
    cmd->add_option("-f,--format", o->format, "Format output using a custom template");
    cmd->add_option("volumes", o->names, "VOLUME")->required();
    cmd->callback([o, &ctx] {
        auto m = manager(ctx);
        std::vector<ojson> items;
        std::vector<std::string> errors;
        for (auto& n : o->names) {
            try {
                items.push_back(ojson::parse(volumes::inspect_json(m.get(n))));
            } catch (const berth::Error& e) {
                if (e.kind() != Errc::not_found) throw;
                errors.push_back(e.what());
            }
        }
        if (!items.empty() || o->format.empty()) print_inspect(items, o->format);
        for (auto& e : errors) std::cerr << "Error: " << e << "\n";
        if (!errors.empty()) throw Exit{1};
    });
}

// ---- rm ------------------------------------------------------------------------------------------

void add_rm(CLI::App* group, Context& ctx) {
    struct Opts {
        bool force = false;
        std::vector<std::string> names;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = group->add_subcommand("rm", "Remove one or more volumes");
    cmd->alias("remove");
    cmd->add_flag("-f,--force", o->force, "Force the removal of one or more volumes");
    cmd->add_option("volumes", o->names, "VOLUME")->required();
    cmd->callback([o, &ctx] {
        auto m = manager(ctx);
        auto in_use = volumes::volumes_in_use(ctx.paths());
        std::vector<std::string> errors;
        for (auto& n : o->names) {
            try {
                m.remove(n, o->force, in_use);
                std::cout << n << "\n";
            } catch (const std::exception& e) {
                errors.push_back(e.what());
            }
        }
        // docker/cli reports the failures together, after the names it removed.
        std::cout.flush();
        for (auto& e : errors) std::cerr << "Error: " << e << "\n";
        if (!errors.empty()) throw Exit{1};
    });
}

// ---- prune ---------------------------------------------------------------------------------------

void add_prune(CLI::App* group, Context& ctx) {
    struct Opts {
        bool all = false, force = false;
        std::vector<std::string> filters;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = group->add_subcommand("prune", "Remove unused local volumes");
    cmd->add_flag("-a,--all", o->all, "Remove all unused volumes, not just anonymous ones");
    cmd->add_flag("-f,--force", o->force, "Do not prompt for confirmation");
    cmd->add_option("--filter", o->filters, "Provide filter values (e.g. \"label=<label>\")")->allow_extra_args(false);
    cmd->callback([o, &ctx] {
        auto f = volumes::parse_filters(o->filters, volumes::FilterFor::prune);
        if (o->all && f.all)
            throw_error(Errc::invalid, "conflicting options: cannot specify both --all and --filter all=1");
        bool all = o->all || f.all.value_or(false);
        if (!o->force) {
            const char* warning =
                all ? "WARNING! This will remove all local volumes not used by at least one container.\n"
                      "Are you sure you want to continue?"
                    : "WARNING! This will remove anonymous local volumes not used by at least one container.\n"
                      "Are you sure you want to continue?";
            if (!confirm(warning)) return;
        }
        auto in_use = volumes::volumes_in_use(ctx.paths());
        auto r = manager(ctx).prune(in_use, [&](const volumes::Volume& v) { return f.match(v, in_use); }, all);
        if (!r.removed.empty()) {
            std::cout << "Deleted Volumes:\n";
            for (auto& n : r.removed) std::cout << n << "\n";
            std::cout << "\n";
        }
        std::cout << "Total reclaimed space: " << str::human_size(static_cast<double>(r.reclaimed)) << "\n";
        std::cout.flush();
        for (auto& e : r.errors) std::cerr << "Error: could not remove volume " << e << "\n";
        if (!r.errors.empty()) throw Exit{1};
    });
}

Registrar reg(50, {"volume"}, [](CLI::App& app, Context& ctx) {
    auto* group = app.add_subcommand("volume", "Manage volumes");
    group->require_subcommand(1);
    add_create(group, ctx);
    add_ls(group, ctx);
    add_inspect(group, ctx);
    add_rm(group, ctx);
    add_prune(group, ctx);
});

}  // namespace
}  // namespace berth::cli
