#include <catch2/catch.hpp>

#include <stdlib.h>
#include <time.h>

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

TEST_CASE("--since/--until parse as Docker's pkg/timestamp does") {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    std::int64_t now = 1795326600000000000LL;
    CHECK(sys::parse_time_or_duration("1h30m", now) == now - 5'400'000'000'000LL);
    CHECK(sys::parse_time_or_duration("0", now) == 0);  // the epoch, not a zero duration
    CHECK(sys::parse_time_or_duration("1795326600.5", now) == 1795326600500000000LL);
    CHECK(sys::parse_time_or_duration("1795326600.000000001", now) == 1795326600000000001LL);
    CHECK(sys::parse_time_or_duration("2026-11-22T05:50:00.123456789Z", now) == 1795326600123456789LL);
    CHECK(sys::parse_time_or_duration("2026-11-22T07:50:00+02:00", now) == 1795326600000000000LL);
    CHECK(sys::parse_time_or_duration("2026-11-22T05:50:00", now) == 1795326600000000000LL);  // local (UTC here)
    CHECK(sys::parse_time_or_duration("2026-11-22T05:50", now) == 1795326600000000000LL);
    CHECK(sys::parse_time_or_duration("2026-11-22T05", now) == 1795323600000000000LL);
    CHECK(sys::parse_time_or_duration("2026-11-22Z", now) == 1795305600000000000LL);
    CHECK(sys::parse_time_or_duration("2026-11-22+01:00", now) == 1795302000000000000LL);
    ::setenv("TZ", "UTC-2", 1);  // POSIX: two hours east
    ::tzset();
    CHECK(sys::parse_time_or_duration("2026-11-22T07:50:00", now) == 1795326600000000000LL);
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    CHECK_FALSE(sys::parse_time_or_duration("2026-13-22", now));
    CHECK_FALSE(sys::parse_time_or_duration("2026-11-22T5:50", now));
    CHECK_FALSE(sys::parse_time_or_duration("12.x", now));
    CHECK_FALSE(sys::parse_time_or_duration("", now));
}
