#pragma once
// Test helpers shared by the unit and privileged DNS tests: a stub resolver on loopback (the
// server forwards to it; tests never reach the host's real resolvers), a client that asks one
// question over UDP or TCP from a chosen source address, and eventually().
//
// The stub answers, over UDP and TCP on the same port:
//   big.test        A: 100 addresses (truncated over UDP unless EDNS allows them, as a real
//                   server does; complete over TCP)
//   fail.test       SERVFAIL
//   silent.test     nothing
//   *.test          A 192.0.2.<tag>
//   anything else   NXDOMAIN, authoritative, with an SOA in the authority section
// and records every question it got (name, id, transport).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "network/dns_message.hpp"

namespace dnstest {

using namespace berth::network::dns;

inline bool eventually(const std::function<bool()>& f, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    auto end = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (f()) return true;
        if (std::chrono::steady_clock::now() >= end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

inline sockaddr_in addr_of(const std::string& ip, std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) != 1) throw std::runtime_error("bad address " + ip);
    return sa;
}

inline bool wait_readable(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) == 1;
}

inline bool read_exact(int fd, std::uint8_t* buf, std::size_t n, int ms) {
    std::size_t got = 0;
    while (got < n) {
        if (!wait_readable(fd, ms)) return false;
        ssize_t r = ::recv(fd, buf + got, n - got, 0);
        if (r <= 0) return false;
        got += static_cast<std::size_t>(r);
    }
    return true;
}

inline bool send_tcp_message(int fd, const Bytes& m) {
    Bytes out{static_cast<std::uint8_t>(m.size() >> 8), static_cast<std::uint8_t>(m.size())};
    out.insert(out.end(), m.begin(), m.end());
    return ::send(fd, out.data(), out.size(), MSG_NOSIGNAL) == ssize_t(out.size());
}

inline std::optional<Bytes> read_tcp_message(int fd, int ms) {
    std::uint8_t len[2];
    if (!read_exact(fd, len, 2, ms)) return std::nullopt;
    Bytes b((std::size_t(len[0]) << 8) | len[1]);
    if (!read_exact(fd, b.data(), b.size(), ms)) return std::nullopt;
    return b;
}

inline Bytes make_query(const std::string& name, std::uint16_t type, std::uint16_t id = 0x5151,
                        std::optional<std::uint16_t> edns_size = {}) {
    Message m;
    m.header.id = id;
    m.header.rd = true;
    auto n = Name::from_text(name);
    if (!n) throw std::runtime_error("bad name " + name);
    m.questions.push_back({*n, type, kClassIN});
    if (edns_size) {
        m.edns = Edns{};
        m.edns->udp_size = *edns_size;
    }
    return encode(m);
}

// One exchange from src (an address of this namespace; "" = any) to dst:port. Raw bytes back,
// or nullopt on timeout.
inline std::optional<Bytes> exchange(const std::string& src, const std::string& dst, std::uint16_t port,
                                     const Bytes& query, bool tcp = false, int timeout_ms = 2000) {
    int fd = ::socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    std::optional<Bytes> out;
    auto to = addr_of(dst, port);
    do {
        if (!src.empty()) {
            auto from = addr_of(src, 0);
            if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) break;
        }
        if (tcp) {
            if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) break;
            if (!send_tcp_message(fd, query)) break;
            out = read_tcp_message(fd, timeout_ms);
        } else {
            if (::sendto(fd, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) !=
                ssize_t(query.size()))
                break;
            if (!wait_readable(fd, timeout_ms)) break;
            Bytes b(65535);
            ssize_t n = ::recv(fd, b.data(), b.size(), 0);
            if (n < 0) break;
            b.resize(static_cast<std::size_t>(n));
            out = b;
        }
    } while (false);
    ::close(fd);
    return out;
}

inline std::optional<Message> ask(const std::string& src, const std::string& dst, std::uint16_t port,
                                  const std::string& name, std::uint16_t type, bool tcp = false,
                                  std::optional<std::uint16_t> edns_size = {}, int timeout_ms = 2000) {
    auto r = exchange(src, dst, port, make_query(name, type, 0x5151, edns_size), tcp, timeout_ms);
    if (!r) return std::nullopt;
    return parse(*r);
}

inline std::vector<std::string> a_records(const Message& m) {
    std::vector<std::string> out;
    for (const auto& r : m.answers)
        if (auto a = r.a())
            out.push_back(std::to_string((*a)[0]) + "." + std::to_string((*a)[1]) + "." + std::to_string((*a)[2]) + "." +
                          std::to_string((*a)[3]));
    return out;
}

// A port free for both UDP and TCP on ip right now.
inline std::uint16_t free_port(const std::string& ip) {
    for (int tries = 0; tries < 50; ++tries) {
        int u = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        auto sa = addr_of(ip, 0);
        socklen_t l = sizeof sa;
        if (::bind(u, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
            ::getsockname(u, reinterpret_cast<sockaddr*>(&sa), &l) != 0) {
            ::close(u);
            continue;
        }
        int t = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool ok = ::bind(t, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
        ::close(t);
        ::close(u);
        if (ok) return ntohs(sa.sin_port);
    }
    throw std::runtime_error("no free port on " + ip);
}

class StubResolver {
public:
    struct Seen {
        std::string name;
        std::uint16_t id;
        bool tcp;
    };

    explicit StubResolver(std::uint8_t tag = 10, std::string host = "127.0.0.1") : tag_(tag), host_(std::move(host)) {
        for (int tries = 0; tries < 50 && tcp_ < 0; ++tries) {
            port_ = free_port(host_);
            udp_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            tcp_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            auto sa = addr_of(host_, port_);
            if (::bind(udp_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
                ::bind(tcp_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 && ::listen(tcp_, 16) == 0)
                break;
            ::close(udp_);
            ::close(tcp_);
            udp_ = tcp_ = -1;
        }
        if (tcp_ < 0) throw std::runtime_error("stub resolver: cannot bind");
        if (::pipe2(stop_, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
        thread_ = std::thread([this] { loop(); });
    }
    ~StubResolver() {
        (void)!::write(stop_[1], "x", 1);
        thread_.join();
        ::close(stop_[0]);
        ::close(stop_[1]);
        ::close(udp_);
        ::close(tcp_);
    }
    StubResolver(const StubResolver&) = delete;
    StubResolver& operator=(const StubResolver&) = delete;

    std::uint16_t port() const { return port_; }
    std::string address() const { return host_ + ":" + std::to_string(port_); }
    std::vector<Seen> seen() const {
        std::lock_guard<std::mutex> l(mu_);
        return seen_;
    }
    std::size_t count(const std::string& name) const {
        std::size_t n = 0;
        for (const auto& s : seen())
            if (s.name == name) ++n;
        return n;
    }

private:
    std::optional<Bytes> answer(const Bytes& wire, bool tcp) {
        auto q = parse(wire);
        if (!q || q->questions.size() != 1) return std::nullopt;
        std::string name = q->questions[0].name.key();
        {
            std::lock_guard<std::mutex> l(mu_);
            seen_.push_back({name, q->header.id, tcp});
        }
        if (name == "silent.test") return std::nullopt;
        Message r = reply_to(*q);
        const auto& qn = q->questions[0].name;
        if (name == "fail.test") {
            r.set_rcode(rcode::servfail);
        } else if (name == "big.test") {
            for (int i = 0; i < 100; ++i) r.answers.push_back(Record::a(qn, {198, 51, 100, std::uint8_t(i)}, 60));
        } else if (qn.labels.size() >= 2 && qn.key().size() > 5 && qn.key().substr(qn.key().size() - 5) == ".test") {
            if (q->questions[0].type == rr::A) r.answers.push_back(Record::a(qn, {192, 0, 2, tag_}, 60));
        } else {
            r.set_rcode(rcode::nxdomain);
            r.header.aa = true;
            r.authority.push_back(Record::soa(*Name::from_text("."),
                                              Soa{*Name::from_text("a.root-servers.net"),
                                                  *Name::from_text("nstld.verisign-grs.com"), 1, 1800, 900, 604800, 86400},
                                              86400));
        }
        std::size_t limit = tcp ? 65535 : (q->edns ? std::max<std::size_t>(512, q->edns->udp_size) : 512);
        return encode_within(r, limit);
    }

    void loop() {
        for (;;) {
            pollfd p[3] = {{stop_[0], POLLIN, 0}, {udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
            if (::poll(p, 3, -1) < 0) continue;
            if (p[0].revents) return;
            if (p[1].revents & POLLIN) {
                Bytes b(65535);
                sockaddr_in from{};
                socklen_t fl = sizeof from;
                ssize_t n = ::recvfrom(udp_, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&from), &fl);
                if (n > 0) {
                    b.resize(static_cast<std::size_t>(n));
                    if (auto a = answer(b, false))
                        ::sendto(udp_, a->data(), a->size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
                }
            }
            if (p[2].revents & POLLIN) {
                int c = ::accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC);
                if (c >= 0) {
                    if (auto m = read_tcp_message(c, 1000))
                        if (auto a = answer(*m, true)) send_tcp_message(c, *a);
                    ::close(c);
                }
            }
        }
    }

    std::uint8_t tag_;
    std::string host_;
    std::uint16_t port_ = 0;
    int udp_ = -1, tcp_ = -1;
    int stop_[2] = {-1, -1};
    std::thread thread_;
    mutable std::mutex mu_;
    std::vector<Seen> seen_;
};

}  // namespace dnstest
