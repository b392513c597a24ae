#include "network/nat.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>

#include "network/ipam.hpp"
#include "sys/error.hpp"
#include "sys/fd.hpp"
#include "sys/json.hpp"
#include "sys/strings.hpp"

namespace berth::network {
namespace {

// "80" or "8000-8010" -> [start, end]; nullopt when malformed or out of 1..65535.
std::optional<std::pair<std::uint16_t, std::uint16_t>> parse_range(std::string_view s) {
    auto [a, b] = str::split_once(s, '-');
    auto lo = str::parse_uint(a);
    auto hi = b ? str::parse_uint(*b) : lo;
    if (a.empty() || (b && b->empty()) || !lo || !hi || *lo < 1 || *lo > 65535 || *hi < 1 || *hi > 65535 || *lo > *hi)
        return std::nullopt;
    if (a[0] == '+' || (b && (*b)[0] == '+')) return std::nullopt;
    return std::pair{static_cast<std::uint16_t>(*lo), static_cast<std::uint16_t>(*hi)};
}

std::string q(const std::string& ifname) { return "\"" + ifname + "\""; }

std::string map_name(const PortMapping& p) { return p.host_ip == "0.0.0.0" ? "pub_any" : "pub_addr"; }

std::string port_key(const PortMapping& p) {
    std::string k = p.host_ip == "0.0.0.0" ? "" : p.host_ip + " . ";
    return k + p.proto + " . " + std::to_string(p.host_port);
}

std::string port_element(const PortMapping& p) {
    return port_key(p) + " : " + p.container_ip + " . " + std::to_string(p.container_port);
}

// One "add element" line per set, elements comma-separated; sets in a fixed order.
struct Elements {
    std::vector<std::pair<std::string, std::vector<std::string>>> sets;
    void add(const std::string& set, std::string e) {
        for (auto& [n, v] : sets)
            if (n == set) {
                v.push_back(std::move(e));
                return;
            }
        sets.push_back({set, {std::move(e)}});
    }
    std::string text(const std::string& verb, const std::string& table) const {
        std::string out;
        for (const auto& [n, v] : sets)
            out += verb + " element ip " + table + " " + n + " { " + str::join(v, ", ") + " }\n";
        return out;
    }
};

Elements bridge_elements(const BridgeRules& b) {
    Elements e;
    e.add("bridges", q(b.bridge));
    e.add("intra", q(b.bridge) + " . " + q(b.bridge));
    e.add("hairpin", b.subnet + " . " + q(b.bridge));
    if (b.internal)
        e.add("internal", q(b.bridge));
    else
        e.add("egress_subnets", b.subnet);
    if (b.dns) {
        e.add("dns", q(b.bridge) + " . " + b.gateway + " . udp . 53");
        e.add("dns", q(b.bridge) + " . " + b.gateway + " . tcp . 53");
    }
    return e;
}

}  // namespace

PortSpec parse_publish(std::string_view spec_in) {
    std::string spec(spec_in);
    auto bad = [&](const std::string& why) -> PortSpec { throw_error(Errc::invalid, why); };
    PortSpec p;
    std::string rest = spec;
    if (auto slash = rest.rfind('/'); slash != std::string::npos) {
        p.proto = str::to_lower(rest.substr(slash + 1));
        rest = rest.substr(0, slash);
        if (p.proto == "sctp") throw_error(Errc::unsupported, "publishing sctp ports is not supported: " + spec);
        if (p.proto != "tcp" && p.proto != "udp") return bad("invalid proto: " + p.proto);
    }
    if (!rest.empty() && rest[0] == '[')
        throw_error(Errc::unsupported, "publishing on an IPv6 address is not supported yet: " + spec);
    auto parts = str::split(rest, ':');
    std::string ip, host, cont;
    if (parts.size() == 1) {
        cont = parts[0];
    } else if (parts.size() == 2) {
        host = parts[0];
        cont = parts[1];
    } else if (parts.size() == 3) {
        ip = parts[0];
        host = parts[1];
        cont = parts[2];
    } else {
        return bad("invalid publish spec: " + spec);
    }
    if (parts.size() == 3) {
        if (!Ip4::parse(ip)) return bad("invalid IP address: " + ip);
        p.host_ip = ip == "0.0.0.0" ? "" : ip;
    }
    auto c = parse_range(cont);
    if (!c) return bad("invalid containerPort: " + cont);
    p.container_start = c->first;
    p.container_end = c->second;
    if (!host.empty()) {
        auto h = parse_range(host);
        if (!h) return bad("invalid hostPort: " + host);
        p.host_start = h->first;
        p.host_end = h->second;
        // A host range with a single container port is a range to pick one free port from.
        if (h->second - h->first != c->second - c->first && c->first != c->second)
            return bad("invalid ranges specified for container and host Ports: " + cont + " and " + host);
    }
    return p;
}

std::vector<PortSpec> publish_all(const std::vector<std::string>& exposed) {
    std::vector<PortSpec> out;
    for (const auto& e : exposed) {
        auto p = parse_publish(e);
        if (!p.host_ip.empty() || p.host_start)
            throw_error(Errc::invalid, "invalid exposed port: " + e);
        out.push_back(p);
    }
    return out;
}

std::string ruleset_text(const std::string& t) {
    return "table ip " + t + " {\n"
           "\tset bridges { type ifname; }\n"
           "\tset intra { type ifname . ifname; }\n"
           "\tset internal { type ifname; }\n"
           "\tset egress_subnets { type ipv4_addr; flags interval; }\n"
           "\tset hairpin { type ipv4_addr . ifname; flags interval; }\n"
           "\tset dns { type ifname . ipv4_addr . inet_proto . inet_service; }\n"
           "\tmap pub_any { type inet_proto . inet_service : ipv4_addr . inet_service; }\n"
           "\tmap pub_addr { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }\n"
           "\tchain published {\n"
           "\t\tdnat ip to ip daddr . meta l4proto . th dport map @pub_addr\n"
           "\t\tdnat ip to meta l4proto . th dport map @pub_any\n"
           "\t}\n"
           "\tchain prerouting {\n"
           "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
           "\t\tfib daddr type local jump published\n"
           "\t}\n"
           "\tchain output {\n"
           "\t\ttype nat hook output priority -100; policy accept;\n"
           "\t\tfib daddr type local jump published\n"
           "\t}\n"
           "\tchain postrouting {\n"
           "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
           "\t\toifname @bridges ip saddr 127.0.0.0/8 masquerade\n"
           "\t\tct status dnat ip saddr . oifname @hairpin masquerade\n"
           "\t\tip saddr @egress_subnets oifname != @bridges masquerade\n"
           "\t}\n"
           "\tchain forward {\n"
           "\t\ttype filter hook forward priority filter; policy accept;\n"
           "\t\toifname @bridges ct state established,related accept\n"
           "\t\tiifname @bridges ct state established,related accept\n"
           "\t\tiifname . oifname @intra accept\n"
           "\t\tiifname @internal drop\n"
           "\t\toifname @internal drop\n"
           "\t\toifname @bridges ct status dnat accept\n"
           "\t\tiifname @bridges oifname @bridges drop\n"
           "\t\tiifname @bridges accept\n"
           "\t\toifname @bridges drop\n"
           "\t}\n"
           "\tchain input {\n"
           "\t\ttype filter hook input priority filter; policy accept;\n"
           "\t\tiifname @internal ct state established,related accept\n"
           "\t\tiifname . ip daddr . meta l4proto . th dport @dns accept\n"
           "\t\tiifname @internal drop\n"
           "\t}\n"
           "}\n";
}

std::string add_bridge_text(const std::string& table, const BridgeRules& b) {
    return bridge_elements(b).text("add", table);
}

std::string remove_bridge_text(const std::string& table, const BridgeRules& b) {
    auto e = bridge_elements(b);
    return e.text("add", table) + e.text("delete", table);
}

std::string add_ports_text(const std::string& table, const std::vector<PortMapping>& ports) {
    Elements e;
    for (const auto& p : ports) e.add(map_name(p), port_element(p));
    return e.text("add", table);
}

std::string remove_ports_text(const std::string& table, const std::vector<PortMapping>& ports) {
    Elements add, del;
    for (const auto& p : ports) {
        add.add(map_name(p), port_element(p));
        del.add(map_name(p), port_key(p));
    }
    return add.text("add", table) + del.text("delete", table);
}

// ---- libnftables ----

Nft::Nft() : ctx_(nft_ctx_new(NFT_CTX_DEFAULT)) {
    if (!ctx_) throw_error(Errc::failed, "nftables: cannot create a libnftables context");
    nft_ctx_buffer_output(ctx_);
    nft_ctx_buffer_error(ctx_);
}

Nft::~Nft() { nft_ctx_free(ctx_); }

std::optional<std::string> Nft::try_run(const std::string& cmds, bool json) {
    unsigned flags = nft_ctx_output_get_flags(ctx_);
    if (json)
        flags |= NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE;
    else
        flags &= ~unsigned(NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
    nft_ctx_output_set_flags(ctx_, flags);
    int rc = nft_run_cmd_from_buffer(ctx_, cmds.c_str());
    std::string out = nft_ctx_get_output_buffer(ctx_);
    nft_ctx_get_error_buffer(ctx_);  // reading resets the buffer
    if (rc != 0) return std::nullopt;
    return out;
}

void Nft::run(const std::string& cmds, std::string_view what) {
    nft_ctx_output_set_flags(ctx_, nft_ctx_output_get_flags(ctx_) & ~unsigned(NFT_CTX_OUTPUT_JSON));
    int rc = nft_run_cmd_from_buffer(ctx_, cmds.c_str());
    nft_ctx_get_output_buffer(ctx_);
    std::string err = nft_ctx_get_error_buffer(ctx_);
    if (rc != 0) {
        while (!err.empty() && err.back() == '\n') err.pop_back();
        std::string msg = "nftables";
        if (!what.empty()) msg = std::string(what) + ": " + msg;
        throw_error(Errc::failed, msg + ": " + (err.empty() ? "command failed" : err));
    }
}

bool Nft::table_exists(const std::string& family, const std::string& table) {
    return try_run("list table " + family + " " + table).has_value();
}

Nft& NatTable::nft() {
    if (!nft_) nft_ = std::make_unique<Nft>();
    return *nft_;
}

bool NatTable::exists() { return nft().table_exists("ip", table_); }

void NatTable::ensure() {
    if (!exists()) nft().run(ruleset_text(table_), "creating nftables table ip " + table_);
}

void NatTable::add_bridge(const BridgeRules& b) {
    ensure();
    nft().run(add_bridge_text(table_, b), "adding bridge " + b.bridge + " to nftables table " + table_);
}

void NatTable::remove_bridge(const BridgeRules& b) {
    if (!exists()) return;
    nft().run(remove_bridge_text(table_, b), "removing bridge " + b.bridge + " from nftables table " + table_);
}

void NatTable::add_ports(const std::vector<PortMapping>& ports) {
    if (ports.empty()) return;
    ensure();
    nft().run(add_ports_text(table_, ports), "publishing ports");
}

void NatTable::remove_ports(const std::vector<PortMapping>& ports) {
    if (ports.empty() || !exists()) return;
    nft().run(remove_ports_text(table_, ports), "unpublishing ports");
}

void NatTable::drop() {
    if (exists()) nft().run("delete table ip " + table_, "deleting nftables table ip " + table_);
}

namespace {

struct CompatRule {
    std::string chain;
    std::uint64_t handle;
};

// berth's rules in the filter table's DOCKER-USER and FORWARD chains, found by their comment.
std::vector<CompatRule> compat_rules(Nft& nft, const std::string& filter_table, const std::string& comment,
                                     std::string* target_chain) {
    std::vector<CompatRule> out;
    auto listing = nft.try_run("list table ip " + filter_table, true);
    if (!listing) return out;
    auto doc = json::parse(*listing, nullptr, false);
    if (doc.is_discarded() || !doc.contains("nftables")) return out;
    bool has_user = false, forward_drops = false;
    for (const auto& item : doc["nftables"]) {
        if (item.contains("chain")) {
            const auto& c = item["chain"];
            std::string name = c.value("name", "");
            if (name == "DOCKER-USER") has_user = true;
            if (name == "FORWARD" && c.value("policy", "") == "drop") forward_drops = true;
        }
        if (item.contains("rule")) {
            const auto& r = item["rule"];
            if (r.value("comment", "") == comment)
                out.push_back({r.value("chain", ""), r.value("handle", std::uint64_t(0))});
        }
    }
    if (target_chain) *target_chain = has_user ? "DOCKER-USER" : forward_drops ? "FORWARD" : "";
    return out;
}

}  // namespace

void NatTable::forward_compat_add(const std::string& bridge, const std::string& filter_table) {
    std::string comment = "berth " + table_ + " " + bridge;
    std::string chain;
    auto existing = compat_rules(nft(), filter_table, comment, &chain);
    if (chain.empty() || existing.size() >= 2) return;
    std::string cmds;
    for (const auto& r : existing)
        cmds += "delete rule ip " + filter_table + " " + r.chain + " handle " + std::to_string(r.handle) + "\n";
    std::string base = "insert rule ip " + filter_table + " " + chain + " ";
    cmds += base + "oifname " + q(bridge) + " counter accept comment " + q(comment) + "\n";
    cmds += base + "iifname " + q(bridge) + " counter accept comment " + q(comment) + "\n";
    nft().run(cmds, "letting " + bridge + " through ip " + filter_table + " " + chain);
}

void NatTable::forward_compat_remove(const std::string& bridge, const std::string& filter_table) {
    std::string comment = "berth " + table_ + " " + bridge;
    auto existing = compat_rules(nft(), filter_table, comment, nullptr);
    if (existing.empty()) return;
    std::string cmds;
    for (const auto& r : existing)
        cmds += "delete rule ip " + filter_table + " " + r.chain + " handle " + std::to_string(r.handle) + "\n";
    nft().run(cmds, "removing " + bridge + " from ip " + filter_table);
}

// ---- host ports ----

namespace {

sys::unique_fd bound_socket(const std::string& host_ip, const std::string& proto, std::uint16_t port, int& err) {
    int type = proto == "udp" ? SOCK_DGRAM : SOCK_STREAM;
    sys::unique_fd fd(sys::check(::socket(AF_INET, type | SOCK_CLOEXEC, 0), "socket", "AF_INET"));
    // As a listener would: TIME_WAIT leftovers do not make a port busy, a listener does.
    int one = 1;
    if (type == SOCK_STREAM) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    std::string ip = host_ip.empty() ? "0.0.0.0" : host_ip;
    if (::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) != 1) throw_error(Errc::invalid, "invalid IP address: " + ip);
    err = 0;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        (type == SOCK_STREAM && ::listen(fd.get(), 1) != 0)) {
        err = errno;
        return {};
    }
    return fd;
}

}  // namespace

bool host_port_free(const std::string& host_ip, const std::string& proto, std::uint16_t port) {
    int err = 0;
    auto fd = bound_socket(host_ip, proto, port, err);
    if (fd) return true;
    if (err == EADDRINUSE) return false;
    std::string ip = host_ip.empty() ? "0.0.0.0" : host_ip;
    sys::throw_errno("bind", proto + " " + ip + ":" + std::to_string(port), err);
}

std::uint16_t ephemeral_port(const std::string& host_ip, const std::string& proto) {
    int err = 0;
    auto fd = bound_socket(host_ip, proto, 0, err);
    std::string ip = host_ip.empty() ? "0.0.0.0" : host_ip;
    if (!fd) sys::throw_errno("bind", proto + " " + ip + ":0", err);
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    sys::check(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len), "getsockname");
    return ntohs(sa.sin_port);
}

}  // namespace berth::network
