#include "container/engine.hpp"

#include <set>

#include "images/store.hpp"
#include "network/network.hpp"
#include "sys/strings.hpp"
#include "volumes/volumes.hpp"
#include "sys/time.hpp"

namespace berth::container {

struct Engine::Impl {
    store::Paths paths;
    std::unique_ptr<images::Store> images;
    std::unique_ptr<network::Manager> networks;
    std::unique_ptr<volumes::Manager> volumes;
};

Engine::Engine(store::Paths paths) : impl_(std::make_unique<Impl>()), records_(paths) { impl_->paths = std::move(paths); }
Engine::~Engine() = default;

images::Store& Engine::images() {
    if (!impl_->images) impl_->images = std::make_unique<images::Store>(impl_->paths.images());
    return *impl_->images;
}

network::Manager& Engine::networks() {
    if (!impl_->networks) impl_->networks = std::make_unique<network::Manager>(impl_->paths);
    return *impl_->networks;
}

volumes::Manager& Engine::volumes() {
    if (!impl_->volumes) impl_->volumes = std::make_unique<volumes::Manager>(impl_->paths);
    return *impl_->volumes;
}

std::vector<std::string> Engine::take_warnings() { return std::exchange(warnings_, {}); }

std::string status_text(const store::State& s, std::int64_t now_ns) {
    auto ago = [&](std::int64_t t) { return str::human_duration_ns(now_ns - t); };
    if (s.status == "running" || s.status == "paused") {
        std::string out = "Up " + ago(s.started_at);
        if (s.status == "paused") return out + " (Paused)";
        if (s.health) {
            if (s.health->status == "starting") out += " (health: starting)";
            else out += " (" + s.health->status + ")";
        }
        return out;
    }
    if (s.status == "restarting") return "Restarting (" + std::to_string(s.exit_code) + ") " + ago(s.finished_at) + " ago";
    if (s.status == "exited" && s.finished_at) return "Exited (" + std::to_string(s.exit_code) + ") " + ago(s.finished_at) + " ago";
    if (s.status == "dead") return "Dead";
    return "Created";
}

std::string ports_text(const Container& c, const std::optional<NetworkState>& ns, bool running) {
    std::vector<std::string> parts;
    std::set<std::string> published;
    if (ns && running)
        for (auto& p : ns->ports) {
            std::string host = p.host_ip.find(':') != std::string::npos ? "[" + p.host_ip + "]" : p.host_ip;
            parts.push_back(host + ":" + p.host_port + "->" + p.container_port);
            published.insert(p.container_port);
        }
    for (auto& e : c.config.exposed_ports)
        if (!published.count(e)) parts.push_back(e);
    return str::join(parts, ", ");
}

}  // namespace berth::container
