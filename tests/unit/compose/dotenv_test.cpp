#include <catch2/catch.hpp>

#include "compose/dotenv.hpp"

using namespace berth::compose;

namespace {
EnvMap parse(const std::string& text, std::string* errors = nullptr, std::map<std::string, std::string> os = {}) {
    Problems problems;
    Warnings warnings;
    Lookup lookup = [&os](const std::string& k) -> std::optional<std::string> {
        auto it = os.find(k);
        if (it == os.end()) return std::nullopt;
        return it->second;
    };
    auto out = parse_dotenv(text, std::make_shared<const std::string>(".env"), lookup, problems, warnings);
    if (errors) *errors = problems.text();
    else CHECK(problems.empty());
    return out;
}
}  // namespace

TEST_CASE("dotenv: Docker's syntax, line by line") {
    struct Row {
        const char* line;
        const char* key;
        const char* value;
    };
    const Row rows[] = {
        {"VAR=VAL", "VAR", "VAL"},
        {"VAR=\"VAL\"", "VAR", "VAL"},
        {"VAR='VAL'", "VAR", "VAL"},
        {"VAR=VAL # comment", "VAR", "VAL"},
        {"VAR=VAL# not a comment", "VAR", "VAL# not a comment"},
        {"VAR=\"VAL # not a comment\"", "VAR", "VAL # not a comment"},
        {"VAR=\"VAL\" # comment", "VAR", "VAL"},
        {"VAR='$OTHER'", "VAR", "$OTHER"},
        {"VAR='${OTHER}'", "VAR", "${OTHER}"},
        {"VAR='Let\\'s go!'", "VAR", "Let's go!"},
        {"VAR=\"{\\\"hello\\\": \\\"json\\\"}\"", "VAR", "{\"hello\": \"json\"}"},
        {"VAR=\"some\\tvalue\"", "VAR", "some\tvalue"},
        {"VAR='some\\tvalue'", "VAR", "some\\tvalue"},
        {"VAR=some\\tvalue", "VAR", "some\\tvalue"},
        {"VAR=\"a\\nb\"", "VAR", "a\nb"},
        {"VAR=\"back\\\\slash\"", "VAR", "back\\slash"},
        {"VAR=", "VAR", ""},
        {"VAR=  spaced  ", "VAR", "spaced"},
        {"export VAR=exported", "VAR", "exported"},
        {"  VAR  =  x", "VAR", "x"},
        {"dotted.name=1", "dotted.name", "1"},
        {"VAR=\"price \\$5\"", "VAR", "price $5"},
        {"VAR=price \\$5", "VAR", "price $5"},
        {"VAR=a=b=c", "VAR", "a=b=c"},
    };
    for (auto& r : rows) {
        INFO(r.line);
        auto env = parse(r.line);
        REQUIRE(env.count(r.key));
        CHECK(env.at(r.key) == r.value);
        CHECK(env.size() == 1);
    }
}

TEST_CASE("dotenv: comments, blank lines, multi-line values and interpolation") {
    auto env = parse(
        "# comment\n"
        "\n"
        "A=1\n"
        "B=${A}2\n"
        "C=\"$A and ${UNSET:-dflt}\"\n"
        "D='$A'\n"
        "E=\"line1\n"
        "line2\"\n"
        "F=${FROM_OS}\n"
        "FROM_OS=overridden-in-file\n"
        "G=$FROM_OS\n",
        nullptr, {{"FROM_OS", "os"}});
    CHECK(env.at("A") == "1");
    CHECK(env.at("B") == "12");
    CHECK(env.at("C") == "1 and dflt");
    CHECK(env.at("D") == "$A");
    CHECK(env.at("E") == "line1\nline2");
    CHECK(env.at("F") == "os");
    // Variables defined earlier in the file come before the lookup.
    CHECK(env.at("G") == "overridden-in-file");
}

TEST_CASE("dotenv: a bare name is inherited, and left out when unset") {
    auto env = parse("INHERITED\nMISSING\n", nullptr, {{"INHERITED", "yes"}});
    CHECK(env == EnvMap{{"INHERITED", "yes"}});
}

TEST_CASE("dotenv: errors name the file and line") {
    std::string errors;
    parse("OK=1\nBAD KEY=1\nQ=\"open\nX=1\n", &errors);
    CHECK(errors ==
          ".env:2: variable name \"BAD KEY\" cannot contain a space\n"
          ".env:3: unterminated quoted value for Q");
    parse("A=${B:?B is required}\n", &errors);
    CHECK(errors == ".env:1: required variable B is missing a value: B is required");
    parse("K$Y=1\n", &errors);
    CHECK(errors == ".env:1: unexpected character \"$\" in variable name \"K$Y\"");
    parse("=value\n", &errors);
    CHECK(errors == ".env:1: missing variable name");
}

TEST_CASE("dotenv: raw format takes values as written") {
    Problems problems;
    auto env = parse_dotenv_raw("A=\"quoted\" $X # not a comment\n# comment\nB=\n  C=x=y\n",
                                std::make_shared<const std::string>("raw.env"), problems);
    CHECK(problems.empty());
    CHECK(env == EnvMap{{"A", "\"quoted\" $X # not a comment"}, {"B", ""}, {"C", "x=y"}});
}
