#include "network/network.hpp"

#include <linux/rtnetlink.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "network/ipam.hpp"
#include "network/ipam6.hpp"
#include "network/netlink.hpp"
#include "network/netns.hpp"
#include "sys/error.hpp"
#include "sys/event_log.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/lock.hpp"
#include "sys/random.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"

namespace berth::network {

namespace fs = std::filesystem;

namespace {

constexpr const char* kBridgeNameOpt = "com.docker.network.bridge.name";
constexpr const char* kMtuOpt = "com.docker.network.driver.mtu";

bool is_id(const std::string& s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(c) && !std::isupper(c); });
}

// Interface names: 1..15 bytes (IFNAMSIZ - 1), no '/', ':', whitespace or quotes (they also go
// into nft command text, quoted).
bool valid_ifname(const std::string& s) {
    if (s.empty() || s.size() > 15 || s == "." || s == "..") return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
}

unsigned mtu_of(const Network& n) {
    auto it = n.options.find(kMtuOpt);
    if (it == n.options.end()) return 1500;
    return static_cast<unsigned>(*str::parse_uint(it->second));
}

int prefix_of(const Network& n) { return Subnet4::parse(n.subnet).prefix; }

BridgeRules rules_of(const Network& n) {
    return BridgeRules{n.bridge, n.subnet, n.gateway, n.internal, n.dns()};
}

// The embedded DNS listens on the IPv4 gateway only (resolv.conf names it), and answers AAAA.
BridgeRules rules6_of(const Network& n) {
    return BridgeRules{n.bridge, n.subnet6, n.gateway6, n.internal, false};
}

json to_json(const Network& n) {
    json j;
    j["Name"] = n.name;
    j["Id"] = n.id;
    j["Created"] = n.created;
    j["Driver"] = n.driver;
    j["EnableIPv6"] = n.ipv6;
    j["Internal"] = n.internal;
    j["Attachable"] = n.attachable;
    j["Labels"] = n.labels;
    j["Options"] = n.options;
    json cfg = json::array();
    if (!n.subnet.empty()) {
        json c{{"Subnet", n.subnet}, {"Gateway", n.gateway}};
        if (!n.ip_range.empty()) c["IPRange"] = n.ip_range;
        cfg.push_back(c);
    }
    if (!n.subnet6.empty()) {
        json c{{"Subnet", n.subnet6}, {"Gateway", n.gateway6}};
        if (!n.ip_range6.empty()) c["IPRange"] = n.ip_range6;
        cfg.push_back(c);
    }
    j["IPAM"] = {{"Driver", "default"}, {"Options", json::object()}, {"Config", cfg}};
    j["Berth"] = {{"Bridge", n.bridge}, {"UserSubnet", n.user_subnet}, {"UserSubnet6", n.user_subnet6}};
    return j;
}

json endpoint_to_json(const EndpointRecord& e) {
    return {{"ContainerID", e.container_id}, {"Name", e.container_name}, {"EndpointID", e.endpoint_id},
            {"IfName", e.ifname},          {"IP", e.ip},              {"Prefix", e.prefix},
            {"IP6", e.ip6},                {"Prefix6", e.prefix6},    {"MacAddress", e.mac},
            {"HostVeth", e.host_veth},     {"HostIndex", e.host_index}, {"Aliases", e.aliases}};
}

EndpointRecord endpoint_from_json(const json& e) {
    EndpointRecord r;
    r.container_id = e.at("ContainerID").get<std::string>();
    r.container_name = e.value("Name", "");
    r.endpoint_id = e.value("EndpointID", "");
    r.ifname = e.value("IfName", "");
    r.ip = e.at("IP").get<std::string>();
    r.prefix = e.value("Prefix", 0);
    r.ip6 = e.value("IP6", "");
    r.prefix6 = e.value("Prefix6", 0);
    r.mac = e.value("MacAddress", "");
    r.host_veth = e.value("HostVeth", "");
    r.host_index = e.value("HostIndex", 0);
    r.aliases = e.value("Aliases", std::vector<std::string>{});
    return r;
}

Network from_json(const json& j) {
    Network n;
    n.name = j.at("Name").get<std::string>();
    n.id = j.at("Id").get<std::string>();
    n.created = j.value("Created", "");
    n.driver = j.value("Driver", "bridge");
    n.ipv6 = j.value("EnableIPv6", false);
    n.internal = j.value("Internal", false);
    n.attachable = j.value("Attachable", false);
    n.labels = j.value("Labels", std::map<std::string, std::string>{});
    n.options = j.value("Options", std::map<std::string, std::string>{});
    if (j.contains("IPAM"))
        for (const auto& c : j["IPAM"]["Config"]) {
            std::string subnet = c.value("Subnet", "");
            bool v6 = is_ipv6_text(subnet);
            (v6 ? n.subnet6 : n.subnet) = subnet;
            (v6 ? n.gateway6 : n.gateway) = c.value("Gateway", "");
            (v6 ? n.ip_range6 : n.ip_range) = c.value("IPRange", "");
        }
    const auto& b = j.at("Berth");
    n.bridge = b.value("Bridge", "");
    n.user_subnet = b.value("UserSubnet", false);
    n.user_subnet6 = b.value("UserSubnet6", false);
    return n;
}

json ports_to_json(const std::vector<PortMapping>& v) {
    json a = json::array();
    for (const auto& p : v)
        a.push_back({{"HostIp", p.host_ip},
                     {"HostPort", p.host_port},
                     {"Proto", p.proto},
                     {"ContainerIp", p.container_ip},
                     {"ContainerPort", p.container_port}});
    return a;
}

std::vector<PortMapping> ports_from_json(const json& a) {
    std::vector<PortMapping> v;
    for (const auto& p : a)
        v.push_back({p.at("HostIp").get<std::string>(), p.at("HostPort").get<std::uint16_t>(),
                     p.at("Proto").get<std::string>(), p.at("ContainerIp").get<std::string>(),
                     p.at("ContainerPort").get<std::uint16_t>()});
    return v;
}

// Runtime state (leases, endpoints, published ports) lives in the run dir, one file per
// container, written once under a fresh name: a reboot clears it together with the bridges,
// veths and nftables elements it describes, and no file is ever replaced in place (replacing
// costs a data flush on ext4, several ms, which attach cannot afford).
fs::path ports_dir(const store::Paths& p) { return p.run / "networks" / "ports"; }
fs::path endpoints_dir(const store::Paths& p, const std::string& net_id) { return p.run / "networks" / net_id; }

void write_new_file(const fs::path& path, const std::string& data) {
    sys::mkdirs(path.parent_path(), 0700);
    auto tmp = path;
    tmp += ".tmp-" + sys::random_hex(8);
    {
        auto fd = sys::open_path(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        sys::write_all(fd.get(), data, tmp.string());
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        sys::throw_errno("rename", tmp.string() + " -> " + path.string(), err);
    }
}

void remove_file(const fs::path& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) sys::throw_errno("unlink", path.string());
}

bool is_state_file(const std::string& f) { return f.size() > 5 && f.substr(f.size() - 5) == ".json"; }

std::map<std::string, std::vector<PortMapping>> load_ports(const store::Paths& paths) {
    std::map<std::string, std::vector<PortMapping>> out;
    for (const auto& f : sys::list_dir(ports_dir(paths))) {
        if (!is_state_file(f)) continue;
        auto path = ports_dir(paths) / f;
        auto text = sys::read_file_if_exists(path);
        if (!text) continue;
        auto j = json::parse(*text, nullptr, false);
        if (j.is_discarded()) throw_error(Errc::corrupt, "corrupt published-ports record " + path.string());
        out[f.substr(0, f.size() - 5)] = ports_from_json(j);
    }
    return out;
}

std::map<std::string, EndpointRecord> load_endpoints(const store::Paths& paths, const std::string& net_id) {
    std::map<std::string, EndpointRecord> out;
    auto dir = endpoints_dir(paths, net_id);
    for (const auto& f : sys::list_dir(dir)) {
        if (!is_state_file(f)) continue;
        auto text = sys::read_file_if_exists(dir / f);
        if (!text) continue;
        auto j = json::parse(*text, nullptr, false);
        if (j.is_discarded()) throw_error(Errc::corrupt, "corrupt endpoint record " + (dir / f).string());
        auto e = endpoint_from_json(j);
        out[e.container_id] = std::move(e);
    }
    return out;
}

// Where sequential allocation continues: a fixed-size record rewritten in place.
std::string load_last_ip(const store::Paths& paths, const std::string& net_id) {
    auto t = sys::read_file_if_exists(endpoints_dir(paths, net_id) / "last-ip");
    return t ? std::string(str::trim(*t)) : std::string();
}

void save_last_ip(const store::Paths& paths, const std::string& net_id, const std::string& ip) {
    sys::mkdirs(endpoints_dir(paths, net_id), 0700);
    std::string rec = ip;
    rec.resize(15, ' ');
    rec += '\n';
    auto fd = sys::open_path(endpoints_dir(paths, net_id) / "last-ip", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (::pwrite(fd.get(), rec.data(), rec.size(), 0) != ssize_t(rec.size()))
        sys::throw_errno("pwrite", (endpoints_dir(paths, net_id) / "last-ip").string());
}

// Same protocol and port on the same address, or on the same family's wildcard.
bool overlaps_port(const PortMapping& a, const PortMapping& b) {
    if (a.proto != b.proto || a.host_port != b.host_port) return false;
    if (a.host_ip == b.host_ip) return true;
    return is_ipv6_text(a.host_ip) == is_ipv6_text(b.host_ip) && (is_any_address(a.host_ip) || is_any_address(b.host_ip));
}

std::vector<PortMapping> of_family(const std::vector<PortMapping>& v, bool v6) {
    std::vector<PortMapping> out;
    for (const auto& p : v)  // [::1] is the shim's (listened_on_loopback6), not NAT
        if (is_ipv6_text(p.container_ip) == v6 && p.host_ip != "::1") out.push_back(p);
    return out;
}

// Undoes a step unless commit()ed (STYLE.md, convention 8).
class Undo {
public:
    explicit Undo(std::function<void()> f) : f_(std::move(f)) {}
    ~Undo() {
        if (f_) try {
                f_();
            } catch (...) {
                // The original error is the one to report; cleanup runs again on detach/rm.
            }
    }
    void commit() { f_ = nullptr; }

private:
    std::function<void()> f_;
};

}  // namespace

bool ip_forward_from_env() {
    const char* v = std::getenv("BERTH_IP_FORWARD");
    return !(v && (std::string(v) == "0" || str::to_lower(v) == "false"));
}

std::string mac_for_ip(const std::string& ip) {
    auto a = Ip4::parse(ip);
    if (!a) throw_error(Errc::invalid, "invalid IP address: " + ip);
    unsigned char b[6] = {0x02, 0x42, static_cast<unsigned char>(a->v >> 24), static_cast<unsigned char>(a->v >> 16),
                          static_cast<unsigned char>(a->v >> 8), static_cast<unsigned char>(a->v)};
    return format_mac(b, 6);
}

std::string inspect_json(const Network& n) {
    ojson j;
    j["Name"] = n.name;
    j["Id"] = n.id;
    j["Created"] = n.created;
    j["Scope"] = "local";
    j["Driver"] = n.driver;
    j["EnableIPv6"] = n.ipv6;
    ojson cfg = ojson::array();
    if (!n.subnet.empty()) {
        ojson c;
        c["Subnet"] = n.subnet;
        if (!n.ip_range.empty()) c["IPRange"] = n.ip_range;
        c["Gateway"] = n.gateway;
        cfg.push_back(c);
    }
    if (!n.subnet6.empty()) {
        ojson c;
        c["Subnet"] = n.subnet6;
        if (!n.ip_range6.empty()) c["IPRange"] = n.ip_range6;
        c["Gateway"] = n.gateway6;
        cfg.push_back(c);
    }
    ojson ipam;
    ipam["Driver"] = "default";
    ipam["Options"] = n.predefined() ? ojson(nullptr) : ojson::object();
    ipam["Config"] = cfg;
    j["IPAM"] = ipam;
    j["Internal"] = n.internal;
    j["Attachable"] = n.attachable;
    j["Ingress"] = false;
    j["ConfigFrom"] = {{"Network", ""}};
    j["ConfigOnly"] = false;
    ojson cs = ojson::object();
    for (const auto& [cid, e] : n.endpoints) {
        ojson c;
        c["Name"] = e.container_name;
        c["EndpointID"] = e.endpoint_id;
        c["MacAddress"] = e.mac;
        c["IPv4Address"] = e.ip + "/" + std::to_string(e.prefix);
        c["IPv6Address"] = e.ip6.empty() ? "" : e.ip6 + "/" + std::to_string(e.prefix6);
        cs[cid] = c;
    }
    j["Containers"] = cs;
    ojson opts = ojson::object();
    for (const auto& [k, v] : n.options) opts[k] = v;
    j["Options"] = opts;
    ojson labels = ojson::object();
    for (const auto& [k, v] : n.labels) labels[k] = v;
    j["Labels"] = labels;
    return j.dump();
}

namespace {

// The container side of a dual-stack attachment: IPv6 on (a host whose default is
// disable_ipv6=1 gives the netns's devices the same), the address without DAD (IPAM made it
// unique on the bridge) and advertised (an earlier holder's MAC may be cached), and the
// default route unless an earlier network gave one.
void attach_ipv6(Netlink& inner, int netns_fd, const EndpointRecord& ep, const std::string& gateway6) {
    in_netns(netns_fd, [&] {
        std::string key = "net/ipv6/conf/" + ep.ifname + "/disable_ipv6";
        if (read_sysctl(key) != "0") write_sysctl(key, "0");
    });
    inner.add_address(ep.ifname, ep.ip6, ep.prefix6, true);
    in_netns(netns_fd, [&] { advertise_ipv6(ep.ifname, ep.ip6, ep.mac); });
    for (const auto& r : inner.routes(AF_INET6))
        if (r.dst.empty() && r.prefix == 0 && r.table == RT_TABLE_MAIN && !r.gateway.empty()) return;
    inner.add_default_route(gateway6, ep.ifname);
}

}  // namespace

// ---- Manager ----

struct Manager::Lock {
    sys::FileLock lock;
};

Manager::Manager(store::Paths paths, ManagerOptions opts)
    : paths_(std::move(paths)), opts_(std::move(opts)), nat_(paths_.prefix), nat6_(paths_.prefix, "ip6") {}

Manager::~Manager() = default;

Manager::Lock Manager::lock() {
    sys::mkdirs(paths_.networks(), 0700);
    return Lock{sys::FileLock(paths_.networks() / ".lock")};
}

std::optional<Network> Manager::load_one(const std::string& id) {
    auto path = paths_.networks() / (id + ".json");
    auto text = sys::read_file_if_exists(path);
    if (!text) return std::nullopt;
    auto j = json::parse(*text, nullptr, false);
    if (j.is_discarded()) throw_error(Errc::corrupt, "corrupt network record " + path.string());
    try {
        return from_json(j);
    } catch (const std::exception& e) {
        throw_error(Errc::corrupt, "corrupt network record " + path.string() + ": " + e.what());
    }
}

std::vector<Network> Manager::load_all(bool with_endpoints) {
    std::vector<Network> out;
    for (const auto& f : sys::list_dir(paths_.networks())) {
        if (f.size() != 69 || f.substr(64) != ".json" || !is_id(f.substr(0, 64))) continue;
        auto n = load_one(f.substr(0, 64));
        if (!n) continue;
        out.push_back(std::move(*n));
        if (with_endpoints) load_endpoints_of(out.back());
    }
    std::sort(out.begin(), out.end(), [](const Network& a, const Network& b) { return a.name < b.name; });
    return out;
}

void Manager::load_endpoints_of(Network& n) {
    n.endpoints = load_endpoints(paths_, n.id);
    n.last_ip = load_last_ip(paths_, n.id);
}

void Manager::save(const Network& n) {
    sys::write_file_atomic(paths_.networks() / (n.id + ".json"), to_json(n).dump(2) + "\n", 0600);
}

// Docker's lookup order: full id, exact name, then a unique id prefix.
std::optional<Network> Manager::find(const std::vector<Network>& all, const std::string& key) {
    if (key.empty()) return std::nullopt;
    for (const auto& n : all)
        if (n.id == key) return n;
    for (const auto& n : all)
        if (n.name == key) return n;
    std::optional<Network> hit;
    for (const auto& n : all)
        if (n.id.rfind(key, 0) == 0) {
            if (hit) throw_error(Errc::invalid, "network " + key + " is ambiguous (" + short_id(hit->id) + ", " +
                                                    short_id(n.id) + ")");
            hit = n;
        }
    return hit;
}

namespace {
std::vector<Subnet4> host_subnets() {
    std::vector<Subnet4> out;
    Netlink nl;
    for (const auto& r : nl.routes(AF_INET)) {
        if (r.prefix == 0 || r.table == RT_TABLE_LOCAL || r.type != RTN_UNICAST || r.dst.empty()) continue;
        if (auto ip = Ip4::parse(r.dst)) {
            Subnet4 s{*ip, r.prefix};
            s.base.v &= s.mask();
            out.push_back(s);
        }
    }
    for (const auto& a : nl.addresses(AF_INET)) {
        auto ip = Ip4::parse(a.address);
        if (!ip || a.prefix == 0 || (ip->v >> 24) == 127) continue;
        Subnet4 s{*ip, a.prefix};
        s.base.v &= s.mask();
        out.push_back(s);
    }
    return out;
}

std::vector<Subnet4> network_subnets(const std::vector<Network>& all, const std::string& except_id = {}) {
    std::vector<Subnet4> out;
    for (const auto& n : all)
        if (!n.subnet.empty() && n.id != except_id) out.push_back(Subnet4::parse(n.subnet));
    return out;
}

// The host's IPv6 routes and addresses, but link-local, multicast, loopback and the default.
std::vector<Subnet6> host_subnets6() {
    std::vector<Subnet6> out;
    auto add = [&](const std::string& addr, int prefix) {
        auto ip = Ip6::parse(addr);
        if (!ip || prefix == 0 || ip->b[0] == 0xff || (ip->b[0] == 0xfe && (ip->b[1] & 0xc0) == 0x80)) return;
        if (*ip == *Ip6::parse("::1")) return;
        out.push_back(Subnet6::of(*ip, prefix));
    };
    Netlink nl;
    for (const auto& r : nl.routes(AF_INET6))
        if (r.table != RT_TABLE_LOCAL && r.type == RTN_UNICAST && !r.dst.empty()) add(r.dst, r.prefix);
    for (const auto& a : nl.addresses(AF_INET6)) add(a.address, a.prefix);
    return out;
}

std::vector<Subnet6> network_subnets6(const std::vector<Network>& all) {
    std::vector<Subnet6> out;
    for (const auto& n : all)
        if (!n.subnet6.empty()) out.push_back(Subnet6::parse(n.subnet6));
    return out;
}

bool host_has_ipv6() { return fs::exists("/proc/sys/net/ipv6/conf/all/disable_ipv6"); }
}  // namespace

namespace {
bool has_network(const std::vector<Network>& all, const std::string& name) {
    return std::any_of(all.begin(), all.end(), [&](const Network& n) { return n.name == name; });
}
bool has_predefined(const std::vector<Network>& all) {
    return has_network(all, "bridge") && has_network(all, "host") && has_network(all, "none");
}
}  // namespace

std::vector<Network> Manager::ensure_predefined() {
    auto all = load_all(false);
    auto has = [&](const std::string& name) { return has_network(all, name); };
    if (has_predefined(all)) return all;
    auto now = sys::format_rfc3339_nano(sys::now_ns());
    if (!has("bridge")) {
        Network n;
        n.name = "bridge";
        n.id = sys::random_hex(64);
        n.created = now;
        auto cfg = make_ipam_config("", "", "", network_subnets(all), host_subnets());
        n.subnet = cfg.subnet.str();
        n.gateway = cfg.gateway.str();
        n.bridge = default_bridge_name();
        n.options = {{"com.docker.network.bridge.default_bridge", "true"},
                     {"com.docker.network.bridge.enable_icc", "true"},
                     {"com.docker.network.bridge.enable_ip_masquerade", "true"},
                     {"com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"},
                     {kBridgeNameOpt, n.bridge},
                     {kMtuOpt, "1500"}};
        save(n);
        all.push_back(n);
    }
    for (const char* name : {"host", "none"}) {
        if (has(name)) continue;
        Network n;
        n.name = name;
        n.id = sys::random_hex(64);
        n.created = now;
        n.driver = std::string(name) == "host" ? "host" : "null";
        save(n);
        all.push_back(n);
    }
    std::sort(all.begin(), all.end(), [](const Network& a, const Network& b) { return a.name < b.name; });
    return all;
}

void Manager::ensure_bridge(const Network& n) {
    Netlink nl;
    if (!nl.link_exists(n.bridge)) {
        Undo undo([&] { Netlink().delete_link_if_exists(n.bridge); });
        nl.create_bridge(n.bridge, mtu_of(n), mac_for_ip(n.gateway));
        nl.add_address(n.bridge, n.gateway, prefix_of(n));
        // 127.0.0.1 published ports: the DNAT'ed packet keeps its loopback source, which the
        // kernel refuses to route out of a device unless route_localnet is set on it.
        write_sysctl("net/ipv4/conf/" + n.bridge + "/route_localnet", "1");
        // IPv4 forwarding is decided per input device; containers' egress enters on the bridge.
        write_sysctl("net/ipv4/conf/" + n.bridge + "/forwarding", "1");
        if (!n.internal && opts_.enable_ip_forward && read_sysctl("net/ipv4/ip_forward") != "1")
            write_sysctl("net/ipv4/ip_forward", "1");
        if (n.ipv6) {
            // A host whose default has disable_ipv6=1 gives new devices the same; the gateway
            // address is added without DAD (nothing else on a new bridge can hold it), so it is
            // usable at once rather than after a second of tentative state.
            if (read_sysctl("net/ipv6/conf/" + n.bridge + "/disable_ipv6") != "0")
                write_sysctl("net/ipv6/conf/" + n.bridge + "/disable_ipv6", "0");
            nl.add_address(n.bridge, n.gateway6, Subnet6::parse(n.subnet6).prefix, true);
            if (!n.internal && opts_.enable_ip_forward && read_sysctl("net/ipv6/conf/all/forwarding") != "1")
                write_sysctl("net/ipv6/conf/all/forwarding", "1");
        }
        undo.commit();
    }
    nat_.add_bridge(rules_of(n));
    if (!n.internal && !opts_.host_filter_table.empty()) nat_.forward_compat_add(n.bridge, opts_.host_filter_table);
    if (n.ipv6) {
        nat6_.add_bridge(rules6_of(n));
        if (!n.internal && !opts_.host_filter_table.empty()) nat6_.forward_compat_add(n.bridge, opts_.host_filter_table);
    }
}

void Manager::teardown_bridge(const Network& n) {
    if (n.bridge.empty()) return;
    nat_.remove_bridge(rules_of(n));
    if (!opts_.host_filter_table.empty()) nat_.forward_compat_remove(n.bridge, opts_.host_filter_table);
    if (n.ipv6) {
        nat6_.remove_bridge(rules6_of(n));
        if (!opts_.host_filter_table.empty()) nat6_.forward_compat_remove(n.bridge, opts_.host_filter_table);
    }
    // Gone from the host when this returns; the kernel's RCU barrier after it (tens of ms,
    // longer behind the namespaces its containers left) is an orphan's wait (netlink.hpp).
    Netlink().delete_link_nowait(n.bridge);
}

void Manager::drop_table_if_unused(const std::vector<Network>& remaining) {
    Netlink nl;
    bool any = false, any6 = false;
    for (const auto& n : remaining)
        if (!n.bridge.empty() && nl.link_exists(n.bridge)) {
            any = true;
            any6 = any6 || n.ipv6;
        }
    if (!any6) nat6_.drop();
    if (!any) nat_.drop();
}

Network Manager::create(const std::string& name, const NetworkOptions& o) {
    // Validate everything before any side effect, reporting every problem at once.
    std::vector<std::string> problems;
    if (!str::valid_object_name(name))
        problems.push_back("invalid network name \"" + name + "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    if (o.driver != "bridge") {
        if (o.driver == "host" || o.driver == "null")
            problems.push_back("only one instance of \"" + o.driver + "\" network is allowed");
        else
            problems.push_back("driver \"" + o.driver + "\" is not supported (berth has the bridge driver)");
    }
    if (!o.ipv6 && (!o.subnet6.empty() || !o.gateway6.empty() || !o.ip_range6.empty()))
        problems.push_back("an IPv6 --subnet, --gateway or --ip-range needs --ipv6 (IPv6 is not enabled on the network)");
    if (o.ipv6 && !host_has_ipv6()) problems.push_back("cannot enable IPv6: IPv6 is disabled in this host's kernel");
    if (!o.subnet.empty() && is_ipv6_text(o.subnet)) problems.push_back("invalid IPv4 subnet " + o.subnet);
    for (const auto& [k, v] : o.options) {
        if (k == kBridgeNameOpt) {
            if (!valid_ifname(v))
                problems.push_back("invalid " + std::string(kBridgeNameOpt) + " \"" + v +
                                   "\": an interface name is 1-15 characters of [a-zA-Z0-9_.-]");
        } else if (k == kMtuOpt) {
            auto m = str::parse_uint(v);
            if (!m || *m < 68 || *m > 65535) problems.push_back("invalid MTU \"" + v + "\": it must be 68..65535");
        } else if ((k == "com.docker.network.bridge.enable_icc" || k == "com.docker.network.bridge.enable_ip_masquerade") &&
                   v != "true") {
            problems.push_back("option " + k + "=" + v + " is not supported");
        } else if (k.rfind("com.docker.network.", 0) == 0 && k != "com.docker.network.bridge.host_binding_ipv4") {
            problems.push_back("option " + k + " is not supported");
        }
    }

    auto l = lock();
    if (problems.empty()) ensure_predefined();  // bad input changes nothing, not even that
    auto all = load_all();
    for (const auto& n : all)
        if (n.name == name) throw_error(Errc::conflict, "network with name " + name + " already exists");

    IpamConfig cfg;
    try {
        cfg = make_ipam_config(o.subnet, o.gateway, o.ip_range, network_subnets(all),
                               o.subnet.empty() ? host_subnets() : std::vector<Subnet4>{});
    } catch (const Error& e) {
        if (problems.empty()) throw;
        problems.push_back(e.what());
    }
    std::optional<Ipam6Config> cfg6;
    if (o.ipv6 && host_has_ipv6()) {
        // The ULA Global ID is the default bridge's random id: fixed for this root.
        std::string seed;
        for (const auto& n : all)
            if (n.name == "bridge") seed = n.id;
        try {
            cfg6 = make_ipam6_config(o.subnet6, o.gateway6, o.ip_range6, seed, network_subnets6(all),
                                     o.subnet6.empty() ? host_subnets6() : std::vector<Subnet6>{});
        } catch (const Error& e) {
            problems.push_back(e.what());
        }
    }
    if (!problems.empty()) throw_error(Errc::invalid, str::join(problems, "\n"));
    Network n;
    n.name = name;
    n.id = sys::random_hex(64);
    n.created = sys::format_rfc3339_nano(sys::now_ns());
    n.internal = o.internal;
    n.attachable = o.attachable;
    n.labels = o.labels;
    n.options = o.options;
    n.subnet = cfg.subnet.str();
    n.gateway = cfg.gateway.str();
    if (cfg.ip_range) n.ip_range = cfg.ip_range->str();
    n.user_subnet = !o.subnet.empty();
    n.ipv6 = cfg6.has_value();
    if (cfg6) {
        n.subnet6 = cfg6->subnet.str();
        n.gateway6 = cfg6->gateway.str();
        if (cfg6->ip_range) n.ip_range6 = cfg6->ip_range->str();
        n.user_subnet6 = !o.subnet6.empty();
    }
    auto bn = o.options.find(kBridgeNameOpt);
    n.bridge = bn != o.options.end() ? bn->second : "br-" + short_id(n.id);
    for (const auto& other : all)
        if (other.bridge == n.bridge)
            throw_error(Errc::conflict, "bridge " + n.bridge + " is already used by network " + other.name);
    if (bn != o.options.end() && Netlink().link_exists(n.bridge))
        throw_error(Errc::conflict, "a network interface named " + n.bridge + " already exists on this host");

    Undo undo([&] { teardown_bridge(n); });
    ensure_bridge(n);
    save(n);
    undo.commit();
    sys::emit_event(paths_.root, "network", "create", n.id, {{"name", n.name}, {"type", n.driver}});
    return n;
}

// Records are replaced by rename, so reading needs no lock; only making the predefined networks
// (the first use of a root) does. Not taking it keeps readers (the DNS server's reloads, every
// container's create and start) from queueing behind an attach, which holds it while it makes
// the container's veth.
std::vector<Network> Manager::list() {
    auto all = load_all();
    if (has_predefined(all)) return all;
    {
        auto l = lock();
        ensure_predefined();
    }
    return load_all();
}

Network Manager::inspect(const std::string& key, bool with_endpoints) {
    auto all = load_all(with_endpoints);
    if (!has_predefined(all)) {
        {
            auto l = lock();
            ensure_predefined();
        }
        all = load_all(with_endpoints);
    }
    auto n = find(all, key);
    if (!n) throw_error(Errc::not_found, "network " + key + " not found");
    return *n;
}

void Manager::remove(const std::string& key) {
    auto l = lock();
    ensure_predefined();
    auto all = load_all();
    auto n = find(all, key);
    if (!n) throw_error(Errc::not_found, "network " + key + " not found");
    if (n->predefined()) throw_error(Errc::in_use, n->name + " is a pre-defined network and cannot be removed");
    if (!n->endpoints.empty())
        throw_error(Errc::in_use, "error while removing network: network " + n->name + " id " + short_id(n->id) +
                                      " has active endpoints");
    teardown_bridge(*n);
    remove_file(paths_.networks() / (n->id + ".json"));
    sys::remove_tree(endpoints_dir(paths_, n->id));
    std::vector<Network> remaining;
    for (auto& other : all)
        if (other.id != n->id) remaining.push_back(other);
    drop_table_if_unused(remaining);
    sys::emit_event(paths_.root, "network", "destroy", n->id, {{"name", n->name}, {"type", n->driver}});
}

std::vector<std::string> Manager::prune(const std::function<bool(const Network&)>& keep) {
    std::vector<std::string> removed;
    for (const auto& n : list()) {
        if (n.predefined() || !n.endpoints.empty() || (keep && keep(n))) continue;
        try {
            remove(n.id);
            removed.push_back(n.name);
        } catch (const Error& e) {
            if (e.kind() != Errc::in_use && e.kind() != Errc::not_found) throw;  // attached meanwhile, or gone
        }
    }
    return removed;
}

Endpoint Manager::attach(const std::string& key, const std::string& container_id, const std::string& container_name,
                         int netns_fd, const EndpointOptions& o) {
    if (!o.ifname.empty() && !valid_ifname(o.ifname)) throw_error(Errc::invalid, "invalid interface name " + o.ifname);
    if (!o.mac.empty() && !parse_mac(o.mac)) throw_error(Errc::invalid, o.mac + " is not a valid mac address");
    std::optional<Ip4> want;
    if (!o.ip.empty()) {
        want = Ip4::parse(o.ip);
        if (!want) throw_error(Errc::invalid, "invalid IPv4 address: " + o.ip);
    }
    std::optional<Ip6> want6;
    if (!o.ip6.empty()) {
        want6 = Ip6::parse(o.ip6);
        if (!want6) throw_error(Errc::invalid, "invalid IPv6 address: " + o.ip6);
    }

    auto l = lock();
    auto found = find(ensure_predefined(), key);  // only this network's endpoints are needed
    if (!found) throw_error(Errc::not_found, "network " + key + " not found");
    Network n = *found;
    load_endpoints_of(n);
    if (n.driver != "bridge")
        throw_error(Errc::unsupported, "container cannot be attached to the " + n.name + " network this way");
    if (n.endpoints.count(container_id))
        throw_error(Errc::conflict, "endpoint with name " + container_name + " already exists in network " + n.name);
    if (want && n.name == "bridge")
        throw_error(Errc::invalid, "user specified IP address is supported on user defined networks only");
    if (want && !n.user_subnet)
        throw_error(Errc::invalid,
                    "user specified IP address is supported only when connecting to networks with user configured "
                    "subnets");
    if (want6 && !n.ipv6)
        throw_error(Errc::invalid, "invalid IPv6 address " + o.ip6 + ": network " + n.name + " does not have IPv6 enabled");
    if (want6 && !n.user_subnet6)
        throw_error(Errc::invalid,
                    "user specified IP address is supported only when connecting to networks with user configured "
                    "subnets");

    IpamConfig cfg{Subnet4::parse(n.subnet), *Ip4::parse(n.gateway),
                   n.ip_range.empty() ? std::nullopt : std::optional(Subnet4::parse(n.ip_range, "ip-range"))};
    std::set<std::uint32_t> used;
    for (const auto& [cid, e] : n.endpoints)
        if (auto ip = Ip4::parse(e.ip)) used.insert(ip->v);
    Allocator alloc(cfg, used, n.last_ip.empty() ? std::nullopt : Ip4::parse(n.last_ip));
    Ip4 ip;
    if (want) {
        alloc.reserve(*want);
        ip = *want;
    } else {
        try {
            ip = alloc.allocate();
        } catch (const Error& e) {
            throw_error(e.kind(), std::string(e.what()) + ": " + n.name + " (" + short_id(n.id) + ")");
        }
    }

    std::optional<Ip6> ip6;
    if (n.ipv6) {
        Ipam6Config cfg6{Subnet6::parse(n.subnet6), *Ip6::parse(n.gateway6),
                         n.ip_range6.empty() ? std::nullopt : std::optional(Subnet6::parse(n.ip_range6, "ip-range"))};
        std::set<Ip6> used6;
        for (const auto& [cid, e] : n.endpoints)
            if (auto a = Ip6::parse(e.ip6)) used6.insert(*a);
        Allocator6 alloc6(cfg6, used6);
        if (want6) {
            alloc6.reserve(*want6);
            ip6 = want6;
        } else {
            try {
                ip6 = alloc6.allocate();
            } catch (const Error& e) {
                throw_error(e.kind(), std::string(e.what()) + ": " + n.name + " (" + short_id(n.id) + ")");
            }
        }
    }

    EndpointRecord ep;
    ep.container_id = container_id;
    ep.container_name = container_name;
    ep.endpoint_id = sys::random_hex(64);
    ep.ip = ip.str();
    ep.prefix = cfg.subnet.prefix;
    if (ip6) {
        ep.ip6 = ip6->str();
        ep.prefix6 = Subnet6::parse(n.subnet6).prefix;
    }
    ep.mac = o.mac.empty() ? mac_for_ip(ep.ip) : str::to_lower(o.mac);
    ep.aliases = o.aliases;
    if (n.dns()) ep.aliases.push_back(short_id(container_id));
    ep.host_veth = "veth" + sys::random_hex(7);

    // A bridge that exists was set up by create() or an earlier attach: the bridge, its nftables
    // elements and sysctls go together, and a reboot takes all of them.
    Netlink host;
    auto br = host.link(n.bridge);
    if (!br) {
        ensure_bridge(n);
        br = host.link(n.bridge);
        if (!br) throw_error(Errc::failed, "bridge " + n.bridge + " disappeared while attaching " + container_name);
    }
    auto inner = Netlink::in_netns(netns_fd);
    bool first = true;
    ep.ifname = o.ifname;
    if (o.default_route && !o.ifname.empty()) {
        first = *o.default_route;
    } else {
        std::set<std::string> names;
        for (const auto& link : inner.links()) {
            names.insert(link.name);
            if (link.name.rfind("eth", 0) == 0) first = false;
        }
        if (ep.ifname.empty())
            for (int i = 0;; ++i)
                if (!names.count("eth" + std::to_string(i))) {
                    ep.ifname = "eth" + std::to_string(i);
                    break;
                }
    }

    auto veth = host.create_veth(ep.host_veth, br->index, mtu_of(n), ep.ifname, netns_fd, ep.mac);
    Undo undo([&] { Netlink().delete_link_if_exists(ep.host_veth); });
    ep.host_index = veth.index;
    host.set_hairpin(veth.index, ep.host_veth, true);
    if (first || !o.default_route) inner.set_up("lo");
    inner.set_up(ep.ifname);
    inner.add_address(veth.peer_index, ep.ifname, ep.ip, ep.prefix);
    if (first) inner.add_default_route(n.gateway, veth.peer_index, ep.ifname);
    if (ip6) attach_ipv6(inner, netns_fd, ep, n.gateway6);

    write_new_file(endpoints_dir(paths_, n.id) / (container_id + ".json"), endpoint_to_json(ep).dump() + "\n");
    if (!want && alloc.last()) save_last_ip(paths_, n.id, alloc.last()->str());
    undo.commit();
    sys::emit_event(paths_.root, "network", "connect", n.id, {{"container", container_id}, {"name", n.name}, {"type", n.driver}});
    return Endpoint{n.id,   n.name,         ep.endpoint_id, ep.ifname, ep.ip,     ep.prefix,
                    n.gateway, ep.mac,      ep.host_veth,   ep.ip6,    ip6 ? n.gateway6 : "", ep.prefix6, n.dns()};
}

void Manager::detach(const std::string& key, const std::string& container_id, bool after_run) {
    // Only the container's own start, stop, removal and disconnect change its endpoint (they
    // hold the container's lock), so the record is read, and the veth deleted, without the
    // store's lock: deleting a link waits for the kernel (tens of ms on a busy host), and holding
    // the lock meanwhile queues every other attach and detach of the root (compose down) behind
    // it. The record goes last, under the lock, so its address is not handed out while the old
    // veth still exists.
    // By full ID (the cleanup's, from the container's network.json) one record is read.
    auto found = is_id(key) ? load_one(key) : std::nullopt;
    if (!found) found = find(load_all(false), key);
    if (!found) return;  // a network with endpoints cannot be removed: nothing is left to undo
    auto file = endpoints_dir(paths_, found->id) / (container_id + ".json");
    auto text = sys::read_file_if_exists(file);
    if (!text) return;
    auto j = json::parse(*text, nullptr, false);
    if (j.is_discarded()) throw_error(Errc::corrupt, "corrupt endpoint record " + file.string());
    auto ep = endpoint_from_json(j);
    // Deleting the host end deletes the pair. After a run the shim is deleting it already
    // (engine/shim/links.hpp): that is waited for, and a veth still there after the grace (a
    // shim killed first, or one that could not start its thread) is deleted here. The
    // kernel's freeing of it (an RCU grace period) is left to an orphan process (netlink.hpp).
    if (!ep.host_veth.empty()) {
        Netlink nl;
        if (!after_run || !nl.wait_link_gone(ep.host_veth, std::chrono::milliseconds(200), ep.host_index))
            nl.delete_link_nowait(ep.host_veth);
    }
    auto l = lock();
    remove_file(file);
    sys::emit_event(paths_.root, "network", "disconnect", found->id,
                    {{"container", container_id}, {"name", found->name}, {"type", found->driver}});
}

std::vector<PortMapping> Manager::publish(const std::string& container_id, const std::string& container_ip,
                                          const std::vector<PortSpec>& specs, const std::string& container_ip6) {
    if (!Ip4::parse(container_ip)) throw_error(Errc::invalid, "invalid container IP address: " + container_ip);
    if (!container_ip6.empty() && !Ip6::parse(container_ip6))
        throw_error(Errc::invalid, "invalid container IPv6 address: " + container_ip6);
    for (const auto& s : specs)
        if (is_ipv6_text(s.host_ip) && s.host_ip != "::1" && container_ip6.empty())
            throw_error(Errc::unsupported,
                        "cannot publish on IPv6 address " + s.host_ip +
                            ": the container has no IPv6 address (its network was not created with --ipv6); "
                            "kernel NAT does not carry IPv6 connections to an IPv4 address");
    auto l = lock();
    auto all = load_ports(paths_);
    std::vector<PortMapping> taken;
    for (const auto& [cid, v] : all)
        if (cid != container_id) taken.insert(taken.end(), v.begin(), v.end());

    // Port 53 on a user network's gateway is held by berth's embedded DNS, which the dns set
    // keeps apart from published ports: it does not make 53 busy for a container.
    std::vector<std::string> dns_gateways;
    bool dns_port = std::any_of(specs.begin(), specs.end(), [](const PortSpec& s) {
        return (s.host_start ? s.host_start <= 53 && 53 <= std::max(s.host_end, s.host_start) : false);
    });
    if (dns_port)
        for (const auto& n : load_all())
            if (n.dns() && !n.gateway.empty()) dns_gateways.push_back(n.gateway);
    auto allocated = [&](const PortMapping& m) {
        return std::any_of(taken.begin(), taken.end(), [&](const PortMapping& t) { return overlaps_port(t, m); });
    };
    auto bind_text = [](const PortMapping& m) {
        return (is_ipv6_text(m.host_ip) ? "[" + m.host_ip + "]" : m.host_ip) + ":" + std::to_string(m.host_port);
    };
    auto conflict = [&](const PortMapping& m) {
        throw_error(Errc::conflict, "Bind for " + bind_text(m) + " failed: port is already allocated");
    };

    std::vector<PortMapping> out;
    for (const auto& s : specs) {
        std::string hip = s.host_ip.empty() ? "0.0.0.0" : s.host_ip;
        bool v6 = is_ipv6_text(hip);
        // No host address: both families when the container has both (Docker's 0.0.0.0 and ::).
        bool twin = s.host_ip.empty() && !container_ip6.empty();
        auto twin_of = [&](const PortMapping& m) {
            PortMapping t = m;
            t.host_ip = "::";
            t.container_ip = container_ip6;
            return t;
        };
        auto free_everywhere = [&](const PortMapping& c) {
            auto clash = [&](const PortMapping& x) {
                return allocated(x) ||
                       std::any_of(out.begin(), out.end(), [&](const PortMapping& o) { return overlaps_port(o, x); });
            };
            return !clash(c) && (!twin || !clash(twin_of(c)));
        };
        int count = s.container_end - s.container_start + 1;
        bool pick_from_range = s.host_start && (s.host_end - s.host_start) != (s.container_end - s.container_start);
        for (int i = 0; i < count; ++i) {
            // [::1] is relayed by the shim, to the IPv4 address when the container has no IPv6.
            PortMapping m{hip, 0, s.proto, v6 && !container_ip6.empty() ? container_ip6 : container_ip,
                          static_cast<std::uint16_t>(s.container_start + i)};
            if (pick_from_range) {
                // A host range for one container port: the first port in it that is free.
                for (int p = s.host_start; p <= s.host_end && !m.host_port; ++p) {
                    PortMapping c = m;
                    c.host_port = static_cast<std::uint16_t>(p);
                    if (free_everywhere(c) && host_port_free(s.host_ip, s.proto, c.host_port, dns_gateways) &&
                        (!twin || host_port_free("::", s.proto, c.host_port)))
                        m.host_port = c.host_port;
                }
                if (!m.host_port) {
                    m.host_port = s.host_start;
                    conflict(m);
                }
            } else if (s.host_start) {
                m.host_port = static_cast<std::uint16_t>(s.host_start + i);
            } else {
                for (int tries = 0; tries < 64 && !m.host_port; ++tries) {
                    PortMapping c = m;
                    c.host_port = ephemeral_port(s.host_ip, s.proto);
                    if (free_everywhere(c) && (!twin || host_port_free("::", s.proto, c.host_port)))
                        m.host_port = c.host_port;
                }
                if (!m.host_port)
                    throw_error(Errc::failed, "no ephemeral host port available for " + hip + "/" + s.proto);
            }
            out.push_back(m);
            if (twin) out.push_back(twin_of(m));
        }
    }
    // Every mapping is checked before anything changes.
    for (size_t i = 0; i < out.size(); ++i) {
        if (allocated(out[i])) conflict(out[i]);
        for (size_t j = 0; j < i; ++j)
            if (overlaps_port(out[i], out[j])) conflict(out[i]);
        if (!host_port_free(out[i].host_ip == "0.0.0.0" ? "" : out[i].host_ip, out[i].proto, out[i].host_port,
                            dns_gateways))
            throw_error(Errc::conflict, "Bind for " + bind_text(out[i]) +
                                            " failed: port is already allocated (a host process is bound to it)");
    }

    auto previous = all[container_id];
    std::vector<PortMapping> stale;
    for (const auto& p : previous)
        if (std::find(out.begin(), out.end(), p) == out.end()) stale.push_back(p);
    nat_.remove_ports(of_family(stale, false));
    nat6_.remove_ports(of_family(stale, true));
    nat_.add_ports(of_family(out, false));
    nat6_.add_ports(of_family(out, true));
    auto file = ports_dir(paths_) / (container_id + ".json");
    remove_file(file);
    write_new_file(file, ports_to_json(out).dump() + "\n");
    return out;
}

void Manager::unpublish(const std::string& container_id) {
    auto l = lock();
    auto all = load_ports(paths_);
    auto it = all.find(container_id);
    if (it == all.end()) return;
    nat_.remove_ports(of_family(it->second, false));
    nat6_.remove_ports(of_family(it->second, true));
    remove_file(ports_dir(paths_) / (container_id + ".json"));
}

std::vector<PortMapping> Manager::published(const std::string& container_id) {
    auto all = load_ports(paths_);
    auto it = all.find(container_id);
    return it == all.end() ? std::vector<PortMapping>{} : it->second;
}

void Manager::release_default_bridge() {
    auto l = lock();
    auto all = load_all();
    for (const auto& n : all)
        if (n.name == "bridge") {
            if (!n.endpoints.empty()) return;
            teardown_bridge(n);
        }
    drop_table_if_unused(all);
}

}  // namespace berth::network
