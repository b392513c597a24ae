#pragma once
// Small pure string helpers shared by every layer.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::str {

std::vector<std::string> split(std::string_view s, char sep);
// Splits on sep at most once: "a=b=c" -> {"a", "b=c"}; no sep -> {s, nullopt}.
std::pair<std::string, std::optional<std::string>> split_once(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string_view trim(std::string_view s);
std::string to_lower(std::string_view s);
bool contains(std::string_view s, std::string_view needle);
std::string replace_all(std::string s, std::string_view from, std::string_view to);

// Strict integer parsing: the whole string must be a number in range.
std::optional<std::int64_t> parse_int(std::string_view s);
std::optional<std::uint64_t> parse_uint(std::string_view s);
std::optional<double> parse_double(std::string_view s);

// Docker's memory sizes ("512m", "1g", "100k", "2048", "1.5g"): binary units, case-insensitive,
// optional trailing "b". nullopt when malformed.
std::optional<std::int64_t> parse_bytes(std::string_view s);
// Docker's human sizes, decimal units with 3 significant digits: "4.26MB", "1.2GB", "512B".
std::string human_size(double bytes);

// Go durations ("1m30s", "10s", "500ms", "1h", "1.5s"); nanoseconds. nullopt when malformed.
std::optional<std::int64_t> parse_duration_ns(std::string_view s);
// Go's Duration.String(): "1m30s", "10s", "500ms", "0s".
std::string format_duration_ns(std::int64_t ns);

// Docker's HumanDuration: "Less than a second", "5 seconds", "About a minute", "3 hours"...
std::string human_duration_ns(std::int64_t ns);

// Quotes for a POSIX shell when needed: abc -> abc, a b -> 'a b'.
std::string shell_quote(std::string_view s);

// True if s is a valid name for containers/volumes/networks: [a-zA-Z0-9][a-zA-Z0-9_.-]*.
bool valid_object_name(std::string_view s);

}  // namespace berth::str
