// Go's value printing over JSON values: fmt (%v and the Printf verbs), strconv (Quote,
// FormatFloat) and encoding/json, so berth's output reads exactly as Docker's.
#include "cli/gofmt.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>

namespace berth::cli::gofmt {

namespace {

const char kHex[] = "0123456789abcdef";

}  // namespace

// ---------------------------------------------------------------------------------------------
// UTF-8

Rune decode_rune(std::string_view s, size_t i) {
    auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) return {b0, 1, false};
    auto cont = [&](size_t k) { return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80; };
    auto at = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F); };
    if (b0 >= 0xC2 && b0 <= 0xDF && cont(1)) return {((b0 & 0x1Fu) << 6) | at(1), 2, false};
    if (b0 >= 0xE0 && b0 <= 0xEF && cont(1) && cont(2)) {
        char32_t r = ((b0 & 0x0Fu) << 12) | (at(1) << 6) | at(2);
        if (r >= 0x800 && (r < 0xD800 || r > 0xDFFF)) return {r, 3, false};
    }
    if (b0 >= 0xF0 && b0 <= 0xF4 && cont(1) && cont(2) && cont(3)) {
        char32_t r = ((b0 & 0x07u) << 18) | (at(1) << 12) | (at(2) << 6) | at(3);
        if (r >= 0x10000 && r <= 0x10FFFF) return {r, 4, false};
    }
    return {0xFFFD, 1, true};
}

void append_utf8(std::string& out, char32_t r) {
    if (r < 0x80) {
        out += static_cast<char>(r);
    } else if (r < 0x800) {
        out += static_cast<char>(0xC0 | (r >> 6));
        out += static_cast<char>(0x80 | (r & 0x3F));
    } else if (r < 0x10000) {
        out += static_cast<char>(0xE0 | (r >> 12));
        out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (r & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (r >> 18));
        out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (r & 0x3F));
    }
}

size_t rune_count(std::string_view s) {
    size_t n = 0;
    for (size_t i = 0; i < s.size(); i += decode_rune(s, i).n) ++n;
    return n;
}

// unicode.IsPrint, approximated: ASCII printable, and non-ASCII except C1 controls, the soft
// hyphen, zero-width/format characters and the line/paragraph separators.
bool is_print(char32_t r) {
    if (r < 0x80) return r >= 0x20 && r < 0x7F;
    if (r < 0xA0 || r == 0xAD) return false;
    if ((r >= 0x200B && r <= 0x200F) || (r >= 0x2028 && r <= 0x202E) || (r >= 0x2060 && r <= 0x206F)) return false;
    if (r == 0xFEFF || (r >= 0xFFF9 && r <= 0xFFFB) || (r >= 0xD800 && r <= 0xDFFF)) return false;
    if (r >= 0xE000 && r <= 0xF8FF) return false;  // private use
    return true;
}

// strconv.Quote / QuoteRune: Go-escaped, double (or single) quoted.
std::string quote(std::string_view s, char q) {
    std::string out(1, q);
    for (size_t i = 0; i < s.size();) {
        Rune r = decode_rune(s, i);
        i += r.n;
        if (r.bad) {
            auto b = static_cast<unsigned char>(s[i - 1]);
            out += "\\x";
            out += kHex[b >> 4];
            out += kHex[b & 15];
            continue;
        }
        if (r.r == static_cast<char32_t>(q) || r.r == '\\') {
            out += '\\';
            out += static_cast<char>(r.r);
            continue;
        }
        if (is_print(r.r)) {
            append_utf8(out, r.r);
            continue;
        }
        switch (r.r) {
            case '\a': out += "\\a"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\v': out += "\\v"; break;
            default:
                if (r.r < 0x20 || r.r == 0x7F) {
                    out += "\\x";
                    out += kHex[r.r >> 4];
                    out += kHex[r.r & 15];
                } else {
                    char buf[16];
                    if (r.r < 0x10000)
                        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(r.r));
                    else
                        std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(r.r));
                    out += buf;
                }
        }
    }
    out += q;
    return out;
}

// fmt's %#U: U+007D '}'
std::string rune_desc(char32_t r) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(r));
    std::string out = buf;
    if (is_print(r)) {
        out += " '";
        append_utf8(out, r);
        out += "'";
    }
    return out;
}

namespace {

// ---------------------------------------------------------------------------------------------
// Go's float formatting (strconv.FormatFloat), built on the shortest round-trip digits of
// std::to_chars.

struct Digits {
    std::string d;  // significant digits, no leading/trailing zeros ("0" for zero)
    int dp;         // decimal point position: value = 0.d * 10^dp
};

Digits shortest_digits(double v) {
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, std::fabs(v), std::chars_format::scientific);
    std::string_view s(buf, static_cast<size_t>(res.ptr - buf));
    size_t e = s.find('e');
    std::string mant(s.substr(0, e));
    int exp = std::atoi(std::string(s.substr(e + 1)).c_str());
    std::string digits;
    for (char c : mant)
        if (c != '.') digits += c;
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    if (digits == "0") return {"0", 1};
    return {digits, exp + 1};
}

std::string fmt_e(const Digits& dg, int prec, char e) {
    // prec digits after the point; dg has at least prec+1 digits or is padded with zeros
    std::string out(1, dg.d[0]);
    if (prec > 0) {
        out += '.';
        for (int i = 1; i <= prec; ++i) out += i < static_cast<int>(dg.d.size()) ? dg.d[static_cast<size_t>(i)] : '0';
    }
    int exp = dg.d == "0" ? 0 : dg.dp - 1;
    out += e;
    out += exp < 0 ? '-' : '+';
    if (exp < 0) exp = -exp;
    if (exp < 10) out += '0';
    out += std::to_string(exp);
    return out;
}

std::string fmt_f(const Digits& dg, int prec) {
    std::string out;
    if (dg.dp > 0) {
        for (int i = 0; i < dg.dp; ++i) out += i < static_cast<int>(dg.d.size()) ? dg.d[static_cast<size_t>(i)] : '0';
    } else {
        out += '0';
    }
    if (prec > 0) {
        out += '.';
        for (int i = 0; i < prec; ++i) {
            int j = dg.dp + i;
            out += (j < 0 || j >= static_cast<int>(dg.d.size())) ? '0' : dg.d[static_cast<size_t>(j)];
        }
    }
    return out;
}

// strconv.FormatFloat(v, 'g', -1, 64) without the sign: the shortest digits, as %e when the
// exponent is < -4 or >= 6 (so fmt's %v prints 1e+06 for a million).
std::string shortest_g(double v) {
    Digits dg = shortest_digits(v);
    int eprec = 6;
    int exp = dg.dp - 1;
    if (dg.d == "0") exp = 0;
    if (exp < -4 || exp >= eprec) return fmt_e(dg, static_cast<int>(dg.d.size()) - 1, 'e');
    return fmt_f(dg, std::max(static_cast<int>(dg.d.size()) - dg.dp, 0));
}

// The number as Go's fmt prints a float64 with verb ('v','g','G','e','E','f','F') and precision
// (-1 = shortest), without sign handling for NaN/Inf (caller).
std::string go_float_body(double v, char verb, int prec) {
    double a = std::fabs(v);
    if (std::isinf(a)) return "Inf";
    if (std::isnan(v)) return "NaN";
    char buf[512];
    switch (verb) {
        case 'v':
            return shortest_g(a);
        case 'g':
        case 'G': {
            std::string s;
            if (prec < 0) {
                s = shortest_g(a);
            } else {
                std::snprintf(buf, sizeof buf, "%.*g", prec == 0 ? 1 : prec, a);
                s = buf;
            }
            if (verb == 'G')
                for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            return s;
        }
        case 'e':
        case 'E':
            if (prec < 0) {
                Digits dg = shortest_digits(a);
                return fmt_e(dg, static_cast<int>(dg.d.size()) - 1, verb);
            }
            std::snprintf(buf, sizeof buf, verb == 'e' ? "%.*e" : "%.*E", prec, a);
            return buf;
        default:  // f, F
            if (prec < 0) {
                Digits dg = shortest_digits(a);
                return fmt_f(dg, std::max(static_cast<int>(dg.d.size()) - dg.dp, 0));
            }
            std::snprintf(buf, sizeof buf, "%.*f", prec, a);
            return buf;
    }
}

// encoding/json's float64: 'f' unless the exponent is extreme, then 'e' with e-07 -> e-7.
std::string go_json_float(double v) {
    if (!std::isfinite(v)) return "null";  // encoding/json refuses these; null keeps the output valid
    double a = std::fabs(v);
    std::string s;
    if (a != 0 && (a < 1e-6 || a >= 1e21)) {
        Digits dg = shortest_digits(a);
        s = fmt_e(dg, static_cast<int>(dg.d.size()) - 1, 'e');
        size_t n = s.size();
        if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') s.erase(n - 2, 1);
    } else {
        Digits dg = shortest_digits(a);
        s = fmt_f(dg, std::max(static_cast<int>(dg.d.size()) - dg.dp, 0));
    }
    return (std::signbit(v) ? "-" : "") + s;
}

// ---------------------------------------------------------------------------------------------
// encoding/json

void json_string(std::string& out, std::string_view s, bool escape_html) {
    out += '"';
    for (size_t i = 0; i < s.size();) {
        auto b = static_cast<unsigned char>(s[i]);
        if (b < 0x80) {
            ++i;
            if (b == '"' || b == '\\') {
                out += '\\';
                out += static_cast<char>(b);
            } else if (b >= 0x20 && !(escape_html && (b == '<' || b == '>' || b == '&'))) {
                out += static_cast<char>(b);
            } else {
                switch (b) {
                    case '\b': out += "\\b"; break;
                    case '\f': out += "\\f"; break;
                    case '\n': out += "\\n"; break;
                    case '\r': out += "\\r"; break;
                    case '\t': out += "\\t"; break;
                    default:
                        out += "\\u00";
                        out += kHex[b >> 4];
                        out += kHex[b & 15];
                }
            }
            continue;
        }
        Rune r = decode_rune(s, i);
        if (r.bad) {
            out += "\\ufffd";
        } else if (r.r == 0x2028 || r.r == 0x2029) {
            out += r.r == 0x2028 ? "\\u2028" : "\\u2029";
        } else {
            out.append(s.substr(i, r.n));
        }
        i += r.n;
    }
    out += '"';
}

void json_encode(std::string& out, const ojson& v, std::string_view indent, int depth, bool escape_html) {
    auto newline = [&](int d) {
        if (indent.empty()) return;
        out += '\n';
        for (int i = 0; i < d; ++i) out += indent;
    };
    switch (v.type()) {
        case ojson::value_t::null:
        case ojson::value_t::discarded:
            out += "null";
            break;
        case ojson::value_t::boolean:
            out += v.get<bool>() ? "true" : "false";
            break;
        case ojson::value_t::number_integer:
            out += std::to_string(v.get<std::int64_t>());
            break;
        case ojson::value_t::number_unsigned:
            out += std::to_string(v.get<std::uint64_t>());
            break;
        case ojson::value_t::number_float:
            out += go_json_float(v.get<double>());
            break;
        case ojson::value_t::string:
            json_string(out, v.get_ref<const std::string&>(), escape_html);
            break;
        case ojson::value_t::binary: {
            // []byte: encoding/json writes base64; berth never stores binary in output values,
            // so print the bytes as a JSON array of numbers rather than invent an encoding.
            const auto& bin = v.get_binary();
            out += '[';
            for (size_t i = 0; i < bin.size(); ++i) {
                if (i) out += ',';
                out += std::to_string(bin[i]);
            }
            out += ']';
            break;
        }
        case ojson::value_t::array: {
            if (v.empty()) {
                out += "[]";
                break;
            }
            out += '[';
            bool first = true;
            for (const auto& e : v) {
                if (!first) out += ',';
                first = false;
                newline(depth + 1);
                json_encode(out, e, indent, depth + 1, escape_html);
            }
            newline(depth);
            out += ']';
            break;
        }
        case ojson::value_t::object: {
            if (v.empty()) {
                out += "{}";
                break;
            }
            out += '{';
            bool first = true;
            for (auto it = v.begin(); it != v.end(); ++it) {
                if (!first) out += ',';
                first = false;
                newline(depth + 1);
                json_string(out, it.key(), escape_html);
                out += indent.empty() ? ":" : ": ";
                json_encode(out, it.value(), indent, depth + 1, escape_html);
            }
            newline(depth);
            out += '}';
            break;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// fmt

struct Spec {
    bool minus = false, plus = false, sharp = false, zero = false, space = false;
    int width = -1;
    int prec = -1;
    char32_t verb = 'v';
};

void pad_to(std::string& out, const std::string& s, const Spec& sp, bool numeric) {
    int w = sp.width - static_cast<int>(rune_count(s));
    if (w <= 0) {
        out += s;
        return;
    }
    if (sp.minus) {
        out += s;
        out.append(static_cast<size_t>(w), ' ');
    } else if (sp.zero && numeric) {
        size_t sign = (!s.empty() && (s[0] == '-' || s[0] == '+' || s[0] == ' ')) ? 1 : 0;
        out.append(s, 0, sign);
        out.append(static_cast<size_t>(w), '0');
        out.append(s, sign, std::string::npos);
    } else {
        out.append(static_cast<size_t>(w), ' ');
        out += s;
    }
}

void fmt_value(std::string& out, const ojson* v, const Spec& sp, int depth = 0);

void bad_verb(std::string& out, const ojson* v, const Spec& sp) {
    out += "%!";
    append_utf8(out, sp.verb);
    out += '(';
    if (!v || v->is_null()) {
        out += "<nil>";
    } else {
        out += type_name(v);
        out += '=';
        Spec plain;
        fmt_value(out, v, plain);
    }
    out += ')';
}

void fmt_integer(std::string& out, bool neg, std::uint64_t mag, const ojson* v, const Spec& sp) {
    std::string digits;
    int base = 10;
    switch (sp.verb) {
        case 'v':
        case 'd': base = 10; break;
        case 'b': base = 2; break;
        case 'o':
        case 'O': base = 8; break;
        case 'x':
        case 'X': base = 16; break;
        case 'c': {
            std::string s;
            append_utf8(s, static_cast<char32_t>(mag <= 0x10FFFF && !neg ? mag : 0xFFFD));
            pad_to(out, s, sp, false);
            return;
        }
        case 'q': {
            std::string s;
            append_utf8(s, static_cast<char32_t>(mag <= 0x10FFFF && !neg ? mag : 0xFFFD));
            pad_to(out, quote(s, '\''), sp, false);
            return;
        }
        case 'U': {
            char buf[32];
            std::snprintf(buf, sizeof buf, "U+%04llX", static_cast<unsigned long long>(mag));
            pad_to(out, buf, sp, false);
            return;
        }
        case 'e':
        case 'E':
        case 'f':
        case 'F':
        case 'g':
        case 'G':
        case 's':
        case 't':
        default:
            bad_verb(out, v, sp);
            return;
    }
    const char* dig = sp.verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    if (mag == 0) digits = "0";
    while (mag) {
        digits.insert(digits.begin(), dig[mag % static_cast<unsigned>(base)]);
        mag /= static_cast<unsigned>(base);
    }
    if (sp.prec >= 0) {
        if (sp.prec == 0 && digits == "0") digits.clear();
        while (static_cast<int>(digits.size()) < sp.prec) digits.insert(digits.begin(), '0');
    }
    std::string prefix;
    if (sp.sharp || sp.verb == 'O') {
        if (base == 16) prefix = sp.verb == 'X' ? "0X" : "0x";
        if (base == 2) prefix = "0b";
        if (base == 8) prefix = sp.verb == 'O' ? "0o" : (digits.empty() || digits[0] != '0' ? "0" : "");
    }
    std::string sign = neg ? "-" : sp.plus ? "+" : sp.space ? " " : "";
    std::string body = prefix + digits;
    // zero padding sits between the sign and the digits, and not with a precision (fmt rules)
    if (sp.zero && !sp.minus && sp.prec < 0 && sp.width > 0) {
        int w = sp.width - static_cast<int>(sign.size() + body.size());
        if (w > 0) body = prefix + std::string(static_cast<size_t>(w), '0') + digits;
        out += sign + body;
        return;
    }
    Spec nozero = sp;
    nozero.zero = false;
    pad_to(out, sign + body, nozero, true);
}

void fmt_float(std::string& out, double d, const ojson* v, const Spec& sp) {
    switch (sp.verb) {
        case 'v':
        case 'g':
        case 'G':
        case 'e':
        case 'E':
        case 'f':
        case 'F':
            break;
        default:
            bad_verb(out, v, sp);
            return;
    }
    int prec = sp.prec;
    if (prec < 0 && (sp.verb == 'e' || sp.verb == 'E' || sp.verb == 'f' || sp.verb == 'F')) prec = 6;
    char verb = static_cast<char>(sp.verb);
    std::string body = go_float_body(d, verb, sp.verb == 'v' ? -1 : prec);
    bool neg = std::signbit(d) && !std::isnan(d);
    // fmt prints +Inf with its sign always
    std::string sign = neg ? "-" : (sp.plus || std::isinf(d)) ? "+" : sp.space ? " " : "";
    if (!std::isfinite(d)) {
        Spec nozero = sp;
        nozero.zero = false;
        pad_to(out, sign + body, nozero, false);
        return;
    }
    if (sp.zero && !sp.minus && sp.width > 0) {
        int w = sp.width - static_cast<int>(sign.size() + body.size());
        out += sign;
        if (w > 0) out.append(static_cast<size_t>(w), '0');
        out += body;
        return;
    }
    pad_to(out, sign + body, sp, true);
}

void fmt_string(std::string& out, const std::string& s, const ojson* v, const Spec& sp) {
    switch (sp.verb) {
        case 'v':
        case 's': {
            if (sp.prec >= 0) {
                size_t i = 0;
                for (int n = 0; n < sp.prec && i < s.size(); ++n) i += decode_rune(s, i).n;
                pad_to(out, s.substr(0, i), sp, false);
            } else {
                pad_to(out, s, sp, false);
            }
            return;
        }
        case 'q':
            pad_to(out, quote(s), sp, false);
            return;
        case 'x':
        case 'X': {
            std::string h;
            const char* dig = sp.verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
            size_t n = sp.prec >= 0 ? std::min(s.size(), static_cast<size_t>(sp.prec)) : s.size();
            for (size_t i = 0; i < n; ++i) {
                auto b = static_cast<unsigned char>(s[i]);
                h += dig[b >> 4];
                h += dig[b & 15];
            }
            pad_to(out, h, sp, false);
            return;
        }
        default:
            bad_verb(out, v, sp);
    }
}

void fmt_value(std::string& out, const ojson* v, const Spec& sp, int depth) {
    if (sp.verb == 'T') {
        pad_to(out, type_name(v), sp, false);
        return;
    }
    if (!v || v->is_null()) {
        // a nil argument is "<nil>" only for %v; a nil element inside a slice or map always is
        if (sp.verb == 'v' || depth > 0)
            pad_to(out, "<nil>", sp, false);
        else
            bad_verb(out, v, sp);
        return;
    }
    switch (v->type()) {
        case ojson::value_t::boolean:
            if (sp.verb == 'v' || sp.verb == 't')
                pad_to(out, v->get<bool>() ? "true" : "false", sp, false);
            else
                bad_verb(out, v, sp);
            return;
        case ojson::value_t::number_integer: {
            auto i = v->get<std::int64_t>();
            std::uint64_t mag = i < 0 ? (~static_cast<std::uint64_t>(i) + 1) : static_cast<std::uint64_t>(i);
            fmt_integer(out, i < 0, mag, v, sp);
            return;
        }
        case ojson::value_t::number_unsigned:
            fmt_integer(out, false, v->get<std::uint64_t>(), v, sp);
            return;
        case ojson::value_t::number_float:
            fmt_float(out, v->get<double>(), v, sp);
            return;
        case ojson::value_t::string:
            fmt_string(out, v->get_ref<const std::string&>(), v, sp);
            return;
        case ojson::value_t::array: {
            out += '[';
            bool first = true;
            for (const auto& e : *v) {
                if (!first) out += ' ';
                first = false;
                fmt_value(out, &e, sp, depth + 1);
            }
            out += ']';
            return;
        }
        case ojson::value_t::object: {
            out += "map[";
            bool first = true;
            for (auto& [k, val] : sorted_items(*v)) {
                if (!first) out += ' ';
                first = false;
                ojson key(*k);
                fmt_value(out, &key, sp, depth + 1);
                out += ':';
                fmt_value(out, val, sp, depth + 1);
            }
            out += ']';
            return;
        }
        default:
            out += "?";
    }
}

}  // namespace

// Go's type name for a JSON value, as fmt's %T and text/template's errors print it.
std::string type_name(const ojson* v) {
    if (!v || v->is_null()) return "<nil>";
    switch (v->type()) {
        case ojson::value_t::boolean: return "bool";
        // Docker's numeric fields are Go ints; the JSON parser's unsigned kind is an accident
        case ojson::value_t::number_integer:
        case ojson::value_t::number_unsigned: return "int";
        case ojson::value_t::number_float: return "float64";
        case ojson::value_t::string: return "string";
        case ojson::value_t::array: return "[]interface {}";
        case ojson::value_t::object: return "map[string]interface {}";
        default: return "interface {}";
    }
}

// Objects iterate in Go map order (keys sorted bytewise), whatever order the JSON has.
std::vector<std::pair<const std::string*, const ojson*>> sorted_items(const ojson& obj) {
    std::vector<std::pair<const std::string*, const ojson*>> items;
    items.reserve(obj.size());
    for (auto it = obj.begin(); it != obj.end(); ++it) items.emplace_back(&it.key(), &it.value());
    std::sort(items.begin(), items.end(), [](auto& a, auto& b) { return *a.first < *b.first; });
    return items;
}

std::string sprint_value(const ojson* v) {
    std::string out;
    fmt_value(out, v, Spec{});
    return out;
}

std::string sprint(const std::vector<const ojson*>& args, bool ln) {
    std::string out;
    for (size_t i = 0; i < args.size(); ++i) {
        auto is_str = [&](size_t k) { return args[k] && args[k]->is_string(); };
        if (i > 0 && (ln || (!is_str(i) && !is_str(i - 1)))) out += ' ';
        Spec sp;
        fmt_value(out, args[i], sp);
    }
    if (ln) out += '\n';
    return out;
}

std::string sprintf(std::string_view format, const std::vector<const ojson*>& args) {
    std::string out;
    size_t argi = 0;
    bool reordered = false;
    size_t i = 0;
    auto parse_num = [&](size_t& k) -> std::optional<int> {
        if (k >= format.size() || format[k] < '0' || format[k] > '9') return std::nullopt;
        int n = 0;
        while (k < format.size() && format[k] >= '0' && format[k] <= '9') {
            n = std::min(n * 10 + (format[k] - '0'), 1000000);
            ++k;
        }
        return n;
    };
    // [n] explicit argument index (1-based)
    auto arg_index = [&](size_t& k) {
        if (k < format.size() && format[k] == '[') {
            size_t close = format.find(']', k);
            if (close != std::string_view::npos) {
                size_t p = k + 1;
                auto n = parse_num(p);
                if (n && p == close && *n >= 1) {
                    argi = static_cast<size_t>(*n - 1);
                    reordered = true;
                    k = close + 1;
                    return true;
                }
            }
            k = close == std::string_view::npos ? format.size() : close + 1;
            return false;
        }
        return true;
    };
    auto int_arg = [&](int& dst) -> bool {
        if (argi < args.size() && args[argi]) {
            const ojson& j = *args[argi];
            if (j.is_number_integer()) {
                auto n = j.get<std::int64_t>();
                if (n > -1000000 && n < 1000000) {
                    dst = static_cast<int>(n);
                    ++argi;
                    return true;
                }
            }
        }
        ++argi;
        return false;
    };
    while (i < format.size()) {
        size_t pct = format.find('%', i);
        if (pct == std::string_view::npos) {
            out.append(format.substr(i));
            break;
        }
        out.append(format.substr(i, pct - i));
        i = pct + 1;
        Spec sp;
        for (; i < format.size(); ++i) {
            char c = format[i];
            if (c == '#') sp.sharp = true;
            else if (c == '0') sp.zero = !sp.minus;
            else if (c == '+') sp.plus = true;
            else if (c == '-') { sp.minus = true; sp.zero = false; }
            else if (c == ' ') sp.space = true;
            else break;
        }
        bool good_index = arg_index(i);
        if (i < format.size() && format[i] == '*') {
            ++i;
            if (!int_arg(sp.width)) out += "%!(BADWIDTH)";
            if (sp.width < 0) {
                sp.minus = true;
                sp.width = -sp.width;
            }
            good_index = arg_index(i);
        } else if (auto n = parse_num(i)) {
            sp.width = *n;
        }
        if (i < format.size() && format[i] == '.') {
            ++i;
            good_index = arg_index(i);
            if (i < format.size() && format[i] == '*') {
                ++i;
                if (!int_arg(sp.prec) || sp.prec < 0) {
                    sp.prec = -1;
                    out += "%!(BADPREC)";
                }
                good_index = arg_index(i);
            } else {
                sp.prec = parse_num(i).value_or(0);
            }
        }
        if (i >= format.size()) {
            out += "%!(NOVERB)";
            break;
        }
        Rune r = decode_rune(format, i);
        i += r.n;
        sp.verb = r.r;
        if (sp.verb == '%') {
            out += '%';
            continue;
        }
        if (!good_index) {
            out += "%!";
            append_utf8(out, sp.verb);
            out += "(BADINDEX)";
            continue;
        }
        if (argi >= args.size()) {
            out += "%!";
            append_utf8(out, sp.verb);
            out += "(MISSING)";
            continue;
        }
        fmt_value(out, args[argi], sp);
        ++argi;
    }
    if (!reordered && argi < args.size()) {
        out += "%!(EXTRA ";
        for (size_t k = argi; k < args.size(); ++k) {
            if (k > argi) out += ", ";
            if (!args[k] || args[k]->is_null()) {
                out += "<nil>";
            } else {
                out += type_name(args[k]);
                out += '=';
                out += sprint_value(args[k]);
            }
        }
        out += ')';
    }
    return out;
}

void encode_json(std::string& out, const ojson& v, std::string_view indent, bool escape_html) {
    json_encode(out, v, indent, 0, escape_html);
}

}  // namespace berth::cli::gofmt
