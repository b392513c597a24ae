#include "container/records.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>

#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/lock.hpp"

namespace berth::container {

Records::Records(store::Paths paths) : paths_(std::move(paths)) {}

std::vector<Container> Records::list() const {
    std::vector<Container> out;
    for (auto& id : sys::list_dir(paths_.containers())) {
        if (id.size() != 64) continue;
        auto text = sys::read_file_if_exists(dir(id) / "config.json");
        if (!text) continue;  // being created or removed
        try {
            out.push_back(container_from_json(*text));
        } catch (const Error&) {
        }
    }
    std::sort(out.begin(), out.end(), [](const Container& a, const Container& b) {
        return a.created != b.created ? a.created > b.created : a.id < b.id;
    });
    return out;
}

std::optional<Container> Records::find_by_name(std::string_view name) const {
    if (!name.empty() && name.front() == '/') name.remove_prefix(1);
    if (name.empty()) return std::nullopt;
    // Parsing every record is what a lookup by name costs (compose looks up each container it
    // creates and starts: quadratic in the project's size), so only the records whose text holds
    // the name as a JSON string are parsed. A valid name ([a-zA-Z0-9][a-zA-Z0-9_.-]+) is written
    // unescaped, so its record always passes the test; the parse below confirms the match.
    std::string quoted = "\"" + std::string(name) + "\"";
    for (auto& id : sys::list_dir(paths_.containers())) {
        if (id.size() != 64) continue;
        auto text = sys::read_file_if_exists(dir(id) / "config.json");
        if (!text || text->find(quoted) == std::string::npos) continue;
        try {
            auto c = container_from_json(*text);
            if (c.name == name) return c;
        } catch (const Error&) {
        }
    }
    return std::nullopt;
}

std::optional<Container> Records::find(std::string_view key) const {
    if (key.empty()) return std::nullopt;
    if (key.size() == 64)
        if (auto text = sys::read_file_if_exists(dir(std::string(key)) / "config.json")) return container_from_json(*text);
    std::string_view name = key.front() == '/' ? key.substr(1) : key;
    if (auto c = find_by_name(name)) return c;
    // A unique ID prefix: the directory names tell, only the match is parsed.
    std::optional<Container> match;
    for (auto& id : sys::list_dir(paths_.containers())) {
        if (id.size() != 64 || id.compare(0, key.size(), key) != 0) continue;
        auto text = sys::read_file_if_exists(dir(id) / "config.json");
        if (!text) continue;  // being created or removed
        std::optional<Container> c;
        try {
            c = container_from_json(*text);
        } catch (const Error&) {
            continue;
        }
        if (match) throw Error(Errc::invalid, "multiple IDs found with provided prefix: " + std::string(key));
        match = std::move(c);
    }
    return match;
}

Container Records::get(std::string_view key) const {
    if (auto c = find(key)) return *c;
    throw Error(Errc::not_found, "No such container: " + std::string(key));
}

void Records::save(const Container& c) const {
    sys::mkdirs(dir(c.id), 0710);
    sys::write_file_atomic(dir(c.id) / "config.json", to_json(c), 0600);
}

bool Records::shim_alive(const std::string& id) const {
    auto p = run_dir(id) / "shim.lock";
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    sys::unique_fd owner(fd);
    try {
        return sys::lock_held_elsewhere(fd, p.string());
    } catch (const sys::Error&) {
        return false;
    }
}

store::State Records::state(const std::string& id) const {
    auto s = store::read_state(state_path(id));
    if (s.running() && !shim_alive(id)) {
        s.status = "exited";
        if (s.exit_code == 0) s.exit_code = 255;
        if (s.error.empty()) s.error = "the container's supervisor is gone (host reboot or crash)";
        s.pid = 0;
    }
    return s;
}

void Records::write_state(const std::string& id, const store::State& s) const { store::write_state(state_path(id), s); }

sys::FileLock Records::lock(const std::string& id) const {
    sys::mkdirs(dir(id), 0710);
    return sys::FileLock(dir(id) / "lock");
}

sys::FileLock Records::lock_names() const {
    sys::mkdirs(paths_.containers(), 0710);
    return sys::FileLock(paths_.containers() / ".names.lock");
}

std::optional<NetworkState> Records::network_state(const std::string& id) const {
    auto text = sys::read_file_if_exists(run_dir(id) / "network.json");
    if (!text) return std::nullopt;
    return network_state_from_json(*text);
}

}  // namespace berth::container
