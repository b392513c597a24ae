// Listing and inspect output in each --format mode, with Docker's own default formats.
#include <catch2/catch.hpp>

#include "cli/output.hpp"
#include "sys/error.hpp"

using berth::Errc;
using berth::ojson;
using berth::cli::format_inspect;
using berth::cli::format_list;
using berth::cli::ListFormat;
using berth::cli::Table;

namespace {

// docker ps's default table and column titles (docker/cli formatter/container.go)
ListFormat ps_format() {
    ListFormat f;
    f.default_table = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
    f.headers = {{"ID", "CONTAINER ID"}, {"Image", "IMAGE"},   {"Command", "COMMAND"}, {"RunningFor", "CREATED"},
                 {"Status", "STATUS"},   {"Ports", "PORTS"},   {"Names", "NAMES"},     {"Labels", "LABELS"}};
    return f;
}

std::vector<ojson> containers() {
    return {
        ojson{{"ID", "3f4e8a2b1c9d"}, {"Image", "nginx:latest"}, {"Command", "\"/docker-entrypoint.\xe2\x80\xa6\""},
              {"RunningFor", "2 minutes ago"}, {"Status", "Up 2 minutes"}, {"Ports", "0.0.0.0:8080->80/tcp"},
              {"Names", "demo-web-1"}, {"Labels", "com.docker.compose.project=demo,com.docker.compose.service=web"}},
        ojson{{"ID", "a1b2c3d4e5f6"}, {"Image", "redis"}, {"Command", "\"docker-entrypoint.s\xe2\x80\xa6\""},
              {"RunningFor", "About an hour ago"}, {"Status", "Exited (0) 5 seconds ago"}, {"Ports", ""},
              {"Names", "demo-redis-1"}, {"Labels", "com.docker.compose.project=demo,com.docker.compose.service=redis"}},
    };
}

// A cell padded to a column width given in display columns (the ellipsis is one column).
std::string cell(const std::string& s, size_t width, size_t shown) { return s + std::string(width - shown, ' '); }

}  // namespace

TEST_CASE("Table: columns as wide as the widest cell plus 3, at least 10, last column unpadded") {
    Table t;
    t.add({"NAME", "DRIVER", "SCOPE"});
    t.add({"bridge", "bridge", "local"});
    t.add({"a-much-longer-network", "null", "local"});
    CHECK(t.str() ==
          "NAME                    DRIVER    SCOPE\n"
          "bridge                  bridge    local\n"
          "a-much-longer-network   null      local\n");
}

TEST_CASE("Table: a line with fewer cells ends the column block, as in text/tabwriter") {
    Table t;
    t.add({"a", "b", "c"});
    t.add({"x"});
    t.add({"long-cell-here", "y", "z"});
    CHECK(t.str() == "a         b         c\nx\nlong-cell-here   y         z\n");
    Table empty;
    CHECK(empty.str().empty());
    Table wide;
    wide.add({"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "x"});  // three wide characters: 6 columns
    wide.add({"abcdefghi", "y"});
    CHECK(wide.str() == "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e      x\nabcdefghi   y\n");
}

TEST_CASE("format_list: the default table is docker ps's") {
    std::string want = cell("CONTAINER ID", 15, 12) + cell("IMAGE", 15, 5) + cell("COMMAND", 25, 7) +
                       cell("CREATED", 20, 7) + cell("STATUS", 27, 6) + cell("PORTS", 23, 5) + "NAMES\n" +
                       cell("3f4e8a2b1c9d", 15, 12) + cell("nginx:latest", 15, 12) +
                       cell("\"/docker-entrypoint.\xe2\x80\xa6\"", 25, 22) + cell("2 minutes ago", 20, 13) +
                       cell("Up 2 minutes", 27, 12) + cell("0.0.0.0:8080->80/tcp", 23, 20) + "demo-web-1\n" +
                       cell("a1b2c3d4e5f6", 15, 12) + cell("redis", 15, 5) +
                       cell("\"docker-entrypoint.s\xe2\x80\xa6\"", 25, 22) + cell("About an hour ago", 20, 17) +
                       cell("Exited (0) 5 seconds ago", 27, 24) + cell("", 23, 0) + "demo-redis-1\n";
    CHECK(format_list(containers(), "", ps_format()) == want);
    CHECK(format_list(containers(), "table", ps_format()) == want);
    // with no items the header is still printed
    CHECK(format_list({}, "", ps_format()) ==
          cell("CONTAINER ID", 15, 12) + cell("IMAGE", 10, 5) + cell("COMMAND", 10, 7) + cell("CREATED", 10, 7) +
              cell("STATUS", 10, 6) + cell("PORTS", 10, 5) + "NAMES\n");
}

TEST_CASE("format_list: table TEMPLATE, with \\t written as two characters") {
    std::string want =
        "NAMES          STATUS\n"
        "demo-web-1     Up 2 minutes\n"
        "demo-redis-1   Exited (0) 5 seconds ago\n";
    CHECK(format_list(containers(), "table {{.Names}}\t{{.Status}}", ps_format()) == want);
    CHECK(format_list(containers(), "table {{.Names}}\\t{{.Status}}", ps_format()) == want);
    CHECK(format_list(containers(), "table   {{.Names}}\\t{{.Status}}  ", ps_format()) == want);
    // fields without a title show their own name; .Label shows the label's last part
    CHECK(format_list(containers(), "table {{.Names}}\\t{{.Label \"com.docker.compose.service\"}}\\t{{.Size}}", ps_format()) ==
          "NAMES          service   SIZE\n"
          "demo-web-1     web       <no value>\n"
          "demo-redis-1   redis     <no value>\n");
}

TEST_CASE("format_list: json and plain templates have no header") {
    auto items = containers();
    std::string json = format_list(items, "json", ps_format());
    auto nl = json.find('\n');
    REQUIRE(nl != std::string::npos);
    CHECK(json.substr(0, nl) ==
          R"({"ID":"3f4e8a2b1c9d","Image":"nginx:latest","Command":"\"/docker-entrypoint.)"
          "\xe2\x80\xa6"
          R"(\"","RunningFor":"2 minutes ago","Status":"Up 2 minutes","Ports":"0.0.0.0:8080->80/tcp","Names":"demo-web-1","Labels":"com.docker.compose.project=demo,com.docker.compose.service=web"})");
    CHECK(std::count(json.begin(), json.end(), '\n') == 2);
    CHECK(ojson::parse(json.substr(nl + 1)) == items[1]);

    CHECK(format_list(items, "{{.Names}}", ps_format()) == "demo-web-1\ndemo-redis-1\n");
    CHECK(format_list(items, "{{.ID}}: {{.Label \"com.docker.compose.project\"}}\\n--", ps_format()) ==
          "3f4e8a2b1c9d: demo\n--\na1b2c3d4e5f6: demo\n--\n");
    CHECK(format_list({}, "{{.Names}}", ps_format()).empty());
    CHECK(format_list({}, "json", ps_format()).empty());
}

TEST_CASE("format_list: a bad template is one clear error and prints nothing") {
    try {
        format_list(containers(), "{{.Names}", ps_format());
        FAIL("no error");
    } catch (const berth::Error& e) {
        CHECK(e.kind() == Errc::invalid);
        CHECK(std::string(e.what()) == "template parsing error: template: :1: unexpected \"}\" in operand");
    }
    // an execution error on the second item fails the whole listing
    std::vector<ojson> items = {ojson{{"A", ojson::array({1})}}, ojson{{"A", 7}}};
    CHECK_THROWS_AS(format_list(items, "{{index .A 0}}", ListFormat{}), berth::Error);
    CHECK(format_list({items[0]}, "{{index .A 0}}", ListFormat{}) == "1\n");
}

TEST_CASE("format_inspect: docker inspect's JSON array and templates") {
    CHECK(format_inspect({}, "") == "[]\n");
    CHECK(format_inspect({}, "json") == "[]\n");
    ojson c = ojson::parse(R"({
        "Id": "abc", "State": {"Running": true, "Pid": 7, "Health": null}, "Args": [], "Labels": {},
        "Config": {"Env": ["PATH=/usr/bin", "X=<&>"], "Labels": {"com.docker.compose.project": "demo"}},
        "NetworkSettings": {"Networks": {"demo_default": {"IPAddress": "172.18.0.2"}, "bridge": {"IPAddress": "172.17.0.3"}}}
    })");
    CHECK(format_inspect({c}, "") ==
          "[\n"
          "    {\n"
          "        \"Id\": \"abc\",\n"
          "        \"State\": {\n"
          "            \"Running\": true,\n"
          "            \"Pid\": 7,\n"
          "            \"Health\": null\n"
          "        },\n"
          "        \"Args\": [],\n"
          "        \"Labels\": {},\n"
          "        \"Config\": {\n"
          "            \"Env\": [\n"
          "                \"PATH=/usr/bin\",\n"
          "                \"X=<&>\"\n"
          "            ],\n"
          "            \"Labels\": {\n"
          "                \"com.docker.compose.project\": \"demo\"\n"
          "            }\n"
          "        },\n"
          "        \"NetworkSettings\": {\n"
          "            \"Networks\": {\n"
          "                \"demo_default\": {\n"
          "                    \"IPAddress\": \"172.18.0.2\"\n"
          "                },\n"
          "                \"bridge\": {\n"
          "                    \"IPAddress\": \"172.17.0.3\"\n"
          "                }\n"
          "            }\n"
          "        }\n"
          "    }\n"
          "]\n");
    ojson stopped = c;
    stopped["State"]["Running"] = false;
    stopped["Config"]["Labels"] = ojson::object();
    std::vector<ojson> both = {c, stopped};
    CHECK(format_inspect(both, "{{.State.Running}}") == "true\nfalse\n");
    CHECK(format_inspect(both, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}") ==
          "172.17.0.3172.18.0.2\n172.17.0.3172.18.0.2\n");
    CHECK(format_inspect({c}, "{{json .Config.Env}}") == "[\"PATH=/usr/bin\",\"X=<&>\"]\n");
    CHECK(format_inspect(both, "{{index .Config.Labels \"com.docker.compose.project\"}}") == "demo\n\n");
    CHECK(format_inspect({c}, "{{.State.Health}}|{{.Missing}}") == "<nil>|<no value>\n");
    CHECK_THROWS_AS(format_inspect({c}, "{{.Id"), berth::Error);
}
