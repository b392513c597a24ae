#include <catch2/catch.hpp>

#include <cstdlib>

#include "build/context.hpp"
#include "build/run_mount.hpp"
#include "sys/error.hpp"

using namespace berth;
using namespace berth::build;

namespace {
std::string mount_error(std::string_view v) {
    try {
        parse_run_mount(v);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}
std::string secret_error(std::string_view v) {
    try {
        parse_secret_flag(v);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST_CASE("RUN --mount: defaults per type") {
    auto b = parse_run_mount("target=/src");
    CHECK(b.type == RunMount::Type::bind);
    CHECK(b.readonly);
    CHECK(b.from.empty());

    auto c = parse_run_mount("type=cache,target=/root/.cache");
    CHECK(c.type == RunMount::Type::cache);
    CHECK_FALSE(c.readonly);
    CHECK(c.id == "/root/.cache");
    CHECK(c.sharing == "shared");
    CHECK_FALSE(c.mode);

    auto s = parse_run_mount("type=secret,id=tok");
    CHECK(s.type == RunMount::Type::secret);
    CHECK(s.target == "/run/secrets/tok");
    CHECK_FALSE(s.required);

    auto s2 = parse_run_mount("type=secret,target=/etc/creds.json,required");
    CHECK(s2.id == "creds.json");
    CHECK(s2.required);

    auto s3 = parse_run_mount("type=secret,id=tok,env=TOKEN");
    CHECK(s3.target.empty());
    CHECK(s3.env == "TOKEN");
}

TEST_CASE("RUN --mount: options and aliases") {
    auto c = parse_run_mount("type=cache,dst=/c,id=go,sharing=locked,mode=0700,uid=1000,gid=100,ro");
    CHECK(c.target == "/c");
    CHECK(c.id == "go");
    CHECK(c.sharing == "locked");
    CHECK(c.mode == 0700u);
    CHECK(c.uid == 1000u);
    CHECK(c.gid == 100u);
    CHECK(c.readonly);

    auto b = parse_run_mount("type=bind,from=build,src=/out,destination=/in,rw=true");
    CHECK(b.from == "build");
    CHECK(b.source == "/out");
    CHECK(b.target == "/in");
    CHECK_FALSE(b.readonly);
    CHECK_FALSE(parse_run_mount("type=bind,target=/x,readwrite").readonly);

    auto t = parse_run_mount("type=tmpfs,target=/t,size=64m");
    CHECK(t.size == 64 * 1024 * 1024);
}

TEST_CASE("RUN --mount: bad input is named") {
    CHECK_THAT(mount_error("type=cache"), Catch::Contains("a target is required"));
    CHECK_THAT(mount_error("type=volume,target=/x"), Catch::Contains("unsupported mount type \"volume\""));
    CHECK_THAT(mount_error("type=ssh"), Catch::Contains("type=ssh is not supported"));
    CHECK_THAT(mount_error("type=cache,target=/x,sharing=maybe"), Catch::Contains("sharing value \"maybe\""));
    CHECK_THAT(mount_error("type=cache,target=/x,mode=999"), Catch::Contains("invalid mode \"999\""));
    CHECK_THAT(mount_error("type=cache,target=/x,uid=abc"), Catch::Contains("invalid uid \"abc\""));
    CHECK_THAT(mount_error("type=tmpfs,target=/x,from=a"), Catch::Contains("option from is not valid for type=tmpfs"));
    CHECK_THAT(mount_error("type=bind,target=/x,required"), Catch::Contains("option required is not valid for type=bind"));
    CHECK_THAT(mount_error("type=bind,target=/x,colour=red"), Catch::Contains("unexpected key \"colour\""));
    CHECK_THAT(mount_error("type=tmpfs,target=/x,size=lots"), Catch::Contains("invalid size \"lots\""));
    CHECK_THAT(mount_error("type=secret"), Catch::Contains("a secret needs an id"));
    CHECK_THAT(mount_error("type=bind,target=/x,ro=perhaps"), Catch::Contains("true or false"));
    CHECK(mount_error("type=cache,target=/ok").empty());
}

TEST_CASE("build --secret") {
    auto f = parse_secret_flag("id=tok,src=/tmp/tok.txt");
    CHECK(f.id == "tok");
    CHECK(f.file == "/tmp/tok.txt");
    CHECK(f.env.empty());
    auto e = parse_secret_flag("id=tok,env=MY_TOKEN");
    CHECK(e.env == "MY_TOKEN");
    CHECK(e.file.empty());
    // A bare id: the environment variable of that name when it is set, else a file of that name.
    ::setenv("BERTH_TEST_SECRET_SET", "x", 1);
    ::unsetenv("BERTH_TEST_SECRET_UNSET");
    CHECK(parse_secret_flag("id=BERTH_TEST_SECRET_SET").env == "BERTH_TEST_SECRET_SET");
    CHECK(parse_secret_flag("id=BERTH_TEST_SECRET_UNSET").file == "BERTH_TEST_SECRET_UNSET");
    ::unsetenv("BERTH_TEST_SECRET_SET");
    CHECK(parse_secret_flag("id=a,type=env").env == "a");
    CHECK_THAT(secret_error("src=/x"), Catch::Contains("an id is required"));
    CHECK_THAT(secret_error("id=a,src=/x,env=Y"), Catch::Contains("exclusive"));
    CHECK_THAT(secret_error("id=a,colour=red"), Catch::Contains("unexpected key \"colour\""));
    CHECK_THAT(secret_error("id=a,type=ssh"), Catch::Contains("unsupported type \"ssh\""));
    CHECK_THAT(secret_error("id"), Catch::Contains("KEY=VALUE"));
}

TEST_CASE("COPY --parents and --exclude over expanded sources") {
    std::vector<Entry> listing = {
        {"x", Entry::dir},         {"x/a.txt", Entry::file}, {"x/y", Entry::dir},
        {"x/y/b.txt", Entry::file}, {"x/y/c.md", Entry::file}, {"y", Entry::dir},
        {"y/a.txt", Entry::file},
    };
    auto ex = expand_source(listing, "x/a.txt");
    keep_parents(ex.items, "x/a.txt");
    REQUIRE(ex.items.size() == 1);
    CHECK(ex.items[0].dst == "x/a.txt");

    ex = expand_source(listing, "./x/./y/*.txt");
    keep_parents(ex.items, "./x/./y/*.txt");
    REQUIRE(ex.items.size() == 1);
    CHECK(ex.items[0].dst == "y/b.txt");

    ex = expand_source(listing, "x/y");
    keep_parents(ex.items, "x/y");
    REQUIRE(ex.items.size() == 2);
    CHECK(ex.items[0].dst == "x/y/b.txt");

    // .dockerignore's rules, relative to the source: *.txt is the top level only.
    ex = expand_source(listing, "x");
    exclude_items(ex.items, {"*.txt"});
    std::vector<std::string> got;
    for (auto& i : ex.items) got.push_back(i.dst);
    CHECK(got == std::vector<std::string>{"y", "y/b.txt", "y/c.md"});

    ex = expand_source(listing, "x");
    exclude_items(ex.items, {"y"});
    got.clear();
    for (auto& i : ex.items) got.push_back(i.dst);
    CHECK(got == std::vector<std::string>{"a.txt"});

    ex = expand_source(listing, "*");
    exclude_items(ex.items, {"**/*.txt", "x/y/c.md"});
    got.clear();
    for (auto& i : ex.items) got.push_back(i.src);
    CHECK(got == std::vector<std::string>{"x/y"});
}
