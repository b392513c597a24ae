#include <catch2/catch.hpp>

#include "images/config.hpp"
#include "images/manifest.hpp"
#include "sys/error.hpp"

using namespace berth;
using namespace berth::images;

namespace {
std::string change_error(ImageConfig c, std::vector<std::string> changes) {
    try {
        apply_changes(c, changes);
    } catch (const berth::Error& e) {
        CHECK(e.kind() == Errc::invalid);
        return e.what();
    }
    return "(accepted)";
}
const std::string kDiff = "sha256:" + std::string(64, 'a');
}  // namespace

TEST_CASE("config JSON round-trips through the model") {
    std::string j = R"({"architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05Z","author":"me",
      "config":{"User":"app","ExposedPorts":{"80/tcp":{},"53/udp":{}},"Env":["A=1","PATH=/bin"],
        "Entrypoint":["/init"],"Cmd":null,"Volumes":{"/data":{}},"WorkingDir":"/srv","Labels":{"k":"v"},
        "StopSignal":"SIGINT","Healthcheck":{"Test":["CMD","true"],"Interval":1000000000,"Retries":3},
        "OnBuild":["RUN x"],"Shell":["/bin/bash","-c"]},
      "rootfs":{"type":"layers","diff_ids":[")" + kDiff + R"("]},
      "history":[{"created":"2024-01-02T03:04:05Z","created_by":"x","empty_layer":true},{"comment":"c"}]})";
    auto c = parse_config(j);
    CHECK(c.user == "app");
    CHECK(c.exposed_ports == std::vector<std::string>{"53/udp", "80/tcp"});
    CHECK(c.env == std::vector<std::string>{"A=1", "PATH=/bin"});
    CHECK(c.entrypoint == std::vector<std::string>{"/init"});
    CHECK_FALSE(c.cmd.has_value());
    CHECK(c.volumes == std::vector<std::string>{"/data"});
    CHECK(c.labels.at("k") == "v");
    REQUIRE(c.healthcheck);
    CHECK(c.healthcheck->interval_ns == 1000000000);
    CHECK(c.healthcheck->retries == 3);
    CHECK(c.history.size() == 2);
    CHECK(c.history[0].empty_layer);
    CHECK(c.diff_ids == std::vector<std::string>{kDiff});
    auto again = parse_config(serialize_config(c));
    CHECK(again.env == c.env);
    CHECK(again.exposed_ports == c.exposed_ports);
    CHECK(again.healthcheck == c.healthcheck);
    CHECK(again.entrypoint == c.entrypoint);
    CHECK(again.cmd == c.cmd);
    CHECK(again.shell == c.shell);
    CHECK(again.history.size() == 2);
    CHECK(serialize_config(again) == serialize_config(c));
}

TEST_CASE("malformed configs are corrupt, naming the field") {
    auto err = [](const std::string& j) -> std::string {
        try {
            parse_config(j);
        } catch (const berth::Error& e) {
            CHECK(e.kind() == Errc::corrupt);
            return e.what();
        }
        return "(accepted)";
    };
    CHECK(err("not json").find("not valid JSON") != std::string::npos);
    CHECK(err("[]").find("not a JSON object") != std::string::npos);
    CHECK(err(R"({"os":"linux"})").find("rootfs") != std::string::npos);
    CHECK(err(R"({"rootfs":{"type":"foo","diff_ids":[]}})").find("rootfs.type") != std::string::npos);
    CHECK(err(R"({"rootfs":{"type":"layers","diff_ids":["sha256:abc"]}})").find("sha256:abc") != std::string::npos);
    CHECK(err(R"({"config":{"Env":"A=1"},"rootfs":{"type":"layers","diff_ids":[]}})").find("config.Env") != std::string::npos);
}

TEST_CASE("--change instructions apply as in a Dockerfile") {
    ImageConfig c;
    c.env = {"PATH=/usr/bin"};
    c.cmd = std::vector<std::string>{"old"};
    apply_changes(c, {
                         "CMD [\"sh\", \"-c\", \"echo hi\"]",
                         "ENV PATH=/x:$PATH FOO=\"a b\" BAR='$lit'",
                         "ENV LEGACY value with  spaces",
                         "WORKDIR /srv",
                         "WORKDIR app/../data",
                         "EXPOSE 80 8000-8001/udp",
                         "USER 1000:1000",
                         "LABEL a=1 \"b c\"=2",
                         "VOLUME [\"/v1\"]",
                         "VOLUME /v2 /v3",
                         "STOPSIGNAL SIGQUIT",
                         "HEALTHCHECK --interval=5s --retries=2 CMD curl -f http://x/",
                         "ONBUILD RUN make",
                     });
    CHECK(c.cmd == std::vector<std::string>{"sh", "-c", "echo hi"});
    CHECK(c.env == std::vector<std::string>{"PATH=/x:/usr/bin", "FOO=a b", "BAR=$lit", "LEGACY=value with  spaces"});
    CHECK(c.working_dir == "/srv/data");
    CHECK(c.exposed_ports == std::vector<std::string>{"80/tcp", "8000/udp", "8001/udp"});
    CHECK(c.user == "1000:1000");
    CHECK(c.labels.at("a") == "1");
    CHECK(c.labels.at("b c") == "2");
    CHECK(c.volumes == std::vector<std::string>{"/v1", "/v2", "/v3"});
    CHECK(c.stop_signal == "SIGQUIT");
    REQUIRE(c.healthcheck);
    CHECK(c.healthcheck->test == std::vector<std::string>{"CMD-SHELL", "curl -f http://x/"});
    CHECK(c.healthcheck->interval_ns == 5000000000);
    CHECK(c.healthcheck->retries == 2);
    CHECK(c.on_build == std::vector<std::string>{"RUN make"});
}

TEST_CASE("ENTRYPOINT resets CMD unless CMD is in the same batch; shell forms wrap") {
    ImageConfig c;
    c.cmd = std::vector<std::string>{"x"};
    apply_changes(c, {"ENTRYPOINT /bin/app --flag"});
    CHECK(c.entrypoint == std::vector<std::string>{"/bin/sh", "-c", "/bin/app --flag"});
    CHECK_FALSE(c.cmd);
    ImageConfig d;
    apply_changes(d, {"CMD [\"a\"]", "ENTRYPOINT [\"e\"]"});
    CHECK(d.cmd == std::vector<std::string>{"a"});
    CHECK(d.entrypoint == std::vector<std::string>{"e"});
    ImageConfig h;
    apply_changes(h, {"HEALTHCHECK NONE"});
    CHECK(h.healthcheck->test == std::vector<std::string>{"NONE"});
    apply_changes(h, {"HEALTHCHECK CMD [\"/bin/check\", \"-q\"]"});
    CHECK(h.healthcheck->test == std::vector<std::string>{"CMD", "/bin/check", "-q"});
}

TEST_CASE("bad --change instructions are refused and change nothing") {
    ImageConfig c;
    c.user = "keep";
    CHECK(change_error(c, {"RUN make"}) == "RUN is not a valid change command");
    CHECK(change_error(c, {"FROM x"}) == "FROM is not a valid change command");
    CHECK(change_error(c, {"BOGUS x"}).find("unknown instruction: BOGUS") != std::string::npos);
    CHECK(change_error(c, {"CMD"}) == "CMD requires at least one argument");
    CHECK(change_error(c, {"ENV a=1 b"}).find("can't find = in \"b\"") != std::string::npos);
    CHECK(change_error(c, {"ENV =x"}) == "ENV names can not be blank");
    CHECK(change_error(c, {"EXPOSE 70000"}).find("invalid containerPort") != std::string::npos);
    CHECK(change_error(c, {"EXPOSE 80/foo"}).find("invalid proto") != std::string::npos);
    CHECK(change_error(c, {"STOPSIGNAL SIGNOPE"}).find("invalid signal") != std::string::npos);
    CHECK(change_error(c, {"HEALTHCHECK --interval=1x CMD true"}).find("invalid duration") != std::string::npos);
    CHECK(change_error(c, {"HEALTHCHECK --retries=-1 CMD true"}).find("negative") != std::string::npos);
    CHECK(change_error(c, {"ONBUILD ONBUILD RUN x"}).find("Chaining ONBUILD") != std::string::npos);
    CHECK(change_error(c, {"USER a b"}) == "USER requires exactly one argument");
    CHECK(change_error(c, {"ENV X=\"unterminated"}).find("double-quote") != std::string::npos);
    // All or nothing: a valid change before a bad one is not kept.
    ImageConfig before = c;
    CHECK(change_error(c, {"USER other", "RUN x"}) == "RUN is not a valid change command");
    apply_changes(c, {});
    CHECK(c.user == "keep");
}

TEST_CASE("manifests: media types must be known and agree with the descriptor") {
    std::string cfg = "sha256:" + std::string(64, 'c');
    auto manifest = [&](const std::string& mt, const std::string& layer_mt) {
        return R"({"schemaVersion":2,"mediaType":")" + mt + R"(","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
               cfg + R"(","size":10},"layers":[{"mediaType":")" + layer_mt + R"(","digest":")" + kDiff + R"(","size":5}]})";
    };
    auto m = parse_manifest(manifest("application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.layer.v1.tar+gzip"),
                            "application/vnd.oci.image.manifest.v1+json", "m");
    CHECK(m.config.digest == cfg);
    CHECK(m.layers.at(0).size == 5);
    auto kind = [&](const std::string& text, const std::string& expected) {
        try {
            parse_manifest(text, expected, "manifest");
        } catch (const berth::Error& e) {
            return e.kind();
        }
        return Errc::failed;
    };
    const std::string oci = "application/vnd.oci.image.manifest.v1+json";
    CHECK(kind(manifest(oci, "application/x-unknown"), oci) == Errc::unsupported);
    CHECK(kind(manifest("application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.layer.v1.tar"), oci) ==
          Errc::corrupt);  // declared type differs from the descriptor's (CVE-2021-41190)
    CHECK(kind("{\"schemaVersion\":1}", oci) == Errc::unsupported);
    CHECK(kind("{", oci) == Errc::corrupt);
    CHECK(kind(R"({"schemaVersion":2,"config":{}})", oci) == Errc::corrupt);
}
