#pragma once
// The root's event log: what `berth events` reads, as Docker's daemon keeps its event ring.
//
// berth has no daemon, so whichever process does an action (the CLI, a container's shim, the
// exit command of a run) appends the event itself to <root>/events/log: one line of Docker's
// event JSON, written with one write() on an O_APPEND descriptor, so lines from several
// processes never interleave (write(2): the offset update and the write are one atomic step)
// and no lock is taken. No fsync: like Docker's in-memory ring, the log is a record for
// watchers, not state. It is bounded: a write that finds the file past its size limit moves it
// to log.1 (replacing the older one) under a flock taken only then, so the log holds between
// one and two limits of the newest events. Readers read log.1 then log.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace berth::sys {

// One event, as Docker's events.Message (Type, Action, Actor{ID, Attributes}, time, timeNano).
struct Event {
    std::string type;    // container, image, network, volume
    std::string action;  // create, start, die, "health_status: healthy", ...
    std::string id;      // Actor.ID
    std::map<std::string, std::string> attrs;  // Actor.Attributes (sorted, as Go marshals maps)
    std::int64_t time_ns = 0;
};

// Docker's JSON for the event (no newline): status/id/from for container and image events as
// the daemon still fills them, then Type, Action, Actor, scope "local", time, timeNano.
std::string encode_event(const Event& e);
// nullopt for a line that is not an event (a torn line after a crash).
std::optional<Event> decode_event(std::string_view line);

// <root>/events
std::filesystem::path event_log_dir(const std::filesystem::path& root);
// The size at which the log is rotated: BERTH_EVENTS_MAX_SIZE (bytes, or with a k/m suffix)
// when set, else 1 MiB.
std::int64_t event_log_limit();

// Appends the event (time_ns 0: now) to the root's log. Never throws: the action it records
// has happened, and failing it because its record could not be written would be wrong.
void emit_event(const std::filesystem::path& root, Event e) noexcept;
void emit_event(const std::filesystem::path& root, std::string_view type, std::string_view action, std::string_view id,
                std::map<std::string, std::string> attrs = {}) noexcept;

// Reads the log: every stored event (log.1, then log) to out, and with follow, then waits
// (inotify on the directory) for new ones until stop_at_ns (CLOCK_REALTIME; 0 = forever) or out
// returns false. replay false: only events written after the call.
void read_events(const std::filesystem::path& root, bool replay, bool follow, std::int64_t stop_at_ns,
                 const std::function<bool(const Event&)>& out);

}  // namespace berth::sys
