#include "network/netlink.hpp"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/veth.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "network/netns.hpp"
#include "sys/child.hpp"
#include "sys/error.hpp"

namespace berth::network {
namespace {

// A request being built: nlmsghdr, a fixed header struct, then attributes (4-byte aligned).
// Nested attributes are opened and closed by offset, since the buffer may move as it grows.
class Msg {
public:
    Msg(std::uint16_t type, std::uint16_t flags) : buf_(NLMSG_HDRLEN, 0) {
        hdr()->nlmsg_type = type;
        hdr()->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
    }
    template <typename T>
    void put(const T& s) {
        append(&s, sizeof s);
    }
    void attr(std::uint16_t type, const void* data, size_t len) {
        nlattr a{};
        a.nla_len = static_cast<std::uint16_t>(NLA_HDRLEN + len);
        a.nla_type = type;
        append(&a, sizeof a);
        append(data, len);
    }
    void attr_str(std::uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
    void attr_u32(std::uint16_t type, std::uint32_t v) { attr(type, &v, sizeof v); }
    size_t nest_begin(std::uint16_t type) {
        size_t off = buf_.size();
        attr(type, nullptr, 0);
        return off;
    }
    void nest_end(size_t off) {
        reinterpret_cast<nlattr*>(buf_.data() + off)->nla_len = static_cast<std::uint16_t>(buf_.size() - off);
    }
    std::vector<char>& finish() {
        hdr()->nlmsg_len = static_cast<std::uint32_t>(buf_.size());
        return buf_;
    }

private:
    nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
    void append(const void* p, size_t n) {
        size_t off = buf_.size();
        buf_.resize(off + NLMSG_ALIGN(n), 0);
        if (n) std::memcpy(buf_.data() + off, p, n);
    }
    std::vector<char> buf_;
};

// Attributes of one message, indexed by type (the last one of a type wins).
struct Attrs {
    std::vector<const nlattr*> by_type;
    Attrs(const void* start, size_t len, size_t max_type) : by_type(max_type + 1, nullptr) {
        auto* a = static_cast<const char*>(start);
        while (len >= NLA_HDRLEN) {
            auto* na = reinterpret_cast<const nlattr*>(a);
            if (na->nla_len < NLA_HDRLEN || na->nla_len > len) break;
            unsigned t = na->nla_type & NLA_TYPE_MASK;
            if (t <= max_type) by_type[t] = na;
            size_t step = NLA_ALIGN(na->nla_len);
            if (step >= len) break;
            a += step;
            len -= step;
        }
    }
    const nlattr* get(unsigned t) const { return t < by_type.size() ? by_type[t] : nullptr; }
    static const void* data(const nlattr* a) { return reinterpret_cast<const char*>(a) + NLA_HDRLEN; }
    static size_t len(const nlattr* a) { return a->nla_len - NLA_HDRLEN; }
    std::string str(unsigned t) const {
        auto* a = get(t);
        if (!a) return {};
        std::string s(static_cast<const char*>(data(a)), len(a));
        while (!s.empty() && s.back() == '\0') s.pop_back();
        return s;
    }
    std::uint32_t u32(unsigned t) const {
        auto* a = get(t);
        std::uint32_t v = 0;
        if (a && len(a) >= 4) std::memcpy(&v, data(a), 4);
        return v;
    }
};

const char* type_name(std::uint16_t t) {
    switch (t) {
        case RTM_NEWLINK: return "RTM_NEWLINK";
        case RTM_DELLINK: return "RTM_DELLINK";
        case RTM_GETLINK: return "RTM_GETLINK";
        case RTM_SETLINK: return "RTM_SETLINK";
        case RTM_NEWADDR: return "RTM_NEWADDR";
        case RTM_DELADDR: return "RTM_DELADDR";
        case RTM_GETADDR: return "RTM_GETADDR";
        case RTM_NEWROUTE: return "RTM_NEWROUTE";
        case RTM_GETROUTE: return "RTM_GETROUTE";
        default: return "RTM_?";
    }
}

std::string what_of(std::uint16_t type, const std::string& object) {
    std::string s = "netlink ";
    s += type_name(type);
    if (!object.empty()) s += " " + object;
    return s;
}

struct Addr {
    int family = 0;
    unsigned char bytes[16]{};
    size_t len = 0;
};

Addr parse_addr(const std::string& text) {
    Addr a;
    if (::inet_pton(AF_INET, text.c_str(), a.bytes) == 1) {
        a.family = AF_INET;
        a.len = 4;
    } else if (::inet_pton(AF_INET6, text.c_str(), a.bytes) == 1) {
        a.family = AF_INET6;
        a.len = 16;
    } else {
        throw_error(Errc::invalid, "invalid IP address: " + text);
    }
    return a;
}

std::string format_addr(int family, const void* p) {
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(family, p, buf, sizeof buf);
    return buf;
}

std::vector<unsigned char> mac_bytes(const std::string& mac) {
    auto b = parse_mac(mac);
    if (!b) throw_error(Errc::invalid, "invalid MAC address: " + mac);
    return *b;
}

}  // namespace

std::optional<std::vector<unsigned char>> parse_mac(const std::string& mac) {
    std::vector<unsigned char> out;
    size_t i = 0;
    while (i < mac.size()) {
        if (i + 2 > mac.size() || !std::isxdigit(static_cast<unsigned char>(mac[i])) ||
            !std::isxdigit(static_cast<unsigned char>(mac[i + 1])))
            return std::nullopt;
        out.push_back(static_cast<unsigned char>(std::stoi(mac.substr(i, 2), nullptr, 16)));
        i += 2;
        if (i < mac.size()) {
            if (mac[i] != ':') return std::nullopt;
            ++i;
            if (i == mac.size()) return std::nullopt;
        }
    }
    if (out.size() != 6) return std::nullopt;
    return out;
}

std::string format_mac(const unsigned char* b, size_t n) {
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        if (i) s += ':';
        s += hex[b[i] >> 4];
        s += hex[b[i] & 15];
    }
    return s;
}

Netlink::Netlink(sys::unique_fd fd) : fd_(std::move(fd)) {}

Netlink::Netlink() {
    fd_.reset(sys::check(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), "socket",
                         "AF_NETLINK NETLINK_ROUTE"));
    int one = 1;
    // Extended ACKs carry the kernel's own explanation; capped ACKs keep errors small.
    ::setsockopt(fd_.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    ::setsockopt(fd_.get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sys::check(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), "bind", "AF_NETLINK");
}

Netlink Netlink::in_netns(int netns_fd) {
    NetnsSwitch sw(netns_fd);
    return Netlink();
}

namespace {

// Receives until the reply to seq is complete. on_msg sees every data message of that reply.
// Returns 0 or the negative errno from the kernel, with its extended-ack text in ext.
template <typename F>
int receive(int fd, std::uint32_t seq, bool dump, std::string& ext, F&& on_msg) {
    constexpr size_t size = 64 * 1024;
    auto buf = std::make_unique_for_overwrite<char[]>(size);  // not zeroed: recv fills what it returns
    for (;;) {
        ssize_t n = sys::retry_eintr([&] { return ::recv(fd, buf.get(), size, 0); });
        if (n < 0) sys::throw_errno("recv", "AF_NETLINK");
        size_t left = static_cast<size_t>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf.get()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_seq != seq) continue;
            if (h->nlmsg_type == NLMSG_DONE) return 0;
            if (h->nlmsg_type == NLMSG_ERROR) {
                auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
                if (e->error != 0 && (h->nlmsg_flags & NLM_F_ACK_TLVS)) {
                    size_t off = sizeof(nlmsgerr);
                    if (!(h->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - NLMSG_HDRLEN;
                    size_t payload = h->nlmsg_len - NLMSG_HDRLEN;
                    if (off < payload) {
                        Attrs a(reinterpret_cast<char*>(e) + off, payload - off, NLMSGERR_ATTR_MAX);
                        ext = a.str(NLMSGERR_ATTR_MSG);
                    }
                }
                return e->error;
            }
            on_msg(h);
        }
    }
}

}  // namespace

template <typename F>
void Netlink::request(std::vector<char>& msg, const std::string& what, F&& on_msg) {
    auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
    h->nlmsg_seq = ++seq_;
    h->nlmsg_flags |= NLM_F_ACK;
    h->nlmsg_len = static_cast<std::uint32_t>(msg.size());
    if (sys::retry_eintr([&] { return ::send(fd_.get(), msg.data(), msg.size(), 0); }) < 0)
        sys::throw_errno(what + " (send)");
    std::string ext;
    int err = receive(fd_.get(), seq_, false, ext, on_msg);
    if (err != 0) sys::throw_errno(ext.empty() ? what : what + " [" + ext + "]", {}, -err);
}

void Netlink::request(std::vector<char>& msg, const std::string& what) {
    request(msg, what, [](nlmsghdr*) {});
}

template <typename F>
void Netlink::dump(std::vector<char>& msg, const std::string& what, F&& f) {
    auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
    h->nlmsg_seq = ++seq_;
    h->nlmsg_flags |= NLM_F_DUMP;
    h->nlmsg_len = static_cast<std::uint32_t>(msg.size());
    if (sys::retry_eintr([&] { return ::send(fd_.get(), msg.data(), msg.size(), 0); }) < 0)
        sys::throw_errno(what + " (send)");
    std::string ext;
    int err = receive(fd_.get(), seq_, true, ext, f);
    if (err != 0) sys::throw_errno(ext.empty() ? what : what + " [" + ext + "]", {}, -err);
}

namespace {
LinkInfo parse_link(const nlmsghdr* h) {
    auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
    size_t len = h->nlmsg_len - NLMSG_LENGTH(sizeof(ifinfomsg));
    Attrs a(IFLA_RTA(ifi), len, IFLA_MAX);
    LinkInfo l;
    l.index = ifi->ifi_index;
    l.up = ifi->ifi_flags & IFF_UP;
    l.name = a.str(IFLA_IFNAME);
    l.mtu = a.u32(IFLA_MTU);
    l.master = static_cast<int>(a.u32(IFLA_MASTER));
    l.link = static_cast<int>(a.u32(IFLA_LINK));
    if (auto* mac = a.get(IFLA_ADDRESS))
        l.mac = format_mac(static_cast<const unsigned char*>(Attrs::data(mac)), Attrs::len(mac));
    if (auto* li = a.get(IFLA_LINKINFO)) {
        Attrs info(Attrs::data(li), Attrs::len(li), IFLA_INFO_MAX);
        l.kind = info.str(IFLA_INFO_KIND);
    }
    return l;
}
}  // namespace

void Netlink::create_bridge(const std::string& name, unsigned mtu, const std::string& mac) {
    auto macb = mac_bytes(mac);
    Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_flags = IFF_UP;
    ifi.ifi_change = IFF_UP;
    m.put(ifi);
    m.attr_str(IFLA_IFNAME, name);
    if (mtu) m.attr_u32(IFLA_MTU, mtu);
    m.attr(IFLA_ADDRESS, macb.data(), macb.size());
    size_t li = m.nest_begin(IFLA_LINKINFO);
    m.attr_str(IFLA_INFO_KIND, "bridge");
    m.nest_end(li);
    request(m.finish(), what_of(RTM_NEWLINK, name + " (bridge)"));
}

VethIndexes Netlink::create_veth(const std::string& name, int master_index, unsigned mtu, const std::string& peer,
                                 int peer_netns_fd, const std::string& peer_mac) {
    std::vector<unsigned char> pmac;
    if (!peer_mac.empty()) pmac = mac_bytes(peer_mac);
    Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_flags = IFF_UP;
    ifi.ifi_change = IFF_UP;
    m.put(ifi);
    m.attr_str(IFLA_IFNAME, name);
    if (mtu) m.attr_u32(IFLA_MTU, mtu);
    if (master_index) m.attr_u32(IFLA_MASTER, static_cast<std::uint32_t>(master_index));
    size_t li = m.nest_begin(IFLA_LINKINFO);
    m.attr_str(IFLA_INFO_KIND, "veth");
    size_t data = m.nest_begin(IFLA_INFO_DATA);
    size_t p = m.nest_begin(VETH_INFO_PEER);
    ifinfomsg pifi{};
    pifi.ifi_family = AF_UNSPEC;
    m.put(pifi);
    m.attr_str(IFLA_IFNAME, peer);
    if (peer_netns_fd >= 0) m.attr_u32(IFLA_NET_NS_FD, static_cast<std::uint32_t>(peer_netns_fd));
    if (mtu) m.attr_u32(IFLA_MTU, mtu);
    if (!pmac.empty()) m.attr(IFLA_ADDRESS, pmac.data(), pmac.size());
    m.nest_end(p);
    m.nest_end(data);
    m.nest_end(li);
    std::string what = what_of(RTM_NEWLINK, name + " (peer " + peer + ")");
    std::optional<LinkInfo> made;
    try {
        request(m.finish(), what, [&](nlmsghdr* h) {
            if (h->nlmsg_type != RTM_NEWLINK) return;
            auto l = parse_link(h);
            if (l.name == name) made = std::move(l);
        });
        if (!made) made = link(name);  // a kernel before 6.3 does not echo a new link
        if (!made) sys::throw_errno(what, {}, ENODEV);
    } catch (const sys::Error& e) {
        // Made by the kernel but not answered for (the echo or the lookup failed): not left
        // behind. EEXIST is another's link of that name, and stays.
        if (e.err() != EEXIST) {
            try {
                delete_link_if_exists(name);
            } catch (...) {
            }
        }
        throw;
    }
    // The kernel leaves IFLA_LINK out when the peer's index equals the link's own (each
    // namespace counts its own: the host's 2 and a new namespace's 2, say).
    return {made->index, made->link ? made->link : made->index};
}

void Netlink::set_link(const std::string& name, const std::string& what, const std::vector<char>& attrs,
                       unsigned flags, unsigned change) {
    Msg m(RTM_NEWLINK, 0);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_flags = flags;
    ifi.ifi_change = change;
    m.put(ifi);
    m.attr_str(IFLA_IFNAME, name);
    auto& buf = m.finish();
    buf.insert(buf.end(), attrs.begin(), attrs.end());
    request(buf, what_of(RTM_NEWLINK, name + (what.empty() ? "" : " (" + what + ")")));
}

namespace {
std::vector<char> one_attr(std::uint16_t type, const void* data, size_t len) {
    std::vector<char> out(NLA_ALIGN(NLA_HDRLEN + len), 0);
    auto* a = reinterpret_cast<nlattr*>(out.data());
    a->nla_len = static_cast<std::uint16_t>(NLA_HDRLEN + len);
    a->nla_type = type;
    if (len) std::memcpy(out.data() + NLA_HDRLEN, data, len);
    return out;
}
}  // namespace

void Netlink::set_master(const std::string& name, int master_index) {
    std::uint32_t v = static_cast<std::uint32_t>(master_index);
    set_link(name, "master " + std::to_string(master_index), one_attr(IFLA_MASTER, &v, 4), 0, 0);
}

void Netlink::set_hairpin(const std::string& name, bool on) {
    auto idx = link_index(name);
    if (!idx) sys::throw_errno(what_of(RTM_SETLINK, name + " (bridge port hairpin " + (on ? "on" : "off") + ")"), {}, ENODEV);
    set_hairpin(*idx, name, on);
}

void Netlink::set_hairpin(int index, const std::string& name, bool on) {
    // AF_BRIDGE port attributes go to the bridge's RTM_SETLINK handler (rtnl_bridge_setlink);
    // RTM_NEWLINK would accept and ignore them.
    std::string what = what_of(RTM_SETLINK, name + " (bridge port hairpin " + (on ? "on" : "off") + ")");
    Msg m(RTM_SETLINK, 0);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_BRIDGE;
    ifi.ifi_index = index;
    m.put(ifi);
    size_t pi = m.nest_begin(IFLA_PROTINFO | NLA_F_NESTED);
    std::uint8_t mode = on ? 1 : 0;
    m.attr(IFLA_BRPORT_MODE, &mode, 1);
    m.nest_end(pi);
    request(m.finish(), what);
}

void Netlink::set_up(const std::string& name, bool up) {
    set_link(name, up ? "up" : "down", {}, up ? IFF_UP : 0, IFF_UP);
}

void Netlink::set_mtu(const std::string& name, unsigned mtu) {
    std::uint32_t v = mtu;
    set_link(name, "mtu " + std::to_string(mtu), one_attr(IFLA_MTU, &v, 4), 0, 0);
}

void Netlink::set_mac(const std::string& name, const std::string& mac) {
    auto b = mac_bytes(mac);
    set_link(name, "address " + mac, one_attr(IFLA_ADDRESS, b.data(), b.size()), 0, 0);
}

void Netlink::rename(const std::string& name, const std::string& new_name) {
    auto idx = link_index(name);
    if (!idx) sys::throw_errno(what_of(RTM_NEWLINK, name + " (rename to " + new_name + ")"), {}, ENODEV);
    Msg m(RTM_NEWLINK, 0);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_index = *idx;
    m.put(ifi);
    m.attr_str(IFLA_IFNAME, new_name);
    request(m.finish(), what_of(RTM_NEWLINK, name + " (rename to " + new_name + ")"));
}

namespace {
void address_msg(Msg& m, const Addr& a, int prefix, int index) {
    ifaddrmsg ifa{};
    ifa.ifa_family = static_cast<unsigned char>(a.family);
    ifa.ifa_prefixlen = static_cast<unsigned char>(prefix);
    ifa.ifa_scope = RT_SCOPE_UNIVERSE;
    ifa.ifa_index = static_cast<unsigned>(index);
    m.put(ifa);
    m.attr(IFA_LOCAL, a.bytes, a.len);
    m.attr(IFA_ADDRESS, a.bytes, a.len);
}
}  // namespace

void Netlink::add_address(const std::string& link, const std::string& address, int prefix, bool nodad) {
    auto idx = link_index(link);
    if (!idx) sys::throw_errno(what_of(RTM_NEWADDR, address + "/" + std::to_string(prefix) + " dev " + link), {}, ENODEV);
    add_address(*idx, link, address, prefix, nodad);
}

void Netlink::add_address(int index, const std::string& link, const std::string& address, int prefix, bool nodad) {
    std::string what = what_of(RTM_NEWADDR, address + "/" + std::to_string(prefix) + " dev " + link);
    auto a = parse_addr(address);
    if (prefix < 0 || prefix > (a.family == AF_INET ? 32 : 128))
        throw_error(Errc::invalid, "invalid prefix length " + std::to_string(prefix) + " for " + address);
    Msg m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    address_msg(m, a, prefix, index);
    if (nodad && a.family == AF_INET6) m.attr_u32(IFA_FLAGS, IFA_F_NODAD);
    if (a.family == AF_INET && prefix < 31) {
        std::uint32_t ip;
        std::memcpy(&ip, a.bytes, 4);
        std::uint32_t host_mask = prefix == 0 ? 0xffffffffu : ((1u << (32 - prefix)) - 1);
        std::uint32_t brd = htonl(ntohl(ip) | host_mask);
        m.attr(IFA_BROADCAST, &brd, 4);
    }
    request(m.finish(), what);
}

void Netlink::del_address(const std::string& link, const std::string& address, int prefix) {
    std::string what = what_of(RTM_DELADDR, address + "/" + std::to_string(prefix) + " dev " + link);
    auto a = parse_addr(address);
    auto idx = link_index(link);
    if (!idx) sys::throw_errno(what, {}, ENODEV);
    Msg m(RTM_DELADDR, 0);
    address_msg(m, a, prefix, *idx);
    request(m.finish(), what);
}

void Netlink::add_default_route(const std::string& gateway, const std::string& link) {
    auto idx = link_index(link);
    if (!idx) sys::throw_errno(what_of(RTM_NEWROUTE, "default via " + gateway + " dev " + link), {}, ENODEV);
    add_default_route(gateway, *idx, link);
}

void Netlink::add_default_route(const std::string& gateway, int index, const std::string& link) {
    std::string what = what_of(RTM_NEWROUTE, "default via " + gateway + " dev " + link);
    auto gw = parse_addr(gateway);
    Msg m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    rtmsg r{};
    r.rtm_family = static_cast<unsigned char>(gw.family);
    r.rtm_table = RT_TABLE_MAIN;
    r.rtm_protocol = RTPROT_BOOT;
    r.rtm_scope = RT_SCOPE_UNIVERSE;
    r.rtm_type = RTN_UNICAST;
    m.put(r);
    m.attr(RTA_GATEWAY, gw.bytes, gw.len);
    m.attr_u32(RTA_OIF, static_cast<std::uint32_t>(index));
    request(m.finish(), what);
}

void Netlink::delete_link(const std::string& name) {
    Msg m(RTM_DELLINK, 0);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    m.put(ifi);
    m.attr_str(IFLA_IFNAME, name);
    request(m.finish(), what_of(RTM_DELLINK, name));
}

bool Netlink::delete_link_if_exists(const std::string& name) {
    try {
        delete_link(name);
        return true;
    } catch (const sys::Error& e) {
        if (e.err() == ENODEV) return false;
        throw;
    }
}

bool Netlink::delete_link_nowait(const std::string& name) {
    auto index = link_index(name);
    if (!index) return false;
    Msg m(RTM_DELLINK, NLM_F_ACK);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_index = *index;
    m.put(ifi);
    std::vector<char> msg = std::move(m.finish());
    reinterpret_cast<nlmsghdr*>(msg.data())->nlmsg_seq = 1;
    // Its own socket, in our socket's namespace: the kernel's ACK must not land in our queue.
    sys::unique_fd ns(sys::check(::ioctl(fd_.get(), SIOCGSKNS), "ioctl", "SIOCGSKNS AF_NETLINK"));
    Netlink own = in_netns(ns.get());
    // A socket pair rather than a pipe: the orphan's report may come after we have gone, and
    // send(MSG_NOSIGNAL) to a closed peer fails where a pipe's write would SIGPIPE the process.
    int p[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0) sys::throw_errno("socketpair", "AF_UNIX");
    sys::unique_fd result(p[0]);
    sys::unique_fd s = std::move(own.fd_), w(p[1]);
    // The orphan's part: the request, and the kernel's answer passed back to us.
    auto request = [&] {
        int err = 0;
        if (::send(s.get(), msg.data(), msg.size(), 0) < 0) {
            err = errno;
        } else {
            alignas(nlmsghdr) char buf[1024];
            ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
            auto* h = reinterpret_cast<nlmsghdr*>(buf);
            if (n < 0)
                err = errno;
            else if (n >= ssize_t(NLMSG_LENGTH(sizeof(nlmsgerr))) && h->nlmsg_type == NLMSG_ERROR)
                err = -static_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
            else
                err = EPROTO;
        }
        [[maybe_unused]] auto n = ::send(w.get(), &err, sizeof err, MSG_NOSIGNAL);
    };
    bool started = true;
    try {
        sys::run_orphan(request, {s.get(), w.get()});
    } catch (const sys::Error&) {
        started = false;  // no process to be had (pids limit, seccomp): delete and wait here
    }
    s.reset();
    w.reset();
    if (!started) return delete_link_if_exists(name);
    // Done when the link is unlisted (the orphan then waits for the kernel's freeing alone), or
    // when the orphan reports first. The index lookup sees the unlisting at once; the bridge port
    // goes later in the same unregister batch (after a grace period), still under the RTNL lock,
    // so any rtnetlink request made after this returns finds the link, its peer and the port
    // gone: it waits for that lock.
    for (long wait_us = 100;; wait_us = std::min(wait_us * 2, 2000L)) {
        pollfd pfd{result.get(), POLLIN, 0};
        timespec ts{0, wait_us * 1000};
        int r = sys::retry_eintr([&] { return ::ppoll(&pfd, 1, &ts, nullptr); });
        if (r > 0) {
            int err = -1;
            if (::read(result.get(), &err, sizeof err) != ssize_t(sizeof err)) return delete_link_if_exists(name);
            if (err == 0) return true;
            if (err == ENODEV) return false;  // gone meanwhile
            sys::throw_errno(what_of(RTM_DELLINK, name), {}, err);
        }
        if (link_gone(name, *index)) return true;  // by index: a lookup by name waits for the delete's RTNL lock
    }
}


std::optional<LinkInfo> Netlink::link(const std::string& name) {
    Msg m(RTM_GETLINK, 0);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    m.put(ifi);
    m.attr_str(IFLA_IFNAME, name);
    auto& buf = m.finish();
    auto* h = reinterpret_cast<nlmsghdr*>(buf.data());
    h->nlmsg_seq = ++seq_;
    h->nlmsg_flags |= NLM_F_ACK;
    std::string what = what_of(RTM_GETLINK, name);
    if (sys::retry_eintr([&] { return ::send(fd_.get(), buf.data(), buf.size(), 0); }) < 0)
        sys::throw_errno(what + " (send)");
    std::optional<LinkInfo> out;
    std::string ext;
    int err = receive(fd_.get(), seq_, false, ext, [&](nlmsghdr* r) {
        if (r->nlmsg_type == RTM_NEWLINK) out = parse_link(r);
    });
    if (err == -ENODEV) return std::nullopt;
    if (err != 0) sys::throw_errno(ext.empty() ? what : what + " [" + ext + "]", {}, -err);
    return out;
}

bool Netlink::wait_link_gone(const std::string& name, std::chrono::microseconds max, int index) {
    auto deadline = std::chrono::steady_clock::now() + max;
    for (long wait_us = 100;; wait_us = std::min(wait_us * 2, 2000L)) {
        if (link_gone(name, index)) return true;
        auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        ::usleep(static_cast<useconds_t>(std::min<long>(wait_us, left.count())));
    }
}

bool Netlink::link_gone(const std::string& name, int index) {
    if (index <= 0) return !link_index(name);
    auto now = link_name(index);  // a new link may have the index after a while: the name is checked
    return !now || *now != name;
}

std::optional<std::string> Netlink::link_name(int index) {
    ifreq ifr{};
    ifr.ifr_ifindex = index;
    if (::ioctl(fd_.get(), SIOCGIFNAME, &ifr) < 0) {
        if (errno == ENODEV) return std::nullopt;
        sys::throw_errno("ioctl", "SIOCGIFNAME " + std::to_string(index));
    }
    return std::string(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
}

std::optional<int> Netlink::link_index(const std::string& name) {
    auto l = link(name);
    if (!l) return std::nullopt;
    return l->index;
}

std::vector<LinkInfo> Netlink::links() {
    Msg m(RTM_GETLINK, 0);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    m.put(ifi);
    std::vector<LinkInfo> out;
    dump(m.finish(), what_of(RTM_GETLINK, "(dump)"), [&](nlmsghdr* h) {
        if (h->nlmsg_type == RTM_NEWLINK) out.push_back(parse_link(h));
    });
    return out;
}

std::vector<AddrInfo> Netlink::addresses(int family) {
    Msg m(RTM_GETADDR, 0);
    ifaddrmsg ifa{};
    ifa.ifa_family = static_cast<unsigned char>(family);
    m.put(ifa);
    std::vector<AddrInfo> out;
    dump(m.finish(), what_of(RTM_GETADDR, "(dump)"), [&](nlmsghdr* h) {
        if (h->nlmsg_type != RTM_NEWADDR) return;
        auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
        if (family && ifa->ifa_family != family) return;
        size_t len = h->nlmsg_len - NLMSG_LENGTH(sizeof(ifaddrmsg));
        Attrs a(IFA_RTA(ifa), len, IFA_MAX);
        auto* addr = a.get(IFA_LOCAL) ? a.get(IFA_LOCAL) : a.get(IFA_ADDRESS);
        if (!addr) return;
        out.push_back({static_cast<int>(ifa->ifa_index), ifa->ifa_family, format_addr(ifa->ifa_family, Attrs::data(addr)),
                       ifa->ifa_prefixlen});
    });
    return out;
}

std::vector<RouteInfo> Netlink::routes(int family) {
    Msg m(RTM_GETROUTE, 0);
    rtmsg r{};
    r.rtm_family = static_cast<unsigned char>(family);
    m.put(r);
    std::vector<RouteInfo> out;
    dump(m.finish(), what_of(RTM_GETROUTE, "(dump)"), [&](nlmsghdr* h) {
        if (h->nlmsg_type != RTM_NEWROUTE) return;
        auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(h));
        if (family && rt->rtm_family != family) return;
        size_t len = h->nlmsg_len - NLMSG_LENGTH(sizeof(rtmsg));
        Attrs a(RTM_RTA(rt), len, RTA_MAX);
        RouteInfo ri;
        ri.family = rt->rtm_family;
        ri.prefix = rt->rtm_dst_len;
        ri.type = rt->rtm_type;
        ri.table = a.get(RTA_TABLE) ? a.u32(RTA_TABLE) : rt->rtm_table;
        if (auto* d = a.get(RTA_DST)) ri.dst = format_addr(rt->rtm_family, Attrs::data(d));
        if (auto* g = a.get(RTA_GATEWAY)) ri.gateway = format_addr(rt->rtm_family, Attrs::data(g));
        ri.oif = static_cast<int>(a.u32(RTA_OIF));
        out.push_back(std::move(ri));
    });
    return out;
}

}  // namespace berth::network
