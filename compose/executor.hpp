#pragma once
// Observing a project's resources and executing a plan (plan.hpp) against the engine.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "compose/plan.hpp"
#include "compose/progress_event.hpp"
#include "store/paths.hpp"

namespace berth::container {
class Engine;
}

namespace berth::compose {

// Containers, networks and volumes labelled com.docker.compose.project=<name>, plus the networks
// and volumes the project names (they may exist without the label), plus which of the project's
// images exist. Read once; sorted.
Observed observe(const store::Paths& paths, const std::string& project_name, const Project* project);

struct ExecHooks {
    // Builds `image` for the service (the `build:` section). Unset: berth has no builder here,
    // and a plan with build operations is refused before anything is done.
    std::function<void(const Service& svc, const std::string& image)> build;
    // Pulls an image. Unset: a plan with pull operations is refused before anything is done.
    std::function<void(const std::string& image)> pull;
};

struct ExecOptions {
    int parallel = -1;  // -1: no limit (bounded by the plan's width)
    std::optional<std::int64_t> wait_timeout_ns;  // wait_service ops (dependency conditions, --wait)
    // Progress events as Compose sends them ("Container p-web-1" "Started"); may be called from
    // several threads, never concurrently.
    std::function<void(const ProgressEvent&)> progress;
    // Each line the lifecycle hooks print, with the container's name. Unset: not shown (Compose
    // shows hook output only when attached).
    std::function<void(const std::string& container, const std::string& line)> hook_output;
    const std::atomic<bool>* cancel = nullptr;  // set (e.g. by SIGINT): no new op starts, waits end
};

// A service's lifecycle hooks (compose-spec 05-services.md post_start / pre_stop): each is an
// exec in the container with its own user, privileges, working dir and environment, run in
// order and waited for; a hook that exits non-zero fails the operation ("post_start hook exited
// with status 3: <its last line of output>"). pre_stop hooks run only while the container runs.
// Their output (stdout and stderr) goes to `output` line by line, when set.
enum class HookPhase { post_start, pre_stop };
void run_hooks(container::Engine& e, const Service& svc, const std::string& container, HookPhase phase,
               const std::function<void(const std::string& line)>& output = {});

// Runs the plan: each op once all of its `after` ops are done, independent ones in parallel.
// On a failure no new op starts; running ones finish; then berth::Error(Errc::failed) is thrown
// with one line per failure, each naming its service ("service \"web\": ...") or resource.
// Warnings (optional dependencies that failed) go to progress.
void execute(const store::Paths& paths, const Project* project, const Plan& plan, const ExecOptions& opts,
             const ExecHooks& hooks = {});

}  // namespace berth::compose
