#include "registry/auth.hpp"

#include <cctype>
#include <cstring>

#include "sys/strings.hpp"

namespace berth::registry {

std::string Challenge::param(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
}

namespace {

bool is_ws(char c) { return c == ' ' || c == '\t'; }

struct Scanner {
    std::string_view s;
    size_t i = 0;
    void skip_ws() {
        while (i < s.size() && is_ws(s[i])) ++i;
    }
    void skip_ws_commas() {
        while (i < s.size() && (is_ws(s[i]) || s[i] == ',')) ++i;
    }
    bool done() const { return i >= s.size(); }
    std::string token() {
        size_t b = i;
        while (i < s.size() && !is_ws(s[i]) && s[i] != ',' && s[i] != '=' && s[i] != '"') ++i;
        return std::string(s.substr(b, i - b));
    }
    std::string quoted() {  // at the opening quote
        std::string out;
        ++i;
        while (i < s.size() && s[i] != '"') {
            if (s[i] == '\\' && i + 1 < s.size()) ++i;
            out += s[i++];
        }
        if (i < s.size()) ++i;  // closing quote
        return out;
    }
    std::string value() {
        if (i < s.size() && s[i] == '"') return quoted();
        size_t b = i;
        while (i < s.size() && !is_ws(s[i]) && s[i] != ',') ++i;
        return std::string(s.substr(b, i - b));
    }
};

}  // namespace

std::vector<Challenge> parse_challenges(std::string_view header) {
    std::vector<Challenge> out;
    Scanner sc{header};
    while (true) {
        sc.skip_ws_commas();
        if (sc.done()) break;
        size_t start = sc.i;
        std::string tok = sc.token();
        if (tok.empty()) {  // a stray '=' or quote: step over it
            if (sc.i < header.size() && header[sc.i] == '"')
                sc.quoted();
            else
                ++sc.i;
            continue;
        }
        sc.skip_ws();
        if (!out.empty() && sc.i < header.size() && header[sc.i] == '=' && sc.i > start) {
            ++sc.i;
            sc.skip_ws();
            out.back().params[str::to_lower(tok)] = sc.value();
            continue;
        }
        out.push_back(Challenge{str::to_lower(tok), {}});
    }
    return out;
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(std::string_view data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < data.size(); i += 3) {
        unsigned v = (unsigned char)data[i] << 16 | (unsigned char)data[i + 1] << 8 | (unsigned char)data[i + 2];
        out += kB64[v >> 18 & 63];
        out += kB64[v >> 12 & 63];
        out += kB64[v >> 6 & 63];
        out += kB64[v & 63];
    }
    if (i + 1 == data.size()) {
        unsigned v = (unsigned char)data[i] << 16;
        out += kB64[v >> 18 & 63];
        out += kB64[v >> 12 & 63];
        out += "==";
    } else if (i + 2 == data.size()) {
        unsigned v = (unsigned char)data[i] << 16 | (unsigned char)data[i + 1] << 8;
        out += kB64[v >> 18 & 63];
        out += kB64[v >> 12 & 63];
        out += kB64[v >> 6 & 63];
        out += '=';
    }
    return out;
}

bool base64_decode(std::string_view text, std::string& out) {
    out.clear();
    unsigned acc = 0;
    int bits = 0;
    size_t pad = 0;
    for (char c : text) {
        if (c == '=') {
            ++pad;
            continue;
        }
        if (pad) return false;  // data after padding
        const char* p = c ? std::strchr(kB64, c) : nullptr;
        if (!p) return false;
        acc = acc << 6 | unsigned(p - kB64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += char(acc >> bits & 0xff);
        }
    }
    return pad <= 2;
}

std::string url_escape(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += char(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

}  // namespace berth::registry
