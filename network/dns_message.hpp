#pragma once
// DNS messages (RFC 1035 section 4, EDNS from RFC 6891): a strict parser and an encoder for what
// the embedded server answers. Pure: bytes in, values out.
//
// parse() accepts only well-formed messages. Every count and length is checked against the
// buffer; a compression pointer must point before the start of the name segment that contains it
// (so a chain of pointers strictly decreases and cannot loop) and never into the header; a name is
// at most 255 bytes on the wire and a label at most 63; the label types 0x40/0x80 are refused;
// the record types whose rdata berth reads (A, AAAA, PTR, CNAME, NS, SOA, MX) must have rdata of
// exactly that shape; at most one OPT record, in the additional section, owned by the root; and
// nothing may follow the last record. Anything else is nullopt: the server drops the packet.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace berth::network::dns {

using Bytes = std::vector<std::uint8_t>;

namespace rr {
inline constexpr std::uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, MX = 15, TXT = 16, AAAA = 28, SRV = 33,
                               OPT = 41, ANY = 255;
}
inline constexpr std::uint16_t kClassIN = 1;
inline constexpr std::uint8_t kOpcodeQuery = 0;

namespace rcode {
inline constexpr std::uint16_t noerror = 0, formerr = 1, servfail = 2, nxdomain = 3, notimp = 4, refused = 5,
                               badvers = 16;  // extended (RFC 6891): needs an OPT record
}

// The longest DNS message (TCP's 16-bit length prefix) and the classic UDP limit.
inline constexpr std::size_t kMaxMessage = 65535;
inline constexpr std::size_t kClassicUdp = 512;

// A domain name as its labels, root label left out. Labels are raw bytes (DNS is 8-bit clean);
// equality ignores ASCII case (RFC 4343).
struct Name {
    std::vector<std::string> labels;

    // "web", "web.example", "web.example." ("." or "" is the root). nullopt when a label is empty
    // or longer than 63 bytes, or the name longer than 255 bytes on the wire. No escapes.
    static std::optional<Name> from_text(std::string_view dotted);
    // Presentation form with a trailing dot; '.', '\\' and bytes outside 0x21..0x7e escaped.
    std::string text() const;
    // Lower-case labels joined by '.', no trailing dot: the key of berth's name tables.
    std::string key() const;
    std::size_t wire_size() const;  // including the root label
    bool operator==(const Name& o) const;
};

struct Header {
    std::uint16_t id = 0;
    bool qr = false;
    std::uint8_t opcode = 0;
    bool aa = false, tc = false, rd = false, ra = false, ad = false, cd = false;
    std::uint8_t rcode = 0;  // the low 4 bits; the high 8 live in the OPT record
};

struct Question {
    Name name;
    std::uint16_t type = 0;
    std::uint16_t klass = kClassIN;
};

struct Soa {
    Name mname, rname;
    std::uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
};

// A resource record. rdata is in wire form with every name in it expanded (no compression
// pointers), so a record read from one message can be written into another.
struct Record {
    Name name;
    std::uint16_t type = 0;
    std::uint16_t klass = kClassIN;
    std::uint32_t ttl = 0;
    Bytes rdata;

    static Record a(Name owner, std::array<std::uint8_t, 4> addr, std::uint32_t ttl);
    static Record aaaa(Name owner, std::array<std::uint8_t, 16> addr, std::uint32_t ttl);
    static Record ptr(Name owner, const Name& target, std::uint32_t ttl);
    static Record soa(Name owner, const Soa& soa, std::uint32_t ttl);

    // The typed views; nullopt when the record is of another type.
    std::optional<std::array<std::uint8_t, 4>> a() const;
    std::optional<std::array<std::uint8_t, 16>> aaaa() const;
    std::optional<Name> ptr() const;  // also CNAME and NS targets
    std::optional<Soa> soa() const;
};

// The OPT pseudo-record (RFC 6891 section 6.1).
struct Edns {
    std::uint16_t udp_size = 512;
    std::uint8_t ext_rcode = 0;  // the high 8 bits of the 12-bit rcode
    std::uint8_t version = 0;
    bool dnssec_ok = false;
    Bytes options;  // raw {code, length, data} sequence
};

struct Message {
    Header header;
    std::vector<Question> questions;
    std::vector<Record> answers, authority, additional;  // additional never holds the OPT record
    std::optional<Edns> edns;

    // The full 12-bit rcode (header bits plus the OPT record's extension).
    std::uint16_t rcode() const;
    // Sets the rcode; an extended one adds an OPT record if there is none.
    void set_rcode(std::uint16_t rc);
};

enum class Sections {
    all,              // the whole message, checked to its last byte
    header_question,  // the header and question section only (a relayed answer is not rewritten)
};

std::optional<Message> parse(std::span<const std::uint8_t> wire, Sections sections = Sections::all);

// The wire form, owner and question names compressed (RFC 1035 4.1.4).
Bytes encode(const Message& m);

// The wire form in at most limit bytes (>= 512): when the message is too long, records are
// dropped from the end (additional first, then authority, then answers) and TC is set if an
// answer or authority record had to go (RFC 2181 section 9). The OPT record is kept.
Bytes encode_within(const Message& m, std::size_t limit);

// The reply skeleton for a query: same id, opcode, RD and CD, its question, QR and RA set.
Message reply_to(const Message& query);

// The reverse-lookup name of an IPv4 address: 4.3.2.1.in-addr.arpa for 1.2.3.4; and back
// (nullopt unless the name is exactly four decimal octets under in-addr.arpa).
Name reverse_name(std::array<std::uint8_t, 4> addr);
std::optional<std::array<std::uint8_t, 4>> from_reverse_name(const Name& n);
// The same for IPv6 (RFC 3596): 32 hex nibbles, least significant first, under ip6.arpa.
std::optional<std::array<std::uint8_t, 16>> from_reverse_name6(const Name& n);

}  // namespace berth::network::dns
