// berth compose start / stop / restart / kill / rm / pause / unpause / exec / run.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli/compose_ops.hpp"
#include "cli/image_pull.hpp"
#include "cli/progress.hpp"
#include "compose/graph.hpp"
#include "container/parse.hpp"
#include "runtime/container_init.hpp"
#include "runtime/pty.hpp"
#include "sys/error.hpp"
#include "sys/random.hpp"
#include "sys/strings.hpp"

namespace berth::cli {
namespace {

// The containers in dependency order (dependencies first); reverse for stop.
std::vector<ProjectContainer> ordered(container::Engine& e, const ComposeTarget& t, const std::vector<std::string>& services,
                                      bool reverse) {
    auto cs = project_containers(e, t, services);
    if (!t.project) return cs;
    std::map<std::string, size_t> rank;
    size_t r = 0;
    for (auto& level : compose::Graph(*t.project).levels())
        for (auto& s : level) rank[s] = r++;
    std::stable_sort(cs.begin(), cs.end(), [&](auto& a, auto& b) {
        size_t ra = rank.count(a.service) ? rank[a.service] : r, rb = rank.count(b.service) ? rank[b.service] : r;
        return reverse ? ra > rb : ra < rb;
    });
    return cs;
}

// hooks: the service's lifecycle hooks run with fn, pre_stop before it, post_start after it.
// title: the progress block's ("[+] Stopping 2/2").
void each(Context& ctx, const std::vector<std::string>& services, bool reverse, const char* title, const char* doing,
          const char* done, const std::function<bool(const ProjectContainer&)>& applies,
          const std::function<void(container::Engine&, const ProjectContainer&)>& fn,
          std::optional<compose::HookPhase> hooks = std::nullopt) {
    auto target = load_target(services);
    container::Engine e(ctx.paths());
    ProgressScope progress(title);
    std::vector<std::string> errors;
    for (auto& pc : ordered(e, target, services, reverse)) {
        if (!applies(pc)) continue;
        progress.say("Container " + pc.c.name, doing);
        try {
            const compose::Service* svc = hooks && target.project ? target.project->find_service(pc.service) : nullptr;
            if (svc && *hooks == compose::HookPhase::pre_stop) compose::run_hooks(e, *svc, pc.c.id, *hooks);
            fn(e, pc);
            if (svc && *hooks == compose::HookPhase::post_start) compose::run_hooks(e, *svc, pc.c.id, *hooks);
            progress.say("Container " + pc.c.name, done);
        } catch (const std::exception& ex) {
            progress.say("Container " + pc.c.name, "Error");
            errors.push_back("service \"" + pc.service + "\": " + ex.what());
        }
    }
    progress->finish();
    if (!errors.empty()) throw Error(Errc::failed, str::join(errors, "\n"));
}

struct ExecFlags {
    bool no_tty = false, detach = false, privileged = false, interactive = true, tty = true;
    std::vector<std::string> env;
    std::string user, workdir;
    int index = 0;
};

void run_exec(Context& ctx, CLI::App* cmd, const ExecFlags& f) {
    auto rest = cmd->remaining();
    reject_leading_flag(rest, "compose exec");
    if (rest.size() < 2) throw CLI::ValidationError("compose exec requires at least 2 arguments: SERVICE COMMAND [ARGS...]");
    std::string service = rest.front();
    auto target = load_target({service});
    container::Engine e(ctx.paths());
    int index = f.index > 0 ? f.index : 1;
    std::optional<ProjectContainer> found;
    for (auto& pc : project_containers(e, target, {service}))
        if (pc.number == index && pc.st.running()) found = pc;
    if (!found) throw Error(Errc::not_found, "service \"" + service + "\" is not running");
    container::ExecRequest r;
    r.cmd.assign(rest.begin() + 1, rest.end());
    auto lookup = [](const std::string& k) -> std::optional<std::string> {
        if (const char* v = std::getenv(k.c_str())) return std::string(v);
        return std::nullopt;
    };
    for (auto& kv : f.env)
        if (auto v = container::parse_env_flag(kv, lookup)) r.env.push_back(*v);
    r.user = f.user;
    r.working_dir = f.workdir;
    r.tty = !f.no_tty && ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
    r.interactive = f.interactive && !f.detach;
    r.detach = f.detach;
    r.privileged = f.privileged;
    try {
        std::optional<runtime::RawTerminal> raw;
        if (r.tty) raw.emplace(STDIN_FILENO);
        int code = e.exec(found->c.id, r);
        if (code != 0) throw Exit{code};
    } catch (const runtime::StartError& ex) {
        std::cerr << "Error: exec failed: " << ex.what() << "\n";
        throw Exit{ex.exit_code()};
    }
}

struct RunFlags {
    bool rm = false, detach = false, no_deps = false, no_tty = false, service_ports = false, interactive = true,
         tty = true, build = false, quiet_pull = false, remove_orphans = false, use_aliases = false;
    std::vector<std::string> env, publish, volumes, labels;
    std::string name, user, workdir, entrypoint;
    CLI::Option* entrypoint_opt = nullptr;
};

void run_run(Context& ctx, CLI::App* cmd, const RunFlags& f) {
    auto rest = cmd->remaining();
    reject_leading_flag(rest, "compose run");
    if (rest.empty()) throw CLI::ValidationError("compose run requires at least 1 argument: SERVICE [COMMAND] [ARGS...]");
    std::string service = rest.front();
    std::vector<std::string> command(rest.begin() + 1, rest.end());
    auto target = load_target({service});
    if (!target.project) throw Error(Errc::invalid, "no configuration file provided: not found");
    auto& project = *target.project;
    auto& svc = project.services.at(service);

    // Dependencies first, as `up` would start them.
    compose::UpOptions uo;
    uo.version = BERTH_VERSION;
    auto deps = compose::Graph(project).with_dependencies({service});
    std::erase(deps, service);
    auto observed = compose::observe(ctx.paths(), project.name, &project);
    if (!f.no_deps && !deps.empty()) {
        uo.services = deps;
        auto plan = compose::plan_up(project, observed, uo);
        compose::ExecOptions eo;
        ProgressScope progress("Running");
        eo.progress = progress->sink();
        compose::ExecHooks hooks;
        hooks.pull = [&ctx](const std::string& image) { pull_quietly(ctx.paths(), image); };
        compose::execute(ctx.paths(), &project, plan, eo, hooks);
        observed = compose::observe(ctx.paths(), project.name, &project);
    } else {
        // The networks and volumes still have to exist.
        uo.services = {service};
        uo.no_deps = true;
        uo.no_start = true;
        auto plan = compose::plan_up(project, observed, uo);
        std::erase_if(plan.ops, [](auto& op) { return op.kind != compose::OpKind::create_network && op.kind != compose::OpKind::create_volume; });
        compose::ExecOptions eo;
        ProgressScope progress("Running");
        eo.progress = progress->sink();
        compose::execute(ctx.paths(), &project, plan, eo);
    }

    // The service's own image is pulled when missing, as Compose's run does.
    if (!observed.images.count(project.image_name(svc)) && !svc.build && svc.pull_policy != "never")
        observed.images[project.image_name(svc)] = pull_quietly(ctx.paths(), project.image_name(svc));
    std::vector<std::string> problems;
    std::string image_id;
    if (auto it = observed.images.find(project.image_name(svc)); it != observed.images.end()) image_id = it->second;
    auto req = compose::container_request(project, svc, 1, uo, image_id, problems);
    if (!problems.empty()) throw Error(Errc::invalid, str::join(problems, "\n"));
    req.name = !f.name.empty() ? f.name : project.name + "-" + service + "-run-" + sys::random_hex(12);
    req.labels[compose::labels::oneoff] = "True";
    req.labels.erase(compose::labels::container_number);
    if (!f.use_aliases)
        for (auto& [_, ep] : req.endpoints) std::erase(ep.aliases, service);
    if (!f.service_ports) req.host.port_bindings.clear();
    if (!f.publish.empty()) req.host.port_bindings = container::port_bindings_from_flags(f.publish);
    if (!command.empty()) req.cmd = command;
    if (f.entrypoint_opt && f.entrypoint_opt->count())
        req.entrypoint = f.entrypoint.empty() ? std::vector<std::string>{} : str::split(f.entrypoint, ' ');
    auto lookup = [](const std::string& k) -> std::optional<std::string> {
        if (const char* v = std::getenv(k.c_str())) return std::string(v);
        return std::nullopt;
    };
    for (auto& kv : f.env)
        if (auto v = container::parse_env_flag(kv, lookup)) req.env.push_back(*v);
    for (auto& l : f.labels) {
        auto [k, v] = container::parse_label(l);
        req.labels[k] = v;
    }
    for (auto& v : f.volumes) {
        auto m = container::parse_volume_flag(v);
        req.host.binds.push_back(v);
        req.host.mounts.push_back(m);
    }
    if (!f.user.empty()) req.user = f.user;
    if (!f.workdir.empty()) req.working_dir = f.workdir;
    req.host.auto_remove = f.rm;
    if (f.rm) req.host.restart_policy = "no";
    bool tty = !f.no_tty && !f.detach && ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
    req.tty = tty;
    req.open_stdin = f.interactive && !f.detach;
    req.attach_stdin = req.open_stdin;
    req.attach_stdout = req.attach_stderr = !f.detach;

    container::Engine e(ctx.paths());
    auto c = e.create(req);
    container::StartOptions so;
    if (!f.detach) {
        so.attach = true;
        so.attach_stdin = req.open_stdin;
        so.stdin_fd = req.open_stdin ? STDIN_FILENO : -1;
        so.tty = tty;
        so.on_output = [](int stream, std::string_view data) {
            auto& os = stream == 2 ? std::cerr : std::cout;
            os.write(data.data(), static_cast<std::streamsize>(data.size()));
            os.flush();
        };
    }
    try {
        std::optional<runtime::RawTerminal> raw;
        if (so.tty) raw.emplace(STDIN_FILENO);
        int code = e.start(c.id, so);
        if (f.detach) {
            std::cout << c.name << "\n";
            return;
        }
        if (code != 0) throw Exit{code};
    } catch (const runtime::StartError& ex) {
        std::cerr << "Error: service \"" << service << "\": failed to start container \"" << c.name << "\": " << ex.what() << "\n";
        throw Exit{ex.exit_code()};
    }
}

Registrar reg(64, {"compose"}, [](CLI::App& app, Context& ctx) {
    auto* group = compose_app(app);
    auto running = [](const ProjectContainer& pc) { return pc.st.running(); };
    auto any = [](const ProjectContainer&) { return true; };

    static std::vector<std::string> start_s;
    auto* st = group->add_subcommand("start", "Start services");
    st->add_option("service", start_s, "Services");
    st->callback([&ctx, running] {
        each(ctx, start_s, false, "Running", "Starting", "Started", [&](auto& pc) { return !running(pc); },
             [](auto& e, auto& pc) { e.start(pc.c.id); }, compose::HookPhase::post_start);
    });

    static std::vector<std::string> stop_s;
    static int stop_t = -1;
    auto* sp = group->add_subcommand("stop", "Stop services");
    sp->add_option("-t,--timeout", stop_t, "Specify a shutdown timeout in seconds");
    sp->add_option("service", stop_s, "Services");
    sp->callback([&ctx, running] {
        each(ctx, stop_s, true, "Stopping", "Stopping", "Stopped", running, [](auto& e, auto& pc) {
            e.stop(pc.c.id, stop_t >= 0 ? std::optional<int>(stop_t) : std::nullopt);
        }, compose::HookPhase::pre_stop);
    });

    static std::vector<std::string> restart_s;
    static int restart_t = -1;
    static bool restart_no_deps = false;
    auto* rs = group->add_subcommand("restart", "Restart service containers");
    rs->add_option("-t,--timeout", restart_t, "Specify a shutdown timeout in seconds");
    rs->add_flag("--no-deps", restart_no_deps, "Don't restart dependent services");
    rs->add_option("service", restart_s, "Services");
    rs->callback([&ctx, any] {
        each(ctx, restart_s, false, "Restarting", "Restarting", "Started", any, [](auto& e, auto& pc) {
            e.restart(pc.c.id, restart_t >= 0 ? std::optional<int>(restart_t) : std::nullopt);
        }, compose::HookPhase::post_start);
    });

    static std::vector<std::string> kill_s;
    static std::string kill_sig = "SIGKILL";
    static bool kill_orphans = false;
    auto* kl = group->add_subcommand("kill", "Force stop service containers");
    kl->add_option("-s,--signal", kill_sig, "SIGNAL to send to the container");
    kl->add_flag("--remove-orphans", kill_orphans, "Remove containers for services not defined in the Compose file");
    kl->add_option("service", kill_s, "Services");
    kl->callback([&ctx, running] {
        auto sig = container::parse_signal(kill_sig);
        if (!sig) throw Error(Errc::invalid, "invalid signal: " + kill_sig);
        each(ctx, kill_s, true, "Killing", "Killing", "Killed", running, [s = *sig](auto& e, auto& pc) { e.kill(pc.c.id, s); });
    });

    static std::vector<std::string> pause_s, unpause_s;
    auto* pa = group->add_subcommand("pause", "Pause services");
    pa->add_option("service", pause_s, "Services");
    pa->callback([&ctx] {
        each(ctx, pause_s, false, "Pausing", "Pausing", "Paused", [](auto& pc) { return pc.st.status == "running"; },
             [](auto& e, auto& pc) { e.pause(pc.c.id); });
    });
    auto* up = group->add_subcommand("unpause", "Unpause services");
    up->add_option("service", unpause_s, "Services");
    up->callback([&ctx] {
        each(ctx, unpause_s, false, "Unpausing", "Unpausing", "Unpaused", [](auto& pc) { return pc.st.status == "paused"; },
             [](auto& e, auto& pc) { e.unpause(pc.c.id); });
    });

    static std::vector<std::string> rm_s;
    static bool rm_force = false, rm_stop = false, rm_volumes = false;
    auto* rm = group->add_subcommand("rm", "Removes stopped service containers");
    rm->add_flag("-f,--force", rm_force, "Don't ask to confirm removal");
    rm->add_flag("-s,--stop", rm_stop, "Stop the containers, if required, before removing");
    rm->add_flag("-v,--volumes", rm_volumes, "Remove any anonymous volumes attached to containers");
    rm->add_option("service", rm_s, "Services");
    rm->callback([&ctx] {
        auto target = load_target(rm_s);
        container::Engine e(ctx.paths());
        std::vector<ProjectContainer> victims;
        for (auto& pc : ordered(e, target, rm_s, true)) {
            if (pc.st.running() && !rm_stop) continue;
            victims.push_back(pc);
        }
        if (victims.empty()) {
            std::cerr << "No stopped containers\n";
            return;
        }
        if (!rm_force) {
            std::vector<std::string> names;
            for (auto& pc : victims) names.push_back(pc.c.name);
            std::cerr << "Going to remove " << str::join(names, ", ") << "\n? Are you sure? [yN] " << std::flush;
            std::string answer;
            std::getline(std::cin, answer);
            if (answer != "y" && answer != "Y") return;
        }
        ProgressScope progress("Removing");
        for (auto& pc : victims) {
            if (pc.st.running()) {
                progress.say("Container " + pc.c.name, "Stopping");
                e.stop(pc.c.id);
                progress.say("Container " + pc.c.name, "Stopped");
            }
            progress.say("Container " + pc.c.name, "Removing");
            e.remove(pc.c.id, true, rm_volumes);
            progress.say("Container " + pc.c.name, "Removed");
        }
    });

    static bool version_short = false;
    static std::string version_format;
    auto* ver = group->add_subcommand("version", "Show the Docker Compose version information");
    ver->add_flag("--short", version_short, "Shows only Compose's version number");
    ver->add_option("-f,--format", version_format, "Format the output. Values: [pretty | json]");
    ver->callback([] {
        if (version_short) std::cout << BERTH_VERSION << "\n";
        else if (version_format == "json") std::cout << "{\"version\":\"" << BERTH_VERSION << "\"}\n";
        else std::cout << "berth compose version " << BERTH_VERSION << "\n";
    });

    // compose wait: blocks until the services' containers stop; the first exit code is returned.
    static std::vector<std::string> wait_s;
    static bool wait_down = false;
    auto* wt = group->add_subcommand("wait", "Block until containers of all (or specified) services stop.");
    wt->add_flag("--down-project", wait_down, "Drops project when the first container stops");
    wt->add_option("service", wait_s, "Services");
    wt->callback([&ctx] {
        auto target = load_target(wait_s);
        container::Engine e(ctx.paths());
        auto cs = project_containers(e, target, wait_s);
        if (cs.empty()) throw Error(Errc::not_found, "no containers for project \"" + target.name + "\"");
        int code = e.wait(cs.front().c.id);
        for (size_t i = 1; i < cs.size() && !wait_down; ++i) e.wait(cs[i].c.id);
        if (wait_down) {
            compose::DownOptions o;
            auto observed = compose::observe(ctx.paths(), target.name, target.get());
            compose::ExecOptions eo;
            ProgressScope progress("Running");
            eo.progress = progress->sink();
            compose::execute(ctx.paths(), target.get(), compose::plan_down(target.get(), observed, o), eo);
        }
        if (code != 0) throw Exit{code};
    });

    static ExecFlags ex;
    auto* exc = group->add_subcommand("exec", "Execute a command in a running container");
    exc->add_flag("-T,--no-TTY", ex.no_tty, "Disable pseudo-TTY allocation. By default `compose exec` allocates a TTY.");
    exc->add_flag("-d,--detach", ex.detach, "Detached mode: Run command in the background");
    exc->add_flag("--privileged", ex.privileged, "Give extended privileges to the process");
    exc->add_flag("-i,--interactive,!--no-interactive", ex.interactive, "Keep STDIN open even if not attached");
    exc->add_flag("-t,--tty", ex.tty, "Allocate a pseudo-TTY (default)");
    exc->add_option("-e,--env", ex.env, "Set environment variables")->allow_extra_args(false);
    exc->add_option("-u,--user", ex.user, "Run the command as this user");
    exc->add_option("-w,--workdir", ex.workdir, "Path to workdir directory for this command");
    exc->add_option("--index", ex.index, "Index of the container if service has multiple replicas");
    exc->prefix_command();
    exc->fallthrough(false);  // the command's words are its own, not the group's flags
    exc->callback([&ctx, exc] { run_exec(ctx, exc, ex); });

    static RunFlags rf;
    auto* rn = group->add_subcommand("run", "Run a one-off command on a service");
    rn->add_flag("--rm", rf.rm, "Automatically remove the container when it exits");
    rn->add_flag("-d,--detach", rf.detach, "Run container in background and print container ID");
    rn->add_flag("--no-deps", rf.no_deps, "Don't start linked services");
    rn->add_flag("-T,--no-TTY", rf.no_tty, "Disable pseudo-TTY allocation (default: auto-detected)");
    rn->add_flag("-i,--interactive,!--no-interactive", rf.interactive, "Keep STDIN open even if not attached");
    rn->add_flag("-P,--service-ports", rf.service_ports, "Run command with all service's ports enabled and mapped to the host");
    rn->add_flag("--use-aliases", rf.use_aliases, "Use the service's network useAliases in the network(s) the container connects to");
    rn->add_flag("--build", rf.build, "Build image before starting container");
    rn->add_flag("--quiet-pull", rf.quiet_pull, "Pull without printing progress information");
    rn->add_flag("--remove-orphans", rf.remove_orphans, "Remove containers for services not defined in the Compose file");
    rn->add_option("-e,--env", rf.env, "Set environment variables")->allow_extra_args(false);
    rn->add_option("-l,--label", rf.labels, "Add or override a label")->allow_extra_args(false);
    rn->add_option("-p,--publish", rf.publish, "Publish a container's port(s) to the host")->allow_extra_args(false);
    rn->add_option("-v,--volume", rf.volumes, "Bind mount a volume")->allow_extra_args(false);
    rn->add_option("--name", rf.name, "Assign a name to the container");
    rn->add_option("-u,--user", rf.user, "Run as specified username or uid");
    rn->add_option("-w,--workdir", rf.workdir, "Working directory inside the container");
    rf.entrypoint_opt = rn->add_option("--entrypoint", rf.entrypoint, "Override the entrypoint of the image");
    rn->prefix_command();
    rn->fallthrough(false);
    rn->callback([&ctx, rn] { run_run(ctx, rn, rf); });
});

}  // namespace
}  // namespace berth::cli
