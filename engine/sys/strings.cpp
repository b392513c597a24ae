#include "sys/strings.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace berth::str {

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        size_t p = s.find(sep, start);
        if (p == std::string_view::npos) {
            out.emplace_back(s.substr(start));
            return out;
        }
        out.emplace_back(s.substr(start, p - start));
        start = p + 1;
    }
}

std::pair<std::string, std::optional<std::string>> split_once(std::string_view s, char sep) {
    size_t p = s.find(sep);
    if (p == std::string_view::npos) return {std::string(s), std::nullopt};
    return {std::string(s.substr(0, p)), std::string(s.substr(p + 1))};
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i) out += sep;
        out += parts[i];
    }
    return out;
}

std::string_view trim(std::string_view s) {
    auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
    while (!s.empty() && ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && ws(s.back())) s.remove_suffix(1);
    return s;
}

std::string to_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool contains(std::string_view s, std::string_view needle) { return s.find(needle) != std::string_view::npos; }

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    if (from.empty()) return s;
    size_t pos = 0;
    while ((pos = s.find(from, pos)) != std::string::npos) {
        s.replace(pos, from.size(), to);
        pos += to.size();
    }
    return s;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
    std::int64_t v = 0;
    if (s.empty()) return std::nullopt;
    if (s.front() == '+') s.remove_prefix(1);
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<std::uint64_t> parse_uint(std::string_view s) {
    std::uint64_t v = 0;
    if (s.empty()) return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<double> parse_double(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::string tmp(s);
    char* end = nullptr;
    double v = std::strtod(tmp.c_str(), &end);
    if (end != tmp.c_str() + tmp.size() || std::isnan(v) || std::isinf(v)) return std::nullopt;
    // strtod accepts hex and leading spaces; Docker's parser does not.
    if (tmp.find_first_of("xXpP \t") != std::string::npos) return std::nullopt;
    return v;
}

std::optional<std::int64_t> parse_bytes(std::string_view s) {
    s = trim(s);
    if (s.empty()) return std::nullopt;
    std::string low = to_lower(s);
    std::string_view v = low;
    if (v.size() > 1 && v.back() == 'b' && !std::isdigit(static_cast<unsigned char>(v[v.size() - 2]))) v.remove_suffix(1);
    double mult = 1;
    if (!v.empty()) {
        switch (v.back()) {
            case 'b': mult = 1; v.remove_suffix(1); break;
            case 'k': mult = 1024.0; v.remove_suffix(1); break;
            case 'm': mult = 1024.0 * 1024; v.remove_suffix(1); break;
            case 'g': mult = 1024.0 * 1024 * 1024; v.remove_suffix(1); break;
            case 't': mult = 1024.0 * 1024 * 1024 * 1024; v.remove_suffix(1); break;
            case 'p': mult = 1024.0 * 1024 * 1024 * 1024 * 1024; v.remove_suffix(1); break;
            default: break;
        }
    }
    auto num = parse_double(v);
    if (!num || *num < 0) return std::nullopt;
    return static_cast<std::int64_t>(*num * mult);
}

std::string human_size(double bytes) {
    static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    int i = 0;
    while (bytes >= 1000 && i < 5) {
        bytes /= 1000;
        ++i;
    }
    char buf[32];
    // Go's %.4g: up to 4 significant digits, trailing zeros trimmed (units.HumanSizeWithPrecision(size, 4)).
    std::snprintf(buf, sizeof buf, "%.4g%s", bytes, units[i]);
    return buf;
}

std::optional<std::int64_t> parse_duration_ns(std::string_view s) {
    if (s.empty()) return std::nullopt;
    bool neg = false;
    if (s.front() == '-' || s.front() == '+') {
        neg = s.front() == '-';
        s.remove_prefix(1);
    }
    if (s == "0") return 0;
    if (s.empty()) return std::nullopt;
    double total = 0;
    while (!s.empty()) {
        size_t i = 0;
        while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
        if (i == 0) return std::nullopt;
        auto num = parse_double(s.substr(0, i));
        if (!num) return std::nullopt;
        s.remove_prefix(i);
        size_t j = 0;
        while (j < s.size() && !std::isdigit(static_cast<unsigned char>(s[j])) && s[j] != '.') ++j;
        std::string_view unit = s.substr(0, j);
        s.remove_prefix(j);
        double mult;
        if (unit == "ns") mult = 1;
        else if (unit == "us" || unit == "µs") mult = 1e3;
        else if (unit == "ms") mult = 1e6;
        else if (unit == "s") mult = 1e9;
        else if (unit == "m") mult = 60e9;
        else if (unit == "h") mult = 3600e9;
        else return std::nullopt;
        total += *num * mult;
    }
    auto v = static_cast<std::int64_t>(std::llround(total));
    return neg ? -v : v;
}

std::string format_duration_ns(std::int64_t ns) {
    if (ns == 0) return "0s";
    std::string out;
    if (ns < 0) {
        out = "-";
        ns = -ns;
    }
    auto frac = [](std::int64_t v, std::int64_t unit) {
        std::string s = std::to_string(v / unit);
        std::int64_t rem = v % unit;
        if (rem) {
            std::string f = std::to_string(rem);
            std::string digits = std::to_string(unit).substr(1);
            f = std::string(digits.size() - f.size(), '0') + f;
            while (!f.empty() && f.back() == '0') f.pop_back();
            s += "." + f;
        }
        return s;
    };
    if (ns < 1000) return out + std::to_string(ns) + "ns";
    if (ns < 1000000) return out + frac(ns, 1000) + "µs";
    if (ns < 1000000000) return out + frac(ns, 1000000) + "ms";
    std::int64_t h = ns / 3600000000000LL;
    ns %= 3600000000000LL;
    std::int64_t m = ns / 60000000000LL;
    ns %= 60000000000LL;
    if (h) out += std::to_string(h) + "h";
    if (h || m) out += std::to_string(m) + "m";
    out += frac(ns, 1000000000) + "s";
    return out;
}

std::string human_duration_ns(std::int64_t ns) {
    double seconds = static_cast<double>(ns) / 1e9;
    auto s = static_cast<std::int64_t>(seconds);
    if (s < 1) return "Less than a second";
    if (s == 1) return "1 second";
    if (s < 60) return std::to_string(s) + " seconds";
    auto minutes = s / 60;
    if (minutes == 1) return "About a minute";
    if (minutes < 60) return std::to_string(minutes) + " minutes";
    auto hours = static_cast<std::int64_t>(std::llround(seconds / 3600));
    if (hours == 1) return "About an hour";
    if (hours < 48) return std::to_string(hours) + " hours";
    if (hours < 24 * 7 * 2) return std::to_string(hours / 24) + " days";
    if (hours < 24 * 30 * 2) return std::to_string(hours / 24 / 7) + " weeks";
    if (hours < 24 * 365 * 2) return std::to_string(hours / 24 / 30) + " months";
    return std::to_string(hours / 24 / 365) + " years";
}

std::string shell_quote(std::string_view s) {
    if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,") == std::string_view::npos)
        return std::string(s);
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    out += "'";
    return out;
}

bool valid_object_name(std::string_view s) {
    if (s.empty() || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    });
}

}  // namespace berth::str
