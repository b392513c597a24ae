#include "cli/compose_ops.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "build/build.hpp"
#include "cli/image_pull.hpp"
#include "cli/progress.hpp"
#include "compose/transform.hpp"
#include "sys/error.hpp"
#include "sys/strings.hpp"

namespace berth::cli {

ComposeTarget load_target(const std::vector<std::string>& services) {
    ComposeTarget t;
    try {
        auto loaded = load_compose_project(services);
        t.name = loaded.project.name;
        t.project = std::move(loaded.project);
        for (auto& s : services)
            if (!t.project->services.count(s)) throw Error(Errc::invalid, "no such service: " + s);
        return t;
    } catch (const Error& e) {
        std::string name = compose_flags().project_name;
        if (name.empty())
            if (const char* env = std::getenv("COMPOSE_PROJECT_NAME")) name = env;
        bool no_file = std::string(e.what()).find("no configuration file provided") != std::string::npos;
        if (name.empty() || !no_file || !compose_flags().files.empty()) throw;
        t.name = name;
        return t;
    }
}

std::vector<ProjectContainer> project_containers(container::Engine& e, const ComposeTarget& t,
                                                 const std::vector<std::string>& services, bool oneoff) {
    std::vector<ProjectContainer> out;
    for (auto& c : e.records().list()) {
        auto& l = c.config.labels;
        auto get = [&](const char* k) {
            auto it = l.find(k);
            return it == l.end() ? std::string() : it->second;
        };
        if (get(compose::labels::project) != t.name) continue;
        if (!oneoff && get(compose::labels::oneoff) == "True") continue;
        std::string svc = get(compose::labels::service);
        if (!services.empty() && std::find(services.begin(), services.end(), svc) == services.end()) continue;
        ProjectContainer pc;
        pc.st = e.state(c);
        pc.service = svc;
        pc.number = static_cast<int>(str::parse_int(get(compose::labels::container_number)).value_or(0));
        pc.c = std::move(c);
        out.push_back(std::move(pc));
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.c.name < b.c.name; });
    return out;
}

std::string short_name(const std::string& project, const std::string& name) {
    if (name.rfind(project + "-", 0) == 0) return name.substr(project.size() + 1);
    return name;
}

void build_service(Context& ctx, const compose::Project& project, const compose::Service& svc, const std::string& image,
                   const ServiceBuildFlags& flags) {
    const auto& b = *svc.build;
    if (compose::is_remote_context(b.context))
        throw Error(Errc::unsupported, "service \"" + svc.name + "\": build context " + b.context +
                                           " is a URL or git repository; berth builds from local directories only");
    build::BuildOptions bo;
    bo.context = b.context;
    if (!b.dockerfile_inline.empty()) bo.dockerfile_inline = b.dockerfile_inline;
    else if (!b.dockerfile.empty())
        bo.dockerfile = std::filesystem::path(b.dockerfile).is_absolute() ? std::filesystem::path(b.dockerfile)
                                                                          : std::filesystem::path(b.context) / b.dockerfile;
    // Compose: the service's args, then --build-arg over them; names without a value take the
    // project environment's (OS + .env), and are left out when it has none.
    auto args = b.args;
    for (auto& [k, v] : flags.args) args[k] = v;
    for (auto& [k, v] : args) {
        if (v) {
            bo.args[k] = *v;
        } else if (auto it = project.environment.find(k); it != project.environment.end()) {
            bo.args[k] = it->second;
        }
    }
    bo.target = b.target;
    bo.tags = {image};
    bo.tags.insert(bo.tags.end(), b.tags.begin(), b.tags.end());
    bo.labels = b.labels;
    bo.labels[compose::labels::version] = BERTH_VERSION;
    bo.labels[compose::labels::project] = project.name;
    bo.labels[compose::labels::service] = svc.name;
    bo.no_cache = flags.no_cache || b.no_cache.value_or(false);
    if (!b.network.empty()) bo.network = b.network;
    bool quiet = flags.quiet || progress_quiet();
    if (!quiet) bo.progress = [](std::string_view line) { std::cerr << line << "\n" << std::flush; };
    container::Engine engine(ctx.paths());
    bo.pull = flags.pull || b.pull.value_or(false);
    bo.fetch = [&engine, quiet](const std::string& ref) { return pull_for_build(engine.images(), ref, quiet); };
    auto r = build::build(engine, bo);
    for (auto& w : r.warnings) std::cerr << "service \"" << svc.name << "\": " << w << "\n";
}

}  // namespace berth::cli

#include <unistd.h>

#include <mutex>
#include <thread>

#include "sys/time.hpp"

namespace berth::cli {

bool use_color() {
    auto a = ansi_mode();
    const char* no_color = std::getenv("NO_COLOR");
    if (a == "never" || (no_color && *no_color)) return false;
    if (a == "always") return true;
    return ::isatty(STDOUT_FILENO);
}

std::string log_prefix(const std::string& name, size_t width, size_t index, bool color) {
    static const char* colors[] = {"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"};
    std::string prefix = name;
    if (prefix.size() < width) prefix.resize(width, ' ');
    prefix += "  | ";
    return color ? std::string("\033[") + colors[index % 10] + "m" + prefix + "\033[0m" : prefix;
}

void stream_logs(const store::Paths& paths, const std::string& project, const std::vector<ProjectContainer>& cs,
                 const container::LogOptions& opts, const LogStyle& style,
                 const std::function<void(const ProjectContainer&)>& on_end) {
    size_t width = style.min_width;
    for (auto& pc : cs) width = std::max(width, short_name(project, pc.c.name).size());
    std::mutex mu;
    auto one = [&](const ProjectContainer& pc, size_t index) {
        std::string prefix;
        if (style.prefix) prefix = log_prefix(short_name(project, pc.c.name), width, index, style.color);
        container::Engine e(paths);
        try {
            e.logs(pc.c.id, opts, [&](int stream, std::int64_t t, std::string_view line) {
                std::lock_guard<std::mutex> g(mu);
                std::string out = prefix;
                if (style.timestamps) out += sys::format_rfc3339_nano(t) + " ";
                out += line;
                if (out.empty() || out.back() != '\n') out += '\n';
                std::cout << out << std::flush;
            });
        } catch (const std::exception& ex) {
            std::lock_guard<std::mutex> g(mu);
            std::cerr << pc.c.name << ": " << ex.what() << "\n";
        }
        if (on_end) {
            std::lock_guard<std::mutex> g(mu);
            on_end(pc);
        }
    };
    if (!opts.follow) {
        for (size_t i = 0; i < cs.size(); ++i) one(cs[i], i);
        return;
    }
    std::vector<std::thread> threads;
    for (size_t i = 0; i < cs.size(); ++i) threads.emplace_back(one, std::cref(cs[i]), i);
    for (auto& t : threads) t.join();
}

}  // namespace berth::cli
