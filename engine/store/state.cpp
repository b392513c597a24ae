#include "store/state.hpp"

#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"

namespace berth::store {

std::string state_to_json(const State& s) {
    json j = {{"Status", s.status},
              {"OOMKilled", s.oom_killed},
              {"Pid", s.pid},
              {"ExitCode", s.exit_code},
              {"Error", s.error},
              {"StartedAt", s.started_at},
              {"FinishedAt", s.finished_at},
              {"RestartCount", s.restart_count},
              {"ManualStop", s.manual_stop},
              {"RunId", s.run_id},
              {"ShimPid", s.shim_pid}};
    if (s.health) {
        json log = json::array();
        for (auto& e : s.health->log)
            log.push_back({{"Start", e.start}, {"End", e.end}, {"ExitCode", e.exit_code}, {"Output", e.output}});
        j["Health"] = {{"Status", s.health->status}, {"FailingStreak", s.health->failing_streak}, {"Log", log}};
    }
    return j.dump();
}

State state_from_json(const std::string& text) {
    try {
        auto j = json::parse(text);
        State s;
        s.status = j.value("Status", "created");
        s.oom_killed = j.value("OOMKilled", false);
        s.pid = j.value("Pid", 0);
        s.exit_code = j.value("ExitCode", 0);
        s.error = j.value("Error", "");
        s.started_at = j.value("StartedAt", std::int64_t{0});
        s.finished_at = j.value("FinishedAt", std::int64_t{0});
        s.restart_count = j.value("RestartCount", 0);
        s.manual_stop = j.value("ManualStop", false);
        s.run_id = j.value("RunId", "");
        s.shim_pid = j.value("ShimPid", 0);
        if (j.contains("Health")) {
            Health h;
            h.status = j["Health"].value("Status", "starting");
            h.failing_streak = j["Health"].value("FailingStreak", 0);
            for (auto& e : j["Health"].value("Log", json::array()))
                h.log.push_back({e.value("Start", std::int64_t{0}), e.value("End", std::int64_t{0}), e.value("ExitCode", 0),
                                 e.value("Output", "")});
            s.health = h;
        }
        return s;
    } catch (const json::exception& e) {
        throw Error(Errc::corrupt, std::string("container state: ") + e.what());
    }
}

State read_state(const std::filesystem::path& file) {
    auto text = sys::read_file_if_exists(file);
    if (!text) return State{};
    return state_from_json(*text);
}

void write_state(const std::filesystem::path& file, const State& s, bool durable) {
    sys::write_file_atomic(file, state_to_json(s), 0644, durable);
}

}  // namespace berth::store
