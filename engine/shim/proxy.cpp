#include "shim/proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "sys/fd.hpp"
#include "sys/time.hpp"

namespace berth::shim {
namespace {

constexpr size_t kBuffer = 64 * 1024;         // per direction, per connection
constexpr size_t kMaxConns = 1024;            // TCP connections (accepts beyond wait in the backlog)
constexpr size_t kMaxFlows = 1024;            // UDP clients
constexpr std::int64_t kUdpIdle = 90'000'000'000;  // ns

struct Target {
    sockaddr_storage addr{};
    socklen_t len = 0;
};

bool make_target(const std::string& ip, int port, Target& t) {
    std::memset(&t.addr, 0, sizeof t.addr);
    if (ip.find(':') != std::string::npos) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&t.addr);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(static_cast<std::uint16_t>(port));
        t.len = sizeof *a;
        return ::inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr) == 1;
    }
    auto* a = reinterpret_cast<sockaddr_in*>(&t.addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<std::uint16_t>(port));
    t.len = sizeof *a;
    return ::inet_pton(AF_INET, ip.c_str(), &a->sin_addr) == 1;
}

sys::unique_fd connect_to(const Target& t, int type) {
    sys::unique_fd fd(::socket(t.addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return fd;
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&t.addr), t.len) < 0 && errno != EINPROGRESS)
        fd.reset();
    return fd;
}

struct Listener {
    sys::unique_fd fd;
    bool udp = false;
    Target target;
};

// One TCP connection: `client` accepted on [::1], `upstream` to the container.
struct Conn {
    sys::unique_fd client, upstream;
    bool connecting = true;
    std::string to_up, to_client;         // read from one side, not yet written to the other
    bool client_eof = false, up_eof = false;  // read side reached EOF
    bool up_shut = false, client_shut = false;  // our write side shut down
    bool dead = false;
};

struct Flow {
    size_t listener = 0;
    sockaddr_storage client{};
    socklen_t client_len = 0;
    sys::unique_fd upstream;
    std::int64_t last = 0;
};

// Reads what `from` has into `buf` (up to kBuffer); false on EOF or a hard error (eof says which).
bool fill(int from, std::string& buf, bool& eof) {
    char chunk[16384];
    while (buf.size() < kBuffer) {
        ssize_t r = ::recv(from, chunk, std::min(sizeof chunk, kBuffer - buf.size()), MSG_DONTWAIT);
        if (r > 0) {
            buf.append(chunk, static_cast<size_t>(r));
        } else if (r == 0) {
            eof = true;
            return true;
        } else {
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        }
    }
    return true;
}

// Writes what it can of `buf` to `to`; false on a hard error (the peer is gone).
bool drain(int to, std::string& buf) {
    while (!buf.empty()) {
        ssize_t w = ::send(to, buf.data(), buf.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        buf.erase(0, static_cast<size_t>(w));
    }
    return true;
}

}  // namespace

struct Proxy::Impl {
    std::vector<Listener> listeners;
    std::vector<Conn> conns;
    std::vector<Flow> flows;
    // What add_fds appended, in order: kind and index.
    enum Kind { kListener, kClient, kUpstream, kFlow };
    std::vector<std::pair<Kind, size_t>> polled;

    void accept_tcp(Listener& l) {
        while (conns.size() < kMaxConns) {
            sys::unique_fd c(::accept4(l.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
            if (!c) return;
            auto up = connect_to(l.target, SOCK_STREAM);
            if (!up) continue;  // closing the client tells it at once
            Conn conn;
            conn.client = std::move(c);
            conn.upstream = std::move(up);
            conns.push_back(std::move(conn));
        }
    }

    void pass_on(Conn& c) {
        if (!drain(c.upstream.get(), c.to_up) || !drain(c.client.get(), c.to_client)) {
            c.dead = true;
            return;
        }
        // A side that said EOF, once its bytes are through, becomes a half-close on the other.
        if (c.client_eof && c.to_up.empty() && !c.up_shut) {
            ::shutdown(c.upstream.get(), SHUT_WR);
            c.up_shut = true;
        }
        if (c.up_eof && c.to_client.empty() && !c.client_shut) {
            ::shutdown(c.client.get(), SHUT_WR);
            c.client_shut = true;
        }
        if (c.up_shut && c.client_shut) c.dead = true;
    }

    // POLLHUP on a side whose EOF was read: it can take no more bytes either (closed or reset).
    void on_client(Conn& c, short ev) {
        if ((ev & POLLERR) || ((ev & POLLHUP) && c.client_eof)) {
            c.dead = true;
            return;
        }
        if ((ev & (POLLIN | POLLHUP)) && !c.client_eof && !fill(c.client.get(), c.to_up, c.client_eof)) c.dead = true;
        if (!c.dead) pass_on(c);
    }

    void on_upstream(Conn& c, short ev) {
        if (c.connecting) {
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(c.upstream.get(), SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0 || (ev & POLLERR)) {
                c.dead = true;
                return;
            }
            c.connecting = false;
        }
        if ((ev & POLLERR) || ((ev & POLLHUP) && c.up_eof)) {
            c.dead = true;
            return;
        }
        if ((ev & (POLLIN | POLLHUP)) && !c.up_eof && !fill(c.upstream.get(), c.to_client, c.up_eof)) c.dead = true;
        if (!c.dead) pass_on(c);
    }

    void on_udp_listener(size_t li) {
        Listener& l = listeners[li];
        char buf[65536];
        for (;;) {
            sockaddr_storage from{};
            socklen_t flen = sizeof from;
            ssize_t r = ::recvfrom(l.fd.get(), buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &flen);
            if (r < 0) return;
            Flow* flow = nullptr;
            for (auto& f : flows)
                if (f.listener == li && f.client_len == flen && std::memcmp(&f.client, &from, flen) == 0) flow = &f;
            if (!flow) {
                if (flows.size() >= kMaxFlows) continue;
                auto up = connect_to(l.target, SOCK_DGRAM);
                if (!up) continue;
                flows.push_back({li, from, flen, std::move(up), 0});
                flow = &flows.back();
            }
            flow->last = sys::monotonic_ns();
            ::send(flow->upstream.get(), buf, static_cast<size_t>(r), MSG_DONTWAIT | MSG_NOSIGNAL);
        }
    }

    void on_flow(Flow& f) {
        char buf[65536];
        ssize_t r;
        while ((r = ::recv(f.upstream.get(), buf, sizeof buf, MSG_DONTWAIT)) >= 0) {
            f.last = sys::monotonic_ns();
            ::sendto(listeners[f.listener].fd.get(), buf, static_cast<size_t>(r), MSG_DONTWAIT | MSG_NOSIGNAL,
                     reinterpret_cast<const sockaddr*>(&f.client), f.client_len);
        }
    }
};

Proxy::Proxy() : impl_(std::make_unique<Impl>()) {}

Proxy::Proxy(const std::vector<runtime::LoopbackProxy>& specs) : Proxy() {
    for (const auto& s : specs) {
        Listener l;
        l.fd.reset(s.fd);
        if (!l.fd) continue;
        ::fcntl(s.fd, F_SETFD, FD_CLOEXEC);  // never inherited by the container or an exec
        ::fcntl(s.fd, F_SETFL, ::fcntl(s.fd, F_GETFL) | O_NONBLOCK);
        l.udp = s.proto == "udp";
        if (!make_target(s.target, s.port, l.target)) continue;
        impl_->listeners.push_back(std::move(l));
    }
}

Proxy::Proxy(Proxy&&) noexcept = default;
Proxy& Proxy::operator=(Proxy&&) noexcept = default;
Proxy::~Proxy() = default;

void Proxy::add_fds(std::vector<pollfd>& pfds) {
    auto& m = *impl_;
    m.polled.clear();
    auto add = [&](int fd, short ev, Impl::Kind k, size_t i) {
        pfds.push_back({fd, ev, 0});
        m.polled.emplace_back(k, i);
    };
    for (size_t i = 0; i < m.listeners.size(); ++i)
        if (m.listeners[i].udp || m.conns.size() < kMaxConns) add(m.listeners[i].fd.get(), POLLIN, Impl::kListener, i);
    for (size_t i = 0; i < m.conns.size(); ++i) {
        auto& c = m.conns[i];
        if (c.connecting) {
            add(c.upstream.get(), POLLOUT, Impl::kUpstream, i);
            continue;
        }
        short cev = static_cast<short>((!c.client_eof && c.to_up.size() < kBuffer ? POLLIN : 0) |
                                       (c.to_client.empty() ? 0 : POLLOUT));
        short uev = static_cast<short>((!c.up_eof && c.to_client.size() < kBuffer ? POLLIN : 0) |
                                       (c.to_up.empty() ? 0 : POLLOUT));
        add(c.client.get(), cev, Impl::kClient, i);
        add(c.upstream.get(), uev, Impl::kUpstream, i);
    }
    for (size_t i = 0; i < m.flows.size(); ++i) add(m.flows[i].upstream.get(), POLLIN, Impl::kFlow, i);
}

void Proxy::on_poll(const pollfd* pfds, size_t n) {
    auto& m = *impl_;
    size_t conns = m.conns.size();  // accepts append; their fds were not polled this round
    for (size_t k = 0; k < n && k < m.polled.size(); ++k) {
        short ev = pfds[k].revents;
        if (!ev) continue;
        auto [kind, i] = m.polled[k];
        switch (kind) {
            case Impl::kListener:
                if (m.listeners[i].udp)
                    m.on_udp_listener(i);
                else
                    m.accept_tcp(m.listeners[i]);
                break;
            case Impl::kClient:
                if (i < conns && !m.conns[i].dead) m.on_client(m.conns[i], ev);
                break;
            case Impl::kUpstream:
                if (i < conns && !m.conns[i].dead) m.on_upstream(m.conns[i], ev);
                break;
            case Impl::kFlow: m.on_flow(m.flows[i]); break;
        }
    }
    std::erase_if(m.conns, [](const Conn& c) { return c.dead; });
}

std::int64_t Proxy::next_deadline() const {
    std::int64_t d = 0;
    for (const auto& f : impl_->flows)
        if (!d || f.last + kUdpIdle < d) d = f.last + kUdpIdle;
    return d;
}

void Proxy::on_timers(std::int64_t now_ns) {
    std::erase_if(impl_->flows, [&](const Flow& f) { return now_ns >= f.last + kUdpIdle; });
}

}  // namespace berth::shim
