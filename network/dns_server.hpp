#pragma once
// The embedded DNS server's sockets and event loop (Boost.Asio, kept inside dns_server.cpp).
//
// One thread runs the loop: a UDP socket and a TCP listener on <gateway>:<port> of every
// user-defined network (bound with IP_FREEBIND, so a network whose bridge is not up yet, e.g.
// after a reboot, is bound already; a bind that fails is retried at the next reload), TCP
// connections (length-prefixed messages, RFC 1035 4.2.2; idle ones closed after 10 s), and
// forwards. A second thread reads the network store (it takes the store's flock, which must not
// stall answers) and hands the loop a fresh name table; the loop keeps answering from the old one
// meanwhile.
//
// A forward sends the query as it came (same id) from a fresh socket (a random source port per
// query) over the transport the client used, to each upstream in turn: up to upstream_timeout
// each, moving on after failures (dns_query.hpp, Verdict), relaying the first acceptable answer,
// else the last failure answer, else SERVFAIL. At most max_forwards run at once (Docker's
// limit, 1024); queries beyond it are dropped and the client retries.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "network/dns_upstream.hpp"
#include "store/paths.hpp"

namespace berth::network::dns {

struct ServerOptions {
    store::Paths paths;
    std::optional<std::vector<Upstream>> upstreams;  // replaces resolv_conf's nameservers
    std::string resolv_conf = "/etc/resolv.conf";
    std::uint16_t port = 53;
    std::chrono::milliseconds upstream_timeout{2000};
    std::size_t max_forwards = 1024;
    std::size_t max_tcp_connections = 256;
    std::chrono::milliseconds tcp_idle{10000};
    // The store is re-read on inotify events and notify_dns_server(); this is the safety net
    // (and when resolv.conf changes are picked up).
    std::chrono::milliseconds poll_interval{3000};
    // run() returns Exit::idle after no user network has had an endpoint for this long; 0: never.
    std::chrono::milliseconds idle_exit{0};
    bool control_socket = true;  // <run>/dns/control.sock, for notify_dns_server()
    bool handle_signals = false;  // SIGTERM/SIGINT stop, SIGHUP reloads (the daemon)
    bool log_queries = false;
};

struct ServerStats {
    std::uint64_t queries = 0, local_answers = 0, forwarded = 0, dropped = 0, refused = 0, upstream_failures = 0;
    std::size_t listening = 0;  // networks with both UDP and TCP bound
    std::uint64_t loads = 0;    // re-reads of the store done (start's included)
};

class Server {
public:
    explicit Server(ServerOptions opts);
    ~Server();  // closes every socket
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Reads the store and binds every network's gateway (in the calling thread); after it
    // returns, queries are queued by the kernel and answered once run() runs. Throws when the
    // store cannot be read or the control socket cannot be made.
    void start();

    enum class Exit { stopped, idle };
    Exit run();  // the event loop, in the calling thread, until stop() or idle exit

    void stop();            // any thread
    void request_reload();  // any thread
    ServerStats stats() const;  // any thread

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace berth::network::dns
