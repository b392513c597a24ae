#include "network/dns_message.hpp"

#include <algorithm>
#include <map>

namespace berth::network::dns {

namespace {

constexpr std::size_t kHeaderSize = 12;
constexpr std::size_t kMaxName = 255;
constexpr std::size_t kMaxLabel = 63;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool label_equal(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

void put16(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

void put32(Bytes& out, std::uint32_t v) {
    put16(out, static_cast<std::uint16_t>(v >> 16));
    put16(out, static_cast<std::uint16_t>(v));
}

// A name uncompressed, as it goes into rdata.
void put_name_plain(Bytes& out, const Name& n) {
    for (const auto& l : n.labels) {
        out.push_back(static_cast<std::uint8_t>(l.size()));
        out.insert(out.end(), l.begin(), l.end());
    }
    out.push_back(0);
}

// Bounds-checked reading over the whole message (compression pointers reach back into it).
class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> b) : b_(b) {}

    std::size_t pos() const { return pos_; }
    std::size_t left() const { return b_.size() - pos_; }

    bool u8(std::uint8_t& v) {
        if (left() < 1) return false;
        v = b_[pos_++];
        return true;
    }
    bool u16(std::uint16_t& v) {
        if (left() < 2) return false;
        v = static_cast<std::uint16_t>((b_[pos_] << 8) | b_[pos_ + 1]);
        pos_ += 2;
        return true;
    }
    bool u32(std::uint32_t& v) {
        std::uint16_t hi, lo;
        if (!u16(hi) || !u16(lo)) return false;
        v = (std::uint32_t(hi) << 16) | lo;
        return true;
    }
    bool bytes(std::size_t n, Bytes& out) {
        if (left() < n) return false;
        out.assign(b_.begin() + static_cast<std::ptrdiff_t>(pos_), b_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
        pos_ += n;
        return true;
    }

    // A possibly compressed name. Each pointer must point before the start of the segment that
    // holds it (and past the header), so the segments strictly move backwards and reading ends.
    bool name(Name& out) {
        out.labels.clear();
        std::size_t p = pos_;
        std::size_t segment = pos_;
        std::size_t wire = 1;
        bool jumped = false;
        for (;;) {
            if (p >= b_.size()) return false;
            std::uint8_t len = b_[p];
            if (len == 0) {
                if (!jumped) pos_ = p + 1;
                return true;
            }
            if ((len & 0xC0) == 0xC0) {
                if (p + 1 >= b_.size()) return false;
                std::size_t target = (std::size_t(len & 0x3F) << 8) | b_[p + 1];
                if (target >= segment || target < kHeaderSize) return false;
                if (!jumped) pos_ = p + 2;
                jumped = true;
                segment = target;
                p = target;
                continue;
            }
            if (len & 0xC0) return false;  // 0x40 and 0x80: extended/reserved label types
            if (p + 1 + len > b_.size()) return false;
            wire += 1 + len;
            if (wire > kMaxName) return false;
            out.labels.emplace_back(reinterpret_cast<const char*>(b_.data() + p + 1), len);
            p += 1 + len;
        }
    }

private:
    std::span<const std::uint8_t> b_;
    std::size_t pos_ = 0;
};

bool read_question(Reader& r, Question& q) { return r.name(q.name) && r.u16(q.type) && r.u16(q.klass); }

// rdata of the types berth reads, validated and with names expanded; other types stay opaque.
bool read_rdata(Reader& r, std::uint16_t type, std::uint16_t rdlength, Bytes& out) {
    std::size_t start = r.pos();
    if (r.left() < rdlength) return false;
    std::size_t end = start + rdlength;
    out.clear();
    switch (type) {
        case rr::A:
            return rdlength == 4 && r.bytes(4, out);
        case rr::AAAA:
            return rdlength == 16 && r.bytes(16, out);
        case rr::PTR:
        case rr::CNAME:
        case rr::NS: {
            Name n;
            if (!r.name(n) || r.pos() != end) return false;
            put_name_plain(out, n);
            return true;
        }
        case rr::MX: {
            std::uint16_t pref;
            Name n;
            if (!r.u16(pref) || !r.name(n) || r.pos() != end) return false;
            put16(out, pref);
            put_name_plain(out, n);
            return true;
        }
        case rr::SOA: {
            Name m, rn;
            if (!r.name(m) || !r.name(rn) || r.pos() + 20 != end) return false;
            put_name_plain(out, m);
            put_name_plain(out, rn);
            Bytes rest;
            if (!r.bytes(20, rest)) return false;
            out.insert(out.end(), rest.begin(), rest.end());
            return true;
        }
        case rr::OPT: {
            // {code, length, data}* filling the rdata exactly.
            if (!r.bytes(rdlength, out)) return false;
            std::size_t i = 0;
            while (i < out.size()) {
                if (out.size() - i < 4) return false;
                std::size_t len = (std::size_t(out[i + 2]) << 8) | out[i + 3];
                if (out.size() - i - 4 < len) return false;
                i += 4 + len;
            }
            return true;
        }
        default:
            return r.bytes(rdlength, out);
    }
}

bool read_record(Reader& r, Record& rec) {
    std::uint16_t rdlength;
    return r.name(rec.name) && r.u16(rec.type) && r.u16(rec.klass) && r.u32(rec.ttl) && r.u16(rdlength) &&
           read_rdata(r, rec.type, rdlength, rec.rdata);
}

// Writes names with compression: each suffix written at an offset below 0x4000 is remembered
// by its lower-case wire form.
class Writer {
public:
    Bytes out;

    void name(const Name& n) {
        for (std::size_t i = 0; i < n.labels.size(); ++i) {
            std::string key;
            for (std::size_t j = i; j < n.labels.size(); ++j) {
                key.push_back(static_cast<char>(n.labels[j].size()));
                for (char c : n.labels[j]) key.push_back(lower(c));
            }
            if (auto it = dict_.find(key); it != dict_.end()) {
                put16(out, static_cast<std::uint16_t>(0xC000 | it->second));
                return;
            }
            if (out.size() < 0x4000) dict_.emplace(std::move(key), static_cast<std::uint16_t>(out.size()));
            out.push_back(static_cast<std::uint8_t>(n.labels[i].size()));
            out.insert(out.end(), n.labels[i].begin(), n.labels[i].end());
        }
        out.push_back(0);
    }

    void record(const Record& r) {
        name(r.name);
        put16(out, r.type);
        put16(out, r.klass);
        put32(out, r.ttl);
        put16(out, static_cast<std::uint16_t>(r.rdata.size()));
        out.insert(out.end(), r.rdata.begin(), r.rdata.end());
    }

private:
    std::map<std::string, std::uint16_t> dict_;
};

Record opt_record(const Edns& e) {
    Record r;
    r.type = rr::OPT;
    r.klass = e.udp_size;
    r.ttl = (std::uint32_t(e.ext_rcode) << 24) | (std::uint32_t(e.version) << 16) | (e.dnssec_ok ? 0x8000u : 0u);
    r.rdata = e.options;
    return r;
}

std::optional<Name> rdata_name(const Bytes& rdata, std::size_t offset, std::size_t* end = nullptr) {
    // rdata names are stored expanded; read them with a reader over rdata alone (no pointers).
    Name n;
    std::size_t p = offset, wire = 1;
    for (;;) {
        if (p >= rdata.size()) return std::nullopt;
        std::uint8_t len = rdata[p];
        if (len == 0) break;
        if (len > kMaxLabel || p + 1 + len > rdata.size()) return std::nullopt;
        wire += 1 + len;
        if (wire > kMaxName) return std::nullopt;
        n.labels.emplace_back(reinterpret_cast<const char*>(rdata.data() + p + 1), len);
        p += 1 + len;
    }
    if (end) *end = p + 1;
    return n;
}

}  // namespace

// ---- Name ----

std::optional<Name> Name::from_text(std::string_view s) {
    Name n;
    if (s == "." || s.empty()) return n;
    if (s.back() == '.') s.remove_suffix(1);
    std::size_t wire = 1;
    while (true) {
        auto dot = s.find('.');
        auto label = s.substr(0, dot);
        if (label.empty() || label.size() > kMaxLabel) return std::nullopt;
        wire += 1 + label.size();
        if (wire > kMaxName) return std::nullopt;
        n.labels.emplace_back(label);
        if (dot == std::string_view::npos) break;
        s.remove_prefix(dot + 1);
    }
    return n;
}

std::string Name::text() const {
    if (labels.empty()) return ".";
    std::string out;
    for (const auto& l : labels) {
        for (unsigned char c : l) {
            if (c == '.' || c == '\\') {
                out += '\\';
                out += static_cast<char>(c);
            } else if (c < 0x21 || c > 0x7e) {
                char buf[5];
                buf[0] = '\\';
                buf[1] = static_cast<char>('0' + c / 100);
                buf[2] = static_cast<char>('0' + (c / 10) % 10);
                buf[3] = static_cast<char>('0' + c % 10);
                buf[4] = 0;
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
        out += '.';
    }
    return out;
}

std::string Name::key() const {
    std::string out;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (i) out += '.';
        for (char c : labels[i]) out += lower(c);
    }
    return out;
}

std::size_t Name::wire_size() const {
    std::size_t n = 1;
    for (const auto& l : labels) n += 1 + l.size();
    return n;
}

bool Name::operator==(const Name& o) const {
    if (labels.size() != o.labels.size()) return false;
    for (std::size_t i = 0; i < labels.size(); ++i)
        if (!label_equal(labels[i], o.labels[i])) return false;
    return true;
}

// ---- Record ----

Record Record::a(Name owner, std::array<std::uint8_t, 4> addr, std::uint32_t ttl) {
    return Record{std::move(owner), rr::A, kClassIN, ttl, Bytes(addr.begin(), addr.end())};
}

Record Record::aaaa(Name owner, std::array<std::uint8_t, 16> addr, std::uint32_t ttl) {
    return Record{std::move(owner), rr::AAAA, kClassIN, ttl, Bytes(addr.begin(), addr.end())};
}

Record Record::ptr(Name owner, const Name& target, std::uint32_t ttl) {
    Record r{std::move(owner), rr::PTR, kClassIN, ttl, {}};
    put_name_plain(r.rdata, target);
    return r;
}

Record Record::soa(Name owner, const Soa& s, std::uint32_t ttl) {
    Record r{std::move(owner), rr::SOA, kClassIN, ttl, {}};
    put_name_plain(r.rdata, s.mname);
    put_name_plain(r.rdata, s.rname);
    for (auto v : {s.serial, s.refresh, s.retry, s.expire, s.minimum}) put32(r.rdata, v);
    return r;
}

std::optional<std::array<std::uint8_t, 4>> Record::a() const {
    if (type != rr::A || rdata.size() != 4) return std::nullopt;
    return std::array<std::uint8_t, 4>{rdata[0], rdata[1], rdata[2], rdata[3]};
}

std::optional<std::array<std::uint8_t, 16>> Record::aaaa() const {
    if (type != rr::AAAA || rdata.size() != 16) return std::nullopt;
    std::array<std::uint8_t, 16> out;
    std::copy(rdata.begin(), rdata.end(), out.begin());
    return out;
}

std::optional<Name> Record::ptr() const {
    if (type != rr::PTR && type != rr::CNAME && type != rr::NS) return std::nullopt;
    std::size_t end = 0;
    auto n = rdata_name(rdata, 0, &end);
    if (!n || end != rdata.size()) return std::nullopt;
    return n;
}

std::optional<Soa> Record::soa() const {
    if (type != rr::SOA) return std::nullopt;
    Soa s;
    std::size_t p = 0;
    auto m = rdata_name(rdata, p, &p);
    if (!m) return std::nullopt;
    auto r = rdata_name(rdata, p, &p);
    if (!r || rdata.size() - p != 20) return std::nullopt;
    s.mname = *m;
    s.rname = *r;
    std::uint32_t* fields[] = {&s.serial, &s.refresh, &s.retry, &s.expire, &s.minimum};
    for (auto* f : fields) {
        *f = (std::uint32_t(rdata[p]) << 24) | (std::uint32_t(rdata[p + 1]) << 16) | (std::uint32_t(rdata[p + 2]) << 8) |
             rdata[p + 3];
        p += 4;
    }
    return s;
}

// ---- Message ----

std::uint16_t Message::rcode() const {
    return static_cast<std::uint16_t>(header.rcode | (edns ? std::uint16_t(edns->ext_rcode) << 4 : 0));
}

void Message::set_rcode(std::uint16_t rc) {
    header.rcode = static_cast<std::uint8_t>(rc & 0x0F);
    if (rc > 0x0F && !edns) edns = Edns{};
    if (edns) edns->ext_rcode = static_cast<std::uint8_t>(rc >> 4);
}

std::optional<Message> parse(std::span<const std::uint8_t> wire, Sections sections) {
    if (wire.size() < kHeaderSize || wire.size() > kMaxMessage) return std::nullopt;
    Reader r(wire);
    Message m;
    std::uint16_t flags, qd, an, ns, ar;
    r.u16(m.header.id);
    r.u16(flags);
    r.u16(qd);
    r.u16(an);
    r.u16(ns);
    r.u16(ar);
    m.header.qr = flags & 0x8000;
    m.header.opcode = static_cast<std::uint8_t>((flags >> 11) & 0x0F);
    m.header.aa = flags & 0x0400;
    m.header.tc = flags & 0x0200;
    m.header.rd = flags & 0x0100;
    m.header.ra = flags & 0x0080;
    m.header.ad = flags & 0x0020;
    m.header.cd = flags & 0x0010;
    m.header.rcode = static_cast<std::uint8_t>(flags & 0x0F);

    // Each question takes at least 5 bytes and each record 11: counts larger than the buffer
    // could hold are refused before anything is allocated for them.
    if (std::size_t(qd) * 5 + (std::size_t(an) + ns + ar) * 11 > r.left()) return std::nullopt;
    m.questions.resize(qd);
    for (auto& q : m.questions)
        if (!read_question(r, q)) return std::nullopt;
    if (sections == Sections::header_question) return m;

    auto section = [&](std::uint16_t count, std::vector<Record>& out, bool additional) {
        out.reserve(count);
        for (std::uint16_t i = 0; i < count; ++i) {
            Record rec;
            if (!read_record(r, rec)) return false;
            if (rec.type == rr::OPT) {
                if (!additional || m.edns || !rec.name.labels.empty()) return false;
                Edns e;
                e.udp_size = rec.klass;
                e.ext_rcode = static_cast<std::uint8_t>(rec.ttl >> 24);
                e.version = static_cast<std::uint8_t>(rec.ttl >> 16);
                e.dnssec_ok = rec.ttl & 0x8000;
                e.options = std::move(rec.rdata);
                m.edns = std::move(e);
                continue;
            }
            out.push_back(std::move(rec));
        }
        return true;
    };
    if (!section(an, m.answers, false) || !section(ns, m.authority, false) || !section(ar, m.additional, true))
        return std::nullopt;
    if (r.left() != 0) return std::nullopt;
    return m;
}

Bytes encode(const Message& m) {
    Writer w;
    put16(w.out, m.header.id);
    std::uint16_t flags = static_cast<std::uint16_t>((m.header.qr ? 0x8000 : 0) | ((m.header.opcode & 0x0F) << 11) |
                                                     (m.header.aa ? 0x0400 : 0) | (m.header.tc ? 0x0200 : 0) |
                                                     (m.header.rd ? 0x0100 : 0) | (m.header.ra ? 0x0080 : 0) |
                                                     (m.header.ad ? 0x0020 : 0) | (m.header.cd ? 0x0010 : 0) |
                                                     (m.header.rcode & 0x0F));
    put16(w.out, flags);
    put16(w.out, static_cast<std::uint16_t>(m.questions.size()));
    put16(w.out, static_cast<std::uint16_t>(m.answers.size()));
    put16(w.out, static_cast<std::uint16_t>(m.authority.size()));
    put16(w.out, static_cast<std::uint16_t>(m.additional.size() + (m.edns ? 1 : 0)));
    for (const auto& q : m.questions) {
        w.name(q.name);
        put16(w.out, q.type);
        put16(w.out, q.klass);
    }
    for (const auto& r : m.answers) w.record(r);
    for (const auto& r : m.authority) w.record(r);
    for (const auto& r : m.additional) w.record(r);
    if (m.edns) w.record(opt_record(*m.edns));
    return std::move(w.out);
}

Bytes encode_within(const Message& m_in, std::size_t limit) {
    limit = std::clamp(limit, kClassicUdp, kMaxMessage);
    Bytes out = encode(m_in);
    if (out.size() <= limit) return out;
    Message m = m_in;
    // Drop the fewest records: find by halving how many records fit, in the order they go.
    std::size_t total = m.answers.size() + m.authority.size() + m.additional.size();
    auto keep_first = [&](std::size_t k) {
        Message t = m;
        std::size_t a = std::min(k, m.answers.size());
        std::size_t au = std::min(k - a, m.authority.size());
        std::size_t ad = k - a - au;
        t.answers.resize(a);
        t.authority.resize(au);
        t.additional.resize(ad);
        if (a < m.answers.size() || au < m.authority.size()) t.header.tc = true;
        return t;
    };
    std::size_t lo = 0, hi = total;  // keeping lo records fits (or nothing does); hi does not
    while (hi - lo > 1) {
        std::size_t mid = (lo + hi) / 2;
        if (encode(keep_first(mid)).size() <= limit)
            lo = mid;
        else
            hi = mid;
    }
    return encode(keep_first(lo));
}

Message reply_to(const Message& q) {
    Message r;
    r.header.id = q.header.id;
    r.header.qr = true;
    r.header.opcode = q.header.opcode;
    r.header.rd = q.header.rd;
    r.header.cd = q.header.cd;
    r.header.ra = true;
    r.questions = q.questions;
    return r;
}

Name reverse_name(std::array<std::uint8_t, 4> a) {
    Name n;
    for (int i = 3; i >= 0; --i) n.labels.push_back(std::to_string(a[static_cast<std::size_t>(i)]));
    n.labels.push_back("in-addr");
    n.labels.push_back("arpa");
    return n;
}

std::optional<std::array<std::uint8_t, 4>> from_reverse_name(const Name& n) {
    if (n.labels.size() != 6 || !label_equal(n.labels[4], "in-addr") || !label_equal(n.labels[5], "arpa"))
        return std::nullopt;
    std::array<std::uint8_t, 4> out{};
    for (std::size_t i = 0; i < 4; ++i) {
        const auto& l = n.labels[i];
        if (l.empty() || l.size() > 3 || (l.size() > 1 && l[0] == '0')) return std::nullopt;
        unsigned v = 0;
        for (char c : l) {
            if (c < '0' || c > '9') return std::nullopt;
            v = v * 10 + static_cast<unsigned>(c - '0');
        }
        if (v > 255) return std::nullopt;
        out[3 - i] = static_cast<std::uint8_t>(v);
    }
    return out;
}

std::optional<std::array<std::uint8_t, 16>> from_reverse_name6(const Name& n) {
    if (n.labels.size() != 34 || !label_equal(n.labels[32], "ip6") || !label_equal(n.labels[33], "arpa"))
        return std::nullopt;
    std::array<std::uint8_t, 16> out{};
    for (std::size_t i = 0; i < 32; ++i) {
        const auto& l = n.labels[i];
        if (l.size() != 1) return std::nullopt;
        char c = l[0];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (v < 0) return std::nullopt;
        std::size_t nibble = 31 - i;  // labels[0] is the last nibble
        out[nibble / 2] |= static_cast<std::uint8_t>(nibble % 2 ? v : v << 4);
    }
    return out;
}

}  // namespace berth::network::dns
