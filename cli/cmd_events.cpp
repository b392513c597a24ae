// berth events / system events, and compose events: the root's event log (sys/event_log.hpp)
// replayed (--since/--until) and followed live, filtered and formatted as Docker does.
#include <algorithm>
#include <iostream>

#include "cli/compose_common.hpp"
#include "cli/compose_ops.hpp"
#include "cli/output.hpp"
#include "container/events.hpp"
#include "sys/error.hpp"
#include "sys/event_log.hpp"
#include "sys/json.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"

namespace berth::cli {
namespace {

struct Window {
    std::optional<std::int64_t> since, until;
};

// Docker's --since/--until (durations before now, unix timestamps, dates; pkg/timestamp).
Window parse_window(const std::string& since, const std::string& until) {
    Window w;
    auto now = sys::now_ns();
    std::vector<std::string> problems;
    for (auto [flag, text, out] : {std::tuple{"since", &since, &w.since}, std::tuple{"until", &until, &w.until}}) {
        if (text->empty()) continue;
        *out = sys::parse_time_or_duration(*text, now);
        if (!*out) problems.push_back("invalid value for \"" + std::string(flag) + "\": failed to parse value as time or duration: \"" + *text + "\"");
    }
    if (!problems.empty()) throw Error(Errc::invalid, str::join(problems, "\n"));
    return w;
}

// As the daemon serves a subscription: with --since or --until, the stored events in that window
// first; then, unless --until has passed, new events as they come until --until.
void stream(Context& ctx, const Window& w, const std::function<void(const sys::Event&)>& out) {
    bool replay = w.since || w.until;
    bool follow = !w.until || *w.until > sys::now_ns();
    sys::read_events(ctx.paths().root, replay, follow, w.until.value_or(0), [&](const sys::Event& e) {
        if (w.since && e.time_ns < *w.since) return true;
        if (w.until && e.time_ns > *w.until) return true;
        out(e);
        return true;
    });
}

// What a --format template sees: Docker's events.Message by its Go field names.
ojson template_data(const sys::Event& e) {
    ojson attrs = ojson::object();
    for (auto& [k, v] : e.attrs) attrs[k] = v;
    bool legacy = e.type == "container" || e.type == "image";
    auto image = e.attrs.find("image");
    return ojson{{"Status", legacy ? e.action : ""},
                 {"ID", legacy ? e.id : ""},
                 {"From", e.type == "container" && image != e.attrs.end() ? image->second : ""},
                 {"Type", e.type},
                 {"Action", e.action},
                 {"Actor", {{"ID", e.id}, {"Attributes", attrs}}},
                 {"Scope", "local"},
                 {"Time", e.time_ns / 1'000'000'000},
                 {"TimeNano", e.time_ns}};
}

struct EventsFlags {
    std::string since, until, format;
    std::vector<std::string> filters;
};

void run_events(Context& ctx, const EventsFlags& f) {
    auto filter = container::EventFilter::parse(f.filters);
    auto w = parse_window(f.since, f.until);
    // "json" is docker/cli's {{json .}}: the message as the daemon sent it (its JSON names).
    bool as_json = f.format == "json" || f.format == "{{json .}}";
    std::optional<Template> tmpl;
    if (!f.format.empty() && !as_json) tmpl.emplace(f.format);
    stream(ctx, w, [&](const sys::Event& e) {
        if (!filter.match(e)) return;
        std::string line = as_json ? sys::encode_event(e) : tmpl ? tmpl->render(template_data(e)) : container::event_line(e);
        std::cout << line << "\n" << std::flush;
    });
}

void add_events(CLI::App* parent, Context& ctx) {
    auto f = std::make_shared<EventsFlags>();
    auto* cmd = parent->add_subcommand("events", "Get real time events from the server");
    cmd->add_option("-f,--filter", f->filters, "Filter output based on conditions provided")->allow_extra_args(false);
    add_format_flag(cmd, f->format,
                    "Format output using a custom template: 'json': Print in JSON format, 'TEMPLATE': Print output "
                    "using the given Go template");
    cmd->add_option("--since", f->since, "Show all events created since timestamp");
    cmd->add_option("--until", f->until, "Stream events until this timestamp");
    cmd->callback([f, &ctx] { run_events(ctx, *f); });
}

Registrar reg(91, {"events", "system"}, [](CLI::App& app, Context& ctx) {
    add_events(&app, ctx);
    add_events(system_group(app), ctx);
});

// docker compose events: the project's container events (not one-offs'), as Compose prints them.
struct ComposeEventsFlags {
    bool json = false;
    std::string since, until;
    std::vector<std::string> services;
};

void run_compose_events(Context& ctx, const ComposeEventsFlags& f) {
    auto target = load_target(f.services);
    auto w = parse_window(f.since, f.until);
    container::EventFilter filter;
    filter.add("type", "container");
    filter.add("label", "com.docker.compose.project=" + target.name);
    stream(ctx, w, [&](const sys::Event& e) {
        if (!filter.match(e)) return;
        auto attr = [&](const char* k) {
            auto it = e.attrs.find(k);
            return it == e.attrs.end() ? std::string() : it->second;
        };
        if (attr("com.docker.compose.oneoff") == "True") return;
        if (!f.services.empty() &&
            std::find(f.services.begin(), f.services.end(), attr("com.docker.compose.service")) == f.services.end())
            return;
        std::cout << container::compose_event_line(e, f.json) << "\n" << std::flush;
    });
}

Registrar compose_reg(65, {"compose"}, [](CLI::App& app, Context& ctx) {
    static ComposeEventsFlags f;
    auto* cmd = compose_app(app)->add_subcommand("events", "Receive real time events from containers");
    cmd->add_flag("--json", f.json, "Output events as a stream of json objects");
    cmd->add_option("--since", f.since, "Show all events created since timestamp");
    cmd->add_option("--until", f.until, "Stream events until this timestamp");
    cmd->add_option("service", f.services, "Services");
    cmd->callback([&ctx] { run_compose_events(ctx, f); });
});

}  // namespace
}  // namespace berth::cli
