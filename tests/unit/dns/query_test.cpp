// What the server does with a query (answer, forward, refuse, drop) and with an upstream's answer.
#include <catch2/catch.hpp>

#include "network/dns_query.hpp"

using namespace berth;
using namespace berth::network;
using namespace berth::network::dns;

namespace {

Network front_network(int replicas = 2) {
    Network n;
    n.name = "front";
    n.id = std::string(64, 'f');
    n.subnet = "10.1.0.0/16";
    n.gateway = "10.1.0.1";
    for (int i = 0; i < replicas; ++i) {
        EndpointRecord e;
        e.container_id = std::to_string(1000 + i) + std::string(60, 'a');
        e.container_name = "web-" + std::to_string(i + 1);
        e.ip = "10.1." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 2);
        e.aliases = {"web"};
        n.endpoints[e.container_id] = e;
    }
    return n;
}

Name N(const char* s) { return *Name::from_text(s); }

Bytes query(const char* name, std::uint16_t type, std::uint16_t id = 0x4242, std::optional<Edns> edns = {}) {
    Message m;
    m.header.id = id;
    m.header.rd = true;
    m.questions.push_back({N(name), type, kClassIN});
    m.edns = edns;
    return encode(m);
}

struct Table {
    NameTable table;
    explicit Table(int replicas = 2) : table({front_network(replicas)}) {}
    QueryContext ctx(std::uint32_t rotation = 0, Transport t = Transport::udp) {
        QueryContext c;
        c.scope = table.scope(std::string(64, 'f'), *Ip4::parse("10.1.0.2"));
        c.rotation = rotation;
        c.transport = t;
        return c;
    }
};

Message reply_of(const Outcome& o) {
    REQUIRE(o.kind == Outcome::Kind::reply);
    auto m = parse(o.reply);
    REQUIRE(m);
    return *m;
}

std::vector<std::string> addresses(const Message& m) {
    std::vector<std::string> out;
    for (const auto& r : m.answers)
        if (auto a = r.a()) out.push_back(Ip4{(std::uint32_t((*a)[0]) << 24) | ((*a)[1] << 16) | ((*a)[2] << 8) | (*a)[3]}.str());
    return out;
}

}  // namespace

TEST_CASE("a known name is answered with every address, authoritatively, TTL 600, rotating") {
    Table t;
    auto m = reply_of(handle_query(query("WEB", rr::A), t.ctx(0)));
    CHECK(m.header.id == 0x4242);
    CHECK(m.header.qr);
    CHECK(m.header.aa);
    CHECK(m.header.ra);
    CHECK(m.header.rd);
    CHECK(m.rcode() == rcode::noerror);
    REQUIRE(m.questions.size() == 1);
    CHECK(m.questions[0].name.text() == "WEB.");  // the client's spelling comes back
    CHECK(addresses(m) == std::vector<std::string>{"10.1.0.2", "10.1.0.3"});
    CHECK(m.answers[0].ttl == kLocalTtl);
    CHECK(m.answers[0].name.text() == "WEB.");
    CHECK(addresses(reply_of(handle_query(query("web", rr::A), t.ctx(1)))) ==
          std::vector<std::string>{"10.1.0.3", "10.1.0.2"});
    CHECK(addresses(reply_of(handle_query(query("web", rr::A), t.ctx(2)))) ==
          std::vector<std::string>{"10.1.0.2", "10.1.0.3"});
    CHECK(addresses(reply_of(handle_query(query("web-2.front.", rr::A), t.ctx()))) ==
          std::vector<std::string>{"10.1.0.3"});
    CHECK(addresses(reply_of(handle_query(query("web", rr::ANY), t.ctx()))).size() == 2);
}

TEST_CASE("other types of a known name: NOERROR without answers (NODATA), never NXDOMAIN") {
    Table t;
    for (auto type : {rr::AAAA, rr::MX, rr::TXT, rr::SRV, rr::SOA, rr::PTR}) {
        INFO("type " << type);
        auto m = reply_of(handle_query(query("web", type), t.ctx()));
        CHECK(m.rcode() == rcode::noerror);
        CHECK(m.answers.empty());
        CHECK(m.header.aa);
    }
}

TEST_CASE("PTR for an endpoint's address") {
    Table t;
    auto m = reply_of(handle_query(query("3.0.1.10.in-addr.arpa", rr::PTR), t.ctx()));
    REQUIRE(m.answers.size() == 1);
    CHECK(m.answers[0].type == rr::PTR);
    CHECK(m.answers[0].ptr()->text() == "web-2.front.");
    CHECK(m.answers[0].ttl == kLocalTtl);
    // Any other address is not ours to answer.
    CHECK(handle_query(query("9.0.1.10.in-addr.arpa", rr::PTR), t.ctx()).kind == Outcome::Kind::forward);
    CHECK(handle_query(query("8.8.8.8.in-addr.arpa", rr::PTR), t.ctx()).kind == Outcome::Kind::forward);
}

TEST_CASE("unknown names are forwarded as they are, or SERVFAIL where nothing may be forwarded") {
    Table t;
    auto o = handle_query(query("example.com", rr::A, 0x9999), t.ctx());
    REQUIRE(o.kind == Outcome::Kind::forward);
    CHECK(o.query.header.id == 0x9999);
    CHECK(o.query.questions[0].name.text() == "example.com.");
    CHECK(handle_query(query("web.back", rr::A), t.ctx()).kind == Outcome::Kind::forward);
    CHECK(handle_query(query("example.com", rr::MX), t.ctx()).kind == Outcome::Kind::forward);
    // Class CH (version.bind and friends) is not ours either.
    Message ch;
    ch.questions.push_back({N("web"), rr::TXT, 3});
    CHECK(handle_query(encode(ch), t.ctx()).kind == Outcome::Kind::forward);

    auto sealed = t.ctx();
    sealed.may_forward = false;
    auto m = reply_of(handle_query(query("example.com", rr::A), sealed));
    CHECK(m.rcode() == rcode::servfail);
    // Local names still answer without forwarding.
    CHECK(addresses(reply_of(handle_query(query("web", rr::A), sealed))).size() == 2);
}

TEST_CASE("refused, not implemented, format errors, bad EDNS versions; responses and garbage dropped") {
    Table t;
    auto outside = t.ctx();
    outside.scope.clear();
    CHECK(reply_of(handle_query(query("web", rr::A), outside)).rcode() == rcode::refused);

    Message notify;
    notify.header.opcode = 4;
    notify.questions.push_back({N("web"), rr::SOA, kClassIN});
    CHECK(reply_of(handle_query(encode(notify), t.ctx())).rcode() == rcode::notimp);

    Message two;
    two.questions.push_back({N("web"), rr::A, kClassIN});
    two.questions.push_back({N("web"), rr::AAAA, kClassIN});
    CHECK(reply_of(handle_query(encode(two), t.ctx())).rcode() == rcode::formerr);
    Message none;
    CHECK(reply_of(handle_query(encode(none), t.ctx())).rcode() == rcode::formerr);

    Edns v1;
    v1.version = 1;
    auto bv = reply_of(handle_query(query("web", rr::A, 7, v1), t.ctx()));
    CHECK(bv.rcode() == rcode::badvers);
    REQUIRE(bv.edns);
    CHECK(bv.edns->version == 0);

    Message answer;
    answer.header.qr = true;
    answer.questions.push_back({N("web"), rr::A, kClassIN});
    CHECK(handle_query(encode(answer), t.ctx()).kind == Outcome::Kind::drop);
    Bytes junk{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
    CHECK(handle_query(junk, t.ctx()).kind == Outcome::Kind::drop);
    CHECK(handle_query(Bytes{}, t.ctx()).kind == Outcome::Kind::drop);
}

TEST_CASE("EDNS queries get an OPT record back; answers fit the client's size, TC when cut") {
    Table t(60);  // 60 replicas under "web": 12 + 8 + 60 * 16 bytes is more than 512
    auto plain = reply_of(handle_query(query("web", rr::A), t.ctx()));
    CHECK_FALSE(plain.edns);
    CHECK(plain.header.tc);
    CHECK(encode(plain).size() <= 512);
    CHECK(plain.answers.size() < 60);

    Edns e;
    e.udp_size = 4096;
    auto big = reply_of(handle_query(query("web", rr::A, 1, e), t.ctx()));
    REQUIRE(big.edns);
    CHECK(big.edns->udp_size == kAdvertisedUdpSize);
    CHECK_FALSE(big.header.tc);
    CHECK(big.answers.size() == 60);

    Edns tiny;
    tiny.udp_size = 100;  // below 512 counts as 512 (RFC 6891 6.2.5)
    auto t512 = handle_query(query("web", rr::A, 1, tiny), t.ctx());
    CHECK(t512.reply.size() <= 512);
    CHECK(t512.reply.size() > 400);

    auto tcp = reply_of(handle_query(query("web", rr::A), t.ctx(0, Transport::tcp)));
    CHECK_FALSE(tcp.header.tc);
    CHECK(tcp.answers.size() == 60);
}

TEST_CASE("what an upstream sends back: relay, try the next one, or keep waiting") {
    Message q;
    q.header.id = 0x1111;
    q.header.rd = true;
    q.questions.push_back({N("example.com"), rr::A, kClassIN});
    auto answer = [&](std::uint16_t rc, bool aa = false, bool tc = false) {
        Message r = reply_to(q);
        r.set_rcode(rc);
        r.header.aa = aa;
        r.header.tc = tc;
        if (rc == rcode::noerror) r.answers.push_back(Record::a(N("example.com"), {93, 184, 216, 34}, 60));
        return r;
    };
    CHECK(judge_upstream_reply(q, encode(answer(rcode::noerror))) == Verdict::accept);
    CHECK(judge_upstream_reply(q, encode(answer(rcode::nxdomain, true))) == Verdict::accept);
    CHECK(judge_upstream_reply(q, encode(answer(rcode::nxdomain, false))) == Verdict::next);
    CHECK(judge_upstream_reply(q, encode(answer(rcode::servfail))) == Verdict::next);
    CHECK(judge_upstream_reply(q, encode(answer(rcode::refused))) == Verdict::next);
    CHECK(judge_upstream_reply(q, encode(answer(rcode::notimp))) == Verdict::next);
    CHECK(judge_upstream_reply(q, encode(answer(rcode::servfail, false, true))) == Verdict::accept);  // TC: client retries over TCP

    Message other_id = answer(rcode::noerror);
    other_id.header.id = 0x2222;
    CHECK(judge_upstream_reply(q, encode(other_id)) == Verdict::ignore);
    Message other_q = answer(rcode::noerror);
    other_q.questions[0].name = N("example.org");
    CHECK(judge_upstream_reply(q, encode(other_q)) == Verdict::ignore);
    Message other_type = answer(rcode::noerror);
    other_type.questions[0].type = rr::AAAA;
    CHECK(judge_upstream_reply(q, encode(other_type)) == Verdict::ignore);
    Message mixed_case = answer(rcode::noerror);  // 0x20 case randomisation is fine
    mixed_case.questions[0].name = N("ExAmPlE.CoM");
    CHECK(judge_upstream_reply(q, encode(mixed_case)) == Verdict::accept);
    Message not_response = answer(rcode::noerror);
    not_response.header.qr = false;
    CHECK(judge_upstream_reply(q, encode(not_response)) == Verdict::ignore);
    Message formerr_bare = answer(rcode::formerr);
    formerr_bare.questions.clear();
    CHECK(judge_upstream_reply(q, encode(formerr_bare)) == Verdict::next);
    Message ok_bare = answer(rcode::noerror);
    ok_bare.questions.clear();
    CHECK(judge_upstream_reply(q, encode(ok_bare)) == Verdict::ignore);
    Bytes truncated = encode(answer(rcode::noerror));
    truncated.resize(20);
    CHECK(judge_upstream_reply(q, truncated) == Verdict::ignore);

    auto sf = parse(servfail_reply(q));
    REQUIRE(sf);
    CHECK(sf->header.id == 0x1111);
    CHECK(sf->rcode() == rcode::servfail);
    CHECK(sf->questions.size() == 1);
}

TEST_CASE("dual-stack endpoints: AAAA with every IPv6 address, rotating; ANY has both; ip6.arpa PTR") {
    Network n = front_network(2);
    n.ipv6 = true;
    n.subnet6 = "fd00:1::/64";
    n.gateway6 = "fd00:1::1";
    int i = 2;
    for (auto& [id, e] : n.endpoints) {
        e.ip6 = "fd00:1::" + std::to_string(i++);
        e.prefix6 = 64;
    }
    NameTable table({n});
    QueryContext c;
    c.scope = table.scope(n.id, *Ip4::parse("10.1.0.2"));
    auto v6 = [](const Message& m) {
        std::vector<std::string> out;
        for (const auto& r : m.answers)
            if (auto a = r.aaaa()) out.push_back(Ip6{*a}.str());
        return out;
    };
    auto m = reply_of(handle_query(query("web", rr::AAAA), c));
    CHECK(m.header.aa);
    CHECK(v6(m) == std::vector<std::string>{"fd00:1::2", "fd00:1::3"});
    c.rotation = 1;
    CHECK(v6(reply_of(handle_query(query("web-1.front", rr::AAAA), c))) == std::vector<std::string>{"fd00:1::2"});
    CHECK(v6(reply_of(handle_query(query("web", rr::AAAA), c))) == std::vector<std::string>{"fd00:1::3", "fd00:1::2"});
    auto any = reply_of(handle_query(query("web-2", rr::ANY), c));
    CHECK(addresses(any) == std::vector<std::string>{"10.1.0.3"});
    CHECK(v6(any) == std::vector<std::string>{"fd00:1::3"});
    // 3.0...0.1.0.0.0.0.0.d.f.ip6.arpa is fd00:1::3
    std::string rev;
    for (char ch : std::string("fd000001000000000000000000000003")) rev = std::string(1, ch) + "." + rev;
    auto p = reply_of(handle_query(query((rev + "ip6.arpa").c_str(), rr::PTR), c));
    REQUIRE(p.answers.size() == 1);
    CHECK(p.answers[0].ptr()->text() == "web-2.front.");
}
