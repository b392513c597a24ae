// berth compose pull / push: the services' images to and from their registries, several at
// once, with Compose's flags (-q, --ignore-pull-failures, --ignore-buildable, --policy,
// --include-deps; --ignore-push-failures).
#include <iostream>
#include <mutex>
#include <set>

#include "cli/compose_ops.hpp"
#include "cli/image_pull.hpp"
#include "cli/progress.hpp"
#include "compose/graph.hpp"
#include "images/reference.hpp"
#include "registry/push.hpp"
#include "sys/error.hpp"
#include "sys/parallel.hpp"
#include "sys/strings.hpp"

namespace berth::cli {
namespace {

struct Job {
    std::string service, image;
    bool buildable = false;
};

// Runs fn over jobs, at most `parallel` at once (--parallel; 4 when unlimited, as the
// registry side gains little from more); returns the failures, "service: message" each.
std::vector<std::string> run_jobs(const std::vector<Job>& jobs, const std::function<void(const Job&)>& fn) {
    int parallel = compose_flags().parallel;
    std::mutex mu;
    std::vector<std::string> failures;
    // Every job runs: a failure is collected, not thrown.
    sys::parallel_for(jobs.size(), parallel > 0 ? size_t(parallel) : 4, [&](size_t k) {
        try {
            fn(jobs[k]);
        } catch (const std::exception& e) {
            std::lock_guard lock(mu);
            failures.push_back(jobs[k].service + ": " + e.what());
        }
    });
    std::sort(failures.begin(), failures.end());
    return failures;
}

std::vector<std::string> targeted(const compose::Project& p, const std::vector<std::string>& services, bool deps) {
    for (auto& s : services)
        if (!p.services.count(s)) throw Error(Errc::invalid, "no such service: " + s);
    if (services.empty()) {
        std::vector<std::string> all;
        for (auto& [name, _] : p.services) all.push_back(name);
        return all;
    }
    return deps ? compose::Graph(p).with_dependencies(services) : services;
}

// Compose's pull and push events: the service's name and a text ("web Pulling").
ProgressEvent job_event(const Job& j, const std::string& text) {
    ProgressEvent e;
    e.id = j.service;
    e.text = text;
    e.state = ProgressEvent::state_of(text);
    return e;
}

void run_pull(Context& ctx, const std::vector<std::string>& services, bool quiet, bool ignore_failures,
              bool ignore_buildable, bool include_deps, const std::string& policy) {
    if (!policy.empty() && policy != "missing" && policy != "always")
        throw Error(Errc::invalid, "invalid --policy \"" + policy + "\": must be \"missing\" or \"always\"");
    auto target = load_target(services);
    if (!target.project) throw Error(Errc::invalid, "no configuration file provided: not found");
    auto& project = *target.project;
    images::Store store(ctx.paths().images());
    std::vector<Job> jobs;
    std::set<std::string> seen;
    for (auto& s : targeted(project, services, include_deps)) {
        auto& svc = project.services.at(s);
        if (svc.image.empty()) continue;  // build-only: nothing to pull
        if (svc.build && ignore_buildable) continue;
        if (svc.pull_policy == "never" || svc.pull_policy == "build") continue;
        bool missing_only = policy == "missing" || (policy.empty() && (svc.pull_policy == "missing" || svc.pull_policy == "if_not_present"));
        if (missing_only && store.find(svc.image)) continue;
        if (!seen.insert(svc.image).second) continue;
        jobs.push_back(Job{s, svc.image, svc.build.has_value()});
    }
    ProgressScope progress("Pulling", quiet);
    auto failures = run_jobs(jobs, [&](const Job& j) {
        progress->event(job_event(j, "Pulling"));
        try {
            PullDisplay how;
            how.quiet = true;
            how.print_reference = false;
            pull_image(store, j.image, how);
        } catch (...) {
            progress->event(job_event(j, "Error"));
            throw;
        }
        progress->event(job_event(j, "Pulled"));
    });
    progress->finish();
    // A service that can be built is only warned about (Compose builds it at up).
    std::vector<std::string> fatal;
    for (auto& f : failures) {
        auto svc = f.substr(0, f.find(':'));
        bool buildable = false;
        for (auto& j : jobs) buildable = buildable || (j.service == svc && j.buildable);
        if (ignore_failures || buildable)
            std::cerr << "WARNING: " << f << "\n";
        else
            fatal.push_back(f);
    }
    if (!fatal.empty()) throw Error(Errc::failed, str::join(fatal, "\n"));
}

void run_push(Context& ctx, const std::vector<std::string>& services, bool quiet, bool ignore_failures, bool include_deps) {
    auto target = load_target(services);
    if (!target.project) throw Error(Errc::invalid, "no configuration file provided: not found");
    auto& project = *target.project;
    images::Store store(ctx.paths().images());
    std::vector<Job> jobs;
    std::set<std::string> seen;
    for (auto& s : targeted(project, services, include_deps)) {
        auto& svc = project.services.at(s);
        if (svc.image.empty() || !seen.insert(svc.image).second) continue;
        jobs.push_back(Job{s, svc.image, svc.build.has_value()});
    }
    ProgressScope progress("Pushing", quiet);
    auto failures = run_jobs(jobs, [&](const Job& j) {
        progress->event(job_event(j, "Pushing"));
        try {
            registry::push(store, images::parse_reference(j.image), registry::PushOptions{});
        } catch (...) {
            progress->event(job_event(j, "Error"));
            throw;
        }
        progress->event(job_event(j, "Pushed"));
    });
    progress->finish();
    if (failures.empty()) return;
    if (ignore_failures) {
        for (auto& f : failures) std::cerr << "WARNING: " << f << "\n";
        return;
    }
    throw Error(Errc::failed, str::join(failures, "\n"));
}

Registrar reg(65, {"compose"}, [](CLI::App& app, Context& ctx) {
    auto* group = compose_app(app);

    static std::vector<std::string> pull_services;
    static bool pull_quiet = false, ignore_pull_failures = false, ignore_buildable = false, pull_deps = false;
    static std::string policy;
    auto* pl = group->add_subcommand("pull", "Pull service images");
    pl->add_flag("-q,--quiet", pull_quiet, "Pull without printing progress information");
    pl->add_flag("--ignore-pull-failures", ignore_pull_failures, "Pull what it can and ignores images with pull failures");
    pl->add_flag("--ignore-buildable", ignore_buildable, "Ignore images that can be built");
    pl->add_flag("--include-deps", pull_deps, "Also pull services declared as dependencies");
    pl->add_option("--policy", policy, "Apply pull policy (\"missing\"|\"always\")");
    pl->add_option("service", pull_services, "Services");
    pl->callback([&ctx] { run_pull(ctx, pull_services, pull_quiet, ignore_pull_failures, ignore_buildable, pull_deps, policy); });

    static std::vector<std::string> push_services;
    static bool push_quiet = false, ignore_push_failures = false, push_deps = false;
    auto* ps = group->add_subcommand("push", "Push service images");
    ps->add_flag("-q,--quiet", push_quiet, "Push without printing progress information");
    ps->add_flag("--ignore-push-failures", ignore_push_failures, "Push what it can and ignores images with push failures");
    ps->add_flag("--include-deps", push_deps, "Also push images of services declared as dependencies");
    ps->add_option("service", push_services, "Services");
    ps->callback([&ctx] { run_push(ctx, push_services, push_quiet, ignore_push_failures, push_deps); });
});

}  // namespace
}  // namespace berth::cli
