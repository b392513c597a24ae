#include "network/nat.hpp"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <type_traits>

#include "network/ipam.hpp"
#include "network/ipam6.hpp"
#include "sys/error.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"
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

std::string map_name(const PortMapping& p) { return is_any_address(p.host_ip) ? "pub_any" : "pub_addr"; }

std::string port_key(const PortMapping& p) {
    std::string k = is_any_address(p.host_ip) ? "" : p.host_ip + " . ";
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
    std::string text(const std::string& verb, const std::string& table, const std::string& family = "ip") const {
        std::string out;
        for (const auto& [n, v] : sets)
            out += verb + " element " + family + " " + table + " " + n + " { " + str::join(v, ", ") + " }\n";
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
    // As Docker's nat.ParsePortSpec: the last two ':'-separated fields are the ports, everything
    // before them the address, an IPv6 one with or without brackets.
    auto parts = str::split(rest, ':');
    std::string ip, host, cont;
    if (parts.size() == 1) {
        cont = parts[0];
    } else if (parts.size() == 2) {
        host = parts[0];
        cont = parts[1];
    } else {
        ip = str::join(std::vector<std::string>(parts.begin(), parts.end() - 2), ":");
        host = parts[parts.size() - 2];
        cont = parts.back();
        if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
        if (Ip4::parse(ip)) {
            p.host_ip = ip == "0.0.0.0" ? "" : ip;
        } else if (auto v6 = Ip6::parse(ip)) {
            p.host_ip = v6->str();
        } else {
            return bad("invalid IP address: " + ip);
        }
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

std::string ruleset_text(const std::string& t, const std::string& family) {
    bool v6 = family == "ip6";
    std::string addr = v6 ? "ipv6_addr" : "ipv4_addr";
    std::string l3 = v6 ? "ip6" : "ip";
    // Loopback publishing: the host's connection to 127.0.0.1 is DNAT'ed in output and
    // masqueraded to the gateway as it leaves into the bridge (postrouting); the replies come
    // back addressed to the gateway and are un-NAT'ed to 127.0.0.1, which the bridge's
    // route_localnet lets the host accept. IPv6 has no such switch, and RFC 4291 forbids ::1
    // on a wire: the kernel drops a packet addressed to ::1 that arrives on a bridge, which an
    // un-NAT'ed reply is whenever br_netfilter runs the bridge's traffic through netfilter (a
    // Docker host). So ::1 is never DNAT'ed (output returns first) and the container's shim
    // listens on [::1] instead (listened_on_loopback6, engine/shim/proxy.hpp). The guard chain
    // runs before conntrack and NAT, so it sees only packets that arrive from a bridge already
    // addressed to loopback, which no reply is: a container crafting such frames must not
    // reach the host's loopback services (CVE-2020-8558).
    std::string loopback = v6 ? "::1" : "127.0.0.0/8";
    return "table " + family + " " + t + " {\n"
           "\tset bridges { type ifname; }\n"
           "\tset intra { type ifname . ifname; }\n"
           "\tset internal { type ifname; }\n"
           "\tset egress_subnets { type " + addr + "; flags interval; }\n"
           "\tset hairpin { type " + addr + " . ifname; flags interval; }\n"
           "\tset dns { type ifname . " + addr + " . inet_proto . inet_service; }\n"
           "\tmap pub_any { type inet_proto . inet_service : " + addr + " . inet_service; }\n"
           "\tmap pub_addr { type " + addr + " . inet_proto . inet_service : " + addr + " . inet_service; }\n"
           "\tchain published {\n"
           "\t\tdnat " + l3 + " to " + l3 + " daddr . meta l4proto . th dport map @pub_addr\n"
           "\t\tdnat " + l3 + " to meta l4proto . th dport map @pub_any\n"
           "\t}\n"
           "\tchain guard {\n"
           "\t\ttype filter hook prerouting priority raw; policy accept;\n"
           "\t\tiifname @bridges " + l3 + " daddr " + loopback + " drop\n"
           "\t}\n"
           "\tchain prerouting {\n"
           "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
           // A container's query to its gateway's embedded DNS is berth's, even when a container
           // publishes port 53 on the host's addresses (the gateway is one of them).
           "\t\tiifname . " + l3 + " daddr . meta l4proto . th dport @dns accept\n"
           "\t\tfib daddr type local jump published\n"
           "\t}\n"
           "\tchain output {\n"
           "\t\ttype nat hook output priority -100; policy accept;\n"
           + std::string(v6 ? "\t\tip6 daddr ::1 return\n" : "") +
           "\t\tfib daddr type local jump published\n"
           "\t}\n"
           "\tchain postrouting {\n"
           "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
           "\t\toifname @bridges " + l3 + " saddr " + loopback + " masquerade\n"
           "\t\tct status dnat " + l3 + " saddr . oifname @hairpin masquerade\n"
           "\t\t" + l3 + " saddr @egress_subnets oifname != @bridges masquerade\n"
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
           "\t\tiifname . " + l3 + " daddr . meta l4proto . th dport @dns accept\n"
           "\t\tiifname @internal drop\n"
           "\t}\n"
           "}\n";
}

std::string add_bridge_text(const std::string& table, const BridgeRules& b, const std::string& family) {
    return bridge_elements(b).text("add", table, family);
}

std::string remove_bridge_text(const std::string& table, const BridgeRules& b, const std::string& family) {
    auto e = bridge_elements(b);
    return e.text("add", table, family) + e.text("delete", table, family);
}

std::string add_ports_text(const std::string& table, const std::vector<PortMapping>& ports, const std::string& family) {
    Elements e;
    for (const auto& p : ports) e.add(map_name(p), port_element(p));
    return e.text("add", table, family);
}

std::string remove_ports_text(const std::string& table, const std::vector<PortMapping>& ports, const std::string& family) {
    Elements add, del;
    for (const auto& p : ports) {
        add.add(map_name(p), port_element(p));
        del.add(map_name(p), port_key(p));
    }
    return add.text("add", table, family) + del.text("delete", table, family);
}

// ---- libnftables ----

namespace {

// libnftables and the six libraries under it (libnftnl, libmnl, libxtables, jansson, gmp) are
// loaded the first time a rule changes, not by every berth process: most commands, and the
// start of a container on a network whose bridge is already set up, never touch nftables, and
// the dynamic loader's work for those libraries is a measurable part of a process's start.
struct NftLib {
    decltype(&::nft_ctx_new) ctx_new;
    decltype(&::nft_ctx_free) ctx_free;
    decltype(&::nft_ctx_buffer_output) buffer_output;
    decltype(&::nft_ctx_buffer_error) buffer_error;
    decltype(&::nft_ctx_get_output_buffer) get_output_buffer;
    decltype(&::nft_ctx_get_error_buffer) get_error_buffer;
    decltype(&::nft_ctx_output_get_flags) output_get_flags;
    decltype(&::nft_ctx_output_set_flags) output_set_flags;
    decltype(&::nft_run_cmd_from_buffer) run_cmd_from_buffer;
};

const NftLib& nft_lib() {
    static NftLib lib;
    static std::string error;
    static std::once_flag once;
    std::call_once(once, [] {
        // Kept loaded for the life of the process (never dlclose'd).
        void* h = ::dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            const char* e = ::dlerror();
            error = e ? e : "libnftables.so.1: cannot be loaded";
            return;
        }
        auto sym = [&](auto& fn, const char* name) {
            fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(h, name));
            if (!fn && error.empty()) error = std::string("libnftables.so.1 has no ") + name;
        };
        sym(lib.ctx_new, "nft_ctx_new");
        sym(lib.ctx_free, "nft_ctx_free");
        sym(lib.buffer_output, "nft_ctx_buffer_output");
        sym(lib.buffer_error, "nft_ctx_buffer_error");
        sym(lib.get_output_buffer, "nft_ctx_get_output_buffer");
        sym(lib.get_error_buffer, "nft_ctx_get_error_buffer");
        sym(lib.output_get_flags, "nft_ctx_output_get_flags");
        sym(lib.output_set_flags, "nft_ctx_output_set_flags");
        sym(lib.run_cmd_from_buffer, "nft_run_cmd_from_buffer");
    });
    if (!error.empty())
        throw_error(Errc::unsupported, "nftables: " + error + " (berth needs libnftables1 for bridge networks)");
    return lib;
}

}  // namespace

Nft::Nft() : ctx_(nft_lib().ctx_new(NFT_CTX_DEFAULT)) {
    if (!ctx_) throw_error(Errc::failed, "nftables: cannot create a libnftables context");
    nft_lib().buffer_output(ctx_);
    nft_lib().buffer_error(ctx_);
}

Nft::~Nft() { nft_lib().ctx_free(ctx_); }

std::optional<std::string> Nft::try_run(const std::string& cmds, bool json) {
    auto& nl = nft_lib();
    unsigned flags = nl.output_get_flags(ctx_);
    if (json)
        flags |= NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE;
    else
        flags &= ~unsigned(NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
    nl.output_set_flags(ctx_, flags);
    int rc = nl.run_cmd_from_buffer(ctx_, cmds.c_str());
    std::string out = nl.get_output_buffer(ctx_);
    nl.get_error_buffer(ctx_);  // reading resets the buffer
    if (rc != 0) return std::nullopt;
    return out;
}

void Nft::run(const std::string& cmds, std::string_view what) {
    auto& nl = nft_lib();
    nl.output_set_flags(ctx_, nl.output_get_flags(ctx_) & ~unsigned(NFT_CTX_OUTPUT_JSON));
    int rc = nl.run_cmd_from_buffer(ctx_, cmds.c_str());
    nl.get_output_buffer(ctx_);
    std::string err = nl.get_error_buffer(ctx_);
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

bool NatTable::exists() { return nft().table_exists(family_, table_); }

void NatTable::ensure() {
    // The guard chain is the newest part of the ruleset: a table that has it is current.
    std::string base = family_ + " " + table_ + " ";
    if (nft().try_run("list chain " + base + "guard")) return;
    auto prerouting = nft().try_run("list chain " + base + "prerouting");
    if (!prerouting) {
        nft().run(ruleset_text(table_, family_), "creating nftables table " + family_ + " " + table_);
        return;
    }
    // A table made by an older berth is brought up to date in one transaction: the rule that
    // keeps containers' DNS queries to their gateway away from a published port 53, and the
    // guard chain.
    std::string l3 = family_ == "ip6" ? "ip6" : "ip";
    std::string cmds;
    if (prerouting->find("@dns accept") == std::string::npos)
        cmds += "flush chain " + base + "prerouting\n" + "add rule " + base + "prerouting iifname . " + l3 +
                " daddr . meta l4proto . th dport @dns accept\n" + "add rule " + base +
                "prerouting fib daddr type local jump published\n";
    cmds += "add chain " + base + "guard { type filter hook prerouting priority raw; policy accept; }\n" +
            "add rule " + base + "guard iifname @bridges " + l3 + " daddr " +
            (family_ == "ip6" ? "::1" : "127.0.0.0/8") + " drop\n";
    nft().run(cmds, "upgrading nftables table " + family_ + " " + table_);
}

void NatTable::add_bridge(const BridgeRules& b) {
    ensure();
    nft().run(add_bridge_text(table_, b, family_), "adding bridge " + b.bridge + " to nftables table " + family_ + " " + table_);
}

void NatTable::remove_bridge(const BridgeRules& b) {
    if (!exists()) return;
    nft().run(remove_bridge_text(table_, b, family_),
              "removing bridge " + b.bridge + " from nftables table " + family_ + " " + table_);
}

void NatTable::add_ports(const std::vector<PortMapping>& ports) {
    if (ports.empty()) return;
    ensure();
    nft().run(add_ports_text(table_, ports, family_), "publishing ports");
}

void NatTable::remove_ports(const std::vector<PortMapping>& ports) {
    if (ports.empty() || !exists()) return;
    nft().run(remove_ports_text(table_, ports, family_), "unpublishing ports");
}

void NatTable::drop() {
    if (exists()) nft().run("delete table " + family_ + " " + table_, "deleting nftables table " + family_ + " " + table_);
}

namespace {

struct CompatRule {
    std::string chain;
    std::uint64_t handle;
};

// berth's rules in the filter table's DOCKER-USER and FORWARD chains, found by their comment.
std::vector<CompatRule> compat_rules(Nft& nft, const std::string& family, const std::string& filter_table,
                                     const std::string& comment, std::string* target_chain) {
    std::vector<CompatRule> out;
    auto listing = nft.try_run("list table " + family + " " + filter_table, true);
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
    auto existing = compat_rules(nft(), family_, filter_table, comment, &chain);
    if (chain.empty() || existing.size() >= 2) return;
    std::string cmds;
    for (const auto& r : existing)
        cmds += "delete rule " + family_ + " " + filter_table + " " + r.chain + " handle " + std::to_string(r.handle) + "\n";
    std::string base = "insert rule " + family_ + " " + filter_table + " " + chain + " ";
    cmds += base + "oifname " + q(bridge) + " counter accept comment " + q(comment) + "\n";
    cmds += base + "iifname " + q(bridge) + " counter accept comment " + q(comment) + "\n";
    nft().run(cmds, "letting " + bridge + " through " + family_ + " " + filter_table + " " + chain);
}

void NatTable::forward_compat_remove(const std::string& bridge, const std::string& filter_table) {
    std::string comment = "berth " + table_ + " " + bridge;
    auto existing = compat_rules(nft(), family_, filter_table, comment, nullptr);
    if (existing.empty()) return;
    std::string cmds;
    for (const auto& r : existing)
        cmds += "delete rule " + family_ + " " + filter_table + " " + r.chain + " handle " + std::to_string(r.handle) + "\n";
    nft().run(cmds, "removing " + bridge + " from " + family_ + " " + filter_table);
}

// ---- host ports ----

namespace {

sys::unique_fd bound_socket(const std::string& host_ip, const std::string& proto, std::uint16_t port, int& err) {
    int type = proto == "udp" ? SOCK_DGRAM : SOCK_STREAM;
    bool v6 = is_ipv6_text(host_ip);
    int family = v6 ? AF_INET6 : AF_INET;
    sys::unique_fd fd(sys::check(::socket(family, type | SOCK_CLOEXEC, 0), "socket", v6 ? "AF_INET6" : "AF_INET"));
    // As a listener would: TIME_WAIT leftovers do not make a port busy, a listener does.
    int one = 1;
    if (type == SOCK_STREAM) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage ss{};
    socklen_t len = 0;
    std::string ip = host_ip.empty() ? "0.0.0.0" : host_ip;
    int ok = 0;
    if (v6) {
        // [::] means the IPv6 addresses only; 0.0.0.0 is checked on its own.
        ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
        sa->sin6_family = AF_INET6;
        sa->sin6_port = htons(port);
        ok = ::inet_pton(AF_INET6, ip.c_str(), &sa->sin6_addr);
        len = sizeof *sa;
    } else {
        auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
        sa->sin_family = AF_INET;
        sa->sin_port = htons(port);
        ok = ::inet_pton(AF_INET, ip.c_str(), &sa->sin_addr);
        len = sizeof *sa;
    }
    if (ok != 1) throw_error(Errc::invalid, "invalid IP address: " + ip);
    err = 0;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
        (type == SOCK_STREAM && ::listen(fd.get(), 1) != 0)) {
        err = errno;
        return {};
    }
    return fd;
}

}  // namespace

std::vector<std::string> proc_net_holders(const std::string& text, bool v6, bool tcp, std::uint16_t port) {
    std::vector<std::string> out;
    bool header = true;
    for (const auto& line : str::split(text, '\n')) {
        if (header) {
            header = false;
            continue;
        }
        std::vector<std::string> f;
        for (const auto& x : str::split(line, ' '))
            if (!x.empty()) f.push_back(x);
        if (f.size() < 4) continue;
        auto [addr, port_hex] = str::split_once(f[1], ':');
        if (!port_hex || std::strtoul(std::string(*port_hex).c_str(), nullptr, 16) != port) continue;
        if (tcp && f[3] != "0A") continue;  // TCP_LISTEN
        // The kernel prints each 32-bit word of the address in host byte order.
        std::string hex(addr);
        std::uint8_t b[16]{};
        size_t words = v6 ? 4 : 1;
        if (hex.size() != words * 8) continue;
        for (size_t w = 0; w < words; ++w) {
            std::uint32_t v = static_cast<std::uint32_t>(std::strtoul(hex.substr(w * 8, 8).c_str(), nullptr, 16));
            std::memcpy(b + w * 4, &v, 4);
        }
        char buf[INET6_ADDRSTRLEN];
        ::inet_ntop(v6 ? AF_INET6 : AF_INET, b, buf, sizeof buf);
        out.push_back(v6 ? "[" + std::string(buf) + "]" : std::string(buf));
    }
    return out;
}

std::vector<std::string> host_port_holders(const std::string& proto, std::uint16_t port) {
    std::vector<std::string> out;
    bool tcp = proto != "udp";
    for (bool v6 : {false, true}) {
        auto text = sys::read_file_if_exists(std::string("/proc/net/") + (tcp ? "tcp" : "udp") + (v6 ? "6" : ""));
        if (!text) continue;
        auto h = proc_net_holders(*text, v6, tcp, port);
        out.insert(out.end(), h.begin(), h.end());
    }
    return out;
}

bool host_port_free(const std::string& host_ip, const std::string& proto, std::uint16_t port,
                    const std::vector<std::string>& ours) {
    int err = 0;
    auto fd = bound_socket(host_ip, proto, port, err);
    if (fd) return true;
    if (err == EADDRINUSE && !ours.empty() && !is_ipv6_text(host_ip)) {
        // Busy only if something other than berth's own DNS sockets holds the port (on the
        // asked address, or on a wildcard, which covers it).
        std::string want = host_ip.empty() ? "0.0.0.0" : host_ip;
        for (const auto& h : host_port_holders(proto, port)) {
            if (std::find(ours.begin(), ours.end(), h) != ours.end()) continue;
            if (h[0] == '[' && h != "[::]") continue;  // a given IPv6 address never blocks an IPv4 bind
            if (want == "0.0.0.0" || h == want || h == "0.0.0.0" || h == "[::]") return false;
        }
        return true;
    }
    if (err == EADDRINUSE) return false;
    std::string ip = host_ip.empty() ? "0.0.0.0" : host_ip;
    sys::throw_errno("bind", proto + " " + ip + ":" + std::to_string(port), err);
}

sys::unique_fd listen_loopback6(const std::string& proto, std::uint16_t port) {
    int err = 0;
    auto fd = bound_socket("::1", proto, port, err);
    if (!fd && err == EADDRINUSE)
        throw_error(Errc::conflict, "Bind for [::1]:" + std::to_string(port) + " failed: port is already allocated");
    if (!fd) sys::throw_errno("bind", proto + " [::1]:" + std::to_string(port), err);
    if (proto != "udp" && ::listen(fd.get(), SOMAXCONN) != 0) sys::throw_errno("listen", "[::1]:" + std::to_string(port));
    return fd;
}

bool listened_on_loopback6(const PortMapping& m) { return m.host_ip == "::1" || m.host_ip == "::"; }

std::uint16_t ephemeral_port(const std::string& host_ip, const std::string& proto) {
    int err = 0;
    auto fd = bound_socket(host_ip, proto, 0, err);
    std::string ip = host_ip.empty() ? "0.0.0.0" : host_ip;
    if (!fd) sys::throw_errno("bind", proto + " " + ip + ":0", err);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    sys::check(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len), "getsockname");
    return ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                    : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

}  // namespace berth::network
