#pragma once
// Wall-clock times as Docker prints them (RFC 3339 with nanoseconds, UTC).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth::sys {

std::int64_t now_ns();        // CLOCK_REALTIME, nanoseconds since the epoch
std::int64_t monotonic_ns();  // CLOCK_MONOTONIC
// "2026-11-22T05:50:00.123456789Z"
std::string format_rfc3339_nano(std::int64_t ns);
// Accepts RFC 3339 with or without fraction, "Z" or "+hh:mm"; nullopt when malformed.
std::optional<std::int64_t> parse_rfc3339(std::string_view s);
// Docker's --since/--until: an RFC 3339 time, a unix timestamp, or a Go duration before now.
std::optional<std::int64_t> parse_time_or_duration(std::string_view s, std::int64_t now);

}  // namespace berth::sys
