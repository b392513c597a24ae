#include <catch2/catch.hpp>

#include "sys/time.hpp"

using namespace berth;

TEST_CASE("RFC 3339 round trip") {
    std::int64_t t = 1795326600123456789LL;
    auto s = sys::format_rfc3339_nano(t);
    CHECK(s == "2026-11-22T05:50:00.123456789Z");
    CHECK(sys::parse_rfc3339(s) == t);
    CHECK(sys::format_rfc3339_nano(1795326600120000000LL) == "2026-11-22T05:50:00.12Z");
    CHECK(sys::format_rfc3339_nano(1795326600000000000LL) == "2026-11-22T05:50:00Z");
    CHECK(sys::parse_rfc3339("2026-11-22T05:50:00.12Z") == 1795326600120000000LL);
    CHECK(sys::parse_rfc3339("2026-11-22T07:50:00+02:00") == 1795326600000000000LL);
    CHECK_FALSE(sys::parse_rfc3339("yesterday"));
}

TEST_CASE("--since accepts durations, timestamps and dates") {
    std::int64_t now = 1795326600000000000LL;
    CHECK(sys::parse_time_or_duration("10m", now) == now - 600'000'000'000LL);
    CHECK(sys::parse_time_or_duration("1795326600", now) == now);
    CHECK(sys::parse_time_or_duration("2026-11-22", now) == 1795305600000000000LL);
    CHECK_FALSE(sys::parse_time_or_duration("soon", now));
}
