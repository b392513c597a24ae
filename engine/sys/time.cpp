#include "sys/time.hpp"

#include <time.h>

#include <cstdio>

#include "sys/strings.hpp"

namespace berth::sys {

std::int64_t now_ns() {
    timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::int64_t monotonic_ns() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string format_rfc3339_nano(std::int64_t ns) {
    if (ns <= 0) return "0001-01-01T00:00:00Z";
    time_t secs = static_cast<time_t>(ns / 1000000000);
    long frac = static_cast<long>(ns % 1000000000);
    struct tm tm;
    ::gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ld", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    // Go's RFC3339Nano drops trailing zeros of the fraction, and the fraction when it is zero.
    std::string out = buf;
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
    return out + "Z";
}

std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
    int Y, M, D, h, m, sec;
    if (s.size() < 20) return std::nullopt;
    std::string head(s.substr(0, 19));
    if (std::sscanf(head.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &Y, &M, &D, &h, &m, &sec) != 6) return std::nullopt;
    s.remove_prefix(19);
    std::int64_t frac = 0;
    if (!s.empty() && s.front() == '.') {
        s.remove_prefix(1);
        int digits = 0;
        while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
            if (digits < 9) {
                frac = frac * 10 + (s.front() - '0');
                ++digits;
            }
            s.remove_prefix(1);
        }
        while (digits++ < 9) frac *= 10;
    }
    std::int64_t offset = 0;
    if (s == "Z" || s == "z") {
    } else if (s.size() == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':') {
        auto oh = str::parse_int(s.substr(1, 2));
        auto om = str::parse_int(s.substr(4, 2));
        if (!oh || !om) return std::nullopt;
        offset = (*oh * 3600 + *om * 60) * (s[0] == '-' ? -1 : 1);
    } else {
        return std::nullopt;
    }
    struct tm tm {};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    time_t t = ::timegm(&tm);
    return (static_cast<std::int64_t>(t) - offset) * 1000000000 + frac;
}

std::optional<std::int64_t> parse_time_or_duration(std::string_view s, std::int64_t now) {
    if (auto t = parse_rfc3339(s)) return t;
    if (auto d = str::parse_duration_ns(s)) return now - *d;
    if (auto secs = str::parse_double(s)) return static_cast<std::int64_t>(*secs * 1e9);
    // Date only, as Docker accepts "2026-11-22".
    if (s.size() == 10) return parse_rfc3339(std::string(s) + "T00:00:00Z");
    return std::nullopt;
}

}  // namespace berth::sys
