#pragma once
// The userland proxy for ports published on the host's IPv6 loopback ([::1]), run inside the
// container's shim so it lives exactly as long as the container. Every other published address
// is kernel NAT (network/nat.hpp); ::1 cannot be: the NAT replies would have to be delivered to
// ::1 on a bridge, which IPv6 forbids (RFC 4291 2.5.3, enforced in the kernel's ip6_rcv_core
// whenever br_netfilter passes bridged IPv6 through netfilter, as it does on a Docker host).
// Docker serves ::1 with docker-proxy for the same reason.
//
// TCP: each accepted connection gets a non-blocking connection to the container, bytes are
// relayed both ways with bounded buffers, half-closes are passed on. UDP: one connected socket
// per client address, forgotten after 90 s without traffic (docker-proxy's timeout).
//
// The shim's poll loop asks for the descriptors to watch (add_fds), hands back their events
// (on_poll) and runs the expiry (next_deadline / on_timers); nothing here blocks.
#include <poll.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/spec.hpp"

namespace berth::shim {

class Proxy {
public:
    Proxy();
    explicit Proxy(const std::vector<runtime::LoopbackProxy>& specs);  // owns the specs' fds
    Proxy(Proxy&&) noexcept;
    Proxy& operator=(Proxy&&) noexcept;
    ~Proxy();

    void add_fds(std::vector<pollfd>& pfds);     // appends; on_poll gets the same entries back
    void on_poll(const pollfd* pfds, size_t n);  // entries appended by the last add_fds
    std::int64_t next_deadline() const;          // monotonic ns, 0 = none
    void on_timers(std::int64_t now_ns);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace berth::shim
