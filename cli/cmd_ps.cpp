// berth ps / container ls.
#include <iostream>
#include <regex>
#include <set>

#include "cli/container_group.hpp"
#include "cli/output.hpp"
#include "container/engine.hpp"
#include "images/store.hpp"
#include "sys/error.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"

namespace berth::cli {

namespace {

struct PsArgs {
    bool all = false, quiet = false, no_trunc = false, latest = false, size = false;
    int last = -1;
    std::string format;
    std::vector<std::string> filters;
};

// Docker truncates to n-1 characters plus "…".
std::string ellipsis(const std::string& s, size_t n) {
    // Count UTF-8 code points, as Go counts runes.
    size_t runes = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++runes;
    if (runes <= n) return s;
    std::string out;
    size_t seen = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
            if (seen == n - 1) break;
            ++seen;
        }
        out += s[i];
    }
    return out + "…";
}

// Go's strconv.Quote for the printable ASCII docker ps commands almost always are.
std::string go_quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out + "\"";
}


bool match_filter(const std::string& f, const container::Container& c, const store::State& st, images::Store& imgs) {
    auto [k, v0] = str::split_once(f, '=');
    std::string v = v0.value_or("");
    if (k == "label") {
        auto [lk, lv] = str::split_once(v, '=');
        auto it = c.config.labels.find(lk);
        return it != c.config.labels.end() && (!lv || it->second == *lv);
    }
    if (k == "name") {
        try {
            return std::regex_search(c.name, std::regex(v));
        } catch (const std::regex_error&) {
            return c.name.find(v) != std::string::npos;
        }
    }
    if (k == "id") return c.id.rfind(v, 0) == 0;
    if (k == "status") {
        static const std::set<std::string> ok{"created", "restarting", "running", "removing", "paused", "exited", "dead"};
        if (!ok.count(v)) throw Error(Errc::invalid, "invalid filter 'status=" + v + "'");
        return st.status == v;
    }
    if (k == "exited") return st.status == "exited" && std::to_string(st.exit_code) == v;
    if (k == "health") {
        std::string h = st.health ? st.health->status : "none";
        return h == v;
    }
    if (k == "ancestor") {
        auto img = imgs.find(v);
        return (img && img->id == c.image_id) || c.config.image == v;
    }
    if (k == "network") {
        for (auto& [n, e] : c.networks)
            if (n == v) return true;
        return c.host_config.network_mode == v;
    }
    if (k == "volume") {
        for (auto& m : c.host_config.mounts)
            if (m.source == v || m.target == v) return true;
        return false;
    }
    if (k == "is-task") return v == "false";
    throw Error(Errc::invalid, "invalid filter '" + k + "'");
}

void add_ps(CLI::App* parent, Context& ctx, const std::string& name, bool alias) {
    auto a = std::make_shared<PsArgs>();
    auto* cmd = parent->add_subcommand(name, "List containers");
    if (alias) cmd->alias("list")->alias("ps");
    cmd->add_flag("-a,--all", a->all, "Show all containers (default shows just running)");
    cmd->add_flag("-q,--quiet", a->quiet, "Only display container IDs");
    cmd->add_flag("--no-trunc", a->no_trunc, "Don't truncate output");
    cmd->add_flag("-l,--latest", a->latest, "Show the latest created container (includes all states)");
    cmd->add_option("-n,--last", a->last, "Show n last created containers (includes all states)");
    cmd->add_flag("-s,--size", a->size, "Display total file sizes");
    cmd->add_option("-f,--filter", a->filters, "Filter output based on conditions provided")->allow_extra_args(false);
    add_format_flag(cmd, a->format);
    cmd->callback([a, &ctx] {
        container::Engine engine(ctx.paths());
        auto now = sys::now_ns();
        std::vector<ojson> items;
        int limit = a->latest ? 1 : a->last;
        bool all = a->all || limit > 0;
        int n = 0;
        for (auto& c : engine.records().list()) {
            auto st = engine.state(c);
            bool running = st.status == "running" || st.status == "paused" || st.status == "restarting";
            if (limit > 0 && n >= limit) break;
            ++n;
            if (!all && !running) continue;
            bool keep = true;
            for (auto& f : a->filters) keep = keep && match_filter(f, c, st, engine.images());
            if (!keep) continue;
            auto ns = engine.records().network_state(c.id);
            std::string cmdline = str::join(c.command(), " ");
            std::vector<std::string> labels;
            for (auto& [k, v] : c.config.labels) labels.push_back(k + "=" + v);
            std::vector<std::string> nets;
            for (auto& [k, v] : c.networks) nets.push_back(k);
            if (nets.empty()) nets.push_back(c.host_config.network_mode);
            std::vector<std::string> mounts;
            for (auto& m : c.host_config.mounts)
                if (m.type != "tmpfs") mounts.push_back(a->no_trunc ? (m.source.empty() ? m.target : m.source) : ellipsis(m.source.empty() ? m.target : m.source, 15));
            std::string image = c.config.image;
            if (image.rfind("sha256:", 0) == 0 && !a->no_trunc) image = image.substr(7, 12);
            ojson item = {{"Command", go_quote(a->no_trunc ? cmdline : ellipsis(cmdline, 20))},
                          {"CreatedAt", sys::format_rfc3339_nano(c.created)},
                          {"ID", a->no_trunc ? c.id : c.short_id()},
                          {"Image", image},
                          {"Labels", str::join(labels, ",")},
                          {"LocalVolumes", std::to_string(std::count_if(c.host_config.mounts.begin(), c.host_config.mounts.end(),
                                                                        [](auto& m) { return m.type == "volume"; }))},
                          {"Mounts", str::join(mounts, ",")},
                          {"Names", c.name},
                          {"Networks", str::join(nets, ",")},
                          {"Ports", container::ports_text(c, ns, running)},
                          {"RunningFor", str::human_duration_ns(now - c.created) + " ago"},
                          {"Size", "0B"},
                          {"State", st.status},
                          {"Status", container::status_text(st, now)}};
            items.push_back(item);
        }
        if (a->quiet) {
            for (auto& i : items) std::cout << i["ID"].get<std::string>() << "\n";
            return;
        }
        ListFormat spec;
        spec.default_table = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
        if (a->size) spec.default_table += "\t{{.Size}}";
        spec.headers = {{"ID", "CONTAINER ID"}, {"Image", "IMAGE"},     {"Command", "COMMAND"},   {"RunningFor", "CREATED"},
                        {"Status", "STATUS"},   {"Ports", "PORTS"},      {"Names", "NAMES"},       {"CreatedAt", "CREATED AT"},
                        {"Size", "SIZE"},       {"Labels", "LABELS"},    {"Mounts", "MOUNTS"},     {"Networks", "NETWORKS"},
                        {"State", "STATE"},     {"LocalVolumes", "LOCAL VOLUMES"}};
        print_list(items, a->format, spec);
    });
}

Registrar reg(22, {"ps", "container"}, [](CLI::App& app, Context& ctx) {
    add_ps(&app, ctx, "ps", false);
    add_ps(container_group(app), ctx, "ls", true);
});

}  // namespace
}  // namespace berth::cli
