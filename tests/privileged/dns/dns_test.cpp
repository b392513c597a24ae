// The embedded DNS server on real bridges: networks made by network::Manager in a temp root,
// fresh network namespaces attached as containers are, queries sent from inside them to their
// gateway's port 53, forwarding to a stub resolver on the host's loopback.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "network/dns.hpp"
#include "network/dns_server.hpp"
#include "network/ipam.hpp"
#include "network/netlink.hpp"
#include "network/netns.hpp"
#include "network/network.hpp"
#include "privileged/probe.hpp"
#include "store/paths.hpp"
#include "sys/fs.hpp"
#include "sys/sha256.hpp"
#include "unit/dns/stub_resolver.hpp"

using namespace berth;
using namespace berth::network;
using namespace dnstest;

const char* berth_test::probe() {
    try {
        auto ns = create_netns();
        Netlink nl;
        std::string br = "bdprobe" + std::to_string(::getpid() % 100000);
        nl.create_bridge(br, 1500, "02:42:00:00:00:01");
        nl.delete_link(br);
        Nft nft;
        if (!nft.try_run("list tables")) return "nftables is not usable";
    } catch (const std::exception& e) {
        static std::string why;
        why = std::string("cannot create a bridge and a netns: ") + e.what();
        return why.c_str();
    }
    return nullptr;
}

namespace {

// This test binary doubles as the server that ensure_dns_server() starts when berth itself is
// not built: run as `<exe> --root R --run-dir D system dns-serve --ready-fd 3 --upstream U
// --idle-exit S` (what ensure_dns_server() passes), it serves before Catch's main() ever runs.
[[maybe_unused]] const bool serving_as_daemon = [] {
    auto text = sys::read_file_if_exists("/proc/self/cmdline");
    if (!text) return false;
    std::vector<std::string> argv;
    std::string cur;
    for (char c : *text) {
        if (c == '\0') {
            argv.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (std::find(argv.begin(), argv.end(), "dns-serve") == argv.end()) return false;
    std::string root, run;
    DnsServeOptions o;
    for (std::size_t i = 1; i + 1 < argv.size(); ++i) {
        const auto& k = argv[i];
        const auto& v = argv[i + 1];
        if (k == "--root") root = v;
        else if (k == "--run-dir") run = v;
        else if (k == "--ready-fd") o.ready_fd = std::stoi(v);
        else if (k == "--idle-exit") o.idle_exit = std::chrono::seconds(std::stoi(v));
        else if (k == "--upstream") o.upstreams = std::vector<dns::Upstream>{*dns::parse_upstream(v)};
    }
    int rc = 1;
    try {
        rc = run_dns_server(store::Paths::resolve(root, run), o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dns-serve: %s\n", e.what());
    }
    std::fflush(nullptr);
    ::_exit(rc);
}();

const pid_t test_pid = ::getpid();
std::string pid_s() { return std::to_string(test_pid); }
std::string subnet(int a) { return "10." + std::to_string(a) + "." + std::to_string(test_pid % 200 + 20) + ".0/24"; }

// One question from inside a namespace (a forked child that setns()es into it) to dst:53.
std::optional<Message> ask_in(int netns_fd, const std::string& dst, const std::string& name, std::uint16_t type,
                              bool tcp = false) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return std::nullopt;
    pid_t pid = ::fork();
    if (pid < 0) return std::nullopt;
    if (pid == 0) {
        ::close(p[0]);
        if (::setns(netns_fd, CLONE_NEWNET) != 0) ::_exit(2);
        auto r = exchange("", dst, 53, make_query(name, type), tcp, 2000);
        if (!r) ::_exit(1);
        std::size_t off = 0;
        while (off < r->size()) {
            ssize_t n = ::write(p[1], r->data() + off, r->size() - off);
            if (n <= 0) ::_exit(3);
            off += static_cast<std::size_t>(n);
        }
        ::_exit(0);
    }
    ::close(p[1]);
    Bytes got;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !wait_readable(p[0], static_cast<int>(left.count()))) break;
        std::uint8_t buf[4096];
        ssize_t n = ::read(p[0], buf, sizeof buf);
        if (n <= 0) break;
        got.insert(got.end(), buf, buf + n);
    }
    ::close(p[0]);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (got.empty()) return std::nullopt;
    return parse(got);
}

struct Env {
    sys::TempDir dir{"/tmp", "berth-dnstest-"};
    store::Paths paths = store::Paths::resolve((dir.path() / "root").string(), (dir.path() / "run").string());
    std::string fw_table = "berthdnsfw" + pid_s();
    Manager mgr{paths, ManagerOptions{false, fw_table}};
    std::vector<std::pair<std::string, std::string>> attached;  // network, container id
    std::vector<std::string> networks;
    std::vector<sys::unique_fd> namespaces;
    StubResolver stub{10};
    std::unique_ptr<dns::Server> server;
    std::thread server_thread;
    bool daemon = false;

    ~Env() {
        stop_server();
        if (daemon) try {
                stop_dns_server(paths);
            } catch (...) {
            }
        for (auto& [n, c] : attached) try {
                mgr.detach(n, c);
            } catch (...) {
            }
        for (auto& n : networks) try {
                mgr.remove(n);
            } catch (...) {
            }
        namespaces.clear();
        try {
            Netlink nl;
            for (auto& n : mgr.list())
                if (!n.bridge.empty() && n.name != "bridge") nl.delete_link_if_exists(n.bridge);
            NatTable(paths.prefix).drop();
            Nft().try_run("delete table ip " + fw_table);
        } catch (...) {
        }
    }

    Network net(const std::string& name, int a, bool internal = false) {
        NetworkOptions o;
        o.subnet = subnet(a);
        o.internal = internal;
        auto n = mgr.create(name + "-" + pid_s(), o);
        networks.push_back(n.id);
        return n;
    }
    // A fresh netns attached as a container named name, with aliases.
    std::pair<int, Endpoint> container(const Network& n, const std::string& name, std::vector<std::string> aliases = {}) {
        namespaces.push_back(create_netns());
        int fd = namespaces.back().get();
        std::string cid = sys::sha256_hex(name);
        EndpointOptions o;
        o.aliases = std::move(aliases);
        auto ep = mgr.attach(n.id, cid, name, fd, o);
        attached.push_back({n.id, cid});
        return {fd, ep};
    }
    void detach_all() {
        for (auto& [n, c] : attached) mgr.detach(n, c);
        attached.clear();
    }
    void start_server() {
        dns::ServerOptions o;
        o.paths = paths;
        o.upstreams = std::vector<dns::Upstream>{*dns::parse_upstream(stub.address())};
        o.upstream_timeout = std::chrono::milliseconds(500);
        server = std::make_unique<dns::Server>(o);
        server->start();
        server_thread = std::thread([this] { server->run(); });
    }
    void stop_server() {
        if (!server) return;
        server->stop();
        server_thread.join();
        server.reset();
    }
};

// The berth executable next to this test's build tree, for the detached server.
std::string berth_exe() {
    std::filesystem::path build;
    if (const char* b = std::getenv("BERTH_BUILD_DIR")) build = b;
    else build = std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path().parent_path().parent_path();
    auto exe = build / "cli" / "berth";
    return ::access(exe.c_str(), X_OK) == 0 ? exe.string() : "";
}

}  // namespace

TEST_CASE("containers on a user network resolve each other by name and alias; PTR; forwarding") {
    Env env;
    auto a = env.net("dnsa", 231);
    auto [web_ns, web] = env.container(a, "web-" + pid_s(), {"web", "frontend"});
    auto [db_ns, db] = env.container(a, "db-" + pid_s(), {"database"});
    auto [db2_ns, db2] = env.container(a, "db2-" + pid_s(), {"database"});
    env.start_server();
    REQUIRE(env.server->stats().listening == 1);

    auto m = ask_in(web_ns, a.gateway, "db-" + pid_s(), dns::rr::A);
    REQUIRE(m);
    CHECK(a_records(*m) == std::vector<std::string>{db.ip});
    CHECK(m->answers[0].ttl == 600);

    auto alias = ask_in(db_ns, a.gateway, "FRONTEND", dns::rr::A);
    REQUIRE(alias);
    CHECK(a_records(*alias) == std::vector<std::string>{web.ip});

    // Two containers share "database": both addresses, in turn first.
    auto r1 = ask_in(web_ns, a.gateway, "database", dns::rr::A);
    auto r2 = ask_in(web_ns, a.gateway, "database", dns::rr::A);
    REQUIRE(r1);
    REQUIRE(r2);
    auto x = a_records(*r1), y = a_records(*r2);
    REQUIRE(x.size() == 2);
    REQUIRE(y.size() == 2);
    CHECK(x[0] != y[0]);
    std::sort(x.begin(), x.end());
    std::vector<std::string> both{db.ip, db2.ip};
    std::sort(both.begin(), both.end());
    CHECK(x == both);

    auto tcp = ask_in(web_ns, a.gateway, "db-" + pid_s() + "." + a.name, dns::rr::A, true);
    REQUIRE(tcp);
    CHECK(a_records(*tcp) == std::vector<std::string>{db.ip});

    auto aaaa = ask_in(web_ns, a.gateway, "web", dns::rr::AAAA);
    REQUIRE(aaaa);
    CHECK(aaaa->rcode() == dns::rcode::noerror);
    CHECK(aaaa->answers.empty());

    auto ip = *Ip4::parse(db.ip);
    auto ptr = ask_in(web_ns, a.gateway,
                      dns::reverse_name({std::uint8_t(ip.v >> 24), std::uint8_t(ip.v >> 16), std::uint8_t(ip.v >> 8),
                                         std::uint8_t(ip.v)})
                          .text(),
                      dns::rr::PTR);
    REQUIRE(ptr);
    REQUIRE(ptr->answers.size() == 1);
    CHECK(ptr->answers[0].ptr()->text() == "db-" + pid_s() + "." + a.name + ".");

    // Not ours: the stub on the host's loopback answers, through the server.
    auto fwd = ask_in(web_ns, a.gateway, "example.test", dns::rr::A);
    REQUIRE(fwd);
    CHECK(a_records(*fwd) == std::vector<std::string>{"192.0.2.10"});
    auto nx = ask_in(web_ns, a.gateway, "nothing.invalid", dns::rr::A);
    REQUIRE(nx);
    CHECK(nx->rcode() == dns::rcode::nxdomain);
    CHECK(env.stub.count("example.test") == 1);
    CHECK(env.stub.count("nothing.invalid") == 1);
    CHECK(env.stub.count("db-" + pid_s()) == 0);

    // Detached (container gone): the name no longer answers from here (forwarded: NXDOMAIN).
    env.mgr.detach(a.id, sys::sha256_hex("db2-" + pid_s()));
    REQUIRE(notify_dns_server(env.paths));
    auto after = ask_in(web_ns, a.gateway, "database", dns::rr::A);
    REQUIRE(after);
    CHECK(a_records(*after) == std::vector<std::string>{db.ip});
    auto gone = ask_in(web_ns, a.gateway, "db2-" + pid_s(), dns::rr::A);
    REQUIRE(gone);
    CHECK(gone->rcode() == dns::rcode::nxdomain);
}

TEST_CASE("a container on another network cannot resolve the first network's names") {
    Env env;
    auto a = env.net("dnsa", 232);
    auto b = env.net("dnsb", 233);
    auto [web_ns, web] = env.container(a, "web-" + pid_s(), {"web"});
    auto [other_ns, other] = env.container(b, "other-" + pid_s(), {"other"});
    env.start_server();
    REQUIRE(env.server->stats().listening == 2);

    // Proof that the probe works from there: its own network's name resolves.
    auto own = ask_in(other_ns, b.gateway, "other", dns::rr::A);
    REQUIRE(own);
    CHECK(a_records(*own) == std::vector<std::string>{other.ip});
    // The first network's names are unknown on its own gateway (forwarded: the stub says NXDOMAIN).
    for (const auto& name : {std::string("web"), "web-" + pid_s()}) {
        auto m = ask_in(other_ns, b.gateway, name, dns::rr::A);
        REQUIRE(m);
        CHECK(m->rcode() == dns::rcode::nxdomain);
        CHECK(m->answers.empty());
    }
    // And asking the first network's gateway directly is refused.
    auto r = ask_in(other_ns, a.gateway, "web", dns::rr::A);
    REQUIRE(r);
    CHECK(r->rcode() == dns::rcode::refused);
    CHECK(r->answers.empty());
}

TEST_CASE("--internal networks: names resolve (nftables lets DNS to the gateway in), nothing is forwarded") {
    Env env;
    auto s = env.net("dnss", 234, true);
    auto [one_ns, one] = env.container(s, "one-" + pid_s());
    auto [two_ns, two] = env.container(s, "two-" + pid_s());
    env.start_server();
    for (bool tcp : {false, true}) {
        auto m = ask_in(one_ns, s.gateway, "two-" + pid_s(), dns::rr::A, tcp);
        REQUIRE(m);
        CHECK(a_records(*m) == std::vector<std::string>{two.ip});
    }
    auto out = ask_in(one_ns, s.gateway, "example.test", dns::rr::A);
    REQUIRE(out);
    CHECK(out->rcode() == dns::rcode::servfail);
    CHECK(env.stub.count("example.test") == 0);
}

TEST_CASE("the detached server: started on demand, one per root, exits when the last container goes") {
    // The real `berth system dns-serve` when berth is built next to this test; this binary
    // serving the same run_dns_server() otherwise (see serving_as_daemon).
    auto exe = berth_exe();
    if (exe.empty()) WARN("no built berth next to this test (cli/berth): serving with the test binary itself");
    Env env;
    env.daemon = true;
    auto a = env.net("dnsd", 235);
    auto [web_ns, web] = env.container(a, "web-" + pid_s(), {"web"});
    auto [db_ns, db] = env.container(a, "db-" + pid_s());
    DnsLaunch launch;
    launch.exe = exe;  // "" = /proc/self/exe
    launch.extra_args = {"--upstream", env.stub.address(), "--idle-exit", "1"};
    CHECK_FALSE(dns_server_running(env.paths));
    ensure_dns_server(env.paths, launch);
    REQUIRE(dns_server_running(env.paths));
    auto pid = sys::read_file(dns_run_dir(env.paths) / "pid");

    // Listening as soon as ensure_dns_server() returned.
    auto m = ask_in(web_ns, a.gateway, "db-" + pid_s(), dns::rr::A);
    REQUIRE(m);
    CHECK(a_records(*m) == std::vector<std::string>{db.ip});
    auto f = ask_in(web_ns, a.gateway, "example.test", dns::rr::A);
    REQUIRE(f);
    CHECK(a_records(*f) == std::vector<std::string>{"192.0.2.10"});

    // A container attached later: ensure_dns_server() is cheap, keeps the same server, and
    // the new name answers when it returns.
    auto [late_ns, late] = env.container(a, "late-" + pid_s());
    ensure_dns_server(env.paths, launch);
    CHECK(sys::read_file(dns_run_dir(env.paths) / "pid") == pid);
    auto l = ask_in(web_ns, a.gateway, "late-" + pid_s(), dns::rr::A);
    REQUIRE(l);
    CHECK(a_records(*l) == std::vector<std::string>{late.ip});

    // The server is nobody's child here: not ours to reap, in a session of its own (whose
    // leader, the intermediate child, is gone: it can never get a controlling terminal).
    pid_t spid = static_cast<pid_t>(std::stoi(pid));
    CHECK(::waitpid(spid, nullptr, WNOHANG) == -1);
    CHECK(::getsid(spid) != ::getsid(0));
    CHECK(::getsid(spid) != spid);

    // Last container gone: the server exits by itself (1 s idle), and lets go of its lock.
    env.detach_all();
    notify_dns_server(env.paths);
    CHECK(eventually([&] { return !dns_server_running(env.paths); }, std::chrono::seconds(8)));
    CHECK(eventually([&] { return ::kill(spid, 0) != 0; }));  // gone (and reaped by whoever adopted it)
    CHECK_FALSE(sys::exists(dns_run_dir(env.paths) / "pid"));
    CHECK_FALSE(stop_dns_server(env.paths));
}
