// berth logs / container logs.
#include <iostream>

#include "cli/container_group.hpp"
#include "container/engine.hpp"
#include "sys/error.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"

namespace berth::cli {
namespace {

void add_logs(CLI::App* parent, Context& ctx) {
    struct Args {
        bool follow = false, timestamps = false, details = false;
        std::string tail = "all", since, until, name;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = parent->add_subcommand("logs", "Fetch the logs of a container");
    cmd->add_flag("-f,--follow", a->follow, "Follow log output");
    cmd->add_flag("-t,--timestamps", a->timestamps, "Show timestamps");
    cmd->add_flag("--details", a->details, "Show extra details provided to logs");
    cmd->add_option("-n,--tail", a->tail, "Number of lines to show from the end of the logs (default \"all\")");
    cmd->add_option("--since", a->since, "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\")");
    cmd->add_option("--until", a->until, "Show logs before a timestamp or relative");
    cmd->add_option("CONTAINER", a->name)->required();
    cmd->callback([a, &ctx] {
        container::Engine engine(ctx.paths());
        container::LogOptions o;
        o.follow = a->follow;
        o.timestamps = a->timestamps;
        auto now = sys::now_ns();
        if (a->tail != "all" && !a->tail.empty()) {
            auto n = str::parse_int(a->tail);
            if (!n) throw Error(Errc::invalid, "invalid value for \"tail\": \"" + a->tail + "\"");
            if (*n >= 0) o.tail = *n;
        }
        if (!a->since.empty()) {
            o.since = sys::parse_time_or_duration(a->since, now);
            if (!o.since) throw Error(Errc::invalid, "invalid value for \"since\": \"" + a->since + "\"");
        }
        if (!a->until.empty()) {
            o.until = sys::parse_time_or_duration(a->until, now);
            if (!o.until) throw Error(Errc::invalid, "invalid value for \"until\": \"" + a->until + "\"");
        }
        engine.logs(a->name, o, [&](int stream, std::int64_t t, std::string_view line) {
            auto& os = stream == 2 ? std::cerr : std::cout;
            if (a->timestamps) os << sys::format_rfc3339_nano(t) << " ";
            os << line;
            os.flush();
        });
    });
}

Registrar reg(23, {"logs", "container"}, [](CLI::App& app, Context& ctx) {
    add_logs(&app, ctx);
    add_logs(container_group(app), ctx);
});

}  // namespace
}  // namespace berth::cli
