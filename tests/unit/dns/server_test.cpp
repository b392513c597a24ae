// The DNS server end to end without root: real UDP/TCP sockets on loopback addresses. Networks
// get subnets inside 127.0.0.0/8 (every address of it is local, so the server binds the
// "gateway" and clients send from "container" addresses), and the server forwards to stub
// resolvers on 127.0.0.1.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <thread>

#include "network/dns.hpp"
#include "network/dns_server.hpp"
#include "store_fixture.hpp"
#include "stub_resolver.hpp"

using namespace berth;
using namespace berth::network;
using namespace berth::network::dns;
using namespace dnstest;

namespace {

// 127.<a>.<pid-derived>.<host>: unique to this test process.
std::string addr(int a, int host) { return "127." + std::to_string(a) + "." + std::to_string(::getpid() % 200 + 20) + "." + std::to_string(host); }
std::string subnet(int a) { return addr(a, 0) + "/24"; }

struct Env {
    StoreFixture store;
    StubResolver stub{10};
    std::uint16_t port = free_port(addr(71, 1));
    ServerOptions opts;
    std::unique_ptr<Server> server;
    std::thread thread;
    Server::Exit exit = Server::Exit::stopped;
    bool finished = false;

    Env() {
        store.add_network("front", subnet(71), addr(71, 1));
        store.add_network("back", subnet(72), addr(72, 1));
        store.add_network("sealed", subnet(73), addr(73, 1), true);
        store.add_endpoint("front", "web-1", addr(71, 2), {"web"});
        store.add_endpoint("front", "web-2", addr(71, 3), {"web"});
        store.add_endpoint("back", "db-1", addr(72, 2), {"db"});
        store.add_endpoint("sealed", "vault", addr(73, 2));
        opts.paths = store.paths;
        opts.upstreams = std::vector<Upstream>{*parse_upstream(stub.address())};
        opts.port = port;
        opts.upstream_timeout = std::chrono::milliseconds(300);
    }
    ~Env() { stop(); }

    void start() {
        server = std::make_unique<Server>(opts);
        server->start();
        thread = std::thread([this] {
            exit = server->run();
            finished = true;
        });
    }
    void stop() {
        if (!server) return;
        server->stop();
        thread.join();
        server.reset();
    }
    std::optional<Message> ask_front(const std::string& name, std::uint16_t type, bool tcp = false,
                                     std::optional<std::uint16_t> edns = {}) {
        return ask(addr(71, 2), addr(71, 1), port, name, type, tcp, edns);
    }
};

}  // namespace

TEST_CASE("server: names, replicas in rotating order, PTR and NODATA, over UDP and TCP") {
    Env env;
    env.start();
    for (bool tcp : {false, true}) {
        INFO((tcp ? "tcp" : "udp"));
        auto m = env.ask_front("web-1", rr::A, tcp);
        REQUIRE(m);
        CHECK(m->header.id == 0x5151);
        CHECK(m->header.aa);
        CHECK(a_records(*m) == std::vector<std::string>{addr(71, 2)});
        CHECK(m->answers[0].ttl == 600);

        auto first = env.ask_front("WEB", rr::A, tcp);
        auto second = env.ask_front("web", rr::A, tcp);
        REQUIRE(first);
        REQUIRE(second);
        auto a = a_records(*first), b = a_records(*second);
        REQUIRE(a.size() == 2);
        REQUIRE(b.size() == 2);
        CHECK(a[0] != b[0]);  // consecutive queries start at the other replica
        std::sort(a.begin(), a.end());
        CHECK(a == std::vector<std::string>{addr(71, 2), addr(71, 3)});

        auto aaaa = env.ask_front("web", rr::AAAA, tcp);
        REQUIRE(aaaa);
        CHECK(aaaa->rcode() == rcode::noerror);
        CHECK(aaaa->answers.empty());

        auto ptr = env.ask_front(reverse_name({127, 71, std::uint8_t(::getpid() % 200 + 20), 3}).text(), rr::PTR, tcp);
        REQUIRE(ptr);
        REQUIRE(ptr->answers.size() == 1);
        CHECK(ptr->answers[0].ptr()->text() == "web-2.front.");
    }
    CHECK(env.stub.seen().empty());  // nothing of that went upstream
    CHECK(env.server->stats().listening == 3);
}

TEST_CASE("server: other names are forwarded with their id, answers and failures relayed") {
    Env env;
    StubResolver second{20};
    // A first upstream that never answers (a bound socket): the server waits its timeout and
    // moves on; a second that refuses the port (ICMP): moved on at once.
    int silent = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    auto sa = addr_of("127.0.0.1", 0);
    socklen_t l = sizeof sa;
    REQUIRE(::bind(silent, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::getsockname(silent, reinterpret_cast<sockaddr*>(&sa), &l) == 0);
    std::uint16_t closed_port = free_port("127.0.0.1");

    SECTION("one upstream") {
        env.start();
        auto raw = exchange(addr(71, 2), addr(71, 1), env.port, make_query("example.test", rr::A, 0x7777));
        REQUIRE(raw);
        auto m = parse(*raw);
        REQUIRE(m);
        CHECK(m->header.id == 0x7777);
        CHECK(a_records(*m) == std::vector<std::string>{"192.0.2.10"});
        auto seen = env.stub.seen();
        REQUIRE(seen.size() == 1);
        CHECK(seen[0].id == 0x7777);  // forwarded as it came
        CHECK_FALSE(seen[0].tcp);

        auto nx = env.ask_front("nowhere.example", rr::A);
        REQUIRE(nx);
        CHECK(nx->rcode() == rcode::nxdomain);

        auto fail = env.ask_front("fail.test", rr::A);
        REQUIRE(fail);
        CHECK(fail->rcode() == rcode::servfail);

        // The web-1 name over TCP is local; an unknown name over TCP goes upstream over TCP.
        auto tcp = env.ask_front("other.test", rr::A, true);
        REQUIRE(tcp);
        CHECK(a_records(*tcp) == std::vector<std::string>{"192.0.2.10"});
        CHECK(env.stub.seen().back().tcp);

        // Too big for UDP: truncated answer relayed, the client's TCP retry gets it all.
        auto big = env.ask_front("big.test", rr::A);
        REQUIRE(big);
        CHECK(big->header.tc);
        auto full = env.ask_front("big.test", rr::A, true);
        REQUIRE(full);
        CHECK_FALSE(full->header.tc);
        CHECK(full->answers.size() == 100);

        // Other types of unknown names go upstream too.
        auto mx = env.ask_front("example.test", rr::MX);
        REQUIRE(mx);
        CHECK(mx->rcode() == rcode::noerror);
        CHECK(env.stub.count("example.test") == 2);
    }
    SECTION("upstreams in order: silent, refusing, then one that answers") {
        env.opts.upstreams = std::vector<Upstream>{Upstream{"127.0.0.1", ntohs(sa.sin_port)},
                                                   Upstream{"127.0.0.1", closed_port},
                                                   *parse_upstream(second.address()), *parse_upstream(env.stub.address())};
        env.start();
        auto t0 = std::chrono::steady_clock::now();
        auto m = env.ask_front("example.test", rr::A);
        auto took = std::chrono::steady_clock::now() - t0;
        REQUIRE(m);
        CHECK(a_records(*m) == std::vector<std::string>{"192.0.2.20"});  // the second stub's tag
        CHECK(took >= std::chrono::milliseconds(250));                    // waited out the silent one
        CHECK(env.stub.seen().empty());
        // SERVFAIL from one upstream: the next one is asked, and its answer relayed.
        auto fail = env.ask_front("fail.test", rr::A);
        REQUIRE(fail);
        CHECK(fail->rcode() == rcode::servfail);  // both stubs fail it: the last failure comes back
        CHECK(second.count("fail.test") == 1);
        CHECK(env.stub.count("fail.test") == 1);
        // Non-authoritative NXDOMAIN would move on; the stubs' NXDOMAIN is authoritative: final.
        auto nx = env.ask_front("nowhere.example", rr::A);
        REQUIRE(nx);
        CHECK(nx->rcode() == rcode::nxdomain);
        CHECK(env.stub.count("nowhere.example") == 0);
    }
    SECTION("no upstream answers at all: SERVFAIL after the timeouts") {
        env.opts.upstreams = std::vector<Upstream>{Upstream{"127.0.0.1", ntohs(sa.sin_port)}};
        env.start();
        auto m = env.ask_front("example.test", rr::A);
        REQUIRE(m);
        CHECK(m->rcode() == rcode::servfail);
        CHECK(m->header.id == 0x5151);
    }
    ::close(silent);
}

TEST_CASE("server: a network's names stay on it") {
    Env env;
    env.start();
    // From front, back's db is unknown: forwarded, and the stub has never heard of it.
    auto m = env.ask_front("db", rr::A);
    REQUIRE(m);
    CHECK(m->rcode() == rcode::nxdomain);
    CHECK(env.stub.count("db") == 1);
    // From back, it resolves.
    auto b = ask(addr(72, 2), addr(72, 1), env.port, "db", rr::A);
    REQUIRE(b);
    CHECK(a_records(*b) == std::vector<std::string>{addr(72, 2)});
    // back's db asking front's gateway is refused (its address is not in front's subnet).
    auto r = ask(addr(72, 2), addr(71, 1), env.port, "web", rr::A);
    REQUIRE(r);
    CHECK(r->rcode() == rcode::refused);
    CHECK(r->answers.empty());
    // --internal: local names answer, the rest is not forwarded.
    auto v = ask(addr(73, 2), addr(73, 1), env.port, "vault", rr::A);
    REQUIRE(v);
    CHECK(a_records(*v) == std::vector<std::string>{addr(73, 2)});
    auto out = ask(addr(73, 2), addr(73, 1), env.port, "example.test", rr::A);
    REQUIRE(out);
    CHECK(out->rcode() == rcode::servfail);
    CHECK(env.stub.count("example.test") == 0);
    CHECK(env.server->stats().refused == 1);
}

TEST_CASE("server: answers follow the store (notify waits for the reload; inotify without it)") {
    Env env;
    env.opts.poll_interval = std::chrono::minutes(10);  // only notify and inotify can explain a change
    env.start();
    REQUIRE(env.ask_front("web", rr::A));

    env.store.add_endpoint("front", "cache-1", addr(71, 9), {"cache"});
    REQUIRE(notify_dns_server(env.store.paths));
    auto m = env.ask_front("cache", rr::A);  // no wait: the reload is done when notify returns
    REQUIRE(m);
    CHECK(a_records(*m) == std::vector<std::string>{addr(71, 9)});

    env.store.remove_endpoint("front", "web-1");
    CHECK(eventually([&] {
        auto w = env.ask_front("web", rr::A);
        return w && a_records(*w) == std::vector<std::string>{addr(71, 3)};
    }));
    // A container restarted and attached again answers under its name again.
    env.store.add_endpoint("front", "web-1", addr(71, 12), {"web"});
    CHECK(eventually([&] {
        auto w = env.ask_front("web-1", rr::A);
        return w && a_records(*w) == std::vector<std::string>{addr(71, 12)};
    }));
    // A new network: its gateway gets bound.
    env.store.add_network("extra", subnet(74), addr(74, 1));
    env.store.add_endpoint("extra", "x-1", addr(74, 2));
    REQUIRE(notify_dns_server(env.store.paths));
    auto x = ask(addr(74, 2), addr(74, 1), env.port, "x-1", rr::A);
    REQUIRE(x);
    CHECK(a_records(*x) == std::vector<std::string>{addr(74, 2)});
    CHECK(env.server->stats().listening == 4);
    // ... and let go of when the network goes.
    env.store.remove_network("extra");
    REQUIRE(notify_dns_server(env.store.paths));
    CHECK(env.server->stats().listening == 3);
    CHECK_FALSE(ask(addr(74, 2), addr(74, 1), env.port, "x-1", rr::A, false, {}, 300));

    // Asked now, waited for later (a start's spec and /etc files overlap the re-read): the name
    // answers once wait() returns, and a second wait() has nothing left to wait for.
    env.store.add_endpoint("front", "late-1", addr(71, 20), {"late"});
    auto reload = notify_dns_server_async(env.store.paths);
    CHECK(reload.pending());
    REQUIRE(reload.wait());
    CHECK_FALSE(reload.pending());
    CHECK(reload.wait());
    auto late = env.ask_front("late", rr::A);
    REQUIRE(late);
    CHECK(a_records(*late) == std::vector<std::string>{addr(71, 20)});
    // The notify's re-read saw the change its files made: the reload their inotify events
    // schedule (20 ms later) is skipped, whichever of the two the server serves first, where a
    // change nobody notified is still read. First the reloads owed for the steps above.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto loads = env.server->stats().loads;
    env.store.add_endpoint("front", "late-2", addr(71, 21), {"late2"});
    REQUIRE(notify_dns_server(env.store.paths));
    CHECK(env.server->stats().loads == loads + 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    CHECK(env.server->stats().loads == loads + 1);
    env.store.add_endpoint("front", "late-3", addr(71, 22), {"late3"});
    CHECK(eventually([&] { return env.server->stats().loads == loads + 2; }));
    auto late3 = env.ask_front("late3", rr::A);
    REQUIRE(late3);
    CHECK(a_records(*late3) == std::vector<std::string>{addr(71, 22)});

    // Under a batch (compose down) the request is only noted, for the batch's end: nothing is
    // pending.
    {
        DnsNotifyBatch batch(env.store.paths);
        auto deferred = notify_dns_server_async(env.store.paths);
        CHECK_FALSE(deferred.pending());
        CHECK(deferred.wait());
    }
}

TEST_CASE("server: a reload asked when no server runs is nothing to wait for") {
    Env env;
    auto none = notify_dns_server_async(env.store.paths);
    CHECK_FALSE(none.pending());
    CHECK(none.wait());
}

TEST_CASE("server: a container's --dns servers replace the host's for that container") {
    Env env;
    StubResolver own{30};
    env.store.set_container_dns("web-1", "{\"servers\": [\"" + own.address() + "\"]}");
    env.start();
    auto m = ask(addr(71, 2), addr(71, 1), env.port, "example.test", rr::A);  // web-1
    REQUIRE(m);
    CHECK(a_records(*m) == std::vector<std::string>{"192.0.2.30"});
    auto n = ask(addr(71, 3), addr(71, 1), env.port, "example.test", rr::A);  // web-2
    REQUIRE(n);
    CHECK(a_records(*n) == std::vector<std::string>{"192.0.2.10"});
    CHECK(own.count("example.test") == 1);
    CHECK(env.stub.count("example.test") == 1);
}

TEST_CASE("server: at most max_forwards at once; beyond that queries are dropped") {
    Env env;
    env.opts.max_forwards = 1;
    env.opts.upstream_timeout = std::chrono::milliseconds(800);
    env.start();
    std::optional<Message> slow;
    std::thread t([&] { slow = env.ask_front("silent.test", rr::A); });
    REQUIRE(eventually([&] { return env.stub.count("silent.test") == 1; }));
    CHECK_FALSE(ask(addr(71, 2), addr(71, 1), env.port, "example.test", rr::A, false, {}, 300));
    t.join();
    REQUIRE(slow);
    CHECK(slow->rcode() == rcode::servfail);  // the only upstream timed out
    CHECK(env.stub.count("example.test") == 0);
    CHECK(env.server->stats().dropped == 1);
    auto m = env.ask_front("example.test", rr::A);  // a slot is free again
    REQUIRE(m);
    CHECK(a_records(*m) == std::vector<std::string>{"192.0.2.10"});
    // Local names never need a slot.
    CHECK(env.ask_front("web-1", rr::A));
}

TEST_CASE("server: malformed packets are dropped and serving goes on") {
    Env env;
    env.start();
    std::vector<Bytes> bad{
        {},
        {1, 2, 3},
        Bytes(12, 0xff),
        {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1},  // pointer loop
        {0x12, 0x34, 0x01, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 3, 'w', 'e', 'b'},     // counts lie
    };
    Bytes response = make_query("web", rr::A);
    response[2] |= 0x80;  // QR: an answer sent to the server
    bad.push_back(response);
    for (const auto& b : bad) CHECK_FALSE(exchange(addr(71, 2), addr(71, 1), env.port, b, false, 200));
    // Over TCP a bad message ends the connection.
    CHECK_FALSE(exchange(addr(71, 2), addr(71, 1), env.port, Bytes(20, 0xff), true, 500));
    auto m = env.ask_front("web-1", rr::A);
    REQUIRE(m);
    CHECK(a_records(*m) == std::vector<std::string>{addr(71, 2)});
    CHECK(env.server->stats().dropped >= bad.size());
}

TEST_CASE("server: run() ends by itself once no user network has an endpoint") {
    StoreFixture store;
    store.add_network("front", subnet(75), addr(75, 1));
    store.add_endpoint("front", "only", addr(75, 2));
    ServerOptions o;
    o.paths = store.paths;
    o.upstreams = std::vector<Upstream>{};
    o.port = free_port(addr(75, 1));
    o.idle_exit = std::chrono::milliseconds(300);
    o.poll_interval = std::chrono::milliseconds(100);
    Server s(o);
    s.start();
    std::atomic<bool> done{false};
    Server::Exit why = Server::Exit::stopped;
    std::thread t([&] {
        why = s.run();
        done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    CHECK_FALSE(done);  // an endpoint is there
    auto m = ask(addr(75, 2), addr(75, 1), o.port, "only", rr::A);
    REQUIRE(m);
    CHECK(a_records(*m) == std::vector<std::string>{addr(75, 2)});
    // No upstream at all: unknown names get SERVFAIL rather than silence.
    auto u = ask(addr(75, 2), addr(75, 1), o.port, "example.test", rr::A);
    REQUIRE(u);
    CHECK(u->rcode() == rcode::servfail);
    store.remove_endpoint("front", "only");
    CHECK(eventually([&] { return done.load(); }, std::chrono::seconds(3)));
    if (!done) s.stop();
    t.join();
    CHECK(why == Server::Exit::idle);
}
