// observe() and execute(): the only parts of compose/ that touch the engine.
#include "compose/executor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "compose/service_refs.hpp"
#include "container/engine.hpp"
#include "images/store.hpp"
#include "network/network.hpp"
#include "sys/error.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"
#include "volumes/volumes.hpp"

namespace berth::compose {

namespace {

std::string label(const StringMap& l, const char* key) {
    auto it = l.find(key);
    return it == l.end() ? "" : it->second;
}

}  // namespace

Observed observe(const store::Paths& paths, const std::string& project_name, const Project* project) {
    Observed o;
    o.project = project_name;
    container::Engine engine(paths);
    for (auto& c : engine.records().list()) {
        if (label(c.config.labels, labels::project) != project_name) continue;
        ObservedContainer oc;
        oc.id = c.id;
        oc.name = c.name;
        oc.service = label(c.config.labels, labels::service);
        oc.number = static_cast<int>(str::parse_int(label(c.config.labels, labels::container_number)).value_or(0));
        oc.oneoff = label(c.config.labels, labels::oneoff) == "True";
        oc.config_hash = label(c.config.labels, labels::config_hash);
        oc.image_label = label(c.config.labels, labels::image);
        auto st = engine.state(c);
        oc.status = st.status;
        oc.health = st.health ? st.health->status : "";
        oc.exit_code = st.exit_code;
        for (auto& [n, _] : c.networks) oc.networks.push_back(n);
        for (auto& m : c.host_config.mounts)
            if (m.type == "volume" && m.anonymous && !m.source.empty()) oc.anonymous_volumes[m.target] = m.source;
        oc.labels = c.config.labels;
        o.containers.push_back(std::move(oc));
    }
    std::sort(o.containers.begin(), o.containers.end(), [](auto& a, auto& b) {
        return std::tie(a.service, a.number, a.name) < std::tie(b.service, b.number, b.name);
    });

    std::set<std::string> net_names, vol_names;
    if (project) {
        for (auto& [_, n] : project->networks) net_names.insert(n.name);
        for (auto& [_, v] : project->volumes) vol_names.insert(v.name);
    }
    network::Manager nets(paths);
    for (auto& n : nets.list()) {
        if (n.predefined()) continue;
        if (label(n.labels, labels::project) != project_name && !net_names.count(n.name)) continue;
        o.networks.push_back({n.name, n.id, n.labels});
    }
    volumes::Manager vols(paths);
    for (auto& v : vols.list()) {
        if (label(v.labels, labels::project) != project_name && !vol_names.count(v.name)) continue;
        o.volumes.push_back({v.name, v.name, v.labels});
    }
    if (project) {
        for (auto& [_, svc] : project->services) {
            auto ref = project->image_name(svc);
            if (auto img = engine.images().find(ref)) o.images[ref] = img->id;
        }
    }
    return o;
}

namespace {

using Clock = std::chrono::steady_clock;

// The service's containers as they are now.
std::vector<std::pair<container::Container, store::State>> service_containers(container::Engine& e, const std::string& project,
                                                                             const std::string& service) {
    std::vector<std::pair<container::Container, store::State>> out;
    for (auto& c : e.records().list()) {
        auto& l = c.config.labels;
        if (label(l, labels::project) != project || label(l, labels::service) != service || label(l, labels::oneoff) == "True")
            continue;
        auto st = e.state(c);
        out.emplace_back(std::move(c), std::move(st));
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.first.name < b.first.name; });
    return out;
}

}  // namespace

namespace {

// Configs and secrets given as content (or by an environment variable, read at load) have no
// host file to bind: as Compose does (injectConfigs/injectSecrets), they are copied into the new
// container at their target, mode 0444 unless set, owned by uid/gid (root by default).
void inject_file_objects(container::Engine& e, const store::Paths& paths, const Project& p, const Service& svc,
                         const std::string& id) {
    auto inject = [&](const std::vector<FileRef>& refs, const std::map<std::string, FileObject>& objs, const std::string& dir) {
        for (auto& ref : refs) {
            auto it = objs.find(ref.source);
            if (it == objs.end() || !it->second.file.empty() || it->second.external) continue;
            std::string target = ref.target.empty() ? dir + ref.source : ref.target[0] == '/' ? ref.target : dir + ref.target;
            auto slash = target.rfind('/');
            std::string parent = slash == 0 ? "/" : target.substr(0, slash);
            sys::mkdirs(paths.tmp(), 0700);
            sys::TempDir tmp(paths.tmp(), "compose-file-");
            auto d = tmp.path() / "d";
            sys::mkdirs(d, 0755);
            auto f = d / target.substr(slash + 1);
            sys::write_file(f, it->second.content, 0600);
            if (::chmod(f.c_str(), ref.mode.value_or(0444)) < 0) sys::throw_errno("chmod", f.string());
            auto uid = str::parse_int(ref.uid).value_or(0), gid = str::parse_int(ref.gid).value_or(0);
            if (::chown(f.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) < 0) sys::throw_errno("chown", f.string());
            container::CopyOptions o;
            o.archive = true;  // keep the owner set above
            e.copy_to(id, d.string() + "/.", parent, o);
        }
    };
    inject(svc.configs, p.configs, "/");
    inject(svc.secrets, p.secrets, "/run/secrets/");
}

}  // namespace

namespace {

// Reads fd until EOF and hands each line to fn. A hook may leave a background process holding
// the pipe open: once `ended` is set (the hook's process is gone), a quiet 100 ms ends it too.
void read_lines(int fd, const std::atomic<bool>& ended, const std::function<void(const std::string&)>& fn) {
    std::string buf;
    char chunk[4096];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        int r = ::poll(&p, 1, 100);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (r < 0 || ended) break;
            continue;
        }
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        buf.append(chunk, size_t(n));
        for (size_t nl; (nl = buf.find('\n')) != std::string::npos; buf.erase(0, nl + 1)) fn(buf.substr(0, nl));
    }
    if (!buf.empty()) fn(buf);
}

}  // namespace

void run_hooks(container::Engine& e, const Service& svc, const std::string& container, HookPhase phase,
               const std::function<void(const std::string& line)>& output) {
    bool post = phase == HookPhase::post_start;
    const auto& hooks = post ? svc.post_start : svc.pre_stop;
    if (hooks.empty() || (!post && !e.records().state(e.records().get(container).id).running())) return;
    for (auto& h : hooks) {
        container::ExecRequest r;
        r.cmd = h.command;
        for (auto& [k, v] : h.environment) r.env.push_back(k + "=" + v);
        r.user = h.user;
        r.working_dir = h.working_dir;
        r.privileged = h.privileged;
        r.interactive = false;
        // The hook's stdout and stderr, one pipe as Compose merges them; its last line goes into
        // the error when it fails (Compose 5.5.1 does the same).
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) < 0) sys::throw_errno("pipe2", "hook output");
        sys::unique_fd rd(fds[0]), wr(fds[1]);
        r.out_fd = r.err_fd = wr.get();
        std::atomic<bool> ended{false};
        std::string last;
        std::thread reader([&] {
            read_lines(rd.get(), ended, [&](const std::string& line) {
                if (!line.empty()) last = line;
                if (output) output(line);
            });
        });
        int code = -1;
        std::exception_ptr failed;
        try {
            code = e.exec(container, r);
        } catch (...) {
            failed = std::current_exception();
        }
        wr.reset();
        ended = true;
        reader.join();
        if (failed) std::rethrow_exception(failed);
        if (code != 0)
            throw Error(Errc::failed, std::string(post ? "post_start" : "pre_stop") + " hook exited with status " + std::to_string(code) +
                                          (last.empty() ? "" : ": " + last));
    }
}

namespace {

struct Runner {
    const store::Paths& paths;
    const Project* project;
    const ExecOptions& opts;
    const ExecHooks& hooks;
    std::mutex out_mu;
    // The IDs of the containers this run created, by name: the ops after a create name its
    // container, and a lookup by ID reads one record where one by name reads them all.
    std::mutex ids_mu;
    std::map<std::string, std::string> created_ids;

    void created(const container::Container& c) {
        std::lock_guard<std::mutex> g(ids_mu);
        created_ids[c.name] = c.id;
    }
    std::string id_or_name(const std::string& name) {
        std::lock_guard<std::mutex> g(ids_mu);
        auto it = created_ids.find(name);
        return it == created_ids.end() ? name : it->second;
    }

    void say(const std::string& what, const std::string& name, const std::string& status) {
        if (!opts.progress) return;
        std::lock_guard<std::mutex> g(out_mu);
        opts.progress(ProgressEvent::of(what + " " + name, status));
    }
    void hooks_of(container::Engine& e, const Op& op, const std::string& container, HookPhase phase) {
        auto* svc = service_of(op);
        if (!svc) return;
        std::function<void(const std::string&)> out;
        if (opts.hook_output) out = [&](const std::string& line) { opts.hook_output(op.target, line); };
        run_hooks(e, *svc, container, phase, out);
    }
    bool cancelled() const { return opts.cancel && opts.cancel->load(); }

    // Polls until the condition holds for every container of the service; throws when it
    // cannot hold any more (exited, unhealthy) or the time is up.
    void wait_service(const Op& op) {
        container::Engine e(paths);
        auto deadline = opts.wait_timeout_ns ? Clock::now() + std::chrono::nanoseconds(*opts.wait_timeout_ns) : Clock::time_point::max();
        std::string proj = project ? project->name : "";
        bool dependency = op.condition != "running_or_healthy";
        std::string prefix = dependency ? "dependency failed to start: " : "";
        std::set<std::string> announced;
        for (;;) {
            auto cs = service_containers(e, proj, op.target);
            bool all = true;
            for (auto& [c, st] : cs) {
                if (!announced.count(c.name)) {
                    say("Container", c.name, "Waiting");
                    announced.insert(c.name);
                }
                bool has_health = c.config.healthcheck && !c.config.healthcheck->test.empty() && c.config.healthcheck->test[0] != "NONE";
                if (op.condition == "service_completed_successfully") {
                    if (st.status == "exited" || st.status == "dead") {
                        if (st.exit_code != 0)
                            throw Error(Errc::failed, "service \"" + op.target + "\" didn't complete successfully: exit " +
                                                          std::to_string(st.exit_code));
                    } else {
                        all = false;
                    }
                    continue;
                }
                if (op.condition == "service_healthy" && !has_health)
                    throw Error(Errc::failed, prefix + "container " + c.name + " has no healthcheck configured");
                if (st.status == "exited" || st.status == "dead") {
                    throw Error(Errc::failed, prefix + "container " + c.name + " exited (" + std::to_string(st.exit_code) + ")");
                }
                if (st.health && st.health->status == "unhealthy")
                    throw Error(Errc::failed, prefix + "container " + c.name + " is unhealthy");
                bool ok = st.status == "running" && (!has_health || (st.health && st.health->status == "healthy"));
                if (!ok) all = false;
            }
            if (all) {
                for (auto& [c, st] : cs)
                    say("Container", c.name, op.condition == "service_completed_successfully" ? "Exited" : st.health ? "Healthy" : "Running");
                return;
            }
            if (cancelled()) throw Error(Errc::failed, "canceled while waiting for service \"" + op.target + "\"");
            if (Clock::now() >= deadline)
                throw Error(Errc::failed, "timeout waiting for service \"" + op.target + "\" (" + op.condition + ")");
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }

    const Service* service_of(const Op& op) const {
        return project && !op.service.empty() ? project->find_service(op.service) : nullptr;
    }

    // The create request with its config-hash label over the containers the service's
    // namespace and volume references join now (compose/service_refs.hpp).
    container::CreateRequest labelled(container::Engine& e, const Op& op) const {
        auto req = *op.request;
        auto* svc = service_of(op);
        if (!svc || !hash_resolves_refs(*svc)) return req;
        req.labels[labels::config_hash] = service_config_hash(*svc, [&](const std::string& parent) {
            auto c = e.records().find_by_name(project->container_name(parent, 1));
            return c ? c->id : std::string();
        });
        return req;
    }

    void stop_and_remove(container::Engine& e, const Op& op, bool volumes) {
        auto st = e.records().state(op.container_id);
        if (st.running()) {
            say("Container", op.target, "Stopping");
            hooks_of(e, op, op.container_id, HookPhase::pre_stop);
            e.stop(op.container_id, op.timeout);
            say("Container", op.target, "Stopped");
        }
        say("Container", op.target, "Removing");
        e.remove(op.container_id, true, volumes);
        say("Container", op.target, "Removed");
    }

    void run(const Op& op) {
        switch (op.kind) {
            case OpKind::create_network: {
                say("Network", op.target, "Creating");
                network::Manager(paths).create(op.target, *op.network);
                say("Network", op.target, "Created");
                return;
            }
            case OpKind::create_volume: {
                say("Volume", "\"" + op.target + "\"", "Creating");
                volumes::Manager(paths).create(op.target, *op.volume);
                say("Volume", "\"" + op.target + "\"", "Created");
                return;
            }
            case OpKind::build_image: {
                const Service* svc = project ? project->find_service(op.service) : nullptr;
                if (!svc || !hooks.build) throw Error(Errc::unsupported, "no builder");
                say("Image", op.target, "Building");
                hooks.build(*svc, op.target);
                say("Image", op.target, "Built");
                return;
            }
            case OpKind::pull_image: {
                if (!hooks.pull) throw Error(Errc::unsupported, "no puller");
                say("Image", op.target, "Pulling");
                hooks.pull(op.target);
                say("Image", op.target, "Pulled");
                return;
            }
            case OpKind::create_container: {
                container::Engine e(paths);
                say("Container", op.target, "Creating");
                auto c = e.create(labelled(e, op));
                created(c);
                if (auto* svc = service_of(op)) inject_file_objects(e, paths, *project, *svc, c.id);
                say("Container", op.target, "Created");
                return;
            }
            case OpKind::recreate_container: {
                container::Engine e(paths);
                say("Container", op.target, "Recreate");
                auto st = e.records().state(op.container_id);
                if (st.running()) {
                    hooks_of(e, op, op.container_id, HookPhase::pre_stop);
                    e.stop(op.container_id, op.timeout);
                }
                e.remove(op.container_id, true, op.remove_volumes);
                auto c = e.create(labelled(e, op));
                created(c);
                if (auto* svc = service_of(op)) inject_file_objects(e, paths, *project, *svc, c.id);
                say("Container", op.target, "Recreated");
                return;
            }
            case OpKind::start_container: {
                container::Engine e(paths);
                say("Container", op.target, "Starting");
                auto id = id_or_name(op.target);
                e.start(id);
                hooks_of(e, op, id, HookPhase::post_start);
                say("Container", op.target, "Started");
                return;
            }
            case OpKind::restart_container: {
                container::Engine e(paths);
                say("Container", op.target, "Restarting");
                e.restart(op.target, op.timeout);
                hooks_of(e, op, op.target, HookPhase::post_start);
                say("Container", op.target, "Started");
                return;
            }
            case OpKind::remove_container: {
                container::Engine e(paths);
                stop_and_remove(e, op, op.remove_volumes);
                return;
            }
            case OpKind::wait_service: wait_service(op); return;
            case OpKind::remove_network: {
                say("Network", op.target, "Removing");
                network::Manager(paths).remove(op.target);
                say("Network", op.target, "Removed");
                return;
            }
            case OpKind::remove_volume: {
                say("Volume", op.target, "Removing");
                volumes::Manager(paths).remove(op.target, false, volumes::volumes_in_use(paths));
                say("Volume", op.target, "Removed");
                return;
            }
            case OpKind::remove_image: {
                container::Engine e(paths);
                images::RemoveOptions ro;
                for (auto& c : e.records().list()) ro.in_use.emplace(c.image_id, c.id);
                say("Image", op.target, "Removing");
                e.images().remove(op.target, ro);
                say("Image", op.target, "Removed");
                return;
            }
        }
    }

    // The failed op's line turns to "Error" (wait_service names no one resource: its error is
    // reported at the end only).
    void say_failed(const Op& op) {
        switch (op.kind) {
            case OpKind::create_network:
            case OpKind::remove_network: say("Network", op.target, "Error"); return;
            case OpKind::create_volume: say("Volume", "\"" + op.target + "\"", "Error"); return;
            case OpKind::remove_volume: say("Volume", op.target, "Error"); return;
            case OpKind::build_image:
            case OpKind::pull_image:
            case OpKind::remove_image: say("Image", op.target, "Error"); return;
            case OpKind::wait_service: return;
            default: say("Container", op.target, "Error"); return;
        }
    }

    std::string describe_failure(const Op& op, const std::string& what) const {
        if (!op.service.empty()) return "service \"" + op.service + "\": " + what;
        switch (op.kind) {
            case OpKind::create_network:
            case OpKind::remove_network: return "network " + op.target + ": " + what;
            case OpKind::create_volume:
            case OpKind::remove_volume: return "volume " + op.target + ": " + what;
            case OpKind::remove_image: return "image " + op.target + ": " + what;
            default: return "container " + op.target + ": " + what;
        }
    }
};

}  // namespace

void execute(const store::Paths& paths, const Project* project, const Plan& plan, const ExecOptions& opts,
             const ExecHooks& hooks) {
    // Refuse what cannot be done before doing anything.
    std::vector<std::string> problems;
    for (auto& op : plan.ops) {
        if (op.kind == OpKind::build_image && !hooks.build)
            problems.push_back("service \"" + op.service + "\": image " + op.target +
                               " must be built, and berth has no image builder yet (build it elsewhere and `berth load` it, or set `image:`)");
        if (op.kind == OpKind::pull_image && !hooks.pull)
            problems.push_back("service \"" + op.service + "\": image " + op.target +
                               " not found locally, and berth cannot pull images yet (`berth load` or `berth import` it first)");
    }
    if (!problems.empty()) throw Error(Errc::not_found, str::join(problems, "\n"));
    if (plan.ops.empty()) return;

    Runner runner{paths, project, opts, hooks, {}, {}, {}};
    enum State { pending, running, done, failed, skipped };
    std::vector<State> state(plan.ops.size(), pending);
    std::vector<std::string> failures;
    std::mutex mu;
    std::condition_variable cv;
    size_t in_flight = 0;
    bool stop = false;

    auto next = [&]() -> std::optional<size_t> {
        for (size_t i = 0; i < plan.ops.size(); ++i) {
            if (state[i] != pending) continue;
            bool ready = true, dead = false;
            for (auto j : plan.ops[i].after) {
                if (state[j] == failed || state[j] == skipped) dead = true;
                if (state[j] != done) ready = false;
            }
            if (dead) {
                state[i] = skipped;
                continue;
            }
            if (ready) return i;
        }
        return std::nullopt;
    };

    auto worker = [&] {
        std::unique_lock<std::mutex> lk(mu);
        for (;;) {
            std::optional<size_t> i;
            cv.wait(lk, [&] {
                if (stop || runner.cancelled()) return true;
                i = next();
                return i.has_value() || in_flight == 0;
            });
            if (!i || stop || runner.cancelled()) {
                cv.notify_all();
                return;
            }
            state[*i] = running;
            ++in_flight;
            lk.unlock();
            const Op& op = plan.ops[*i];
            std::string error;
            try {
                runner.run(op);
            } catch (const std::exception& e) {
                error = e.what();
                runner.say_failed(op);
            }
            lk.lock();
            --in_flight;
            if (error.empty()) {
                state[*i] = done;
            } else if (op.kind == OpKind::wait_service && !op.required) {
                state[*i] = done;
                lk.unlock();
                runner.say("Service", op.target, "Warning: " + error + " (optional dependency)");
                lk.lock();
            } else {
                state[*i] = failed;
                failures.push_back(runner.describe_failure(op, error));
                stop = true;
                lk.unlock();
                runner.say(op.kind == OpKind::create_network || op.kind == OpKind::remove_network ? "Network"
                           : op.kind == OpKind::create_volume || op.kind == OpKind::remove_volume ? "Volume"
                           : op.kind == OpKind::wait_service                                       ? "Service"
                                                                                                   : "Container",
                           op.target, "Error");
                lk.lock();
            }
            cv.notify_all();
        }
    };

    size_t width = plan.ops.size();
    if (opts.parallel > 0) width = std::min<size_t>(width, static_cast<size_t>(opts.parallel));
    width = std::min<size_t>(width, 32);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < width; ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();

    if (!failures.empty()) throw Error(Errc::failed, str::join(failures, "\n"));
    if (runner.cancelled()) throw Error(Errc::failed, "canceled");
}

}  // namespace berth::compose
