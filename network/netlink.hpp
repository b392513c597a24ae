#pragma once
// A small rtnetlink client (NETLINK_ROUTE) for what container networking needs: bridges, veth
// pairs, addresses and routes. No `ip` subprocesses and no libnl: one request per operation,
// acknowledged by the kernel, on a socket that lives in one network namespace.
//
// Errors are sys::Error with the kernel's errno, worded as the operation and its object:
//   netlink RTM_NEWLINK veth9f3a1c2 (peer eth0): File exists
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sys/fd.hpp"

namespace berth::network {

struct LinkInfo {
    int index = 0;
    std::string name;
    std::string kind;  // "bridge", "veth", "" for a plain device
    int master = 0;    // index of the bridge it is enslaved to, 0 if none
    unsigned mtu = 0;
    std::string mac;   // "02:42:ac:11:00:02"
    bool up = false;   // IFF_UP
    int link = 0;      // IFLA_LINK: a veth's peer (its index in the peer's namespace), else 0
};

// The two ends of a new veth pair, by index: each in its own namespace.
struct VethIndexes {
    int index = 0;
    int peer_index = 0;
};

struct AddrInfo {
    int index = 0;
    int family = 0;       // AF_INET or AF_INET6
    std::string address;  // "172.18.0.1"
    int prefix = 0;
};

struct RouteInfo {
    int family = 0;
    std::string dst;  // "" for the default route
    int prefix = 0;
    std::string gateway;
    int oif = 0;
    unsigned table = 0;  // RT_TABLE_MAIN is 254, RT_TABLE_LOCAL 255
    int type = 0;        // RTN_UNICAST, RTN_LOCAL, ...
};

class Netlink {
public:
    // A socket in the calling thread's current network namespace.
    Netlink();
    // A socket in another namespace: opened while the calling thread is switched into it (see
    // netns.hpp); the socket stays bound to that namespace for its whole life.
    static Netlink in_netns(int netns_fd);

    Netlink(Netlink&&) noexcept = default;
    Netlink& operator=(Netlink&&) noexcept = default;

    // A bridge, up, with a fixed MAC (a bridge otherwise takes the lowest port's MAC and
    // changes it as ports come and go, which upsets neighbours' ARP caches).
    void create_bridge(const std::string& name, unsigned mtu, const std::string& mac);

    // A veth pair: `name` here (enslaved to master_index when non-zero, brought up), and `peer`
    // created directly inside the namespace peer_netns_fd under its final name (IFLA_NET_NS_FD),
    // so no rename or move is needed; the peer is left down (veth_open() refuses to bring it up
    // before the pair is linked). peer_mac may be empty (kernel picks one). Returns both ends'
    // indexes, from the kernel's echo of the new link (NLM_F_ECHO, Linux 6.3+; else one lookup),
    // whose IFLA_LINK is the peer's, so the callers need no lookups by name of their own.
    VethIndexes create_veth(const std::string& name, int master_index, unsigned mtu, const std::string& peer,
                            int peer_netns_fd, const std::string& peer_mac);

    void set_master(const std::string& name, int master_index);
    // Bridge port hairpin mode: frames may leave through the port they came in on. Needed when
    // br_netfilter DNATs a container's packet to its own published port and bridges it back.
    void set_hairpin(const std::string& name, bool on);
    void set_hairpin(int index, const std::string& name, bool on);  // name only words errors
    void set_up(const std::string& name, bool up = true);
    void set_mtu(const std::string& name, unsigned mtu);
    void set_mac(const std::string& name, const std::string& mac);
    void rename(const std::string& name, const std::string& new_name);  // the link must be down

    // family taken from the address text (v4 or v6). nodad: an IPv6 address usable at once,
    // without duplicate address detection (IFA_F_NODAD).
    void add_address(const std::string& link, const std::string& address, int prefix, bool nodad = false);
    // The same on a link known by index (one request less); link only words errors.
    void add_address(int index, const std::string& link, const std::string& address, int prefix, bool nodad = false);
    void del_address(const std::string& link, const std::string& address, int prefix);
    void add_default_route(const std::string& gateway, const std::string& link);  // v4 or v6 gateway
    void add_default_route(const std::string& gateway, int index, const std::string& link);

    void delete_link(const std::string& name);
    // Deletes the link if it exists; true if it did.
    bool delete_link_if_exists(const std::string& name);
    // delete_link_if_exists, but returns once the link is gone from the namespace, before the
    // kernel has freed it. Unregistering a device takes a millisecond under the RTNL lock, but
    // the request is answered only after netdev_run_todo()'s rcu_barrier() (net/core/dev.c), a
    // full RCU grace period: 15-40 ms on this project's VMs. An orphan process (sys::run_orphan)
    // makes the request on its own socket and waits for that; this call polls until the link is
    // gone (or the orphan reports an error). Not a thread: a process cannot exit while one of
    // its threads is in the kernel, so `rm` or `network disconnect` would still wait at its
    // exit. It returns once the link is unlisted; the kernel drops the peer and the bridge port
    // in the same unregister batch under the RTNL lock, so an rtnetlink request made afterwards
    // (it waits for that lock) finds them gone.
    bool delete_link_nowait(const std::string& name);

    // Polls until no link has that name, for at most max: true if it went (or never was). With
    // the link's index (0: unknown) it polls by index (link_name), which a delete in progress
    // does not hold up.
    bool wait_link_gone(const std::string& name, std::chrono::microseconds max, int index = 0);

    // Index -> name (SIOCGIFNAME on this socket), nullopt if no link has the index. Unlike every
    // rtnetlink request it takes no RTNL lock, so it answers at once while another process's
    // delete holds that lock; and unlike the lookup by name (SIOCGIFINDEX), a miss never asks
    // the kernel to load a module named after the link.
    std::optional<std::string> link_name(int index);
    std::optional<int> link_index(const std::string& name);
    bool link_exists(const std::string& name) { return link_index(name).has_value(); }
    std::optional<LinkInfo> link(const std::string& name);

    std::vector<LinkInfo> links();
    std::vector<AddrInfo> addresses(int family = 0);  // 0: both families
    std::vector<RouteInfo> routes(int family);

private:
    explicit Netlink(sys::unique_fd fd);
    struct Reply;
    // Sends one request and waits for its ACK; throws sys::Error worded with what. on_msg sees
    // the messages of the reply before the ACK (an NLM_F_ECHO).
    void request(std::vector<char>& msg, const std::string& what);
    template <typename F>
    void request(std::vector<char>& msg, const std::string& what, F&& on_msg);
    // Sends a dump request and hands every reply message to f.
    template <typename F>
    void dump(std::vector<char>& msg, const std::string& what, F&& f);
    // No link named name: by index when known (link_name, no RTNL lock), else by name.
    bool link_gone(const std::string& name, int index);
    void set_link(const std::string& name, const std::string& what, const std::vector<char>& attrs,
                  unsigned flags, unsigned change);

    sys::unique_fd fd_;
    std::uint32_t seq_ = 0;
};

// "02:42:ac:11:00:02" <-> 6 bytes. parse_mac returns nullopt on malformed text.
std::optional<std::vector<unsigned char>> parse_mac(const std::string& mac);
std::string format_mac(const unsigned char* b, size_t n);

}  // namespace berth::network
