#include <catch2/catch.hpp>
#include <sys/mount.h>

#include "volumes/volumes.hpp"

using namespace berth;
using namespace berth::volumes;

namespace {
std::vector<std::string> messages(const std::vector<Problem>& ps) {
    std::vector<std::string> out;
    for (auto& p : ps) out.push_back(p.message);
    return out;
}
CreateOptions opts(std::map<std::string, std::string> o, std::string driver = "") {
    CreateOptions c;
    c.driver = std::move(driver);
    c.driver_opts = std::move(o);
    return c;
}
}  // namespace

TEST_CASE("volume names follow Docker's pattern and messages") {
    for (std::string ok : std::vector<std::string>{"ab", "data", "my_vol-1.2", "0x", "Zz", std::string(64, 'f')}) CHECK_FALSE(name_error(ok));
    auto short_name = name_error("a");
    REQUIRE(short_name);
    CHECK(*short_name == "volume name is too short, names should be at least two alphanumeric characters");
    for (const char* bad : {"", "-ab", ".ab", "_ab", "a b", "a/b", "..", "../etc", "x:y", "é1"}) {
        auto why = name_error(bad);
        REQUIRE(why);
        CHECK(why->find("includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are "
                        "allowed. If you intended to pass a host directory, use absolute path") != std::string::npos);
    }
}

TEST_CASE("create validation: driver, option keys, mandatory pairs, size, bind devices") {
    CHECK(validate_create("v1", {}).empty());
    CHECK(validate_create("v1", opts({{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=100m,uid=1000"}})).empty());
    CHECK(validate_create("v1", opts({{"type", "none"}, {"device", "/srv/data"}, {"o", "bind"}})).empty());
    CHECK(validate_create("v1", opts({{"type", "none"}, {"device", "/srv/data"}, {"o", "rbind,ro"}})).empty());
    CHECK(validate_create("v1", opts({{"size", "0"}})).empty());

    auto p = validate_create("v1", opts({}, "flocker"));
    REQUIRE(p.size() == 1);
    CHECK(p[0].kind == Errc::not_found);
    CHECK(p[0].message == "create v1: error looking up volume plugin flocker: plugin \"flocker\" not found");

    p = validate_create("v1", opts({{"colour", "blue"}}));
    REQUIRE(p.size() == 1);
    CHECK(p[0].kind == Errc::invalid);
    CHECK(p[0].message == "create v1: invalid option: \"colour\"");

    CHECK(messages(validate_create("v1", opts({{"o", "size=1m"}}))) ==
          std::vector<std::string>{"create v1: missing required option: \"device\"",
                                   "create v1: missing required option: \"type\""});
    CHECK(messages(validate_create("v1", opts({{"type", "tmpfs"}}))) ==
          std::vector<std::string>{"create v1: missing required option: \"device\""});

    p = validate_create("v1", opts({{"size", "10g"}}));
    REQUIRE(p.size() == 1);
    CHECK(p[0].kind == Errc::unsupported);
    CHECK(p[0].message == "create v1: quota size requested but no quota support");
    CHECK(messages(validate_create("v1", opts({{"size", "lots"}}))) ==
          std::vector<std::string>{"create v1: invalid size: 'lots'"});

    CHECK(messages(validate_create("v1", opts({{"type", "none"}, {"device", "rel/dir"}, {"o", "bind"}}))) ==
          std::vector<std::string>{"create v1: device \"rel/dir\" must be an absolute path for a bind mount"});
    CHECK(messages(validate_create("v1", opts({{"type", "none"}, {"device", "/srv"}}))) ==
          std::vector<std::string>{"create v1: type \"none\" needs o=bind or o=rbind (a bind-backed volume)"});

    // Every problem at once, the name's first.
    p = validate_create("a", opts({{"colour", "blue"}, {"o", "x"}}));
    CHECK(p.size() == 4);
    CHECK(p[0].message.find("volume name is too short") != std::string::npos);
}

TEST_CASE("mount option words split into flags, propagation and data as moby/sys/mount does") {
    auto m = parse_mount_options("size=100m,uid=1000");
    CHECK(m.flags == 0);
    CHECK(m.propagation == 0);
    CHECK(m.data == "size=100m,uid=1000");
    CHECK_FALSE(m.bind());

    m = parse_mount_options("bind,ro,nosuid");
    CHECK(m.flags == (MS_BIND | MS_RDONLY | MS_NOSUID));
    CHECK(m.bind());
    CHECK(m.data.empty());

    m = parse_mount_options("ro,rw,rbind,rprivate,noexec,exec,mode=0755");
    CHECK(m.flags == (MS_BIND | MS_REC));
    CHECK(m.propagation == (MS_PRIVATE | MS_REC));
    CHECK(m.data == "mode=0755");

    m = parse_mount_options("addr=10.0.0.1,nfsvers=4,noatime,,defaults");
    CHECK(m.flags == MS_NOATIME);
    CHECK(m.data == "addr=10.0.0.1,nfsvers=4");
    CHECK(parse_mount_options("").data.empty());
}

TEST_CASE("filters parse as Docker's and reject unknown keys and values") {
    auto f = parse_filters({"dangling=true", "name=web", "name=^db", "driver=local", "label=a", "label=b=c"}, FilterFor::list);
    CHECK(f.dangling == std::optional<bool>(true));
    CHECK(f.names == std::vector<std::string>{"web", "^db"});
    CHECK(f.drivers == std::vector<std::string>{"local"});
    REQUIRE(f.labels.size() == 2);
    CHECK_FALSE(f.labels[0].second);
    CHECK(*f.labels[1].second == "c");

    CHECK(parse_filters({"dangling=0"}, FilterFor::list).dangling == std::optional<bool>(false));
    CHECK_THROWS_WITH(parse_filters({"dangling=maybe"}, FilterFor::list), "invalid filter 'dangling=maybe'");
    CHECK_THROWS_WITH(parse_filters({"colour=red"}, FilterFor::list), "invalid filter 'colour'");
    CHECK_THROWS_WITH(parse_filters({"dangling"}, FilterFor::list), "bad format of filter (expected name=value)");
    // Prune takes label, label! and all; not the listing keys.
    CHECK_THROWS_WITH(parse_filters({"dangling=true"}, FilterFor::prune), "invalid filter 'dangling'");
    CHECK_THROWS_WITH(parse_filters({"label!=x"}, FilterFor::list), "invalid filter 'label!'");
    auto p = parse_filters({"label!=keep", "all=1", "label=env=dev"}, FilterFor::prune);
    CHECK(p.all == std::optional<bool>(true));
    REQUIRE(p.not_labels.size() == 1);
    CHECK(p.not_labels[0].first == "keep");
    CHECK_THROWS_WITH(parse_filters({"all=yes"}, FilterFor::prune), "invalid filter 'all=yes'");
    try {
        parse_filters({"x=1"}, FilterFor::list);
        FAIL("no throw");
    } catch (const berth::Error& e) {
        CHECK(e.kind() == Errc::invalid);
    }
}

TEST_CASE("filters match: OR within a key, AND across keys, dangling from InUse") {
    Volume web{.name = "web-data", .labels = {{"env", "dev"}, {"tier", "front"}}};
    Volume db{.name = "db-data", .labels = {{"env", "prod"}}};
    InUse used{{"db-data", {"c1"}}};

    auto m = [&](std::vector<std::string> args, const Volume& v, FilterFor use = FilterFor::list) {
        return parse_filters(args, use).match(v, used);
    };
    CHECK(m({}, web));
    CHECK(m({"dangling=true"}, web));
    CHECK_FALSE(m({"dangling=true"}, db));
    CHECK(m({"dangling=false"}, db));
    CHECK(m({"name=web"}, web));
    CHECK_FALSE(m({"name=web"}, db));
    CHECK(m({"name=nomatch", "name=^db-"}, db));  // either name
    CHECK_FALSE(m({"name=^data"}, web));           // regular expression, unanchored unless asked
    CHECK(m({"name=[invalid"}, web) == false);     // a bad pattern matches nothing
    CHECK(m({"driver=local"}, web));
    CHECK_FALSE(m({"driver=nfs"}, web));
    CHECK(m({"label=env"}, web));
    CHECK(m({"label=env=dev", "label=tier"}, web));
    CHECK_FALSE(m({"label=env=dev", "label=tier=back"}, web));  // every label filter must hold
    CHECK_FALSE(m({"label=env=dev"}, db));
    CHECK(m({"label=env", "name=web"}, web));
    CHECK_FALSE(m({"label=env", "name=web"}, db));
    CHECK_FALSE(m({"label!=tier"}, web, FilterFor::prune));
    CHECK(m({"label!=tier"}, db, FilterFor::prune));
    CHECK(m({"label!=env=dev"}, db, FilterFor::prune));
}
