// berth compose up / create / down: observe, plan, execute (compose/plan.hpp).
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "cli/compose_ops.hpp"
#include "cli/hook_output.hpp"
#include "cli/progress.hpp"
#include "cli/image_pull.hpp"
#include "compose/executor.hpp"
#include "compose/graph.hpp"
#include "network/dns.hpp"
#include "sys/error.hpp"
#include "sys/strings.hpp"

namespace berth::cli {
namespace {

struct UpFlags {
    bool detach = false, wait = false, force_recreate = false, no_recreate = false, no_deps = false,
         remove_orphans = false, build = false, no_build = false, no_start = false, abort_on_exit = false,
         quiet_pull = false, yes = false, timestamps = false, no_log_prefix = false, no_color = false,
         always_recreate_deps = false, renew_anon_volumes = false, no_attach_deps = false, menu = false;
    int wait_timeout = 0;
    int timeout = -1;
    std::string pull = "policy", exit_code_from;
    std::vector<std::string> scale, services, attach, no_attach;
};

compose::UpOptions up_options(const UpFlags& f) {
    compose::UpOptions o;
    o.services = f.services;
    o.no_deps = f.no_deps;
    o.force_recreate = f.force_recreate;
    o.no_recreate = f.no_recreate;
    o.remove_orphans = f.remove_orphans;
    o.build = f.build;
    o.no_build = f.no_build;
    o.no_start = f.no_start;
    o.wait = f.wait;
    o.renew_anon_volumes = f.renew_anon_volumes;
    if (f.pull != "policy") {
        if (f.pull != "always" && f.pull != "missing" && f.pull != "never")
            throw Error(Errc::invalid, "invalid --pull \"" + f.pull + "\": must be \"always\", \"missing\", \"never\" or \"policy\"");
        o.pull = f.pull;
    }
    if (f.timeout >= 0) o.timeout = f.timeout;
    o.version = BERTH_VERSION;
    for (auto& s : f.scale) {
        auto [svc, n] = str::split_once(s, '=');
        auto num = n ? str::parse_int(*n) : std::nullopt;
        if (!num) throw Error(Errc::invalid, "invalid --scale value \"" + s + "\": expected SERVICE=NUM");
        o.scale[svc] = static_cast<int>(*num);
    }
    return o;
}

void print_plan(const compose::Plan& plan) {
    for (auto& w : plan.warnings) std::cerr << "WARN[0000] " << w << "\n";
    std::string t = plan.text();
    std::cout << (t.empty() ? "nothing to do\n" : t);
}

// Stops every container of the project (in parallel), as Compose does on Ctrl-C.
void stop_all(const store::Paths& paths, const ComposeTarget& t, std::optional<int> timeout) {
    container::Engine e(paths);
    auto cs = project_containers(e, t, {});
    std::vector<std::thread> threads;
    ProgressScope progress("Stopping");
    std::vector<std::string> errors;
    std::mutex mu;
    for (auto& pc : cs) {
        if (!pc.st.running()) continue;
        threads.emplace_back([&, id = pc.c.id, name = pc.c.name] {
            try {
                container::Engine e2(paths);
                progress.say("Container " + name, "Stopping");
                e2.stop(id, timeout);
                progress.say("Container " + name, "Stopped");
            } catch (const std::exception& ex) {
                progress.say("Container " + name, "Error");
                std::lock_guard<std::mutex> g(mu);
                errors.push_back(name + ": " + ex.what());
            }
        });
    }
    for (auto& th : threads) th.join();
    progress->finish();
    for (auto& err : errors) std::cerr << err << "\n";
}

void run_up(Context& ctx, UpFlags& f) {
    if (f.detach && f.abort_on_exit) throw Error(Errc::invalid, "--abort-on-container-exit and --detach are incompatible");
    if (f.no_recreate && f.force_recreate) throw Error(Errc::invalid, "--force-recreate and --no-recreate are incompatible");
    if (f.build && f.no_build) throw Error(Errc::invalid, "--build and --no-build are incompatible");
    if (f.wait) f.detach = true;  // Compose: --wait implies --detach
    if (!f.exit_code_from.empty()) f.abort_on_exit = true;

    auto target = load_target(f.services);
    if (!target.project) throw Error(Errc::invalid, "no configuration file provided: not found");
    auto& project = *target.project;
    auto opts = up_options(f);
    if (!f.exit_code_from.empty() && !project.services.count(f.exit_code_from))
        throw Error(Errc::invalid, "no such service: " + f.exit_code_from);
    auto observed = compose::observe(ctx.paths(), project.name, &project);
    auto plan = compose::plan_up(project, observed, opts);
    if (compose_flags().dry_run) {
        print_plan(plan);
        return;
    }
    for (auto& w : plan.warnings) std::cerr << "WARN[0000] " << w << "\n";

    // Attached: SIGINT/SIGTERM are taken by one thread (blocked before any thread exists, so
    // every thread inherits the mask); the first stops the stack, the second exits at once.
    // SIGUSR1 is our own wake-up at the end.
    bool attached = !f.detach && !f.no_start;
    std::atomic<bool> interrupted{false}, stopping{false}, done{false};
    std::mutex stop_mu;
    std::thread stopper;
    auto stop_stack = [&] {
        std::lock_guard<std::mutex> g(stop_mu);
        if (stopping.exchange(true)) return;
        stopper = std::thread([&] { stop_all(ctx.paths(), target, opts.timeout); });
    };
    std::atomic<bool> logs_phase{false};
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGUSR1);
    std::thread waiter;
    if (attached) {
        pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
        waiter = std::thread([&] {
            for (;;) {
                int sig = 0;
                if (sigwait(&sigs, &sig) != 0 || done) return;
                if (sig == SIGUSR1) continue;
                if (interrupted) {
                    std::cerr << "Stopping forcefully\n";
                    std::_Exit(130);
                }
                std::cerr << "Gracefully stopping... (press Ctrl+C again to force)\n";
                interrupted = true;
                if (logs_phase) stop_stack();
            }
        });
    }
    auto end_waiter = [&] {
        if (!waiter.joinable()) return;
        done = true;
        pthread_kill(waiter.native_handle(), SIGUSR1);
        waiter.join();
        if (stopper.joinable()) stopper.join();
    };

    compose::ExecOptions eo;
    eo.parallel = compose_flags().parallel;
    if (f.wait_timeout > 0) eo.wait_timeout_ns = static_cast<std::int64_t>(f.wait_timeout) * 1'000'000'000;
    ProgressScope progress("Running");
    eo.progress = progress->sink();
    eo.cancel = &interrupted;
    // Attached, the hooks' output is shown as Compose shows it, under "<container> ->".
    std::optional<HookOutput> hook_out;
    if (attached) {
        std::set<std::string> names;
        for (auto& c : observed.containers)
            if (!c.oneoff) names.insert(short_name(project.name, c.name));
        for (auto& op : plan.ops)
            if (op.kind == compose::OpKind::create_container || op.kind == compose::OpKind::recreate_container)
                names.insert(short_name(project.name, op.target));
        hook_out.emplace(project.name, std::vector<std::string>(names.begin(), names.end()), !f.no_color && use_color());
        eo.hook_output = [&hook_out](const std::string& c, const std::string& line) { hook_out->print(c, line); };
    }
    // Image hooks: `build:` services go through engine/build (berth build), missing images are
    // pulled (engine/registry) as the executor reaches them, several at once.
    compose::ExecHooks hooks;
    hooks.build = [&ctx, &project](const compose::Service& svc, const std::string& image) { build_service(ctx, project, svc, image); };
    hooks.pull = [&ctx](const std::string& image) { pull_quietly(ctx.paths(), image); };
    try {
        compose::execute(ctx.paths(), &project, plan, eo, hooks);
    } catch (...) {
        progress->finish();
        if (hook_out) hook_out->release();
        if (interrupted) stop_stack();
        end_waiter();
        throw;
    }
    progress->finish();
    if (!attached) return;

    // Attached: prefixed logs of the targeted services until they all stop.
    container::Engine e(ctx.paths());
    std::vector<std::string> services = f.services;
    if (!services.empty() && !f.no_deps) services = compose::Graph(project).with_dependencies(services);
    auto cs = project_containers(e, target, services);
    std::atomic<int> exit_code{0};
    std::vector<std::string> names;
    for (auto& pc : cs) names.push_back(short_name(project.name, pc.c.name));
    std::cout << "Attaching to " << str::join(names, ", ") << "\n" << std::flush;
    if (hook_out) hook_out->release();
    logs_phase = true;
    if (interrupted) stop_stack();
    container::LogOptions lo;
    lo.follow = true;
    LogStyle style;
    style.prefix = !f.no_log_prefix;
    style.timestamps = f.timestamps;
    style.color = !f.no_color && use_color();
    if (hook_out) style.min_width = hook_out->width();
    // One-shot services others wait for (service_completed_successfully) end by design: their
    // successful exit does not abort the stack.
    std::set<std::string> one_shots;
    for (auto& [_, svc] : project.services)
        for (auto& [d, dep] : svc.depends_on)
            if (dep.condition == "service_completed_successfully") one_shots.insert(d);
    bool first_exit = true;
    stream_logs(ctx.paths(), project.name, cs, lo, style, [&](const ProjectContainer& pc) {
        container::Engine e2(ctx.paths());
        auto st = e2.records().state(pc.c.id);
        std::cout << short_name(project.name, pc.c.name) << " exited with code " << st.exit_code << "\n" << std::flush;
        if (!f.exit_code_from.empty() && pc.service == f.exit_code_from) exit_code = st.exit_code;
        if (stopping || (one_shots.count(pc.service) && st.exit_code == 0)) return;
        if (f.exit_code_from.empty() && f.abort_on_exit && first_exit) exit_code = st.exit_code;
        first_exit = false;
        if (f.abort_on_exit) {
            std::cout << "Aborting on container exit...\n" << std::flush;
            stop_stack();
        }
    });
    end_waiter();
    if (exit_code != 0) throw Exit{exit_code};
}

struct DownFlags {
    bool volumes = false, remove_orphans = false;
    int timeout = -1;
    std::string rmi;
    std::vector<std::string> services;
};

void run_down(Context& ctx, const DownFlags& f) {
    if (!f.rmi.empty() && f.rmi != "local" && f.rmi != "all")
        throw Error(Errc::invalid, "invalid value for --rmi: \"" + f.rmi + "\" (local or all)");
    auto target = load_target(f.services);
    compose::DownOptions o;
    o.volumes = f.volumes;
    o.remove_orphans = f.remove_orphans;
    o.rmi = f.rmi;
    if (f.timeout >= 0) o.timeout = f.timeout;
    o.services = f.services;
    auto observed = compose::observe(ctx.paths(), target.name, target.get());
    auto plan = compose::plan_down(target.get(), observed, o);
    if (compose_flags().dry_run) {
        print_plan(plan);
        return;
    }
    for (auto& w : plan.warnings) std::cerr << "WARN[0000] " << w << "\n";
    compose::ExecOptions eo;
    eo.parallel = compose_flags().parallel;
    ProgressScope progress("Running");
    eo.progress = progress->sink();
    // The removed containers' names stop answering together, once, before down returns.
    network::DnsNotifyBatch dns_batch(ctx.paths());
    compose::execute(ctx.paths(), target.get(), plan, eo);
}

void add_up_flags(CLI::App* cmd, UpFlags& f, bool create) {
    cmd->add_flag("--force-recreate", f.force_recreate, "Recreate containers even if their configuration and image haven't changed");
    cmd->add_flag("--no-recreate", f.no_recreate, "If containers already exist, don't recreate them");
    cmd->add_flag("--build", f.build, "Build images before starting containers");
    cmd->add_flag("--no-build", f.no_build, "Don't build an image, even if it's policy");
    cmd->add_option("--pull", f.pull, "Pull image before running (\"always\"|\"missing\"|\"never\")");
    cmd->add_flag("--quiet-pull", f.quiet_pull, "Pull without printing progress information");
    cmd->add_flag("--remove-orphans", f.remove_orphans, "Remove containers for services not defined in the Compose file");
    cmd->add_option("--scale", f.scale, "Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present.")
        ->allow_extra_args(false);
    cmd->add_flag("-y,--yes", f.yes, "Assume \"yes\" as answer to all prompts and run non-interactively");
    cmd->add_option("service", f.services, "Services");
    if (create) return;
    cmd->add_flag("-d,--detach", f.detach, "Detached mode: Run containers in the background");
    cmd->add_flag("--wait", f.wait, "Wait for services to be running|healthy. Implies detached mode.");
    cmd->add_option("--wait-timeout", f.wait_timeout, "Maximum duration in seconds to wait for the project to be running|healthy");
    cmd->add_flag("--no-deps", f.no_deps, "Don't start linked services");
    cmd->add_flag("--no-start", f.no_start, "Don't start the services after creating them");
    cmd->add_flag("--always-recreate-deps", f.always_recreate_deps, "Recreate dependent containers. Incompatible with --no-recreate.");
    cmd->add_flag("-V,--renew-anon-volumes", f.renew_anon_volumes, "Recreate anonymous volumes instead of retrieving data from the previous containers");
    cmd->add_option("-t,--timeout", f.timeout, "Use this timeout in seconds for container shutdown when attached or when containers are already running");
    cmd->add_flag("--abort-on-container-exit", f.abort_on_exit, "Stops all containers if any container was stopped. Incompatible with -d");
    cmd->add_option("--exit-code-from", f.exit_code_from, "Return the exit code of the selected service container. Implies --abort-on-container-exit");
    cmd->add_flag("--timestamps", f.timestamps, "Show timestamps");
    cmd->add_flag("--no-log-prefix", f.no_log_prefix, "Don't print prefix in logs");
    cmd->add_flag("--no-color", f.no_color, "Produce monochrome output");
    cmd->add_option("--attach", f.attach, "Restrict attaching to the specified services")->allow_extra_args(false);
    cmd->add_option("--no-attach", f.no_attach, "Do not attach (stream logs) to the specified services")->allow_extra_args(false);
    cmd->add_flag("--attach-dependencies", f.no_attach_deps, "Automatically attach to log output of dependent services");
    cmd->add_flag("--menu", f.menu, "Enable interactive shortcuts when running attached (not supported)");
}

Registrar reg(62, {"compose"}, [](CLI::App& app, Context& ctx) {
    auto* group = compose_app(app);
    static UpFlags up;
    auto* cmd = group->add_subcommand("up", "Create and start containers");
    add_up_flags(cmd, up, false);
    cmd->callback([&ctx] { run_up(ctx, up); });

    static UpFlags create;
    auto* cr = group->add_subcommand("create", "Creates containers for a service");
    add_up_flags(cr, create, true);
    cr->callback([&ctx] {
        create.no_start = true;
        create.detach = true;
        run_up(ctx, create);
    });

    static DownFlags down;
    auto* dn = group->add_subcommand("down", "Stop and remove containers, networks");
    dn->add_flag("-v,--volumes", down.volumes, "Remove named volumes declared in the \"volumes\" section of the Compose file and anonymous volumes attached to containers");
    dn->add_flag("--remove-orphans", down.remove_orphans, "Remove containers for services not defined in the Compose file");
    dn->add_option("--rmi", down.rmi, "Remove images used by services. \"local\" remove only images that don't have a custom tag (\"local\"|\"all\")");
    dn->add_option("-t,--timeout", down.timeout, "Specify a shutdown timeout in seconds");
    dn->add_option("service", down.services, "Services");
    dn->callback([&ctx] { run_down(ctx, down); });
});

}  // namespace
}  // namespace berth::cli
