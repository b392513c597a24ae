#include "network/dns_query.hpp"

#include <algorithm>

namespace berth::network::dns {

namespace {

std::array<std::uint8_t, 4> octets(Ip4 ip) {
    return {static_cast<std::uint8_t>(ip.v >> 24), static_cast<std::uint8_t>(ip.v >> 16),
            static_cast<std::uint8_t>(ip.v >> 8), static_cast<std::uint8_t>(ip.v)};
}

Ip4 from_octets(const std::array<std::uint8_t, 4>& a) {
    return Ip4{(std::uint32_t(a[0]) << 24) | (std::uint32_t(a[1]) << 16) | (std::uint32_t(a[2]) << 8) | a[3]};
}

std::size_t limit_for(const Message& q, Transport t) {
    if (t == Transport::tcp) return kMaxMessage;
    return q.edns ? std::max<std::size_t>(kClassicUdp, q.edns->udp_size) : kClassicUdp;
}

Message reply_skeleton(const Message& q) {
    Message r = reply_to(q);
    if (q.edns) {
        r.edns = Edns{};
        r.edns->udp_size = kAdvertisedUdpSize;
    }
    return r;
}

Outcome replied(const Message& q, Message r, Transport t) {
    Outcome o;
    o.kind = Outcome::Kind::reply;
    o.reply = encode_within(r, limit_for(q, t));
    o.query = q;
    return o;
}

Outcome error_reply(const Message& q, std::uint16_t rc, Transport t) {
    Message r = reply_skeleton(q);
    r.set_rcode(rc);
    return replied(q, std::move(r), t);
}

}  // namespace

Outcome handle_query(std::span<const std::uint8_t> wire, const QueryContext& ctx) {
    auto parsed = parse(wire);
    if (!parsed || parsed->header.qr) return {};
    const Message& q = *parsed;
    if (q.edns && q.edns->version > 0) return error_reply(q, rcode::badvers, ctx.transport);
    if (q.header.opcode != kOpcodeQuery) return error_reply(q, rcode::notimp, ctx.transport);
    if (q.questions.size() != 1) return error_reply(q, rcode::formerr, ctx.transport);
    if (ctx.scope.empty()) return error_reply(q, rcode::refused, ctx.transport);

    const Question& question = q.questions[0];
    if (question.klass == kClassIN) {
        Message r = reply_skeleton(q);
        r.header.aa = true;
        if (question.type == rr::PTR) {
            std::optional<std::string> host;
            if (auto addr = from_reverse_name(question.name)) host = lookup_reverse(ctx.scope, from_octets(*addr));
            if (auto addr6 = from_reverse_name6(question.name)) host = lookup_reverse(ctx.scope, Ip6{*addr6});
            if (host)
                if (auto target = Name::from_text(*host)) {
                    r.answers.push_back(Record::ptr(question.name, *target, kLocalTtl));
                    return replied(q, std::move(r), ctx.transport);
                }
        }
        if (auto found = lookup(ctx.scope, question.name.key()); found.known) {
            if (question.type == rr::A || question.type == rr::ANY) {
                const auto& v = found.v4;
                for (std::size_t i = 0; i < v.size(); ++i)
                    r.answers.push_back(Record::a(question.name, octets(v[(i + ctx.rotation) % v.size()]), kLocalTtl));
            }
            if (question.type == rr::AAAA || question.type == rr::ANY) {
                const auto& v = found.v6;
                for (std::size_t i = 0; i < v.size(); ++i)
                    r.answers.push_back(Record::aaaa(question.name, v[(i + ctx.rotation) % v.size()].b, kLocalTtl));
            }
            return replied(q, std::move(r), ctx.transport);
        }
    }
    if (!ctx.may_forward) return error_reply(q, rcode::servfail, ctx.transport);
    Outcome o;
    o.kind = Outcome::Kind::forward;
    o.query = q;
    return o;
}

Verdict judge_upstream_reply(const Message& query, std::span<const std::uint8_t> wire) {
    auto r = parse(wire, Sections::header_question);
    if (!r || !r->header.qr || r->header.id != query.header.id || r->header.opcode != query.header.opcode)
        return Verdict::ignore;
    std::uint16_t rc = r->header.rcode;
    // Errors may come without the question (RFC 1035 does not require it for FORMERR/NOTIMP).
    if (r->questions.empty() && rc != rcode::noerror) return Verdict::next;
    if (r->questions.size() != 1 || query.questions.size() != 1) return Verdict::ignore;
    const auto& a = r->questions[0];
    const auto& b = query.questions[0];
    if (!(a.name == b.name) || a.type != b.type || a.klass != b.klass) return Verdict::ignore;
    if (r->header.tc) return Verdict::accept;
    if (rc == rcode::noerror) return Verdict::accept;
    if (rc == rcode::nxdomain && r->header.aa) return Verdict::accept;
    return Verdict::next;
}

Bytes servfail_reply(const Message& q) {
    Message r = reply_skeleton(q);
    r.set_rcode(rcode::servfail);
    return encode_within(r, limit_for(q, Transport::udp));
}

}  // namespace berth::network::dns
