#pragma once
// What the embedded DNS server does with one query, and what it makes of an upstream's answer.
// Pure: the server's sockets call these and do what they say.
//
// A query (after the checks of dns_message.hpp) is
//   - dropped when malformed or when it is a response (QR set: never answer an answer);
//   - answered NOTIMP for an opcode other than QUERY, FORMERR unless it has exactly one question,
//     BADVERS for EDNS versions above 0 (RFC 6891 6.1.3), REFUSED when its source may not use
//     this network's server (dns_names.hpp);
//   - answered from the name table when the name is known there (TTL 600, as Docker): A with every
//     address, starting at a rotating offset (round robin over replicas); AAAA likewise with the
//     addresses on dual-stack networks; ANY with both; a type without data NOERROR with no answer
//     (NODATA: the name exists, e.g. without IPv6, so a client asking A and AAAA in parallel
//     still gets its A answer; RFC 8020 forbids NXDOMAIN here); PTR for an endpoint's address
//     (in-addr.arpa and ip6.arpa);
//   - otherwise forwarded as it is (same id, same bytes) to the upstreams, or answered SERVFAIL
//     where nothing may be forwarded (an --internal network, as Docker; or no upstream at all).
// Local answers are authoritative (AA), carry an OPT record when the query had one, and fit the
// client's limit (512 bytes, or its EDNS size, over UDP; 65535 over TCP) with TC set when
// addresses had to be left out.
#include <cstdint>
#include <span>
#include <vector>

#include "network/dns_message.hpp"
#include "network/dns_names.hpp"

namespace berth::network::dns {

inline constexpr std::uint32_t kLocalTtl = 600;
// The UDP payload size berth's replies advertise (the DNS Flag Day 2020 value: no fragments).
inline constexpr std::uint16_t kAdvertisedUdpSize = 1232;

enum class Transport { udp, tcp };

struct QueryContext {
    std::vector<const NetworkNames*> scope;  // empty: the client may not use this server
    bool may_forward = true;
    Transport transport = Transport::udp;
    std::uint32_t rotation = 0;  // where the round robin starts
};

struct Outcome {
    enum class Kind { drop, reply, forward } kind = Kind::drop;
    Bytes reply;    // kind == reply
    Message query;  // the parsed query (kind reply or forward)
};

Outcome handle_query(std::span<const std::uint8_t> wire, const QueryContext& ctx);

// An upstream's datagram or TCP message for a forwarded query:
//   ignore  not an answer to it (wrong id or question, not a response, malformed): keep waiting,
//           it may be stray or spoofed;
//   accept  relay it to the client (NOERROR, authoritative NXDOMAIN, or truncated: the client
//           then asks again over TCP, which is forwarded over TCP);
//   next    a failure (SERVFAIL, REFUSED, other errors, NXDOMAIN without AA): try the next
//           upstream, and relay this one if no upstream does better (Docker's resolver does the
//           same; RFC 8020 section 2 for the NXDOMAIN rule).
enum class Verdict { ignore, accept, next };
Verdict judge_upstream_reply(const Message& query, std::span<const std::uint8_t> reply);

// SERVFAIL for a query, when every upstream failed or timed out.
Bytes servfail_reply(const Message& query);

}  // namespace berth::network::dns
