// Interpolation as a table of templates (as compose-go's template_test.go): valid ones with
// their result, invalid ones with their error.
#include <catch2/catch.hpp>

#include <map>

#include "compose/interpolate.hpp"

using namespace berth::compose;

namespace {
const std::map<std::string, std::string> env = {
    {"FOO", "first"}, {"BAR", ""}, {"NUM", "42"}, {"lower", "lo"}, {"NESTED", "${FOO}"},
};
Lookup lookup = [](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    if (it == env.end()) return std::nullopt;
    return it->second;
};
}  // namespace

TEST_CASE("interpolation: valid templates") {
    struct Row {
        const char* in;
        const char* out;
    };
    const Row rows[] = {
        {"plain", "plain"},
        {"$FOO", "first"},
        {"${FOO}", "first"},
        {"a${FOO}b", "afirstb"},
        {"$FOO-$NUM", "first-42"},
        {"$lower", "lo"},
        {"${UNSET:-default}", "default"},
        {"${BAR:-default}", "default"},
        {"${BAR-default}", ""},
        {"${UNSET-default}", "default"},
        {"${FOO:-default}", "first"},
        {"${FOO:+alt}", "alt"},
        {"${BAR:+alt}", ""},
        {"${BAR+alt}", "alt"},
        {"${UNSET+alt}", ""},
        {"${FOO?must}", "first"},
        {"${BAR?must}", ""},
        {"${FOO:?must}", "first"},
        {"${UNSET:-${FOO}}", "first"},
        {"${UNSET:-${ALSO_UNSET:-deep}}", "deep"},
        {"${UNSET:-a ${FOO} b}", "a first b"},
        {"${FOO:-${UNSET:?not evaluated}}", "first"},
        {"$$FOO", "$FOO"},
        {"$${FOO}", "${FOO}"},
        {"$$$FOO", "$first"},
        {"cost: $ 5", "cost: $ 5"},
        {"$1 and a$", "$1 and a$"},
        {"${UNSET:-{braces}}", "{braces}"},
        {"${NESTED}", "${FOO}"},  // values are not interpolated again
        {"${UNSET:-}", ""},
        {"${UNSET}", ""},
    };
    for (auto& r : rows) {
        INFO(r.in);
        auto s = substitute(r.in, lookup);
        CHECK_FALSE(s.error);
        CHECK(s.value == r.out);
    }
}

TEST_CASE("interpolation: invalid templates and missing required variables") {
    struct Row {
        const char* in;
        const char* error;
    };
    const Row rows[] = {
        {"${FOO", "invalid interpolation format for \"${FOO\": you may need to escape any $ with another $"},
        {"${}", "invalid interpolation format for \"${}\": you may need to escape any $ with another $"},
        {"${1FOO}", "invalid interpolation format for \"${1FOO}\": you may need to escape any $ with another $"},
        {"${FOO/a/b}", "invalid interpolation format for \"${FOO/a/b}\": you may need to escape any $ with another $"},
        {"${FOO:}", "invalid interpolation format for \"${FOO:}\": you may need to escape any $ with another $"},
        {"${FOO:=x}", "invalid interpolation format for \"${FOO:=x}\": you may need to escape any $ with another $"},
        {"${#FOO}", "invalid interpolation format for \"${#FOO}\": you may need to escape any $ with another $"},
        {"${UNSET?}", "required variable UNSET is missing a value"},
        {"${UNSET?set it}", "required variable UNSET is missing a value: set it"},
        {"${BAR:?empty is not enough}", "required variable BAR is missing a value: empty is not enough"},
        {"${UNSET:?in $FOO}", "required variable UNSET is missing a value: in first"},
        {"${UNSET:-${INNER:?inner}}", "required variable INNER is missing a value: inner"},
    };
    for (auto& r : rows) {
        INFO(r.in);
        auto s = substitute(r.in, lookup);
        REQUIRE(s.error);
        CHECK(*s.error == r.error);
    }
}

TEST_CASE("interpolation: unset variables are reported once each") {
    auto s = substitute("$A ${A} ${B} ${C:-x} ${D-y}", lookup);
    CHECK(s.value == "   x y");
    CHECK(s.unset == std::vector<std::string>{"A", "B"});
    CHECK(unset_variable_warning("A") == "The \"A\" variable is not set. Defaulting to a blank string.");
}

TEST_CASE("interpolate_tree changes values, never keys, and reports with positions") {
    Problems problems;
    Warnings warnings;
    auto file = std::make_shared<const std::string>("f.yaml");
    Node root = Node::mapping(Pos{file, 1, 1});
    Node& labels = root.set("labels", Node::mapping(Pos{file, 2, 1}));
    labels.set("$FOO", Node::scalar("$FOO", Pos{file, 3, 8}));
    root.set("bad", Node::scalar("${X:?needed}", Pos{file, 4, 6}));
    Node list = Node::sequence(Pos{file, 5, 1});
    list.items.push_back(Node::scalar("${NOPE}", Pos{file, 6, 5}));
    root.set("list", list);
    interpolate_tree(root, lookup, problems, warnings);
    REQUIRE(root.find("labels")->find("$FOO"));
    CHECK(root.find("labels")->find("$FOO")->value == "first");
    CHECK(problems.text() == "f.yaml:4: bad: required variable X is missing a value: needed");
    CHECK(root.find("list")->items[0].value == "");
    CHECK(warnings.list() == std::vector<std::string>{unset_variable_warning("NOPE")});
}
