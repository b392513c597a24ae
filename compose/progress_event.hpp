#pragma once
// One progress event of a compose operation, shaped as Docker Compose's (pkg/progress Event):
// the resource it is about ("Container p-web-1", "Network p_default", a service name for
// pull/push), an optional text ("Pulling" for pull/push), the status word ("Creating",
// "Started") and whether the work is still going on. The CLI renders them (cli/progress.hpp).
#include <string>
#include <string_view>

namespace berth::compose {

enum class EventState { working, done, warning, error };

struct ProgressEvent {
    std::string id;
    std::string text;
    std::string status;
    EventState state = EventState::working;

    // The state Compose gives its status words: "Creating", "Waiting", "Recreate" are work in
    // progress, "Created", "Started", "Healthy"... are done; "Error" is an error, "Warning: ..."
    // and "Skipped: ..." warnings.
    static EventState state_of(std::string_view status) {
        if (status == "Error") return EventState::error;
        if (status.starts_with("Warning") || status.starts_with("Skipped")) return EventState::warning;
        if (status == "Recreate" || (status.size() > 3 && status.substr(status.size() - 3) == "ing")) return EventState::working;
        return EventState::done;
    }
    // A "<Kind> <name>  <Status>" event, its state from the status word.
    static ProgressEvent of(std::string id, std::string status) {
        ProgressEvent e;
        e.state = state_of(status);
        e.id = std::move(id);
        e.status = std::move(status);
        return e;
    }
};

}  // namespace berth::compose
