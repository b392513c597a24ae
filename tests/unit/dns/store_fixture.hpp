#pragma once
// A network store in a temp root, written in network::Manager's own file format (network records
// in <root>/networks/<id>.json, endpoints in <run>/networks/<id>/<container>.json), so the DNS
// code reads it through Manager::list() exactly as it reads a real one. The predefined networks
// are written too, so listing needs no netlink.
#include <unistd.h>

#include <string>
#include <vector>

#include "store/paths.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/sha256.hpp"

namespace dnstest {

struct StoreFixture {
    berth::sys::TempDir dir{"/tmp", "berth-dnstest-"};
    berth::store::Paths paths =
        berth::store::Paths::resolve((dir.path() / "root").string(), (dir.path() / "run").string());

    StoreFixture() {
        add_network("bridge", "172.17.0.0/16", "172.17.0.1");
        add_network("host", "", "", false, "host");
        add_network("none", "", "", false, "null");
    }

    static std::string id_of(const std::string& name) { return berth::sys::sha256_hex("net:" + name); }
    static std::string cid_of(const std::string& name) { return berth::sys::sha256_hex("ctr:" + name); }

    std::string add_network(const std::string& name, const std::string& subnet, const std::string& gateway,
                            bool internal = false, const std::string& driver = "bridge") {
        std::string id = id_of(name);
        berth::json j;
        j["Name"] = name;
        j["Id"] = id;
        j["Created"] = "2026-01-01T00:00:00Z";
        j["Driver"] = driver;
        j["EnableIPv6"] = false;
        j["Internal"] = internal;
        j["Attachable"] = false;
        j["Labels"] = berth::json::object();
        j["Options"] = berth::json::object();
        berth::json cfg = berth::json::array();
        if (!subnet.empty()) cfg.push_back({{"Subnet", subnet}, {"Gateway", gateway}});
        j["IPAM"] = {{"Driver", "default"}, {"Options", berth::json::object()}, {"Config", cfg}};
        j["Berth"] = {{"Bridge", driver == "bridge" ? "br-" + id.substr(0, 12) : ""}, {"UserSubnet", true}};
        berth::sys::mkdirs(paths.networks(), 0700);
        berth::sys::write_file_atomic(paths.networks() / (id + ".json"), j.dump(2), 0600);
        return id;
    }

    void remove_network(const std::string& name) {
        ::unlink((paths.networks() / (id_of(name) + ".json")).c_str());
        berth::sys::remove_tree(paths.run / "networks" / id_of(name));
    }

    // Returns the container id.
    std::string add_endpoint(const std::string& network, const std::string& container, const std::string& ip,
                             const std::vector<std::string>& aliases = {}) {
        std::string cid = cid_of(container);
        berth::json e{{"ContainerID", cid},    {"Name", container},  {"EndpointID", std::string(64, 'e')},
                      {"IfName", "eth0"},      {"IP", ip},           {"Prefix", 24},
                      {"MacAddress", "02:42:00:00:00:00"}, {"HostVeth", ""}, {"Aliases", aliases}};
        auto dir = paths.run / "networks" / id_of(network);
        berth::sys::mkdirs(dir, 0700);
        berth::sys::write_file_atomic(dir / (cid + ".json"), e.dump(), 0600);
        return cid;
    }

    void remove_endpoint(const std::string& network, const std::string& container) {
        ::unlink((paths.run / "networks" / id_of(network) / (cid_of(container) + ".json")).c_str());
    }

    // <run>/containers/<id>/dns.json, as the engine writes it for --dns.
    void set_container_dns(const std::string& container, const std::string& json_text) {
        auto dir = paths.run_container(cid_of(container));
        berth::sys::mkdirs(dir, 0700);
        berth::sys::write_file_atomic(dir / "dns.json", json_text, 0600);
    }
};

}  // namespace dnstest
