#include "container/events.hpp"

#include <time.h>

#include <cstdio>

#include "images/reference.hpp"
#include "sys/error.hpp"
#include "sys/json.hpp"
#include "sys/strings.hpp"

namespace berth::container {

std::map<std::string, std::string> event_attributes(const Container& c) {
    auto a = c.config.labels;
    a["image"] = c.config.image;
    a["name"] = c.name;
    return a;
}

void emit_event(const store::Paths& paths, const Container& c, std::string_view action,
                std::map<std::string, std::string> extra) noexcept {
    try {
        auto a = event_attributes(c);
        for (auto& [k, v] : extra) a[k] = std::move(v);
        sys::emit_event(paths.root, "container", action, c.id, std::move(a));
    } catch (...) {
    }
}

namespace {

const char* const kKeys[] = {"config", "container", "daemon", "event", "image", "label", "network",
                             "node", "plugin", "scope", "secret", "service", "type", "volume"};

bool has_prefix(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// The repository without tag or digest, familiar ("busybox" for docker.io/library/busybox:1).
std::string strip_tag(const std::string& image) {
    try {
        return images::parse_reference(image, false).familiar_repository();
    } catch (...) {
        return image;
    }
}

std::string attr(const sys::Event& e, const char* k) {
    auto it = e.attrs.find(k);
    return it == e.attrs.end() ? std::string() : it->second;
}

// "2026-12-04T22:30:01.123456789Z", or with the local offset, as Go's Format does.
struct LocalTime {
    struct tm tm;
    long nanos;
    long offset;  // seconds east of UTC
};

LocalTime local_time(std::int64_t ns) {
    LocalTime t{};
    time_t secs = static_cast<time_t>(ns / 1'000'000'000);
    t.nanos = static_cast<long>(ns % 1'000'000'000);
    ::localtime_r(&secs, &t.tm);
    t.offset = t.tm.tm_gmtoff;
    return t;
}

std::string zone(long offset) {
    if (offset == 0) return "Z";
    char buf[64];
    long a = offset < 0 ? -offset : offset;
    std::snprintf(buf, sizeof buf, "%c%02ld:%02ld", offset < 0 ? '-' : '+', a / 3600, a / 60 % 60);
    return buf;
}

std::string date_time(const LocalTime& t, char sep) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d%c%02d:%02d:%02d", t.tm.tm_year + 1900, t.tm.tm_mon + 1, t.tm.tm_mday,
                  sep, t.tm.tm_hour, t.tm.tm_min, t.tm.tm_sec);
    return buf;
}

std::string attrs_text(const std::map<std::string, std::string>& attrs) {
    std::string s;
    for (const auto& [k, v] : attrs) s += (s.empty() ? "" : ", ") + k + "=" + v;
    return s;
}

}  // namespace

EventFilter EventFilter::parse(const std::vector<std::string>& args) {
    EventFilter f;
    std::vector<std::string> problems;
    for (const auto& a : args) {
        auto [k, v] = str::split_once(a, '=');
        if (!v) {
            problems.push_back("bad format of filter (expected name=value): " + a);
            continue;
        }
        std::string key = str::to_lower(str::trim(k));
        bool known = false;
        for (const char* kk : kKeys) known = known || key == kk;
        if (!known) {
            problems.push_back("invalid filter '" + key + "'");
            continue;
        }
        f.add(key, std::string(*v));
    }
    if (!problems.empty()) throw Error(Errc::invalid, str::join(problems, "\n"));
    return f;
}

bool EventFilter::match(const sys::Event& e) const {
    auto values = [&](const char* key) -> const std::vector<std::string>* {
        auto it = f_.find(key);
        return it == f_.end() ? nullptr : &it->second;
    };
    auto exact = [&](const char* key, const std::string& s) {
        auto* vs = values(key);
        if (!vs) return true;
        for (auto& v : *vs)
            if (v == s) return true;
        return false;
    };
    auto fuzzy_in = [&](const std::vector<std::string>& vs, const std::string& s) {
        for (auto& v : vs)
            if (v == s || has_prefix(s, v)) return true;
        return false;
    };
    auto fuzzy_name = [&](const char* key) {
        auto* vs = values(key);
        return !vs || fuzzy_in(*vs, e.id) || fuzzy_in(*vs, attr(e, "name"));
    };
    // event: exact, but as a prefix when a filter names health_status/exec_create/exec_start
    // without their ": ..." part (Docker's #25798).
    if (auto* vs = values("event")) {
        bool fuzzy = false;
        for (auto& v : *vs) fuzzy = fuzzy || v == "health_status" || v == "exec_create" || v == "exec_start";
        if (fuzzy ? !fuzzy_in(*vs, e.action) : !exact("event", e.action)) return false;
    }
    if (!exact("type", e.type) || !exact("scope", "local")) return false;
    for (const char* k : {"daemon", "container", "plugin", "volume", "network", "node", "service", "secret", "config"})
        if (!fuzzy_name(k)) return false;
    if (values("image")) {
        auto name = attr(e, e.type == "image" ? "name" : "image");
        if (!exact("image", e.id) && !exact("image", name) && !exact("image", strip_tag(e.id)) &&
            !exact("image", strip_tag(name)))
            return false;
    }
    if (auto* vs = values("label")) {
        for (auto& v : *vs) {
            auto [k, want] = str::split_once(v, '=');
            auto it = e.attrs.find(std::string(k));
            if (it == e.attrs.end() || (want && it->second != *want)) return false;
        }
    }
    return true;
}

std::string event_line(const sys::Event& e) {
    auto t = local_time(e.time_ns);
    char frac[32];
    std::snprintf(frac, sizeof frac, ".%09ld", t.nanos);
    std::string s = date_time(t, 'T') + frac + zone(t.offset) + " " + e.type + " " + e.action + " " + e.id;
    if (!e.attrs.empty()) s += " (" + attrs_text(e.attrs) + ")";
    return s;
}

std::string compose_event_line(const sys::Event& e, bool as_json) {
    std::map<std::string, std::string> attrs;
    for (const auto& [k, v] : e.attrs)
        if (!has_prefix(k, "com.docker.compose.")) attrs[k] = v;
    auto t = local_time(e.time_ns);
    if (as_json) {
        // Compose marshals a map: keys sorted; time as Go's time.Time (RFC 3339, nanoseconds
        // without trailing zeros).
        char frac[32];
        std::snprintf(frac, sizeof frac, ".%09ld", t.nanos);
        std::string f = frac;
        while (f.back() == '0') f.pop_back();
        if (f == ".") f.clear();
        json j = {{"time", date_time(t, 'T') + f + zone(t.offset)}, {"type", "container"}, {"action", e.action},
                  {"id", e.id}, {"service", attr(e, "com.docker.compose.service")}, {"attributes", attrs}};
        return j.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    char frac[32];
    std::snprintf(frac, sizeof frac, ".%06ld", t.nanos / 1000);
    return date_time(t, ' ') + frac + " container " + e.action + " " + e.id + " (" + attrs_text(attrs) + ")";
}

}  // namespace berth::container
