#include <catch2/catch.hpp>

#include "sys/strings.hpp"

using namespace berth;

TEST_CASE("parse_bytes follows Docker's binary units") {
    CHECK(str::parse_bytes("512m") == 512LL * 1024 * 1024);
    CHECK(str::parse_bytes("1g") == 1024LL * 1024 * 1024);
    CHECK(str::parse_bytes("1GB") == 1024LL * 1024 * 1024);
    CHECK(str::parse_bytes("100k") == 100 * 1024);
    CHECK(str::parse_bytes("2048") == 2048);
    CHECK(str::parse_bytes("2048b") == 2048);
    CHECK(str::parse_bytes("1.5k") == 1536);
    CHECK_FALSE(str::parse_bytes("abc"));
    CHECK_FALSE(str::parse_bytes("-1m"));
    CHECK_FALSE(str::parse_bytes(""));
    CHECK_FALSE(str::parse_bytes("12q"));
}

TEST_CASE("human_size matches Docker's decimal sizes") {
    CHECK(str::human_size(0) == "0B");
    CHECK(str::human_size(999) == "999B");
    CHECK(str::human_size(4260000) == "4.26MB");
    CHECK(str::human_size(1000) == "1kB");
    CHECK(str::human_size(123456789) == "123.5MB");
}

TEST_CASE("Go durations parse and print") {
    CHECK(str::parse_duration_ns("10s") == 10'000'000'000LL);
    CHECK(str::parse_duration_ns("1m30s") == 90'000'000'000LL);
    CHECK(str::parse_duration_ns("500ms") == 500'000'000LL);
    CHECK(str::parse_duration_ns("1.5s") == 1'500'000'000LL);
    CHECK(str::parse_duration_ns("0") == 0);
    CHECK_FALSE(str::parse_duration_ns("10"));
    CHECK_FALSE(str::parse_duration_ns("s"));
    CHECK_FALSE(str::parse_duration_ns("10x"));
    CHECK(str::format_duration_ns(90'000'000'000LL) == "1m30s");
    CHECK(str::format_duration_ns(10'000'000'000LL) == "10s");
    CHECK(str::format_duration_ns(500'000'000LL) == "500ms");
    CHECK(str::format_duration_ns(1'500'000'000LL) == "1.5s");
    CHECK(str::format_duration_ns(0) == "0s");
}

TEST_CASE("human durations as docker ps prints them") {
    CHECK(str::human_duration_ns(500'000'000LL) == "Less than a second");
    CHECK(str::human_duration_ns(1'000'000'000LL) == "1 second");
    CHECK(str::human_duration_ns(45'000'000'000LL) == "45 seconds");
    CHECK(str::human_duration_ns(61'000'000'000LL) == "About a minute");
    CHECK(str::human_duration_ns(5 * 60'000'000'000LL) == "5 minutes");
    CHECK(str::human_duration_ns(3 * 3600'000'000'000LL) == "3 hours");
}

TEST_CASE("split, trim, join, quote") {
    CHECK(str::split("a,b,,c", ',') == std::vector<std::string>{"a", "b", "", "c"});
    auto [k, v] = str::split_once("A=b=c", '=');
    CHECK(k == "A");
    CHECK(v == "b=c");
    CHECK_FALSE(str::split_once("A", '=').second);
    CHECK(str::trim("  x \n") == "x");
    CHECK(str::join({"a", "b"}, ", ") == "a, b");
    CHECK(str::shell_quote("abc") == "abc");
    CHECK(str::shell_quote("a b") == "'a b'");
    CHECK(str::shell_quote("it's") == "'it'\\''s'");
    CHECK(str::valid_object_name("web_1.a-b"));
    CHECK_FALSE(str::valid_object_name("-web"));
    CHECK_FALSE(str::valid_object_name("we b"));
    CHECK(str::parse_int("42") == 42);
    CHECK_FALSE(str::parse_int("42x"));
}
