// Which containers name which volumes, read from the containers' records. Docker counts a
// reference for every container that has the volume in its mounts, running or not.
#include <algorithm>

#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "volumes/volumes.hpp"

namespace berth::volumes {

InUse volumes_in_use(const store::Paths& paths) {
    InUse out;
    for (auto& id : sys::list_dir(paths.containers())) {
        if (id.empty() || id.front() == '.') continue;
        auto text = sys::read_file_if_exists(paths.containers() / id / "config.json");
        if (!text) continue;
        auto j = json::parse(*text, nullptr, false);
        if (!j.is_object()) continue;
        auto host = j.find("HostConfig");
        if (host == j.end() || !host->is_object()) continue;
        auto mounts = host->find("Mounts");
        if (mounts == host->end() || !mounts->is_array()) continue;
        for (auto& m : *mounts) {
            if (!m.is_object()) continue;
            auto type = m.find("Type");
            auto source = m.find("Source");
            if (type == m.end() || source == m.end() || !type->is_string() || !source->is_string()) continue;
            if (type->get<std::string>() != "volume" || source->get<std::string>().empty()) continue;
            auto& ids = out[source->get<std::string>()];
            if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
        }
    }
    for (auto& [name, ids] : out) std::sort(ids.begin(), ids.end());
    return out;
}

}  // namespace berth::volumes
