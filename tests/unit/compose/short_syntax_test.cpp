#include <catch2/catch.hpp>

#include "compose/short_syntax.hpp"

using namespace berth::compose;

namespace {
std::string ports_text(const std::string& spec) {
    auto r = parse_port_spec(spec);
    if (!r.ok) return "error: " + r.reason;
    std::string out;
    for (auto& p : r.ports) {
        if (!out.empty()) out += " ";
        out += "[" + p.host_ip + "]:" + p.published + "->" + std::to_string(p.target) + "/" + p.protocol;
    }
    return out;
}
}  // namespace

TEST_CASE("ports: every short form Docker accepts") {
    CHECK(ports_text("80") == "[]:->80/tcp");
    CHECK(ports_text("8080:80") == "[]:8080->80/tcp");
    CHECK(ports_text("8080:80/udp") == "[]:8080->80/udp");
    CHECK(ports_text("8080:80/UDP") == "[]:8080->80/udp");
    CHECK(ports_text("3000-3002") == "[]:->3000/tcp []:->3001/tcp []:->3002/tcp");
    CHECK(ports_text("9090-9091:8080-8081") == "[]:9090->8080/tcp []:9091->8081/tcp");
    CHECK(ports_text("49100-49200:22") == "[]:49100-49200->22/tcp");
    CHECK(ports_text("127.0.0.1:8001:8001") == "[127.0.0.1]:8001->8001/tcp");
    CHECK(ports_text("127.0.0.1::5000") == "[127.0.0.1]:->5000/tcp");
    CHECK(ports_text("127.0.0.1:5000-5010:5000-5010").size() > 0);
    CHECK(ports_text("[::1]:6000:6000") == "[::1]:6000->6000/tcp");
    CHECK(ports_text("::1:6001:6001") == "[::1]:6001->6001/tcp");
    CHECK(ports_text("[2001:db8::1]::53/udp") == "[2001:db8::1]:->53/udp");
    CHECK(ports_text("0.0.0.0:0:80") == "[0.0.0.0]:0->80/tcp");
}

TEST_CASE("ports: invalid forms") {
    CHECK(ports_text("80:abc") == "error: ");
    CHECK(ports_text("abc") == "error: ");
    CHECK(ports_text("0") == "error: ");
    CHECK(ports_text("70000") == "error: ");
    CHECK(ports_text("80-70") == "error: ");
    CHECK(ports_text("80/icmp") == "error: invalid protocol \"icmp\"");
    CHECK(ports_text("80/") == "error: invalid protocol \"\"");
    CHECK(ports_text("8000-8002:80-81") == "error: host and container port ranges differ in length");
    CHECK(ports_text("8000:80-81") == "error: host and container port ranges differ in length");
    CHECK(ports_text("300.1.1.1:80:80") == "error: invalid host IP \"300.1.1.1\"");
    CHECK(ports_text("8080:") == "error: no container port");
}

TEST_CASE("volumes: short syntax") {
    auto v = parse_volume_spec("/data");
    CHECK(v.error.empty());
    CHECK(v.volume.type == "volume");
    CHECK(v.volume.source.empty());
    CHECK(v.volume.target == "/data");

    v = parse_volume_spec("named:/data:ro");
    CHECK(v.volume.type == "volume");
    CHECK(v.volume.source == "named");
    CHECK(v.volume.read_only == std::optional<bool>(true));

    v = parse_volume_spec("./src:/src:rw,Z,rshared");
    CHECK(v.volume.type == "bind");
    CHECK(v.volume.read_only == std::optional<bool>(false));
    CHECK(v.volume.selinux == "Z");
    CHECK(v.volume.propagation == "rshared");

    v = parse_volume_spec("~/x:/x");
    CHECK(v.volume.type == "bind");
    CHECK_FALSE(v.volume.read_only);

    v = parse_volume_spec("vol:/v:nocopy");
    CHECK(v.volume.nocopy);

    CHECK(parse_volume_spec("a:b:c:d").error == "too many colons");
    CHECK(parse_volume_spec("a:/b:bogus").error == "unknown option \"bogus\"");
    CHECK(parse_volume_spec("src:").error == "no target path");
    CHECK(is_host_path("/abs"));
    CHECK(is_host_path("./rel"));
    CHECK(is_host_path("~"));
    CHECK_FALSE(is_host_path("name"));
}

TEST_CASE("shell_split: words as a POSIX shell splits them, no shell involved") {
    using V = std::vector<std::string>;
    CHECK(*shell_split("echo hello world") == V{"echo", "hello", "world"});
    CHECK(*shell_split("  spaced\t out  ") == V{"spaced", "out"});
    CHECK(*shell_split("sh -c 'echo \"a b\" && exit 1'") == V{"sh", "-c", "echo \"a b\" && exit 1"});
    CHECK(*shell_split("echo \"it's $HOME \\\"quoted\\\" \\\\ \\n\"") == V{"echo", "it's $HOME \"quoted\" \\ \\n"});
    CHECK(*shell_split("a\\ b c") == V{"a b", "c"});
    CHECK(*shell_split("''") == V{""});
    CHECK(*shell_split("x\"\"y") == V{"xy"});
    CHECK(shell_split("")->empty());
    CHECK_FALSE(shell_split("echo 'open"));
    CHECK_FALSE(shell_split("echo \"open"));
}
