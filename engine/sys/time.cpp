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

namespace {

// Reads exactly n digits.
std::optional<int> digits(std::string_view& s, size_t n) {
    if (s.size() < n) return std::nullopt;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9') return std::nullopt;
        v = v * 10 + (s[i] - '0');
    }
    s.remove_prefix(n);
    return v;
}

bool eat(std::string_view& s, char c) {
    if (s.empty() || s.front() != c) return false;
    s.remove_prefix(1);
    return true;
}

// Docker's date forms (pkg/timestamp GetTimestamp): 2006-01-02, then optionally T15, T15:04,
// T15:04:05 and a fraction, then optionally Z or +07:00; without a zone, the local one.
std::optional<std::int64_t> parse_docker_date(std::string_view s) {
    struct tm tm {};
    auto Y = digits(s, 4);
    if (!Y || !eat(s, '-')) return std::nullopt;
    auto M = digits(s, 2);
    if (!M || !eat(s, '-')) return std::nullopt;
    auto D = digits(s, 2);
    if (!D) return std::nullopt;
    tm.tm_year = *Y - 1900;
    tm.tm_mon = *M - 1;
    tm.tm_mday = *D;
    std::int64_t frac = 0;
    if (eat(s, 'T')) {
        auto h = digits(s, 2);
        if (!h) return std::nullopt;
        tm.tm_hour = *h;
        if (eat(s, ':')) {
            auto m = digits(s, 2);
            if (!m) return std::nullopt;
            tm.tm_min = *m;
            if (eat(s, ':')) {
                auto sec = digits(s, 2);
                if (!sec) return std::nullopt;
                tm.tm_sec = *sec;
                if (eat(s, '.')) {
                    int n = 0;
                    while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
                        if (n++ < 9) frac = frac * 10 + (s.front() - '0');
                        s.remove_prefix(1);
                    }
                    if (n == 0) return std::nullopt;
                    for (; n < 9; ++n) frac *= 10;
                }
            }
        }
    }
    if (*M < 1 || *M > 12 || *D < 1 || *D > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) return std::nullopt;
    time_t t;
    if (s.empty()) {
        tm.tm_isdst = -1;
        t = ::mktime(&tm);
    } else if (s == "Z" || s == "z") {
        t = ::timegm(&tm);
    } else {
        char sign = s.front();
        s.remove_prefix(1);
        auto oh = digits(s, 2);
        if ((sign != '+' && sign != '-') || !oh || !eat(s, ':')) return std::nullopt;
        auto om = digits(s, 2);
        if (!om || !s.empty()) return std::nullopt;
        t = ::timegm(&tm) - (sign == '-' ? -1 : 1) * (*oh * 3600 + *om * 60);
    }
    return static_cast<std::int64_t>(t) * 1000000000 + frac;
}

}  // namespace

std::optional<std::int64_t> parse_time_or_duration(std::string_view s, std::int64_t now) {
    // A Go duration before now ("0" is the epoch, as Docker reads it).
    if (s != "0")
        if (auto d = str::parse_duration_ns(s)) return now - *d;
    // Anything with a dash is a date, and an error when malformed.
    if (s.find('-') != std::string_view::npos) return parse_docker_date(s);
    // A unix timestamp: seconds[.nanoseconds].
    auto [secs, frac] = str::split_once(s, '.');
    auto sec = str::parse_int(secs);
    if (secs.empty() || !sec || secs.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    std::int64_t ns = 0;
    if (frac) {
        if (frac->empty() || frac->size() > 9 || frac->find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
        ns = *str::parse_int(*frac);
        for (size_t n = frac->size(); n < 9; ++n) ns *= 10;
    }
    return *sec * 1000000000 + ns;
}

}  // namespace berth::sys
