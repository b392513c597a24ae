#pragma once
// Network namespaces without forking. setns(2) and unshare(2) with CLONE_NEWNET act on the
// calling *thread* only (a network namespace may differ per thread), so every function here
// saves the thread's namespace from /proc/thread-self/ns/net first and switches back before
// returning, even when the work throws. Other threads of the process never change namespace.
#include <functional>
#include <string>
#include <string_view>

#include "sys/fd.hpp"

namespace berth::network {

// A fresh network namespace (only `lo`, down), as an fd that keeps it alive. The calling thread
// is back in its own namespace on return. The namespace dies with the last fd (or process) in it.
sys::unique_fd create_netns();

// An fd of a namespace by path: /proc/<pid>/ns/net, /run/netns/<name>, /proc/thread-self/ns/net.
sys::unique_fd open_netns(const std::string& path);

// Switches the calling thread into the namespace for its lifetime and back on destruction.
class NetnsSwitch {
public:
    explicit NetnsSwitch(int netns_fd);
    ~NetnsSwitch();
    NetnsSwitch(const NetnsSwitch&) = delete;
    NetnsSwitch& operator=(const NetnsSwitch&) = delete;

private:
    sys::unique_fd saved_;
};

// Runs f with the calling thread inside the namespace (sysctls under /proc/sys/net, which the
// kernel resolves by the opener's namespace; sockets, which are created in it).
void in_netns(int netns_fd, const std::function<void()>& f);

// /proc/sys/net/... of the calling thread's namespace, e.g. "net/ipv4/conf/br-1/route_localnet".
void write_sysctl(std::string_view key, std::string_view value);
std::string read_sysctl(std::string_view key);

// An unsolicited neighbour advertisement (RFC 4861 7.2.6, Override set) for an address just
// added to ifname with the given MAC, sent to all nodes from the calling thread's namespace.
// The host and the other containers on the bridge replace a MAC cached for an earlier holder
// of the address (MACs follow the IPv4 address, and IPv6 addresses are reused on their own),
// instead of sending into the void until neighbour discovery notices. Best effort.
void advertise_ipv6(const std::string& ifname, const std::string& ip6, const std::string& mac);

// True when both fds refer to the same namespace (same inode and device).
bool same_netns(int a, int b);

}  // namespace berth::network
