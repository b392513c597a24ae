#include "network/dns_server.hpp"

#include <netinet/in.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <thread>
#include <utility>  // Boost 1.74's asio/awaitable.hpp uses std::exchange without including it

#include <boost/asio.hpp>

#include "network/dns.hpp"
#include "network/dns_names.hpp"
#include "network/dns_query.hpp"
#include "network/network.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/time.hpp"
#include "sys/unix_socket.hpp"

namespace berth::network::dns {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using tcp = asio::ip::tcp;
using local_stream = asio::local::stream_protocol;
using steady = std::chrono::steady_clock;
using error_code = boost::system::error_code;

namespace {

// Binding to an address the host does not have yet (ip(7) IP_FREEBIND): the gateway appears
// when the bridge is set up, which may be after the server read the network's record.
using freebind = asio::detail::socket_option::boolean<IPPROTO_IP, IP_FREEBIND>;

void log_line(const std::string& msg) {
    std::string line = sys::format_rfc3339_nano(sys::now_ns()) + " dns: " + msg + "\n";
    (void)!::write(2, line.data(), line.size());
}

std::string type_name(std::uint16_t t) {
    switch (t) {
        case rr::A: return "A";
        case rr::AAAA: return "AAAA";
        case rr::PTR: return "PTR";
        case rr::MX: return "MX";
        case rr::SOA: return "SOA";
        case rr::TXT: return "TXT";
        case rr::SRV: return "SRV";
        case rr::ANY: return "ANY";
        default: return "TYPE" + std::to_string(t);
    }
}

struct Snapshot {
    NameTable table;
    std::vector<Upstream> host_upstreams;
    std::map<std::string, std::vector<Upstream>> container_upstreams;  // --dns, by container id
};

// Counters that connections and forwards give back in their destructors, which may run while
// the io_context is torn down (after the server's other members are gone).
struct Counts {
    std::size_t tcp_connections = 0;
    std::size_t forwards = 0;
};

struct Stats {
    std::atomic<std::uint64_t> queries{0}, local_answers{0}, forwarded{0}, dropped{0}, refused{0},
        upstream_failures{0};
    std::atomic<std::size_t> listening{0};
    std::atomic<std::uint64_t> loads{0};
};

}  // namespace

struct Server::Impl {
    struct Listener {
        std::string network_id;
        Ip4 gateway;
        std::optional<udp::socket> udp_socket;
        std::optional<tcp::acceptor> acceptor;
        std::array<std::uint8_t, kMaxMessage> buf{};
        udp::endpoint from;
        bool closed = false;
    };
    struct TcpConn;
    struct Forward;
    struct ControlConn;

    explicit Impl(ServerOptions o) : opts(std::move(o)) {}
    ~Impl();

    ServerOptions opts;
    asio::io_context io;
    asio::io_context loader_io;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> loader_work;
    std::thread loader;

    std::shared_ptr<const Snapshot> snap = std::make_shared<Snapshot>();
    std::map<std::string, std::shared_ptr<Listener>> listeners;  // by network id
    std::shared_ptr<Counts> counts = std::make_shared<Counts>();
    Stats stats;
    std::uint32_t rotation = 0;

    std::uint64_t requested = 0, loaded = 0;
    bool loading = false;
    std::vector<std::pair<std::uint64_t, std::function<void()>>> acks;

    asio::steady_timer poll_timer{io};
    asio::steady_timer debounce{io};
    bool debounce_armed = false;
    // inotify reads so far, and how many of them the newest load started after (it sees their
    // changes): a debounced reload with nothing newer is skipped.
    std::uint64_t store_events = 0, store_events_loaded = 0;
    std::optional<asio::posix::stream_descriptor> inotify;
    std::array<char, 4096> inotify_buf{};
    std::optional<local_stream::acceptor> control;
    std::optional<asio::signal_set> signals;
    std::optional<steady::time_point> idle_since;
    Exit exit = Exit::stopped;
    std::map<std::string, steady::time_point> last_logged;
    std::string last_upstreams;

    // Loop thread only, unless said otherwise.
    void log_limited(const std::string& key, const std::string& msg);
    Snapshot load_snapshot();  // loader thread
    void request_reload(std::function<void()> ack = {});
    void start_load();
    void loaded_done(std::uint64_t gen, std::shared_ptr<const Snapshot> s);
    void apply(std::shared_ptr<const Snapshot> s);
    void sync_listeners();
    void sync_watches();
    void close_listener(Listener& l);
    void bind_udp(const std::shared_ptr<Listener>& l);
    void bind_tcp(const std::shared_ptr<Listener>& l);
    void udp_receive(std::shared_ptr<Listener> l);
    void tcp_accept(std::shared_ptr<Listener> l);
    void on_udp(const std::shared_ptr<Listener>& l, std::size_t n);
    Outcome process(const std::string& network_id, Ip4 client, std::span<const std::uint8_t> wire, Transport t,
                    std::vector<Upstream>& upstreams);
    void send_udp(const std::shared_ptr<Listener>& l, const udp::endpoint& to, Bytes reply);
    void forward(Outcome&& o, std::span<const std::uint8_t> wire, Transport t, std::vector<Upstream> ups,
                 std::function<void(Bytes)> respond);
    void arm_poll();
    void watch_inotify();
    void schedule_reload();
    void control_accept();
    void wait_signals();
    void stop_loop(Exit why);
};

// ---- TCP clients: length-prefixed messages (RFC 1035 4.2.2), one at a time ----

struct Server::Impl::TcpConn : std::enable_shared_from_this<TcpConn> {
    TcpConn(Impl& s, std::string net, tcp::socket sock)
        : srv(s), network_id(std::move(net)), socket(std::move(sock)), idle(s.io), counts(s.counts) {
        ++counts->tcp_connections;
    }
    ~TcpConn() { --counts->tcp_connections; }

    Impl& srv;
    std::string network_id;
    tcp::socket socket;
    asio::steady_timer idle;
    std::shared_ptr<Counts> counts;
    Ip4 client;
    std::array<std::uint8_t, 2> len{};
    Bytes buf;
    std::array<std::uint8_t, 2> out_len{};
    Bytes out;

    void start() {
        error_code ec;
        auto peer = socket.remote_endpoint(ec);
        if (ec || !peer.address().is_v4()) return close();
        client = Ip4{peer.address().to_v4().to_uint()};
        read_next();
    }

    void close() {
        error_code ec;
        idle.cancel();
        socket.close(ec);
    }

    void read_next() {
        auto self = shared_from_this();
        idle.expires_after(srv.opts.tcp_idle);
        idle.async_wait([self](error_code ec) {
            if (!ec) self->close();
        });
        asio::async_read(socket, asio::buffer(len), [self](error_code ec, std::size_t) {
            if (ec) return self->close();
            std::size_t n = (std::size_t(self->len[0]) << 8) | self->len[1];
            if (n < 12) return self->close();
            self->buf.resize(n);
            asio::async_read(self->socket, asio::buffer(self->buf), [self](error_code ec2, std::size_t) {
                if (ec2) return self->close();
                self->idle.cancel();
                self->handle();
            });
        });
    }

    void handle() {
        std::vector<Upstream> ups;
        auto o = srv.process(network_id, client, buf, Transport::tcp, ups);
        if (o.kind == Outcome::Kind::drop) return close();  // a malformed stream cannot be resynchronised
        if (o.kind == Outcome::Kind::reply) return write(std::move(o.reply));
        auto self = shared_from_this();
        Bytes wire = buf;
        srv.forward(std::move(o), wire, Transport::tcp, std::move(ups), [self](Bytes b) { self->write(std::move(b)); });
    }

    void write(Bytes reply) {
        if (reply.empty() || !socket.is_open()) return close();
        out = std::move(reply);
        out_len = {static_cast<std::uint8_t>(out.size() >> 8), static_cast<std::uint8_t>(out.size())};
        auto self = shared_from_this();
        std::array<asio::const_buffer, 2> bufs{asio::buffer(out_len), asio::buffer(out)};
        asio::async_write(socket, bufs, [self](error_code ec, std::size_t) {
            if (ec) return self->close();
            self->read_next();
        });
    }
};

// ---- one forwarded query: each upstream in turn ----

struct Server::Impl::Forward : std::enable_shared_from_this<Forward> {
    Forward(Impl& s, Message q, Bytes w, Transport t, std::vector<Upstream> u, std::function<void(Bytes)> r)
        : srv(s),
          query(std::move(q)),
          wire(std::move(w)),
          transport(t),
          ups(std::move(u)),
          respond(std::move(r)),
          timer(s.io),
          counts(s.counts) {
        ++counts->forwards;
    }
    ~Forward() { --counts->forwards; }

    Impl& srv;
    Message query;
    Bytes wire;
    Transport transport;
    std::vector<Upstream> ups;
    std::function<void(Bytes)> respond;
    asio::steady_timer timer;
    std::shared_ptr<Counts> counts;
    std::size_t index = 0;
    unsigned gen = 0;  // the attempt a completion belongs to; older ones are ignored
    bool done = false;
    std::optional<Bytes> fallback;  // the last failure answer (SERVFAIL, NXDOMAIN...)
    std::optional<udp::socket> us;
    std::optional<tcp::socket> ts;
    Bytes rbuf;
    std::array<std::uint8_t, 2> len{}, out_len{};

    void close_sockets() {
        error_code ec;
        if (us) us->close(ec);
        if (ts) ts->close(ec);
        us.reset();
        ts.reset();
    }

    void finish(Bytes reply) {
        if (done) return;
        done = true;
        timer.cancel();
        close_sockets();
        respond(std::move(reply));
    }

    void failed() {
        if (done) return;
        ++srv.stats.upstream_failures;
        timer.cancel();
        close_sockets();
        ++index;
        attempt();
    }

    // What an upstream sent: relay it, keep it as the fallback and go on, or keep waiting.
    void judge(unsigned g, std::size_t n, bool stream) {
        std::span<const std::uint8_t> got(rbuf.data(), n);
        switch (judge_upstream_reply(query, got)) {
            case Verdict::accept:
                return finish(Bytes(got.begin(), got.end()));
            case Verdict::next:
                fallback = Bytes(got.begin(), got.end());
                return failed();
            case Verdict::ignore:
                if (stream) return failed();  // a TCP stream that answers something else is broken
                return receive_udp(g);
        }
    }

    void attempt() {
        if (done) return;
        if (index >= ups.size()) return finish(fallback ? *fallback : servfail_reply(query));
        unsigned g = ++gen;
        const auto& u = ups[index];
        error_code ec;
        auto addr = asio::ip::make_address(u.host, ec);
        if (ec) return failed();
        auto self = shared_from_this();
        timer.expires_after(srv.opts.upstream_timeout);
        timer.async_wait([self, g](error_code e) {
            if (!e && g == self->gen && !self->done) self->failed();
        });
        if (transport == Transport::udp) {
            us.emplace(srv.io);
            us->open(addr.is_v4() ? udp::v4() : udp::v6(), ec);
            // Connected: the kernel then hands us only the upstream's datagrams (and its ICMP
            // errors, which end the attempt early).
            if (!ec) us->connect(udp::endpoint(addr, u.port), ec);
            if (ec) return failed();
            us->async_send(asio::buffer(wire), [self, g](error_code e, std::size_t) {
                if (g != self->gen || self->done) return;
                if (e) return self->failed();
                self->receive_udp(g);
            });
        } else {
            ts.emplace(srv.io);
            ts->async_connect(tcp::endpoint(addr, u.port), [self, g](error_code e) {
                if (g != self->gen || self->done) return;
                if (e) return self->failed();
                self->out_len = {static_cast<std::uint8_t>(self->wire.size() >> 8),
                                 static_cast<std::uint8_t>(self->wire.size())};
                std::array<asio::const_buffer, 2> bufs{asio::buffer(self->out_len), asio::buffer(self->wire)};
                asio::async_write(*self->ts, bufs, [self, g](error_code e2, std::size_t) {
                    if (g != self->gen || self->done) return;
                    if (e2) return self->failed();
                    asio::async_read(*self->ts, asio::buffer(self->len), [self, g](error_code e3, std::size_t) {
                        if (g != self->gen || self->done) return;
                        std::size_t n = (std::size_t(self->len[0]) << 8) | self->len[1];
                        if (e3 || n < 12) return self->failed();
                        self->rbuf.resize(n);
                        asio::async_read(*self->ts, asio::buffer(self->rbuf), [self, g](error_code e4, std::size_t m) {
                            if (g != self->gen || self->done) return;
                            if (e4) return self->failed();
                            self->judge(g, m, true);
                        });
                    });
                });
            });
        }
    }

    void receive_udp(unsigned g) {
        auto self = shared_from_this();
        rbuf.resize(kMaxMessage);
        us->async_receive(asio::buffer(rbuf), [self, g](error_code e, std::size_t n) {
            if (g != self->gen || self->done) return;
            if (e) return self->failed();
            self->judge(g, n, false);
        });
    }
};

// ---- control socket: "reload" (answered once the store is re-read), "ping" ----

struct Server::Impl::ControlConn : std::enable_shared_from_this<ControlConn> {
    ControlConn(Impl& s, local_stream::socket sock) : srv(s), socket(std::move(sock)), timer(s.io) {}
    Impl& srv;
    local_stream::socket socket;
    asio::steady_timer timer;
    std::string in;
    std::array<char, 64> buf{};

    void start() {
        auto self = shared_from_this();
        timer.expires_after(std::chrono::seconds(2));
        timer.async_wait([self](error_code ec) {
            if (!ec) {
                error_code e;
                self->socket.close(e);
            }
        });
        read();
    }
    void read() {
        auto self = shared_from_this();
        socket.async_read_some(asio::buffer(buf), [self](error_code ec, std::size_t n) {
            if (ec) return;
            self->in.append(self->buf.data(), n);
            auto nl = self->in.find('\n');
            if (nl == std::string::npos) {
                if (self->in.size() > 256) return;
                return self->read();
            }
            std::string cmd = self->in.substr(0, nl);
            if (cmd == "reload")
                self->srv.request_reload([self] { self->reply("ok\n"); });
            else if (cmd == "ping")
                self->reply("ok\n");
            else
                self->reply("error unknown command\n");
        });
    }
    // Written at once (a few bytes into an idle unix socket do not block): the loop may be
    // about to stop for an idle exit, and the notifier must not wait for its timeout.
    void reply(const std::string& text) {
        error_code e;
        asio::write(socket, asio::buffer(text), e);
        timer.cancel();
        socket.close(e);
    }
};

// ---- Impl ----

Server::Impl::~Impl() {
    loader_work.reset();
    loader_io.stop();
    if (loader.joinable()) loader.join();
    for (auto& [id, l] : listeners) close_listener(*l);
    listeners.clear();
    error_code ec;
    if (control) control->close(ec);
    if (inotify) inotify->close(ec);
    if (signals) signals->cancel(ec);
    poll_timer.cancel();
    debounce.cancel();
    if (opts.control_socket) ::unlink((dns_run_dir(opts.paths) / "control.sock").c_str());
}

void Server::Impl::log_limited(const std::string& key, const std::string& msg) {
    auto now = steady::now();
    auto it = last_logged.find(key);
    if (it != last_logged.end() && now - it->second < std::chrono::minutes(1)) return;
    last_logged[key] = now;
    log_line(msg);
}

Snapshot Server::Impl::load_snapshot() {
    Snapshot s;
    Manager mgr(opts.paths);
    s.table = NameTable(mgr.list());
    if (opts.upstreams) {
        s.host_upstreams = *opts.upstreams;
    } else if (auto text = sys::read_file_if_exists(opts.resolv_conf)) {
        s.host_upstreams = parse_resolv_conf(*text);
    }
    for (const auto& n : s.table.networks())
        for (const auto& [ip, cid] : n.container_at) {
            if (s.container_upstreams.count(cid)) continue;
            auto path = opts.paths.run_container(cid) / "dns.json";
            auto text = sys::read_file_if_exists(path);
            if (!text) continue;
            if (auto ups = parse_container_dns(*text)) {
                if (!ups->empty()) s.container_upstreams[cid] = std::move(*ups);
            } else {
                log_line("ignoring " + path.string() + ": not {\"servers\": [address...]}");
            }
        }
    return s;
}

void Server::Impl::request_reload(std::function<void()> ack) {
    ++requested;
    if (ack) acks.emplace_back(requested, std::move(ack));
    if (!loading) start_load();
}

void Server::Impl::start_load() {
    loading = true;
    // Events already queued are older than this load, which sees their changes: taken now (the
    // fd is non-blocking), not left for a debounced reload of their own. A notify's request and
    // the inotify events of the writes before it can be served in either order.
    if (inotify) {
        std::array<char, 4096> drain;
        while (::read(inotify->native_handle(), drain.data(), drain.size()) > 0) ++store_events;
    }
    store_events_loaded = store_events;
    std::uint64_t gen = requested;
    asio::post(loader_io, [this, gen] {
        std::shared_ptr<const Snapshot> s;
        try {
            s = std::make_shared<Snapshot>(load_snapshot());
        } catch (const std::exception& e) {
            log_line(std::string("reading the network store: ") + e.what());
        }
        asio::post(io, [this, gen, s] { loaded_done(gen, s); });
    });
}

void Server::Impl::loaded_done(std::uint64_t gen, std::shared_ptr<const Snapshot> s) {
    loading = false;
    loaded = gen;
    ++stats.loads;
    if (s) apply(std::move(s));
    std::vector<std::function<void()>> due;
    for (auto it = acks.begin(); it != acks.end();) {
        if (it->first <= loaded) {
            due.push_back(std::move(it->second));
            it = acks.erase(it);
        } else {
            ++it;
        }
    }
    for (auto& f : due) f();
    if (requested > loaded) return start_load();
    // Idle exit only on the newest view of the store: a notify that came in meanwhile (a
    // container attached) is read first.
    if (idle_since && opts.idle_exit.count() > 0 && steady::now() - *idle_since >= opts.idle_exit)
        stop_loop(Exit::idle);
}

void Server::Impl::apply(std::shared_ptr<const Snapshot> s) {
    snap = std::move(s);
    std::string ups;
    for (const auto& u : snap->host_upstreams) ups += " " + u.str();
    if (ups != last_upstreams) {
        last_upstreams = ups;
        log_line("forwarding to" + (ups.empty() ? std::string(" nothing (no nameserver)") : ups));
    }
    sync_listeners();
    sync_watches();
    if (snap->table.any_endpoint())
        idle_since.reset();
    else if (!idle_since)
        idle_since = steady::now();
}

void Server::Impl::close_listener(Listener& l) {
    l.closed = true;
    error_code ec;
    if (l.udp_socket) l.udp_socket->close(ec);
    if (l.acceptor) l.acceptor->close(ec);
}

void Server::Impl::bind_udp(const std::shared_ptr<Listener>& l) {
    udp::socket s(io);
    error_code ec;
    udp::endpoint ep(asio::ip::address_v4(l->gateway.v), opts.port);
    s.open(udp::v4(), ec);
    if (!ec) s.set_option(freebind(true), ec);
    if (!ec) s.bind(ep, ec);
    if (ec) {
        log_limited("udp " + l->gateway.str(), "binding udp " + l->gateway.str() + ":" + std::to_string(opts.port) +
                                                   ": " + ec.message() + " (retrying)");
        return;
    }
    l->udp_socket.emplace(std::move(s));
    udp_receive(l);
}

void Server::Impl::bind_tcp(const std::shared_ptr<Listener>& l) {
    tcp::acceptor a(io);
    error_code ec;
    tcp::endpoint ep(asio::ip::address_v4(l->gateway.v), opts.port);
    a.open(tcp::v4(), ec);
    if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) a.set_option(freebind(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(128, ec);
    if (ec) {
        log_limited("tcp " + l->gateway.str(), "binding tcp " + l->gateway.str() + ":" + std::to_string(opts.port) +
                                                   ": " + ec.message() + " (retrying)");
        return;
    }
    l->acceptor.emplace(std::move(a));
    tcp_accept(l);
}

void Server::Impl::sync_listeners() {
    std::map<std::string, std::shared_ptr<Listener>> next;
    for (const auto& n : snap->table.networks()) {
        std::shared_ptr<Listener> l;
        if (auto it = listeners.find(n.id); it != listeners.end() && it->second->gateway == n.gateway) {
            l = it->second;
            listeners.erase(it);
        } else {
            l = std::make_shared<Listener>();
            l->network_id = n.id;
            l->gateway = n.gateway;
        }
        if (!l->udp_socket) bind_udp(l);
        if (!l->acceptor) bind_tcp(l);
        next[n.id] = l;
    }
    for (auto& [id, l] : listeners) close_listener(*l);  // networks gone (or their gateway changed)
    listeners = std::move(next);
    std::size_t n = 0;
    for (const auto& [id, l] : listeners)
        if (l->udp_socket && l->acceptor) ++n;
    stats.listening = n;
}

void Server::Impl::sync_watches() {
    if (!inotify) return;
    constexpr std::uint32_t mask = IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM;
    std::vector<std::filesystem::path> dirs{opts.paths.networks(), opts.paths.run / "networks"};
    for (const auto& n : snap->table.networks()) dirs.push_back(opts.paths.run / "networks" / n.id);
    // A directory that does not exist yet is watched from the reload after it appears (its
    // parent's watch reports it).
    for (const auto& d : dirs) ::inotify_add_watch(inotify->native_handle(), d.c_str(), mask);
}

void Server::Impl::udp_receive(std::shared_ptr<Listener> l) {
    l->udp_socket->async_receive_from(asio::buffer(l->buf), l->from, [this, l](error_code ec, std::size_t n) {
        if (l->closed || ec == asio::error::operation_aborted) return;
        if (!ec) on_udp(l, n);
        udp_receive(l);
    });
}

void Server::Impl::tcp_accept(std::shared_ptr<Listener> l) {
    l->acceptor->async_accept([this, l](error_code ec, tcp::socket s) {
        if (l->closed || ec == asio::error::operation_aborted) return;
        if (ec) {
            // Out of fds or similar: pause instead of spinning.
            log_limited("accept", "accepting a TCP client: " + ec.message());
            auto t = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(200));
            t->async_wait([this, l, t](error_code) {
                if (!l->closed) tcp_accept(l);
            });
            return;
        }
        if (counts->tcp_connections >= opts.max_tcp_connections) {
            error_code e;
            s.close(e);
        } else {
            std::make_shared<TcpConn>(*this, l->network_id, std::move(s))->start();
        }
        tcp_accept(l);
    });
}

Outcome Server::Impl::process(const std::string& network_id, Ip4 client, std::span<const std::uint8_t> wire,
                              Transport t, std::vector<Upstream>& upstreams) {
    ++stats.queries;
    const auto& table = snap->table;
    QueryContext ctx;
    ctx.scope = table.scope(network_id, client);
    ctx.transport = t;
    ctx.rotation = rotation++;
    const NetworkNames* net = table.find(network_id);
    upstreams = snap->host_upstreams;
    if (auto cid = table.container_at(network_id, client))
        if (auto it = snap->container_upstreams.find(*cid); it != snap->container_upstreams.end())
            upstreams = it->second;
    ctx.may_forward = net && !net->internal && !upstreams.empty();
    auto o = handle_query(wire, ctx);
    switch (o.kind) {
        case Outcome::Kind::drop: ++stats.dropped; break;
        case Outcome::Kind::reply:
            if (ctx.scope.empty()) ++stats.refused;
            else ++stats.local_answers;
            break;
        case Outcome::Kind::forward: break;
    }
    if (opts.log_queries && o.kind != Outcome::Kind::drop && !o.query.questions.empty()) {
        const auto& q = o.query.questions[0];
        log_line("query " + q.name.text() + " " + type_name(q.type) + " from " + client.str() + " on " + network_id.substr(0, 12) +
                 (o.kind == Outcome::Kind::forward ? ": forwarded" : ": answered"));
    }
    return o;
}

void Server::Impl::send_udp(const std::shared_ptr<Listener>& l, const udp::endpoint& to, Bytes reply) {
    if (l->closed || !l->udp_socket || reply.empty()) return;
    auto buf = std::make_shared<Bytes>(std::move(reply));
    l->udp_socket->async_send_to(asio::buffer(*buf), to, [buf](error_code, std::size_t) {});
}

void Server::Impl::on_udp(const std::shared_ptr<Listener>& l, std::size_t n) {
    udp::endpoint from = l->from;
    if (!from.address().is_v4()) return;
    Ip4 client{from.address().to_v4().to_uint()};
    std::span<const std::uint8_t> wire(l->buf.data(), n);
    std::vector<Upstream> ups;
    auto o = process(l->network_id, client, wire, Transport::udp, ups);
    if (o.kind == Outcome::Kind::reply) return send_udp(l, from, std::move(o.reply));
    if (o.kind == Outcome::Kind::forward)
        forward(std::move(o), wire, Transport::udp, std::move(ups),
                [this, l, from](Bytes b) { send_udp(l, from, std::move(b)); });
}

void Server::Impl::forward(Outcome&& o, std::span<const std::uint8_t> wire, Transport t, std::vector<Upstream> ups,
                           std::function<void(Bytes)> respond) {
    if (counts->forwards >= opts.max_forwards) {
        ++stats.dropped;
        log_limited("max-forwards", "more than " + std::to_string(opts.max_forwards) +
                                        " forwarded queries at once; dropping queries");
        return;
    }
    ++stats.forwarded;
    auto f = std::make_shared<Forward>(*this, std::move(o.query), Bytes(wire.begin(), wire.end()), t, std::move(ups),
                                       std::move(respond));
    f->attempt();
}

void Server::Impl::arm_poll() {
    auto every = opts.poll_interval;
    if (opts.idle_exit.count() > 0) every = std::min(every, opts.idle_exit);
    poll_timer.expires_after(every);
    poll_timer.async_wait([this](error_code ec) {
        if (ec) return;
        request_reload();
        arm_poll();
    });
}

void Server::Impl::schedule_reload() {
    // Several events come together (a temp file, then its rename): one reload for the burst.
    if (debounce_armed) return;
    debounce_armed = true;
    debounce.expires_after(std::chrono::milliseconds(20));
    debounce.async_wait([this](error_code ec) {
        debounce_armed = false;
        // A start or a cleanup asks for its reload at once (notify): the burst it made is
        // usually read already, and a second re-read of the whole store would only take CPU
        // from the containers starting meanwhile.
        if (!ec && store_events > store_events_loaded) request_reload();
    });
}

void Server::Impl::watch_inotify() {
    inotify->async_read_some(asio::buffer(inotify_buf), [this](error_code ec, std::size_t) {
        if (ec == asio::error::operation_aborted) return;
        if (ec) {
            log_line("inotify: " + ec.message() + " (polling only)");
            return;
        }
        ++store_events;
        schedule_reload();
        watch_inotify();
    });
}

void Server::Impl::control_accept() {
    control->async_accept([this](error_code ec, local_stream::socket s) {
        if (ec == asio::error::operation_aborted) return;
        if (!ec) std::make_shared<ControlConn>(*this, std::move(s))->start();
        control_accept();
    });
}

void Server::Impl::wait_signals() {
    signals->async_wait([this](error_code ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
            request_reload();
            wait_signals();
            return;
        }
        log_line("stopping on signal " + std::to_string(sig));
        stop_loop(Exit::stopped);
    });
}

void Server::Impl::stop_loop(Exit why) {
    exit = why;
    io.stop();
}

// ---- Server ----

Server::Server(ServerOptions opts) : impl_(std::make_unique<Impl>(std::move(opts))) {}
Server::~Server() = default;

void Server::start() {
    auto& s = *impl_;
    sys::mkdirs(dns_run_dir(s.opts.paths), 0700);
    int ifd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ifd >= 0) {
        s.inotify.emplace(s.io, ifd);
        s.watch_inotify();
    } else {
        log_line("inotify_init1 failed; the store is polled only");
    }
    s.apply(std::make_shared<Snapshot>(s.load_snapshot()));
    if (s.opts.control_socket) {
        auto fd = sys::listen_unix((dns_run_dir(s.opts.paths) / "control.sock").string());
        s.control.emplace(s.io, local_stream(), fd.release());
        s.control_accept();
    }
    if (s.opts.handle_signals) {
        s.signals.emplace(s.io, SIGTERM, SIGINT, SIGHUP);
        s.wait_signals();
    }
    s.arm_poll();
    s.loader_work.emplace(s.loader_io.get_executor());
    s.loader = std::thread([&s] { s.loader_io.run(); });
}

Server::Exit Server::run() {
    impl_->io.run();
    return impl_->exit;
}

void Server::stop() {
    asio::post(impl_->io, [s = impl_.get()] { s->stop_loop(Exit::stopped); });
}

void Server::request_reload() {
    asio::post(impl_->io, [s = impl_.get()] { s->request_reload(); });
}

ServerStats Server::stats() const {
    const auto& st = impl_->stats;
    ServerStats out;
    out.queries = st.queries;
    out.local_answers = st.local_answers;
    out.forwarded = st.forwarded;
    out.dropped = st.dropped;
    out.refused = st.refused;
    out.upstream_failures = st.upstream_failures;
    out.listening = st.listening;
    out.loads = st.loads;
    return out;
}

}  // namespace berth::network::dns
