#include "network/netns.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstring>

#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "network/netlink.hpp"

namespace berth::network {
namespace {

sys::unique_fd current_thread_netns() {
    return sys::unique_fd(sys::check(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC),
                                     "open", "/proc/thread-self/ns/net"));
}

void restore(int saved) {
    // Going back into the namespace we came from cannot fail unless the kernel is broken; if it
    // did, the thread would keep running in the wrong namespace, which is worse than stopping.
    if (::setns(saved, CLONE_NEWNET) != 0) std::terminate();
}

}  // namespace

sys::unique_fd create_netns() {
    auto saved = current_thread_netns();
    sys::check(::unshare(CLONE_NEWNET), "unshare", "CLONE_NEWNET");
    sys::unique_fd created(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    int err = errno;
    restore(saved.get());
    if (!created) sys::throw_errno("open", "/proc/thread-self/ns/net (new namespace)", err);
    return created;
}

sys::unique_fd open_netns(const std::string& path) {
    return sys::unique_fd(sys::check(::open(path.c_str(), O_RDONLY | O_CLOEXEC), "open", path));
}

NetnsSwitch::NetnsSwitch(int netns_fd) : saved_(current_thread_netns()) {
    sys::check(::setns(netns_fd, CLONE_NEWNET), "setns", "CLONE_NEWNET fd " + std::to_string(netns_fd));
}

NetnsSwitch::~NetnsSwitch() { restore(saved_.get()); }

void in_netns(int netns_fd, const std::function<void()>& f) {
    NetnsSwitch sw(netns_fd);
    f();
}

void write_sysctl(std::string_view key, std::string_view value) {
    std::string path = "/proc/sys/" + std::string(key);
    auto fd = sys::open_path(path, O_WRONLY | O_CLOEXEC);
    sys::write_all(fd.get(), value, path);
}

std::string read_sysctl(std::string_view key) {
    std::string s = sys::read_file("/proc/sys/" + std::string(key));
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

void advertise_ipv6(const std::string& ifname, const std::string& ip6, const std::string& mac) {
    auto lladdr = parse_mac(mac);
    unsigned index = ::if_nametoindex(ifname.c_str());
    sockaddr_in6 src{}, dst{};
    src.sin6_family = dst.sin6_family = AF_INET6;
    if (!lladdr || lladdr->size() != 6 || !index || ::inet_pton(AF_INET6, ip6.c_str(), &src.sin6_addr) != 1) return;
    ::inet_pton(AF_INET6, "ff02::1", &dst.sin6_addr);
    dst.sin6_scope_id = index;
    // A raw ICMPv6 socket: the kernel fills in the checksum.
    sys::unique_fd fd(::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6));
    if (!fd) return;
    int hops = 255;  // RFC 4861: a receiver drops neighbour discovery with any other hop limit
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops);
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof index);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) return;
    struct {
        nd_neighbor_advert na;
        nd_opt_hdr opt;
        unsigned char lladdr[6];
    } __attribute__((packed)) pkt{};
    pkt.na.nd_na_type = ND_NEIGHBOR_ADVERT;
    pkt.na.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE;
    pkt.na.nd_na_target = src.sin6_addr;
    pkt.opt.nd_opt_type = ND_OPT_TARGET_LINKADDR;
    pkt.opt.nd_opt_len = 1;  // in units of 8 bytes: type, length and the 6-byte MAC
    std::memcpy(pkt.lladdr, lladdr->data(), 6);
    ::sendto(fd.get(), &pkt, sizeof pkt, 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
}

bool same_netns(int a, int b) {
    struct stat sa{}, sb{};
    sys::check(::fstat(a, &sa), "fstat", "netns");
    sys::check(::fstat(b, &sb), "fstat", "netns");
    return sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

}  // namespace berth::network
