// cgroup v2 core files: cgroup.freeze, cgroup.events, cgroup.subtree_control (cgroup-v2.rst,
// "Core Interface Files").
#include <set>

#include "cgroups/cgroupfs.hpp"
#include "cgroups/v2_controllers.hpp"
#include "sys/error.hpp"
#include "sys/strings.hpp"

namespace berth::cgroups::detail::v2 {

namespace {

constexpr auto kFreezeTimeout = std::chrono::seconds(5);

std::uint64_t event(const fs::path& dir, const char* key) {
    auto m = read_keyed(dir / "cgroup.events");
    auto it = m.find(key);
    if (it == m.end()) {
        throw_error(Errc::unsupported,
                    (dir / "cgroup.events").string() + " has no \"" + key + "\" (kernel older than 5.2?)");
    }
    return it->second;
}

std::set<std::string> words(const fs::path& file) {
    std::set<std::string> out;
    auto s = read_value_if_exists(file);
    if (!s) return out;
    for (auto& w : str::split(*s, ' ')) {
        if (!w.empty()) out.insert(w);
    }
    return out;
}

}  // namespace

void enable_controllers(const fs::path& dir) {
    auto offered = words(dir / "cgroup.controllers");
    auto enabled = words(dir / "cgroup.subtree_control");
    std::string value;
    for (const char* c : kControllers) {
        if (offered.count(c) && !enabled.count(c)) {
            if (!value.empty()) value += ' ';
            value += '+';
            value += c;
        }
    }
    if (!value.empty()) write_value(dir / "cgroup.subtree_control", value);
}

void freeze(const fs::path& dir) {
    write_value(dir / "cgroup.freeze", "1");
    if (!wait_until([&] { return event(dir, "frozen") == 1; }, kFreezeTimeout)) {
        write_value(dir / "cgroup.freeze", "0");
        throw_error(Errc::failed, "freezing " + dir.string() + ": cgroup.events not \"frozen 1\" after 5s");
    }
}

void thaw(const fs::path& dir) {
    write_value(dir / "cgroup.freeze", "0");
    if (!wait_until([&] { return event(dir, "frozen") == 0; }, kFreezeTimeout)) {
        throw_error(Errc::failed, "thawing " + dir.string() + ": cgroup.events still \"frozen 1\" after 5s");
    }
}

bool frozen(const fs::path& dir) {
    return event(dir, "frozen") == 1;
}

bool populated(const fs::path& dir) {
    return event(dir, "populated") == 1;
}

}  // namespace berth::cgroups::detail::v2
