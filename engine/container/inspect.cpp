// docker inspect of a container: the record's Config and HostConfig as stored, with State,
// NetworkSettings, Mounts and GraphDriver built around them in Docker's key order.
#include "container/engine.hpp"
#include "sys/json.hpp"
#include "sys/time.hpp"

namespace berth::container {

std::string inspect_json(const Container& c, const store::State& s, const std::optional<NetworkState>& net,
                         const store::Paths& paths) {
    auto rec = ojson::parse(to_json(c));
    auto dir = paths.container(c.id);
    auto t = [](std::int64_t ns) { return sys::format_rfc3339_nano(ns); };

    ojson state = {{"Status", s.status},
                   {"Running", s.status == "running" || s.status == "paused"},
                   {"Paused", s.status == "paused"},
                   {"Restarting", s.status == "restarting"},
                   {"OOMKilled", s.oom_killed},
                   {"Dead", s.status == "dead"},
                   {"Pid", s.pid},
                   {"ExitCode", s.exit_code},
                   {"Error", s.error},
                   {"StartedAt", t(s.started_at)},
                   {"FinishedAt", t(s.finished_at)}};
    if (s.health) {
        ojson log = ojson::array();
        for (auto& e : s.health->log)
            log.push_back({{"Start", t(e.start)}, {"End", t(e.end)}, {"ExitCode", e.exit_code}, {"Output", e.output}});
        state["Health"] = {{"Status", s.health->status}, {"FailingStreak", s.health->failing_streak}, {"Log", log}};
    }

    ojson mounts = ojson::array();
    for (auto& m : c.host_config.mounts) {
        ojson o = {{"Type", m.type}};
        if (m.type == "volume") o["Name"] = m.source;
        o["Source"] = m.type == "volume" ? (paths.volumes() / m.source / "_data").string() : m.source;
        o["Destination"] = m.target;
        if (m.type == "volume") o["Driver"] = "local";
        o["Mode"] = m.readonly ? "ro" : "";
        o["RW"] = !m.readonly;
        o["Propagation"] = m.type == "bind" ? (m.propagation.empty() ? "rprivate" : m.propagation) : "";
        mounts.push_back(o);
    }

    ojson ports = ojson::object();
    for (auto& p : c.config.exposed_ports) ports[p] = nullptr;
    ojson networks = ojson::object();
    ojson settings = {{"Bridge", ""}, {"SandboxID", ""}, {"SandboxKey", ""}};
    bool running = s.status == "running" || s.status == "paused" || s.status == "restarting";
    if (net && running) {
        for (auto& p : net->ports) {
            if (!ports.contains(p.container_port) || ports[p.container_port].is_null()) ports[p.container_port] = ojson::array();
            ports[p.container_port].push_back({{"HostIp", p.host_ip}, {"HostPort", p.host_port}});
        }
        if (s.pid > 0) settings["SandboxKey"] = "/proc/" + std::to_string(s.pid) + "/ns/net";
    }
    for (auto& [name, want] : c.networks) {
        ojson ipam = ojson::object();
        if (!want.ipv4.empty()) ipam["IPv4Address"] = want.ipv4;
        if (!want.ipv6.empty()) ipam["IPv6Address"] = want.ipv6;
        ojson e = {{"IPAMConfig", ipam.empty() ? ojson(nullptr) : ipam},
                   {"Links", nullptr},
                   {"Aliases", want.aliases.empty() ? ojson(nullptr) : ojson(want.aliases)},
                   {"MacAddress", ""},
                   {"NetworkID", ""},
                   {"EndpointID", ""},
                   {"Gateway", ""},
                   {"IPAddress", ""},
                   {"IPPrefixLen", 0},
                   {"IPv6Gateway", ""},
                   {"GlobalIPv6Address", ""},
                   {"GlobalIPv6PrefixLen", 0},
                   {"DNSNames", nullptr}};
        if (net && running) {
            if (auto it = net->networks.find(name); it != net->networks.end()) {
                auto& es = it->second;
                e["MacAddress"] = es.mac;
                e["NetworkID"] = es.network_id;
                e["EndpointID"] = es.endpoint_id;
                e["Gateway"] = es.gateway;
                e["IPAddress"] = es.ip;
                e["IPPrefixLen"] = es.prefix;
                e["IPv6Gateway"] = es.gateway6;
                e["GlobalIPv6Address"] = es.ip6;
                e["GlobalIPv6PrefixLen"] = es.prefix6;
                if (name != "bridge") {
                    std::vector<std::string> dns{c.name, c.short_id()};
                    dns.insert(dns.end(), want.aliases.begin(), want.aliases.end());
                    e["DNSNames"] = dns;
                }
            }
        }
        networks[name] = e;
    }
    settings["Ports"] = ports;
    // Docker keeps the default bridge's address at the top level too.
    settings["Gateway"] = networks.contains("bridge") ? networks["bridge"]["Gateway"] : ojson("");
    settings["IPAddress"] = networks.contains("bridge") ? networks["bridge"]["IPAddress"] : ojson("");
    settings["MacAddress"] = networks.contains("bridge") ? networks["bridge"]["MacAddress"] : ojson("");
    settings["Networks"] = networks;

    ojson out = {{"Id", c.id},
                 {"Created", t(c.created)},
                 {"Path", c.path},
                 {"Args", c.args},
                 {"State", state},
                 {"Image", c.image_id},
                 {"ResolvConfPath", (dir / "resolv.conf").string()},
                 {"HostnamePath", (dir / "hostname").string()},
                 {"HostsPath", (dir / "hosts").string()},
                 {"LogPath", (dir / (c.id + "-json.log")).string()},
                 {"Name", "/" + c.name},
                 {"RestartCount", s.restart_count},
                 {"Driver", "overlay2"},
                 {"Platform", "linux"},
                 {"MountLabel", ""},
                 {"ProcessLabel", ""},
                 {"AppArmorProfile", ""},
                 {"ExecIDs", nullptr},
                 {"HostConfig", rec["HostConfig"]},
                 {"GraphDriver",
                  {{"Data",
                    {{"MergedDir", (dir / "merged").string()}, {"UpperDir", (dir / "upper").string()}, {"WorkDir", (dir / "work").string()}}},
                   {"Name", "overlay2"}}},
                 {"Mounts", mounts},
                 {"Config", rec["Config"]},
                 {"NetworkSettings", settings}};
    return out.dump();
}

}  // namespace berth::container
