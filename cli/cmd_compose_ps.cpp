// berth compose ps / logs / ls / images / top / port.
#include <iostream>
#include <map>
#include <set>

#include "cli/compose_ops.hpp"
#include "cli/output.hpp"
#include "images/store.hpp"
#include "sys/error.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"

namespace berth::cli {
namespace {


struct PsFlags {
    bool all = false, quiet = false, services = false, no_trunc = false, orphans = true;
    std::string format;
    std::vector<std::string> status, filters, names;
};

void run_ps(Context& ctx, const PsFlags& f) {
    auto target = load_target(f.names);
    container::Engine e(ctx.paths());
    std::vector<std::string> status = f.status;
    for (auto& flt : f.filters) {
        auto [k, v] = str::split_once(flt, '=');
        if (k != "status" || !v) throw Error(Errc::invalid, "invalid filter '" + flt + "'");
        status.push_back(*v);
    }
    static const std::set<std::string> known{"paused", "restarting", "removing", "running", "dead", "created", "exited"};
    for (auto& s : status)
        if (!known.count(s)) throw Error(Errc::invalid, "invalid status: " + s);
    auto now = sys::now_ns();
    std::vector<ojson> items;
    std::set<std::string> services;
    for (auto& pc : project_containers(e, target, f.names)) {
        bool running = pc.st.running();
        if (status.empty() && !f.all && !running) continue;
        if (!status.empty() && std::find(status.begin(), status.end(), pc.st.status) == status.end()) continue;
        if (!f.orphans && target.project && !target.project->services.count(pc.service)) continue;
        services.insert(pc.service);
        auto& c = pc.c;
        auto ns = e.records().network_state(c.id);
        std::vector<std::string> labels, nets, mounts;
        for (auto& [k, v] : c.config.labels) labels.push_back(k + "=" + v);
        for (auto& [k, v] : c.networks) nets.push_back(k);
        for (auto& m : c.host_config.mounts)
            if (m.type != "tmpfs") mounts.push_back(m.source.empty() ? m.target : m.source);
        ojson publishers = ojson::array();
        if (ns && running)
            for (auto& p : ns->ports) {
                auto [num, proto] = str::split_once(p.container_port, '/');
                publishers.push_back({{"URL", p.host_ip},
                                      {"TargetPort", str::parse_int(num).value_or(0)},
                                      {"PublishedPort", str::parse_int(p.host_port).value_or(0)},
                                      {"Protocol", proto.value_or("tcp")}});
            }
        std::string cmdline = str::join(c.command(), " ");
        std::string health = pc.st.health ? pc.st.health->status : "";
        ojson item = {{"Command", "\"" + cmdline + "\""},
                      {"CreatedAt", sys::format_rfc3339_nano(c.created)},
                      {"ExitCode", pc.st.exit_code},
                      {"Health", health},
                      {"ID", f.no_trunc ? c.id : c.short_id()},
                      {"Image", c.config.image},
                      {"Labels", str::join(labels, ",")},
                      {"LocalVolumes", std::to_string(std::count_if(c.host_config.mounts.begin(), c.host_config.mounts.end(),
                                                                    [](auto& m) { return m.type == "volume"; }))},
                      {"Mounts", str::join(mounts, ",")},
                      {"Name", c.name},
                      {"Names", c.name},
                      {"Networks", str::join(nets, ",")},
                      {"Ports", container::ports_text(c, ns, running)},
                      {"Project", target.name},
                      {"Publishers", publishers},
                      {"RunningFor", str::human_duration_ns(now - c.created) + " ago"},
                      {"Service", pc.service},
                      {"Size", "0B"},
                      {"State", pc.st.status},
                      {"Status", container::status_text(pc.st, now)}};
        items.push_back(item);
    }
    if (f.services) {
        for (auto& s : services) std::cout << s << "\n";
        return;
    }
    if (f.quiet) {
        for (auto& i : items) std::cout << i["ID"].get<std::string>() << "\n";
        return;
    }
    ListFormat spec;
    spec.default_table = "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}";
    spec.headers = {{"Name", "NAME"},       {"Image", "IMAGE"},   {"Command", "COMMAND"}, {"Service", "SERVICE"},
                    {"RunningFor", "CREATED"}, {"Status", "STATUS"}, {"Ports", "PORTS"},   {"ID", "CONTAINER ID"},
                    {"State", "STATE"},     {"Project", "PROJECT"}, {"Health", "HEALTH"}, {"ExitCode", "EXIT CODE"}};
    print_list(items, f.format, spec);
}

struct LogsFlags {
    bool follow = false, timestamps = false, no_prefix = false, no_color = false;
    std::string tail = "all", since, until;
    int index = 0;
    std::vector<std::string> services;
};

void run_logs(Context& ctx, const LogsFlags& f) {
    auto target = load_target(f.services);
    container::Engine e(ctx.paths());
    auto cs = project_containers(e, target, f.services);
    if (f.index > 0) {
        std::erase_if(cs, [&](auto& pc) { return pc.number != f.index; });
    }
    container::LogOptions o;
    o.follow = f.follow;
    o.timestamps = f.timestamps;
    auto now = sys::now_ns();
    if (f.tail != "all" && !f.tail.empty()) {
        auto n = str::parse_int(f.tail);
        if (!n) throw Error(Errc::invalid, "invalid value for \"tail\": \"" + f.tail + "\"");
        if (*n >= 0) o.tail = *n;
    }
    if (!f.since.empty()) {
        o.since = sys::parse_time_or_duration(f.since, now);
        if (!o.since) throw Error(Errc::invalid, "invalid value for \"since\": \"" + f.since + "\"");
    }
    if (!f.until.empty()) {
        o.until = sys::parse_time_or_duration(f.until, now);
        if (!o.until) throw Error(Errc::invalid, "invalid value for \"until\": \"" + f.until + "\"");
    }
    LogStyle style;
    style.prefix = !f.no_prefix;
    style.timestamps = f.timestamps;
    style.color = !f.no_color && use_color();
    stream_logs(ctx.paths(), target.name, cs, o, style);
}

// compose ls: every project that has containers, from their labels.
struct LsFlags {
    bool all = false, quiet = false;
    std::string format;
    std::vector<std::string> filters;
};

void run_ls(Context& ctx, const LsFlags& f) {
    container::Engine e(ctx.paths());
    struct Proj {
        std::map<std::string, int> states;
        std::set<std::string> files;
    };
    std::map<std::string, Proj> projects;
    for (auto& c : e.records().list()) {
        auto& l = c.config.labels;
        auto it = l.find(compose::labels::project);
        if (it == l.end()) continue;
        auto st = e.state(c);
        auto& p = projects[it->second];
        p.states[st.status]++;
        if (auto cf = l.find(compose::labels::config_files); cf != l.end())
            for (auto& file : str::split(cf->second, ',')) p.files.insert(std::string(file));
    }
    std::vector<ojson> items;
    for (auto& [name, p] : projects) {
        if (!f.all && !p.states.count("running")) continue;
        bool keep = true;
        for (auto& flt : f.filters) {
            auto [k, v] = str::split_once(flt, '=');
            if (k != "name" || !v) throw Error(Errc::invalid, "invalid filter '" + flt + "'");
            keep = keep && name.find(*v) != std::string::npos;
        }
        if (!keep) continue;
        std::vector<std::string> parts;
        for (auto& [s, n] : p.states) parts.push_back(s + "(" + std::to_string(n) + ")");
        items.push_back({{"Name", name},
                         {"Status", str::join(parts, ", ")},
                         {"ConfigFiles", str::join(std::vector<std::string>(p.files.begin(), p.files.end()), ",")}});
    }
    if (f.quiet) {
        for (auto& i : items) std::cout << i["Name"].get<std::string>() << "\n";
        return;
    }
    ListFormat spec;
    spec.default_table = "table {{.Name}}\t{{.Status}}\t{{.ConfigFiles}}";
    spec.headers = {{"Name", "NAME"}, {"Status", "STATUS"}, {"ConfigFiles", "CONFIG FILES"}};
    if (f.format == "json") {
        // Compose prints one JSON array.
        ojson arr = ojson::array();
        for (auto& i : items) arr.push_back(i);
        std::cout << go_json(arr) << "\n";
        return;
    }
    print_list(items, f.format, spec);
}

void run_images(Context& ctx, const std::vector<std::string>& services, bool quiet, const std::string& format) {
    auto target = load_target(services);
    container::Engine e(ctx.paths());
    std::vector<ojson> items;
    for (auto& pc : project_containers(e, target, services)) {
        auto img = e.images().find(pc.c.image_id);
        std::string repo = pc.c.config.image, tag = "latest";
        if (auto colon = repo.rfind(':'); colon != std::string::npos && repo.find('/', colon) == std::string::npos) {
            tag = repo.substr(colon + 1);
            repo = repo.substr(0, colon);
        }
        std::string id = pc.c.image_id.rfind("sha256:", 0) == 0 ? pc.c.image_id.substr(7) : pc.c.image_id;
        items.push_back({{"ContainerName", pc.c.name},
                         {"Repository", repo},
                         {"Tag", tag},
                         {"ID", quiet ? id : id.substr(0, 12)},
                         {"Size", img ? str::human_size(img->size) : "0B"}});
    }
    if (quiet) {
        std::set<std::string> ids;
        for (auto& i : items) ids.insert(i["ID"].get<std::string>());
        for (auto& id : ids) std::cout << id << "\n";
        return;
    }
    ListFormat spec;
    spec.default_table = "table {{.ContainerName}}\t{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}";
    spec.headers = {{"ContainerName", "CONTAINER"}, {"Repository", "REPOSITORY"}, {"Tag", "TAG"}, {"ID", "IMAGE ID"}, {"Size", "SIZE"}};
    print_list(items, format, spec);
}

void run_top(Context& ctx, const std::vector<std::string>& services) {
    auto target = load_target(services);
    container::Engine e(ctx.paths());
    bool first = true;
    for (auto& pc : project_containers(e, target, services)) {
        if (!pc.st.running()) continue;
        if (!first) std::cout << "\n";
        first = false;
        std::cout << pc.c.name << "\n";
        Table t;
        t.add({"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"});
        for (auto& r : e.top(pc.c.id)) t.add({r.uid, r.pid, r.ppid, r.c, r.stime, r.tty, r.time, r.cmd});
        std::cout << t.str();
    }
}

void run_port(Context& ctx, const std::string& service, const std::string& port, const std::string& protocol, int index) {
    auto target = load_target({service});
    container::Engine e(ctx.paths());
    auto cs = project_containers(e, target, {service});
    std::string want = port.find('/') == std::string::npos ? port + "/" + protocol : port;
    for (auto& pc : cs) {
        if (pc.number != (index > 0 ? index : 1)) continue;
        auto ns = e.records().network_state(pc.c.id);
        if (ns)
            for (auto& p : ns->ports)
                if (p.container_port == want) {
                    std::cout << p.host_ip << ":" << p.host_port << "\n";
                    return;
                }
        throw Error(Errc::not_found, "no port " + want + " for container " + pc.c.name);
    }
    throw Error(Errc::not_found, "service \"" + service + "\" is not running");
}

Registrar reg(63, {"compose"}, [](CLI::App& app, Context& ctx) {
    auto* group = compose_app(app);

    static PsFlags ps;
    auto* p = group->add_subcommand("ps", "List containers");
    p->add_flag("-a,--all", ps.all, "Show all stopped containers (including those created by the run command)");
    p->add_flag("-q,--quiet", ps.quiet, "Only display IDs");
    p->add_flag("--services", ps.services, "Display services");
    p->add_option("--status", ps.status, "Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]")
        ->allow_extra_args(false);
    p->add_option("--filter", ps.filters, "Filter services by a property (supported filters: status)")->allow_extra_args(false);
    p->add_flag("--no-trunc", ps.no_trunc, "Don't truncate output");
    p->add_flag("--orphans,!--no-orphans", ps.orphans, "Include orphaned services (not declared by project)");
    add_format_flag(p, ps.format);
    p->add_option("service", ps.names, "Services");
    p->callback([&ctx] { run_ps(ctx, ps); });

    static LogsFlags logs;
    auto* l = group->add_subcommand("logs", "View output from containers");
    l->add_flag("-f,--follow", logs.follow, "Follow log output");
    l->add_flag("-t,--timestamps", logs.timestamps, "Show timestamps");
    l->add_flag("--no-log-prefix", logs.no_prefix, "Don't print prefix in logs");
    l->add_flag("--no-color", logs.no_color, "Produce monochrome output");
    l->add_option("-n,--tail", logs.tail, "Number of lines to show from the end of the logs for each container");
    l->add_option("--since", logs.since, "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)");
    l->add_option("--until", logs.until, "Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)");
    l->add_option("--index", logs.index, "index of the container if service has multiple replicas");
    l->add_option("service", logs.services, "Services");
    l->callback([&ctx] { run_logs(ctx, logs); });

    static LsFlags ls;
    auto* lsc = group->add_subcommand("ls", "List running compose projects");
    lsc->add_flag("-a,--all", ls.all, "Show all stopped Compose projects");
    lsc->add_flag("-q,--quiet", ls.quiet, "Only display project names");
    lsc->add_option("--filter", ls.filters, "Filter output based on conditions provided")->allow_extra_args(false);
    add_format_flag(lsc, ls.format);
    lsc->callback([&ctx] { run_ls(ctx, ls); });

    static std::vector<std::string> img_services;
    static bool img_quiet = false;
    static std::string img_format;
    auto* im = group->add_subcommand("images", "List images used by the created containers");
    im->add_flag("-q,--quiet", img_quiet, "Only display IDs");
    add_format_flag(im, img_format);
    im->add_option("service", img_services, "Services");
    im->callback([&ctx] { run_images(ctx, img_services, img_quiet, img_format); });

    static std::vector<std::string> top_services;
    auto* tp = group->add_subcommand("top", "Display the running processes");
    tp->add_option("service", top_services, "Services");
    tp->callback([&ctx] { run_top(ctx, top_services); });

    static std::string port_service, port_port, port_proto = "tcp";
    static int port_index = 0;
    auto* pt = group->add_subcommand("port", "Print the public port for a port binding");
    pt->add_option("--protocol", port_proto, "tcp or udp");
    pt->add_option("--index", port_index, "Index of the container if service has multiple replicas");
    pt->add_option("service", port_service, "Service")->required();
    pt->add_option("private_port", port_port, "Private port")->required();
    pt->callback([&ctx] { run_port(ctx, port_service, port_port, port_proto, port_index); });
});

}  // namespace
}  // namespace berth::cli
