// The template language against Go's text/template + docker/cli behaviour, as tables of
// (template, expected output) and (template, expected error), the way compose-go tests its own
// template engine.
#include <catch2/catch.hpp>

#include "cli/output.hpp"
#include "sys/error.hpp"

using berth::Errc;
using berth::ojson;
using berth::cli::render_template;
using berth::cli::Template;

namespace {

const ojson& data() {
    static const ojson d = ojson::parse(R"({
        "ID": "abc123", "Names": "web-1", "Image": "nginx:latest",
        "Labels": "com.docker.compose.project=demo,com.docker.compose.service=web,flag",
        "Num": 42, "Float": 1.5, "Big": 1000000.0, "Neg": -3, "Third": 0.0001, "Tiny": 0.00001,
        "True": true, "False": false, "Null": null,
        "Arr": ["a", "b", "c"], "Empty": [], "Obj": {"b": 2, "a": 1}, "EmptyObj": {}, "Str": "",
        "Html": "<a&b>", "Mixed": [1, "x", null, 2.5, {"k": [true]}],
        "Config": {"Env": ["A=1", "B=<x>"], "Labels": {"com.docker.compose.project": "demo"}, "Cmd": null},
        "State": {"Running": true, "ExitCode": 0, "Pid": 1234, "Health": null},
        "NetworkSettings": {"Networks": {"z_net": {"IPAddress": "172.18.0.3"}, "a_net": {"IPAddress": "172.17.0.2"}}}
    })");
    return d;
}

std::string render(const std::string& t) { return render_template(t, data()); }

}  // namespace

TEST_CASE("template: fields, values and Go's %v printing") {
    struct Case {
        const char* tmpl;
        const char* want;
    };
    const Case cases[] = {
        {"{{.ID}}", "abc123"},
        {"plain text", "plain text"},
        {"", ""},
        {"{{.Missing}}", "<no value>"},
        {"{{.Missing.Deeper}}", "<no value>"},
        {"{{.Null}}", "<nil>"},
        {"{{.State.Health.Status}}", "<no value>"},
        {"{{.Num}}", "42"},
        {"{{.Neg}}", "-3"},
        {"{{.Float}}", "1.5"},
        {"{{.Big}}", "1e+06"},
        {"{{.Third}}", "0.0001"},
        {"{{.Tiny}}", "1e-05"},
        {"{{.True}} {{.False}}", "true false"},
        {"{{.Arr}}", "[a b c]"},
        {"{{.Empty}}", "[]"},
        {"{{.Obj}}", "map[a:1 b:2]"},
        {"{{.EmptyObj}}", "map[]"},
        {"{{.Mixed}}", "[1 x <nil> 2.5 map[k:[true]]]"},
        {"{{.State.Running}}", "true"},
        {"{{.State.ExitCode}}", "0"},
        {"{{.Config.Labels}}", "map[com.docker.compose.project:demo]"},
        {"{{$.ID}}", "abc123"},
        {"{{with .State}}{{$.ID}}/{{.Pid}}{{end}}", "abc123/1234"},
        {"{{\"quoted\\tx\"}}", "quoted\tx"},
        {"{{`raw\\n`}}", "raw\\n"},
        {"{{'a'}}", "97"},
        {"{{0x10}} {{0o17}} {{0b101}} {{017}} {{1_000}}", "16 15 5 15 1000"},
        {"{{1e3}} {{1.50}} {{-7}} {{+2}}", "1000 1.5 -7 2"},
        {"{{true}}", "true"},
    };
    for (const auto& c : cases) {
        INFO(c.tmpl);
        CHECK(render(c.tmpl) == c.want);
    }
}

TEST_CASE("template: functions") {
    struct Case {
        const char* tmpl;
        const char* want;
    };
    const Case cases[] = {
        // docker/cli's functions
        {"{{json .Arr}}", R"(["a","b","c"])"},
        {"{{json .Obj}}", R"({"b":2,"a":1})"},
        {"{{json .Html}}", R"("<a&b>")"},  // SetEscapeHTML(false), as docker/cli
        {"{{json .Missing}}", "null"},
        {"{{json .Null}}", "null"},
        {"{{json .Big}}", "1000000"},
        {"{{json .Config.Env}}", R"(["A=1","B=<x>"])"},
        {"{{json .State}}", R"({"Running":true,"ExitCode":0,"Pid":1234,"Health":null})"},
        {"{{upper .Names}} {{lower \"MiXeD\"}}", "WEB-1 mixed"},
        {"{{title \"hello world-foo bar_baz\"}}", "Hello World-Foo Bar_baz"},
        {"{{join .Arr \", \"}}", "a, b, c"},
        {"{{join .Empty \",\"}}", ""},
        {"{{split .Image \":\"}}", "[nginx latest]"},
        {"{{split \"abc\" \"\"}}", "[a b c]"},
        {"{{len (split \"\" \",\")}}", "1"},
        {"{{index (split .Image \":\") 0}}", "nginx"},
        {"{{truncate .ID 3}}", "abc"},
        {"{{truncate .ID 20}}", "abc123"},
        {"{{truncate .ID 0}}", ""},
        {"{{pad .Names 2 1}}|", "  web-1 |"},
        {"{{pad .Str 2 1}}|", "|"},
        // text/template builtins
        {"{{index .Config.Labels \"com.docker.compose.project\"}}", "demo"},
        {"{{index .Config.Labels \"nope\"}}", ""},  // map[string]string's zero value
        {"{{index .NetworkSettings.Networks \"nope\"}}", "<no value>"},
        {"{{index .Arr 1}}", "b"},
        {"{{index .Mixed 4 \"k\" 0}}", "true"},
        {"{{index .Names 0}}", "119"},
        {"{{(index .NetworkSettings.Networks \"a_net\").IPAddress}}", "172.17.0.2"},
        {"{{len .Arr}} {{len .Names}} {{len .Obj}} {{len .Empty}}", "3 5 2 0"},
        {"{{slice .Arr 1 2}} {{slice .Names 0 3}} {{slice .Arr 2}}", "[b] web [c]"},
        {"{{print .Names .Num}}", "web-142"},
        {"{{print 1 2 \"x\" 3}}", "1 2x3"},
        {"{{println .Names .Num}}", "web-1 42\n"},
        {"{{html \"<a href='x'>&\"}}", "&lt;a href=&#39;x&#39;&gt;&amp;"},
        {"{{urlquery \"a b&c\"}}", "a+b%26c"},
        {"{{js \"it's <b>\"}}", "it\\'s \\u003Cb\\u003E"},
        {"{{not .True}} {{not .Str}}", "false true"},
        {"{{and .True .Num}}|{{and .True .Str}}|{{and 1 0 2}}", "42||0"},
        {"{{or .Str .Names}}|{{or .Missing .Null}}|{{or 0 \"\"}}", "web-1|<nil>|"},
        {"{{and .False .Missing.X}}", "false"},
        // comparisons
        {"{{eq .Names \"x\" \"web-1\"}}", "true"},
        {"{{eq .Num 1 2 3}}", "false"},
        {"{{eq .Num 42}} {{ne .Num 42}}", "true false"},
        {"{{eq .Float 1.5}} {{eq .Num 42.0}}", "true true"},
        {"{{eq .Missing .Null}} {{eq .Null 1}}", "true false"},
        {"{{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1.5 2}} {{lt .Num 100.5}} {{lt -1 0}}", "true true true false true true"},
        // printf
        {"{{printf \"%s:%d\" .Names .Num}}", "web-1:42"},
        {"{{printf \"%5s|%-5s|\" \"ab\" \"cd\"}}", "   ab|cd   |"},
        {"{{printf \"%q\" .Names}}", "\"web-1\""},
        {"{{printf \"%q\" \"a\\\"b\\n\"}}", R"("a\"b\n")"},
        {"{{printf \"%v %t %%\" .Arr .True}}", "[a b c] true %"},
        {"{{printf \"%.2f|%6.2f|%e|%g\" .Float 3.14159 1234.5678 0.5}}", "1.50|  3.14|1.234568e+03|0.5"},
        {"{{printf \"%05d|%+d|%x|%X|%o|%b|%#x\" .Num 5 255 255 8 5 255}}", "00042|+5|ff|FF|10|101|0xff"},
        {"{{printf \"%d\" .Names}}", "%!d(string=web-1)"},
        {"{{printf \"%s\" .Num}}", "%!s(int=42)"},
        {"{{printf \"%s\"}}", "%!s(MISSING)"},
        {"{{printf \"%s\" .Names .Num}}", "web-1%!(EXTRA int=42)"},
        {"{{printf \"%s\" .Missing}}", "%!s(<nil>)"},
        {"{{printf \"%v\" .Null}}", "<nil>"},
        {"{{printf \"%.3s\" .Image}}", "ngi"},
        {"{{printf \"%T %T %T\" .Num .Arr .Names}}", "int []interface {} string"},
        {"{{printf \"%s\" .Arr}}", "[a b c]"},
        {"{{printf \"%d\" .Arr}}", "[%!d(string=a) %!d(string=b) %!d(string=c)]"},
        {"{{printf \"%[2]s %[1]s\" \"a\" \"b\"}}", "b a"},
        {"{{printf \"%*d\" 4 7}}", "   7"},
        {"{{printf \"%\"}}", "%!(NOVERB)"},
        {"{{printf \"%c%c\" 72 105}}", "Hi"},
        // .Label reads Docker's "k=v,k2=v2" labels text (ps/images/volumes contexts)
        {"{{.Label \"com.docker.compose.service\"}}", "web"},
        {"{{.Label \"com.docker.compose.project\"}}", "demo"},
        {"{{.Label \"nope\"}}|{{.Label \"flag\"}}", "|"},
        {"{{\"com.docker.compose.project\" | .Label}}", "demo"},
    };
    for (const auto& c : cases) {
        INFO(c.tmpl);
        CHECK(render(c.tmpl) == c.want);
    }
}

TEST_CASE("template: .Label on an object of labels") {
    ojson item = {{"Labels", {{"com.docker.compose.project", "p"}, {"x", "1"}}}};
    CHECK(render_template("{{.Label \"com.docker.compose.project\"}}-{{.Label \"y\"}}", item) == "p-");
    CHECK(render_template("{{.Label \"x\"}}", ojson::object()) == "");
}

TEST_CASE("template: control structures, variables and whitespace trimming") {
    struct Case {
        const char* tmpl;
        const char* want;
    };
    const Case cases[] = {
        {"{{if .True}}yes{{else}}no{{end}}", "yes"},
        {"{{if .Str}}yes{{else}}no{{end}}", "no"},
        {"{{if .Null}}y{{else}}n{{end}}{{if .Empty}}y{{else}}n{{end}}{{if .EmptyObj}}y{{else}}n{{end}}", "nnn"},
        {"{{if .Missing}}y{{else}}n{{end}}{{if .Num}}y{{end}}{{if .Float}}y{{end}}{{if 0}}y{{end}}", "nyy"},
        {"{{if eq .Num 0}}zero{{else if eq .Num 42}}answer{{else}}other{{end}}", "answer"},
        {"{{if eq .Num 0}}zero{{else if eq .Num 1}}one{{else}}other{{end}}", "other"},
        {"{{if and .True (gt .Num 10)}}big{{end}}", "big"},
        {"{{range .Arr}}[{{.}}]{{end}}", "[a][b][c]"},
        {"{{range $i, $v := .Arr}}{{$i}}={{$v}} {{end}}", "0=a 1=b 2=c "},
        {"{{range $v := .Arr}}{{$v}}{{end}}", "abc"},
        {"{{range $k, $v := .Obj}}{{$k}}:{{$v}},{{end}}", "a:1,b:2,"},
        {"{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "172.17.0.2172.18.0.3"},
        {"{{range $name, $n := .NetworkSettings.Networks}}{{$name}}={{$n.IPAddress}} {{end}}", "a_net=172.17.0.2 z_net=172.18.0.3 "},
        {"{{range .Empty}}x{{else}}none{{end}}", "none"},
        {"{{range .Missing}}x{{else}}none{{end}}", "none"},
        {"{{range .Null}}x{{else}}none{{end}}", "none"},
        {"{{range .Arr}}{{if eq . \"b\"}}{{break}}{{end}}{{.}}{{end}}", "a"},
        {"{{range .Arr}}{{if eq . \"b\"}}{{continue}}{{end}}{{.}}{{end}}", "ac"},
        {"{{range 3}}{{.}}{{end}}", "012"},
        {"{{range .Arr}}{{$.ID}}{{end}}", "abc123abc123abc123"},
        {"{{range $i, $e := .Arr}}{{range $.Arr}}{{$i}}{{end}}{{end}}", "000111222"},
        {"{{with .State}}{{.Pid}}{{end}}", "1234"},
        {"{{with .Missing}}x{{else}}none{{end}}", "none"},
        {"{{with .Missing}}x{{else with .Names}}{{.}}{{end}}", "web-1"},
        {"{{with $x := .Num}}{{$x}}{{end}}", "42"},
        {"{{$x := .Names}}{{$x}}", "web-1"},
        {"{{$x := 1}}{{$x = 2}}{{$x}}", "2"},
        {"{{$x := 1}}{{if true}}{{$x = 3}}{{end}}{{$x}}", "3"},
        {"{{$n := len .Arr}}{{if gt $n 2}}many{{end}}", "many"},
        {"{{.Names | upper}}", "WEB-1"},
        {"{{.Names | printf \"%s!\"}}", "web-1!"},
        {"{{.Arr | len}}", "3"},
        {"{{.Image | split \":\" | len}}", "1"},  // split ":" "nginx:latest": the piped value is the separator
        {"{{.Config.Env | json}}", R"(["A=1","B=<x>"])"},
        {"{{(.Names)}}", "web-1"},
        {"a  {{- .ID -}}  b", "aabc123b"},
        {"a\n\t{{- .ID}}\n", "aabc123\n"},
        {"{{.ID -}}\n  \n b", "abc123b"},
        {"{{- /* comment */ -}} x", "x"},
        {"a {{/* c */}} b", "a  b"},
        {"{{-3}}", "-3"},
        {"{{.ID}}\n{{.Names}}", "abc123\nweb-1"},
    };
    for (const auto& c : cases) {
        INFO(c.tmpl);
        CHECK(render(c.tmpl) == c.want);
    }
}

TEST_CASE("template: syntax errors are reported as Go reports them") {
    struct Case {
        const char* tmpl;
        const char* msg;
    };
    const Case cases[] = {
        {"{{.ID}", "template: :1: unexpected \"}\" in operand"},
        {"{{.ID", "template: :1: unclosed action"},
        {"{{if .X}}", "template: :1: unexpected EOF"},
        {"{{end}}", "template: :1: unexpected {{end}}"},
        {"{{else}}", "template: :1: unexpected {{else}}"},
        {"{{foo .X}}", "template: :1: function \"foo\" not defined"},
        {"{{$x}}", "template: :1: undefined variable \"$x\""},
        {"{{if true}}{{$x := 1}}{{end}}{{$x}}", "undefined variable \"$x\""},
        {"{{}}", "template: :1: missing value for command"},
        {"{{range}}{{end}}", "template: :1: missing value for range"},
        {"{{if}}{{end}}", "template: :1: missing value for if"},
        {"{{\"abc}}", "template: :1: unterminated quoted string"},
        {"{{`abc}}", "unterminated raw quoted string"},
        {"{{(.X}}", "template: :1: unclosed left paren"},
        {"{{.X)}}", "template: :1: unexpected \")\" in command"},
        {"{{.X | 3}}", "template: :1: non executable command in pipeline stage 2"},
        {"{{break}}", "template: :1: {{break}} outside {{range}}"},
        {"{{.X.}}", "template: :1: unexpected <.> in operand"},
        {"{{3.X}}", "bad number syntax: \"3.X\""},
        {"{{.a-b}}", "template: :1: bad character U+002D '-'"},
        {"{{/* x }}", "template: :1: unclosed comment"},
        {"{{/* x */ .ID}}", "template: :1: comment ends before closing delimiter"},
        {"{{\"a\".X}}", "unexpected . after term \"\\\"a\\\"\""},
        {"{{if .X}}a{{else}}b{{else}}c{{end}}", "template: :1: expected end; found {{else}}"},
        {"{{range $a, $b, $c := .X}}{{end}}", "too many declarations in range"},
        {"{{with $x, $y := .X}}{{end}}", "too many declarations in with"},
        {"{{end x}}", "template: :1: unexpected \"x\" in end"},
        {"{{\"\\q\"}}", "template: :1: invalid syntax"},
        {"line1\n{{.X}\n", "template: :2: unexpected \"}\" in operand"},
        {"{{.X ! .Y}}", "unexpected \"!\" in operand"},
        {"{{define \"x\"}}{{end}}", "not supported"},
    };
    for (const auto& c : cases) {
        INFO(c.tmpl);
        try {
            Template t(c.tmpl);
            FAIL("parsed without error");
        } catch (const berth::Error& e) {
            CHECK(e.kind() == Errc::invalid);
            std::string what = e.what();
            CHECK(what.rfind("template parsing error: ", 0) == 0);
            CHECK_THAT(what, Catch::Matchers::Contains(c.msg));
        }
    }
}

TEST_CASE("template: execution errors name the position and the failing action") {
    struct Case {
        const char* tmpl;
        const char* msg;
    };
    const Case cases[] = {
        {"{{.Names.Foo}}", "template: :1:8: executing \"\" at <.Names.Foo>: can't evaluate field Foo in type string"},
        {"{{.Arr.X}}", "can't evaluate field X in type []interface {}"},
        {"{{index .Arr 5}}", "template: :1:2: executing \"\" at <index .Arr 5>: error calling index: index out of range: 5"},
        {"{{index .Arr \"x\"}}", "error calling index: cannot index slice/array with type string"},
        {"{{index .Num 1}}", "error calling index: can't index item of type int"},
        {"{{index .Missing 1}}", "error calling index: index of untyped nil"},
        {"{{index .Obj 1}}", "error calling index: value has type int; should be string"},
        {"{{upper .Num}}", "wrong type for value; expected string; got int"},
        {"{{upper .Missing}}", "invalid value; expected string"},
        {"{{join .Names \",\"}}", "wrong type for value; expected []string; got string"},
        {"{{truncate .ID \"x\"}}", "wrong type for value; expected int; got string"},
        {"{{.Names 1}}", "Names is not a method but has arguments"},
        {"{{1 2}}", "can't give argument to non-function 1"},
        {"{{nil}}", "nil is not a command"},
        {"{{range .Names}}{{end}}", "range can't iterate over web-1"},
        {"{{eq .Arr .Arr}}", "error calling eq: non-comparable type"},
        {"{{eq .Names 1}}", "error calling eq: incompatible types for comparison"},
        {"{{lt .True 1}}", "error calling lt: invalid type for comparison"},
        {"{{eq .Num}}", "error calling eq: missing argument for comparison"},
        {"{{len .Num}}", "error calling len: len of type int"},
        {"{{printf}}", "wrong number of args for printf: want at least 1 got 0"},
        {"{{upper}}", "wrong number of args for upper: want 1 got 0"},
        {"{{.Label}}x{{.Label 1 2}}", "wrong number of args for Label: want 1 got 2"},
        {"{{slice .Arr 2 1}}", "error calling slice: invalid slice index: 2 > 1"},
        {"x\n  {{.Num.Y}}", "template: :2:8: executing \"\" at <.Num.Y>: can't evaluate field Y in type int"},
    };
    for (const auto& c : cases) {
        INFO(c.tmpl);
        Template t(c.tmpl);  // parses
        try {
            t.render(data());
            FAIL("rendered without error");
        } catch (const berth::Error& e) {
            CHECK(e.kind() == Errc::invalid);
            CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains(c.msg));
        }
    }
}

TEST_CASE("template: a parsed template renders many items") {
    Template t("{{.A}}-{{len .B}}");
    CHECK(t.render(ojson{{"A", "x"}, {"B", ojson::array({1, 2})}}) == "x-2");
    CHECK(t.render(ojson{{"A", 1}, {"B", "abc"}}) == "1-3");
    Template moved = std::move(t);
    CHECK(moved.render(ojson{{"A", true}, {"B", ojson::object()}}) == "true-0");
}

TEST_CASE("template: table headers render against the column titles as docker/cli does") {
    ojson headers = {{"ID", "CONTAINER ID"}, {"Names", "NAMES"}, {"Labels", "LABELS"}};
    auto header = [&](const char* t) { return Template(t).render_header(headers); };
    CHECK(header("{{.ID}}\t{{.Names}}\t{{.Status}}") == "CONTAINER ID\tNAMES\tSTATUS");
    CHECK(header("{{.Label \"com.docker.compose.project\"}}") == "project");
    CHECK(header("{{.Label \"com.example.my-label_x\"}}") == "my label x");
    CHECK(header("{{json .Labels}}|{{upper .Names}}|{{lower .ID}}|{{truncate .ID 2}}|{{join .Names \",\"}}") ==
          "LABELS|NAMES|CONTAINER ID|CONTAINER ID|NAMES");
    CHECK(header("{{pad .Names 1 1}}") == " NAMES ");  // pad is not overridden (alignment)
    CHECK(header("{{.State.Running}}") == "RUNNING");
    // an error stops the header where it happened, without failing the listing
    CHECK(header("{{.ID}} {{range .Names}}{{end}}x") == "CONTAINER ID ");
    CHECK(Template("{{.ID}}").render_header(ojson()) == "ID");
}

TEST_CASE("go_json: encoding/json's output") {
    using berth::cli::go_json;
    CHECK(go_json(ojson::parse(R"({"b":[1,2.5,null,true],"a":"x","e":{},"f":[]})")) == R"({"b":[1,2.5,null,true],"a":"x","e":{},"f":[]})");
    CHECK(go_json(ojson(1e6)) == "1000000");
    CHECK(go_json(ojson(1e21)) == "1e+21");
    CHECK(go_json(ojson(1e20)) == "100000000000000000000");
    CHECK(go_json(ojson(1e-7)) == "1e-7");
    CHECK(go_json(ojson(0.000001)) == "0.000001");
    CHECK(go_json(ojson(-0.0)) == "-0");
    CHECK(go_json(ojson(0.1)) == "0.1");
    CHECK(go_json(ojson(std::uint64_t(18446744073709551615ull))) == "18446744073709551615");
    CHECK(go_json(ojson("<>&\"\\\n\t\x01\x7f\b\f")) == "\"<>&\\\"\\\\\\n\\t\\u0001\x7f\\b\\f\"");
    CHECK(go_json(ojson("\xe2\x80\xa8 \xff caf\xc3\xa9")) == "\"\\u2028 \\ufffd caf\xc3\xa9\"");
    CHECK(go_json(ojson::parse(R"({"a":[1,{"b":[]}]})"), "    ") ==
          "{\n    \"a\": [\n        1,\n        {\n            \"b\": []\n        }\n    ]\n}");
}
