#include "compose/service_refs.hpp"

#include "sys/strings.hpp"

namespace berth::compose {

namespace {

bool is_service_ref(const std::string& v) { return v.rfind("service:", 0) == 0; }

}  // namespace

bool hash_resolves_refs(const Service& svc) {
    if (is_service_ref(svc.network_mode) || is_service_ref(svc.ipc) || is_service_ref(svc.pid)) return true;
    return !svc.volumes_from.empty();
}

std::string service_config_hash(const Service& svc, const std::function<std::string(const std::string& service)>& container_id) {
    if (!hash_resolves_refs(svc)) return service_config_hash(svc);
    Service s = svc;
    for (auto* mode : {&s.network_mode, &s.ipc, &s.pid}) {
        if (!is_service_ref(*mode)) continue;
        if (auto id = container_id(mode->substr(8)); !id.empty()) *mode = "container:" + id;
    }
    for (auto& v : s.volumes_from) {
        std::string rest = v.rfind("service:", 0) == 0 ? v.substr(8) : v;
        auto [head, tail] = str::split_once(rest, ':');
        if (head == "container" && v.rfind("container:", 0) == 0) {
            v = str::split_once(*tail, ':').first;
            continue;
        }
        if (auto id = container_id(head); !id.empty()) v = id;
    }
    return service_config_hash(s);
}

}  // namespace berth::compose
