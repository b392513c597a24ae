// The DNS codec: round trips, compression, and packets made to break a parser.
#include <catch2/catch.hpp>

#include <random>

#include "network/dns_message.hpp"

using namespace berth::network::dns;

namespace {

Name N(const char* s) {
    auto n = Name::from_text(s);
    REQUIRE(n);
    return *n;
}

Bytes hex(std::initializer_list<int> v) {
    Bytes b;
    for (int x : v) b.push_back(static_cast<std::uint8_t>(x));
    return b;
}

// A header: id 0x1234, the given flags and counts.
Bytes header(std::uint16_t flags, std::uint16_t qd, std::uint16_t an = 0, std::uint16_t ns = 0, std::uint16_t ar = 0) {
    return hex({0x12, 0x34, flags >> 8, flags & 0xff, qd >> 8, qd & 0xff, an >> 8, an & 0xff, ns >> 8, ns & 0xff,
                ar >> 8, ar & 0xff});
}

void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }

Message sample() {
    Message m;
    m.header.id = 0xbeef;
    m.header.qr = true;
    m.header.aa = true;
    m.header.rd = true;
    m.header.ra = true;
    m.questions.push_back({N("web.example"), rr::A, kClassIN});
    m.answers.push_back(Record::a(N("web.example"), {10, 1, 0, 2}, 600));
    m.answers.push_back(Record::a(N("WEB.example"), {10, 1, 0, 3}, 600));
    m.answers.push_back(Record::aaaa(N("web.example"), {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 60));
    m.answers.push_back(Record::ptr(N("2.0.1.10.in-addr.arpa"), N("web.front"), 600));
    m.authority.push_back(Record::soa(N("example"), Soa{N("ns.example"), N("admin.example"), 7, 3600, 600, 86400, 30}, 30));
    Record txt{N("t.example"), rr::TXT, kClassIN, 5, hex({3, 'a', 'b', 'c'})};
    m.additional.push_back(txt);
    m.edns = Edns{4096, 0, 0, true, hex({0, 10, 0, 2, 0xab, 0xcd})};
    return m;
}

}  // namespace

TEST_CASE("names: text, keys, case-insensitive equality, limits") {
    CHECK(N("Web.Example.").labels == std::vector<std::string>{"Web", "Example"});
    CHECK(N("Web.Example").key() == "web.example");
    CHECK(N("Web.Example").text() == "Web.Example.");
    CHECK(N(".").labels.empty());
    CHECK(N(".").text() == ".");
    CHECK(N("web.example") == N("WEB.Example."));
    CHECK_FALSE(N("web.example") == N("web.exampl"));
    CHECK_FALSE(Name::from_text("a..b"));
    CHECK_FALSE(Name::from_text(".a"));
    CHECK_FALSE(Name::from_text(std::string(64, 'a')));
    CHECK(Name::from_text(std::string(63, 'a')));
    // 4 labels of 63 = 256 bytes with the length bytes, 257 with the root: too long.
    std::string long_name = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                            std::string(63, 'd');
    CHECK_FALSE(Name::from_text(long_name));
    CHECK(Name::from_text(long_name.substr(0, long_name.size() - 2)));  // 255 exactly
    Name odd;
    odd.labels = {std::string("a.b"), std::string("x\\y"), std::string("\x01 z", 3)};
    CHECK(odd.text() == "a\\.b.x\\\\y.\\001\\032z.");
}

TEST_CASE("reverse names of IPv4 addresses") {
    CHECK(reverse_name({10, 1, 0, 2}).text() == "2.0.1.10.in-addr.arpa.");
    CHECK(from_reverse_name(N("2.0.1.10.IN-ADDR.ARPA")) == std::array<std::uint8_t, 4>{10, 1, 0, 2});
    CHECK(from_reverse_name(N("255.255.255.255.in-addr.arpa")) == std::array<std::uint8_t, 4>{255, 255, 255, 255});
    for (const char* bad : {"256.0.1.10.in-addr.arpa", "02.0.1.10.in-addr.arpa", "0.1.10.in-addr.arpa",
                            "1.2.0.1.10.in-addr.arpa", "2.0.1.10.ip6.arpa", "x.0.1.10.in-addr.arpa", "web.front",
                            "-1.0.1.10.in-addr.arpa"})
        CHECK_FALSE(from_reverse_name(N(bad)));
}

TEST_CASE("a message round trips through encode and parse") {
    Message m = sample();
    Bytes wire = encode(m);
    auto p = parse(wire);
    REQUIRE(p);
    CHECK(p->header.id == 0xbeef);
    CHECK(p->header.qr);
    CHECK(p->header.aa);
    CHECK(p->header.rd);
    CHECK(p->header.ra);
    CHECK_FALSE(p->header.tc);
    REQUIRE(p->questions.size() == 1);
    CHECK(p->questions[0].name.text() == "web.example.");
    CHECK(p->questions[0].type == rr::A);
    REQUIRE(p->answers.size() == 4);
    CHECK(p->answers[0].a() == std::array<std::uint8_t, 4>{10, 1, 0, 2});
    CHECK(p->answers[1].a() == std::array<std::uint8_t, 4>{10, 1, 0, 3});
    CHECK(p->answers[0].ttl == 600);
    CHECK(p->answers[2].aaaa()->at(0) == 0xfd);
    CHECK(p->answers[2].aaaa()->at(15) == 1);
    CHECK(p->answers[3].ptr()->text() == "web.front.");
    CHECK_FALSE(p->answers[0].ptr());
    REQUIRE(p->authority.size() == 1);
    auto soa = p->authority[0].soa();
    REQUIRE(soa);
    CHECK(soa->mname.text() == "ns.example.");
    CHECK(soa->rname.text() == "admin.example.");
    CHECK(soa->serial == 7);
    CHECK(soa->minimum == 30);
    REQUIRE(p->additional.size() == 1);
    CHECK(p->additional[0].type == rr::TXT);
    CHECK(p->additional[0].rdata == hex({3, 'a', 'b', 'c'}));
    REQUIRE(p->edns);
    CHECK(p->edns->udp_size == 4096);
    CHECK(p->edns->dnssec_ok);
    CHECK(p->edns->options == hex({0, 10, 0, 2, 0xab, 0xcd}));
    // Re-encoding what was parsed gives the same bytes.
    CHECK(encode(*p) == wire);
}

TEST_CASE("owner names are compressed against earlier names, case-insensitively") {
    Message m;
    m.questions.push_back({N("web.example"), rr::A, kClassIN});
    for (int i = 0; i < 3; ++i) m.answers.push_back(Record::a(N("WEB.example"), {10, 0, 0, std::uint8_t(i)}, 1));
    Bytes wire = encode(m);
    // 12 header + 13 question name + 4, then each answer: a pointer to offset 12 + 10 + 4.
    CHECK(wire.size() == 12 + 13 + 4 + 3 * (2 + 10 + 4));
    CHECK(wire[12 + 13 + 4] == 0xC0);
    CHECK(wire[12 + 13 + 4 + 1] == 12);
    auto p = parse(wire);
    REQUIRE(p);
    CHECK(p->answers[2].name.text() == "web.example.");  // the pointer's target's case
}

TEST_CASE("a hand-made packet with chained compression pointers parses (RFC 1035 4.1.4)") {
    // Question F.ISI.ARPA; answer owner FOO.<ptr to F.ISI.ARPA>; PTR rdata <ptr to ISI.ARPA>.
    Bytes b = header(0x8180, 1, 1);
    append(b, hex({1, 'F', 3, 'I', 'S', 'I', 4, 'A', 'R', 'P', 'A', 0, 0, 12, 0, 1}));  // at 12
    append(b, hex({3, 'F', 'O', 'O', 0xC0, 12, 0, 12, 0, 1, 0, 0, 0, 60, 0, 2, 0xC0, 14}));
    auto p = parse(b);
    REQUIRE(p);
    CHECK(p->questions[0].name.text() == "F.ISI.ARPA.");
    CHECK(p->answers[0].name.text() == "FOO.F.ISI.ARPA.");
    CHECK(p->answers[0].ptr()->text() == "ISI.ARPA.");
    // rdata is stored expanded: the record can be written into another message.
    CHECK(p->answers[0].rdata.size() == 10);
}

TEST_CASE("every truncation of a valid message is refused") {
    Bytes wire = encode(sample());
    for (std::size_t n = 0; n < wire.size(); ++n) {
        INFO("length " << n);
        CHECK_FALSE(parse(std::span<const std::uint8_t>(wire.data(), n)));
    }
    CHECK(parse(wire));
}

TEST_CASE("hostile compression pointers are refused") {
    auto question_with = [](const Bytes& name) {
        Bytes b = header(0x0100, 1);
        append(b, name);
        append(b, hex({0, 1, 0, 1}));
        return b;
    };
    SECTION("a pointer to itself") { CHECK_FALSE(parse(question_with(hex({0xC0, 12})))); }
    SECTION("a label then a pointer back to it (a loop through the segment start)") {
        CHECK_FALSE(parse(question_with(hex({1, 'a', 0xC0, 12}))));
    }
    SECTION("a pointer forward") { CHECK_FALSE(parse(question_with(hex({0xC0, 14, 1, 'a', 0})))); }
    SECTION("a pointer into the header") { CHECK_FALSE(parse(question_with(hex({0xC0, 2})))); }
    SECTION("a pointer past the end") { CHECK_FALSE(parse(question_with(hex({0xC0, 0xff})))); }
    SECTION("a pointer cut in half") {
        Bytes b = header(0x0100, 1);
        b.push_back(0xC0);
        CHECK_FALSE(parse(b));
    }
    SECTION("two names pointing at each other") {
        // Question name at 12 is a pointer to 18; at 18 (an answer owner) a pointer to 12.
        Bytes b = header(0x8100, 1, 1);
        append(b, hex({0xC0, 18, 0, 1, 0, 1}));          // 12..17
        append(b, hex({0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4}));
        CHECK_FALSE(parse(b));
    }
    SECTION("the reserved label types 0x40 and 0x80") {
        CHECK_FALSE(parse(question_with(hex({0x41, 'a', 0}))));
        CHECK_FALSE(parse(question_with(hex({0x81, 'a', 0}))));
    }
    SECTION("a chain of backward pointers that builds a name over 255 bytes") {
        // Labels of 60 bytes, each followed by a pointer to the previous one: legal pointers,
        // but the name grows to 5 x 61 bytes.
        Bytes b = header(0x8100, 1, 4);
        Bytes first;
        first.push_back(60);
        first.insert(first.end(), 60, 'x');
        first.push_back(0);
        append(b, first);  // question name at 12
        append(b, hex({0, 1, 0, 1}));
        std::size_t prev = 12;
        for (int i = 0; i < 4; ++i) {
            std::size_t here = b.size();
            Bytes owner;
            owner.push_back(60);
            owner.insert(owner.end(), 60, 'y');
            owner.push_back(static_cast<std::uint8_t>(0xC0 | (prev >> 8)));
            owner.push_back(static_cast<std::uint8_t>(prev & 0xff));
            append(b, owner);
            append(b, hex({0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4}));
            prev = here;
        }
        CHECK_FALSE(parse(b));  // the 4th owner name is 5 x 61 + 1 bytes long
        b[7] = 3;               // only three answers: the last name is 245 bytes
        b.resize(b.size() - (63 + 14));
        CHECK(parse(b));
    }
}

TEST_CASE("counts, lengths and record shapes are checked") {
    Bytes q = header(0x0100, 1);
    append(q, hex({3, 'w', 'e', 'b', 0, 0, 1, 0, 1}));
    REQUIRE(parse(q));

    SECTION("trailing bytes") {
        Bytes b = q;
        b.push_back(0);
        CHECK_FALSE(parse(b));
    }
    SECTION("counts far beyond the packet are refused before reading") {
        Bytes b = q;
        b[4] = 0xff;
        b[5] = 0xff;
        CHECK_FALSE(parse(b));
        b = q;
        b[10] = 0xff;
        b[11] = 0xff;
        CHECK_FALSE(parse(b));
    }
    SECTION("too short for a header") { CHECK_FALSE(parse(hex({0x12, 0x34, 0, 0}))); }
    auto with_answer = [&](std::uint16_t type, const Bytes& rdata, bool additional = false, const Bytes& owner = {0}) {
        Bytes b = header(0x8100, 1, additional ? 0 : 1, 0, additional ? 1 : 0);
        append(b, hex({3, 'w', 'e', 'b', 0, 0, 1, 0, 1}));
        append(b, owner);
        append(b, hex({type >> 8, type & 0xff, 0, 1, 0, 0, 0, 1, 0, static_cast<int>(rdata.size())}));
        append(b, rdata);
        return b;
    };
    SECTION("rdata shapes") {
        CHECK(parse(with_answer(rr::A, hex({1, 2, 3, 4}))));
        CHECK_FALSE(parse(with_answer(rr::A, hex({1, 2, 3, 4, 5}))));
        CHECK_FALSE(parse(with_answer(rr::A, hex({1, 2, 3}))));
        CHECK_FALSE(parse(with_answer(rr::AAAA, hex({1, 2, 3, 4}))));
        CHECK(parse(with_answer(rr::PTR, hex({1, 'a', 0}))));
        CHECK(parse(with_answer(rr::PTR, hex({0xC0, 12}))));            // compressed target
        CHECK_FALSE(parse(with_answer(rr::PTR, hex({1, 'a', 0, 0}))));  // name shorter than rdata
        CHECK_FALSE(parse(with_answer(rr::PTR, hex({3, 'a', 0}))));     // label runs past rdata
        CHECK_FALSE(parse(with_answer(rr::MX, hex({0, 10}))));
        CHECK(parse(with_answer(rr::MX, hex({0, 10, 0}))));
        Bytes soa = hex({0, 0});
        soa.insert(soa.end(), 20, 0);
        CHECK(parse(with_answer(rr::SOA, soa)));
        soa.pop_back();
        CHECK_FALSE(parse(with_answer(rr::SOA, soa)));
        CHECK(parse(with_answer(rr::TXT, hex({2, 'h', 'i'}))));  // other types: opaque
    }
    SECTION("rdlength past the end") {
        Bytes b = with_answer(rr::TXT, hex({2, 'h', 'i'}));
        b[b.size() - 4] = 9;
        CHECK_FALSE(parse(b));
    }
    SECTION("OPT: once, in the additional section, owned by the root, options well formed") {
        CHECK(parse(with_answer(rr::OPT, {}, true)));
        CHECK(parse(with_answer(rr::OPT, hex({0, 8, 0, 1, 7}), true)));
        CHECK_FALSE(parse(with_answer(rr::OPT, hex({0, 8, 0, 2, 7}), true)));  // option longer than rdata
        CHECK_FALSE(parse(with_answer(rr::OPT, hex({0, 8, 0}), true)));
        CHECK_FALSE(parse(with_answer(rr::OPT, {}, false)));  // in the answer section
        CHECK_FALSE(parse(with_answer(rr::OPT, {}, true, hex({1, 'a', 0}))));
        Bytes two = with_answer(rr::OPT, {}, true);
        two[11] = 2;
        append(two, hex({0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0}));
        CHECK_FALSE(parse(two));
    }
}

TEST_CASE("the header and question alone can be read from an answer") {
    Bytes wire = encode(sample());
    auto p = parse(wire, Sections::header_question);
    REQUIRE(p);
    CHECK(p->questions.size() == 1);
    CHECK(p->answers.empty());
    CHECK_FALSE(p->edns);
}

TEST_CASE("extended rcodes live in the OPT record") {
    Message m;
    m.set_rcode(rcode::badvers);
    REQUIRE(m.edns);
    CHECK(m.header.rcode == 0);
    CHECK(m.edns->ext_rcode == 1);
    auto p = parse(encode(m));
    REQUIRE(p);
    CHECK(p->rcode() == rcode::badvers);
    m.set_rcode(rcode::nxdomain);
    CHECK(m.rcode() == rcode::nxdomain);
    CHECK(m.edns->ext_rcode == 0);
}

TEST_CASE("encode_within drops records from the end and sets TC only when answers go") {
    Message m;
    m.header.qr = true;
    m.questions.push_back({N("many.front"), rr::A, kClassIN});
    for (int i = 0; i < 100; ++i) m.answers.push_back(Record::a(N("many.front"), {10, 0, 0, std::uint8_t(i)}, 600));
    m.edns = Edns{};
    Bytes full = encode(m);
    CHECK(full.size() > 512);
    CHECK(encode_within(m, 65535) == full);

    Bytes small = encode_within(m, 512);
    CHECK(small.size() <= 512);
    auto p = parse(small);
    REQUIRE(p);
    CHECK(p->header.tc);
    CHECK(p->edns);  // the OPT record stays
    CHECK(p->answers.size() > 20);
    CHECK(p->answers.size() < 100);
    // As many as fit: one more would not.
    Message more = *p;
    more.answers.push_back(m.answers[p->answers.size()]);
    CHECK(encode(more).size() > 512);
    CHECK(p->answers.front().a() == std::array<std::uint8_t, 4>{10, 0, 0, 0});

    // Only additional records over the limit: dropped without TC.
    Message add;
    add.questions = m.questions;
    add.answers.push_back(m.answers[0]);
    for (int i = 0; i < 60; ++i) add.additional.push_back(Record::a(N("x.front"), {10, 0, 1, std::uint8_t(i)}, 1));
    auto pa = parse(encode_within(add, 512));
    REQUIRE(pa);
    CHECK_FALSE(pa->header.tc);
    CHECK(pa->answers.size() == 1);
    CHECK(pa->additional.size() < 60);
}

TEST_CASE("mutated packets never crash the parser, and what parses re-encodes to the same message") {
    std::mt19937 rng(20260514);
    std::vector<Bytes> seeds{encode(sample())};
    Message q;
    q.header.rd = true;
    q.questions.push_back({N("web"), rr::A, kClassIN});
    q.edns = Edns{};
    seeds.push_back(encode(q));
    Bytes compressed = header(0x8180, 1, 1);
    append(compressed, hex({1, 'F', 3, 'I', 'S', 'I', 4, 'A', 'R', 'P', 'A', 0, 0, 12, 0, 1}));
    append(compressed, hex({3, 'F', 'O', 'O', 0xC0, 12, 0, 12, 0, 1, 0, 0, 0, 60, 0, 2, 0xC0, 14}));
    seeds.push_back(compressed);

    int parsed = 0;
    for (int i = 0; i < 30000; ++i) {
        Bytes b = seeds[static_cast<std::size_t>(i) % seeds.size()];
        int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits; ++e) {
            switch (rng() % 4) {
                case 0: b[rng() % b.size()] = static_cast<std::uint8_t>(rng()); break;             // overwrite
                case 1: b[rng() % b.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8)); break;  // flip
                case 2: b.resize(rng() % (b.size() + 1)); break;                                   // cut
                case 3: b.insert(b.begin() + static_cast<std::ptrdiff_t>(rng() % (b.size() + 1)),
                                 static_cast<std::uint8_t>(rng()));
                        break;
            }
            if (b.empty()) b.push_back(0);
        }
        auto p = parse(b);
        if (!p) continue;
        ++parsed;
        Bytes again = encode(*p);
        auto p2 = parse(again);
        REQUIRE(p2);
        REQUIRE(encode(*p2) == again);
    }
    CHECK(parsed > 100);  // the property was exercised, not only the refusals
}
