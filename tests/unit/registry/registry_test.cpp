// The registry client's pure parts: WWW-Authenticate challenges, base64, Docker's config.json,
// platform selection, endpoints and URLs.
#include <catch2/catch.hpp>

#include "images/media_types.hpp"
#include "registry/auth.hpp"
#include "registry/docker_config.hpp"
#include "registry/endpoint.hpp"
#include "registry/http.hpp"
#include "registry/platform.hpp"
#include "sys/error.hpp"
#include "sys/json.hpp"

using namespace berth;
using namespace berth::registry;

TEST_CASE("a Bearer challenge as Docker Hub sends it") {
    auto cs = parse_challenges(
        R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
    REQUIRE(cs.size() == 1);
    CHECK(cs[0].scheme == "bearer");
    CHECK(cs[0].param("realm") == "https://auth.docker.io/token");
    CHECK(cs[0].param("service") == "registry.docker.io");
    CHECK(cs[0].param("scope") == "repository:library/busybox:pull");
}

TEST_CASE("several challenges, quoted commas and escapes, odd spacing") {
    auto cs = parse_challenges(R"(Basic realm="Registry Realm" , Bearer realm="http://h/t", scope="a:b:pull,push", error="x\"y")");
    REQUIRE(cs.size() == 2);
    CHECK(cs[0].scheme == "basic");
    CHECK(cs[0].param("realm") == "Registry Realm");
    CHECK(cs[1].scheme == "bearer");
    CHECK(cs[1].param("scope") == "a:b:pull,push");
    CHECK(cs[1].param("error") == "x\"y");
    CHECK(parse_challenges("").empty());
    auto odd = parse_challenges("BASIC   REALM=unquoted");
    REQUIRE(odd.size() == 1);
    CHECK(odd[0].scheme == "basic");
    CHECK(odd[0].param("realm") == "unquoted");
}

TEST_CASE("base64 round trips and rejects bad text") {
    CHECK(base64_encode("user:pass") == "dXNlcjpwYXNz");
    CHECK(base64_encode("a") == "YQ==");
    CHECK(base64_encode("ab") == "YWI=");
    std::string out;
    REQUIRE(base64_decode("dXNlcjpwYXNz", out));
    CHECK(out == "user:pass");
    REQUIRE(base64_decode("YQ==", out));
    CHECK(out == "a");
    CHECK_FALSE(base64_decode("not base64!", out));
    CHECK_FALSE(base64_decode("YQ==YQ", out));
    CHECK(url_escape("repository:a/b:pull") == "repository%3Aa%2Fb%3Apull");
}

TEST_CASE("config.json: credentials are found under Docker's keys") {
    std::string cfg = R"({"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},
        "https://localhost:5000/v2/":{"auth":"YWxpY2U6czNjcjp0"},
        "reg.example.com":{"identitytoken":"tok"}},"credsStore":"x"})";
    auto hub = find_auth(cfg, "docker.io", "config.json");
    REQUIRE(hub);
    CHECK(hub->username == "user");
    CHECK(hub->password == "pass");
    auto local = find_auth(cfg, "localhost:5000", "config.json");
    REQUIRE(local);
    CHECK(local->username == "alice");
    CHECK(local->password == "s3cr:t");  // only the first colon separates
    auto tok = find_auth(cfg, "reg.example.com", "config.json");
    REQUIRE(tok);
    CHECK(tok->identity_token == "tok");
    CHECK_FALSE(find_auth(cfg, "localhost:5001", "config.json"));
    CHECK_FALSE(find_auth("", "docker.io", "config.json"));
}

TEST_CASE("config.json: set and remove keep the rest of the file") {
    std::string cfg = R"({"auths":{"https://localhost:5000":{"auth":"b2xkOm9sZA=="}},"credsStore":"desktop","proxies":{"a":1}})";
    auto out = set_auth(cfg, "localhost:5000", AuthEntry{"bob", "pw", "", ""}, "config.json");
    auto j = json::parse(out);
    CHECK(j["credsStore"] == "desktop");
    CHECK(j["proxies"]["a"] == 1);
    CHECK(j["auths"].size() == 1);  // the URL-style key was replaced by Docker's own
    CHECK(j["auths"]["localhost:5000"]["auth"] == "Ym9iOnB3");
    auto hub = set_auth(out, "docker.io", AuthEntry{"u", "p", "", ""}, "config.json");
    CHECK(json::parse(hub)["auths"].contains("https://index.docker.io/v1/"));
    auto removed = remove_auth(hub, "localhost:5000", "config.json");
    REQUIRE(removed);
    CHECK_FALSE(json::parse(*removed)["auths"].contains("localhost:5000"));
    CHECK_FALSE(remove_auth(*removed, "localhost:5000", "config.json"));
}

TEST_CASE("config.json: a corrupt file or auth field is an error naming it") {
    CHECK_THROWS_WITH(find_auth("[1]", "docker.io", "/x/config.json"), Catch::Contains("/x/config.json"));
    CHECK_THROWS_WITH(find_auth(R"({"auths":{"h:1":{"auth":"!!"}}})", "h:1", "cfg"), Catch::Contains("not base64"));
    CHECK_THROWS_WITH(find_auth(R"({"auths":{"h:1":{"auth":"bm9jb2xvbg=="}}})", "h:1", "cfg"), Catch::Contains("user:password"));
    CHECK(auth_key("docker.io") == "https://index.docker.io/v1/");
    CHECK(auth_key("localhost:5000") == "localhost:5000");
}

namespace {
images::Descriptor entry(std::string arch, std::string variant = "", std::string os = "linux") {
    images::Descriptor d;
    d.media_type = std::string(images::media::kOciManifest);
    d.digest = "sha256:" + std::string(64, arch[0]);
    d.has_platform = true;
    d.platform.os = os;
    d.platform.architecture = arch;
    d.platform.variant = variant;
    return d;
}
}  // namespace

TEST_CASE("platform strings are normalised as Docker's") {
    auto p = parse_platform("linux/aarch64");
    CHECK(p.architecture == "arm64");
    CHECK(p.variant.empty());
    CHECK(platform_string(parse_platform("linux/arm")) == "linux/arm/v7");
    CHECK(platform_string(parse_platform("linux/arm64/v8")) == "linux/arm64");
    CHECK(platform_string(parse_platform("linux/x86_64")) == "linux/amd64");
    CHECK_THROWS_AS(parse_platform("linux//x"), berth::Error);
    CHECK_THROWS_AS(parse_platform("a/b/c/d"), berth::Error);
    CHECK_THROWS_AS(parse_platform(""), berth::Error);
}

TEST_CASE("select_manifest picks the asked platform and skips attestations") {
    images::Index idx;
    auto att = entry("unknown", "", "unknown");
    att.annotations["vnd.docker.reference.type"] = "attestation-manifest";
    idx.manifests = {att, entry("amd64"), entry("arm", "v6"), entry("arm", "v7"), entry("arm64", "v8"), entry("s390x")};
    CHECK(&select_manifest(idx, parse_platform("linux/amd64"), "x") == &idx.manifests[1]);
    CHECK(&select_manifest(idx, parse_platform("linux/arm64"), "x") == &idx.manifests[4]);
    CHECK(&select_manifest(idx, parse_platform("linux/arm/v7"), "x") == &idx.manifests[3]);
    CHECK(&select_manifest(idx, parse_platform("linux/arm/v6"), "x") == &idx.manifests[2]);
    CHECK(&select_manifest(idx, parse_platform("linux/s390x"), "x") == &idx.manifests[5]);
}

TEST_CASE("a newer compatible variant is preferred, an incompatible one refused") {
    images::Index idx;
    idx.manifests = {entry("arm", "v5"), entry("arm", "v6")};
    CHECK(&select_manifest(idx, parse_platform("linux/arm/v7"), "x") == &idx.manifests[1]);
    CHECK(&select_manifest(idx, parse_platform("linux/arm/v5"), "x") == &idx.manifests[0]);
    images::Index only_v7;
    only_v7.manifests = {entry("arm", "v7")};
    CHECK_THROWS(select_manifest(only_v7, parse_platform("linux/arm/v6"), "x"));
    CHECK(platform_matches(entry("amd64", "v2").platform, parse_platform("linux/amd64/v3")));
    CHECK_FALSE(platform_matches(entry("amd64", "v3").platform, parse_platform("linux/amd64")));
}

TEST_CASE("no matching platform: the error lists what the index has") {
    images::Index idx;
    idx.manifests = {entry("amd64"), entry("arm64", "v8")};
    try {
        select_manifest(idx, parse_platform("linux/riscv64"), "localhost:5000/x:1");
        FAIL("no error");
    } catch (const berth::Error& e) {
        CHECK(e.kind() == Errc::not_found);
        std::string m = e.what();
        CHECK_THAT(m, Catch::Contains("no matching manifest for linux/riscv64"));
        CHECK_THAT(m, Catch::Contains("localhost:5000/x:1"));
        CHECK_THAT(m, Catch::Contains("linux/amd64, linux/arm64"));
    }
}

TEST_CASE("endpoints: loopback, insecure lists, host:port") {
    CHECK(is_loopback_host("localhost"));
    CHECK(is_loopback_host("127.0.0.1"));
    CHECK(is_loopback_host("127.8.9.10"));
    CHECK(is_loopback_host("::1"));
    CHECK_FALSE(is_loopback_host("10.0.0.1"));
    CHECK_FALSE(is_loopback_host("registry.example.com"));
    CHECK(split_host_port("localhost:5000") == std::pair<std::string, std::string>{"localhost", "5000"});
    CHECK(split_host_port("[::1]:5000") == std::pair<std::string, std::string>{"::1", "5000"});
    CHECK(split_host_port("example.com") == std::pair<std::string, std::string>{"example.com", ""});
    std::vector<std::string> list{"reg.local:5000", "http://other.example", "10.1.0.0/16"};
    CHECK(listed_insecure("reg.local", "5000", list));
    CHECK_FALSE(listed_insecure("reg.local", "5001", list));
    CHECK(listed_insecure("other.example", "", list));
    CHECK(listed_insecure("10.1.200.3", "443", list));
    CHECK_FALSE(listed_insecure("10.2.0.1", "", list));
    auto hub = endpoint_for("docker.io");
    CHECK(hub.host == "registry-1.docker.io");
    CHECK_FALSE(hub.allow_http);
    auto local = endpoint_for("127.0.0.1:5000");
    CHECK(local.allow_http);
    CHECK(local.tls.verify);  // loopback TLS is still verified (endpoint.hpp)
}

TEST_CASE("URLs and Location headers") {
    auto u = parse_url("https://auth.example.com:8443/token?service=x");
    CHECK(u.scheme == "https");
    CHECK(u.host == "auth.example.com");
    CHECK(u.port == "8443");
    CHECK(u.target == "/token?service=x");
    CHECK(parse_url("http://h").target == "/");
    CHECK_THROWS_AS(parse_url("ftp://h/x"), berth::Error);
    CHECK_THROWS_AS(parse_url("nohost"), berth::Error);
    auto rel = resolve_location(u, "/v2/x/blobs/uploads/abc?_state=1");
    CHECK(rel.str() == "https://auth.example.com:8443/v2/x/blobs/uploads/abc?_state=1");
    CHECK(resolve_location(u, "http://cdn/x").str() == "http://cdn/x");
    CHECK(parse_url("http://[::1]:5000/v2/").origin() == "http://[::1]:5000");
}

TEST_CASE("config.json: the credential helper for a registry") {
    std::string cfg = R"({"credsStore":"desktop","credHelpers":{"gcr.io":"gcloud","https://index.docker.io/v1/":"hub"}})";
    CHECK(credential_helper(cfg, "gcr.io") == "gcloud");
    CHECK(credential_helper(cfg, "docker.io") == "hub");
    CHECK(credential_helper(cfg, "localhost:5000") == "desktop");
    CHECK(credential_helper(R"({"auths":{}})", "localhost:5000").empty());
    CHECK(credential_helper("", "x").empty());
}
