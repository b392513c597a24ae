#include <catch2/catch.hpp>

#include "images/digest.hpp"
#include "images/reference.hpp"
#include "sys/error.hpp"

using namespace berth;
using namespace berth::images;

namespace {
const std::string kHex = "6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";

Errc kind_of(std::string_view s) {
    try {
        parse_reference(s);
    } catch (const berth::Error& e) {
        return e.kind();
    }
    return Errc::failed;  // parsed: not what the caller expected
}
std::string message_of(std::string_view s) {
    try {
        parse_reference(s);
    } catch (const berth::Error& e) {
        return e.what();
    }
    return "(parsed)";
}
}  // namespace

TEST_CASE("references normalise as Docker's do") {
    struct Case {
        const char* in;
        const char* full;
        const char* familiar;
        const char* domain;
        const char* path;
    };
    const Case cases[] = {
        {"busybox", "docker.io/library/busybox:latest", "busybox:latest", "docker.io", "library/busybox"},
        {"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36", "docker.io", "library/busybox"},
        {"library/busybox", "docker.io/library/busybox:latest", "busybox:latest", "docker.io", "library/busybox"},
        {"docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest", "docker.io", "library/busybox"},
        {"index.docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest", "docker.io", "library/busybox"},
        {"user/app:v1", "docker.io/user/app:v1", "user/app:v1", "docker.io", "user/app"},
        {"localhost/x", "localhost/x:latest", "localhost/x:latest", "localhost", "x"},
        {"localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest", "localhost:5000", "x"},
        {"example.com/a/b:tag", "example.com/a/b:tag", "example.com/a/b:tag", "example.com", "a/b"},
        {"example.com:443/a/b-c__d.e:T_1.x-y", "example.com:443/a/b-c__d.e:T_1.x-y", "example.com:443/a/b-c__d.e:T_1.x-y",
         "example.com:443", "a/b-c__d.e"},
        {"[::1]:5000/img", "[::1]:5000/img:latest", "[::1]:5000/img:latest", "[::1]:5000", "img"},
        {"a/b/c/d", "docker.io/a/b/c/d:latest", "a/b/c/d:latest", "docker.io", "a/b/c/d"},
        {"foo---bar", "docker.io/library/foo---bar:latest", "foo---bar:latest", "docker.io", "library/foo---bar"},
    };
    for (auto& c : cases) {
        INFO(c.in);
        auto r = parse_reference(c.in);
        CHECK(r.str() == c.full);
        CHECK(r.familiar() == c.familiar);
        CHECK(r.domain == c.domain);
        CHECK(r.path == c.path);
    }
}

TEST_CASE("digest references keep no default tag") {
    auto r = parse_reference("busybox@sha256:" + kHex);
    CHECK(r.tag.empty());
    CHECK(r.digest == "sha256:" + kHex);
    CHECK(r.str() == "docker.io/library/busybox@sha256:" + kHex);
    CHECK(r.familiar() == "busybox@sha256:" + kHex);
    auto both = parse_reference("busybox:1@sha256:" + kHex);
    CHECK(both.tag == "1");
    CHECK(both.familiar() == "busybox:1@sha256:" + kHex);
    CHECK(parse_reference("busybox", false).tag.empty());
    CHECK(parse_reference("busybox").familiar_repository() == "busybox");
    CHECK(parse_reference("busybox").repository() == "docker.io/library/busybox");
}

TEST_CASE("bad references are refused with Docker's reasons") {
    CHECK(message_of("Busybox") == "invalid reference format: repository name (library/Busybox) must be lowercase");
    CHECK(message_of("foo/Bar") == "invalid reference format: repository name (foo/Bar) must be lowercase");
    CHECK(message_of(kHex) == "invalid repository name (" + kHex + "), cannot specify 64-byte hexadecimal strings");
    for (const char* bad : {"", ":tag", "a:", "a b", "a:-tag", "a:.tag", "-a", "a-", "a..b", "a___b", "a/", "/a", "a//b",
                            "a@sha256:abc", "a@sha256:" "6C3C624B58DBBCD3C0DD82B4C53F04194D1247C6EEBDAAB7C610CF7D66709B3B",
                            "a@md5:", "host:port/x", "ex ample.com/x", "-example.com/x"}) {
        INFO(bad);
        CHECK(kind_of(bad) == Errc::invalid);
    }
    CHECK(kind_of("a:" + std::string(128, 'x')) == Errc::failed);  // 128 is the limit
    CHECK(kind_of("a:" + std::string(129, 'x')) == Errc::invalid);
    CHECK(kind_of(std::string(256, 'a')) == Errc::invalid);
    CHECK(message_of("a:-x").find("invalid reference format") != std::string::npos);
}

TEST_CASE("Uppercase first components are registries, as in Docker") {
    auto r = parse_reference("Registry/x");
    CHECK(r.domain == "Registry");
    CHECK(r.path == "x");
}

TEST_CASE("image IDs are recognised") {
    CHECK(is_full_id(kHex));
    CHECK(is_full_id("sha256:" + kHex));
    CHECK_FALSE(is_full_id(kHex.substr(1)));
    CHECK_FALSE(is_full_id("busybox"));
}

TEST_CASE("digests and chain IDs") {
    CHECK(valid_digest("sha256:" + kHex));
    CHECK_FALSE(valid_digest("sha256:" + kHex.substr(2)));
    CHECK_FALSE(valid_digest("sha256:" + kHex + "0"));
    CHECK_FALSE(valid_digest("sha256" + kHex));
    CHECK(valid_digest("sha512:" + kHex + kHex));
    CHECK(short_id("sha256:" + kHex) == kHex.substr(0, 12));
    REQUIRE_THROWS_AS(require_sha256("sha512:" + kHex + kHex, "x"), berth::Error);
    try {
        require_sha256("sha512:" + kHex + kHex, "x");
    } catch (const berth::Error& e) {
        CHECK(e.kind() == Errc::unsupported);
    }
    // ChainID(A|B) = sha256("sha256:A sha256:B"), computed independently with sha256sum.
    std::string a = "sha256:" + std::string(64, 'a'), b = "sha256:" + std::string(64, 'b');
    auto chains = chain_ids({a, b});
    REQUIRE(chains.size() == 2);
    CHECK(chains[0] == a);
    CHECK(chains[1] == "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c");
}
