#pragma once
// A container's runtime state, Docker's `State` object: written by the container's shim while
// it lives (start, exit, restart, health), by the CLI otherwise; always atomically.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace berth::store {

struct HealthLogEntry {
    std::int64_t start = 0;  // ns since the epoch
    std::int64_t end = 0;
    int exit_code = 0;
    std::string output;
};

struct Health {
    std::string status = "starting";  // starting | healthy | unhealthy
    int failing_streak = 0;
    std::vector<HealthLogEntry> log;  // the last 5, as Docker keeps
};

struct State {
    std::string status = "created";  // created | running | paused | restarting | exited | dead
    bool oom_killed = false;
    pid_t pid = 0;
    int exit_code = 0;
    std::string error;
    std::int64_t started_at = 0;   // ns; 0 = never
    std::int64_t finished_at = 0;  // ns; 0 = never
    std::optional<Health> health;
    int restart_count = 0;
    bool manual_stop = false;  // stopped by the user: restart policies other than "always" after a boot do not apply
    std::string run_id;        // one per start; the cleanup of a run names it, so it never touches a later run
    pid_t shim_pid = 0;

    bool running() const { return status == "running" || status == "paused" || status == "restarting"; }
};

std::string state_to_json(const State&);
State state_from_json(const std::string&);
State read_state(const std::filesystem::path& file);  // a missing file is a fresh "created" state
// Atomic (write + rename) always; durable adds the fsync before the rename. Without it a crash
// may lose the update but never leaves a torn file: for records the kernel can answer for.
void write_state(const std::filesystem::path& file, const State&, bool durable = true);

}  // namespace berth::store
