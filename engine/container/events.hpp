#pragma once
// Container events (sys/event_log.hpp) and Docker's event filters, shared by every place that
// records an event and by `berth events` / `berth compose events`.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "container/model.hpp"
#include "store/paths.hpp"
#include "sys/event_log.hpp"

namespace berth::container {

// A container's Actor.Attributes, as Docker's daemon sets them: its labels, image (as the user
// named it) and name.
std::map<std::string, std::string> event_attributes(const Container& c);

// Records a container event (extra: exitCode for die, signal for kill, ...).
void emit_event(const store::Paths& paths, const Container& c, std::string_view action,
                std::map<std::string, std::string> extra = {}) noexcept;

// `--filter` of docker events, with the daemon's rules: values of one key are alternatives,
// different keys must all match; container/network/volume (and the swarm kinds) match the
// actor's ID or name by prefix; image matches the image event's ID or name, or the container
// event's image, with or without its tag; label=k or k=v must all be among the attributes;
// event matches the action (health_status, exec_create, exec_start also as a prefix).
class EventFilter {
public:
    EventFilter() = default;
    // "key=value" each; throws berth::Error(Errc::invalid) naming a bad one.
    static EventFilter parse(const std::vector<std::string>& args);
    void add(const std::string& key, const std::string& value) { f_[key].push_back(value); }
    bool match(const sys::Event& e) const;

private:
    std::map<std::string, std::vector<std::string>> f_;
};

// Docker Compose's `events` line for a container event of a project: "<time> container
// <action> <id> (k=v, ...)", time as "2006-01-02 15:04:05.000000" local, attributes without
// com.docker.compose.* labels. json: {"time","type","action","id","service","attributes"}.
std::string compose_event_line(const sys::Event& e, bool json);

// Docker's default `docker events` line: "<RFC3339 nano, local> <type> <action> <id> (k=v, ...)".
std::string event_line(const sys::Event& e);

}  // namespace berth::container
