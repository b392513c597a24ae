#include <catch2/catch.hpp>

#include "container/copy.hpp"

using namespace berth::container;

namespace {
CopySource file(std::string base) { return {false, std::move(base), false}; }
CopySource dir(std::string base, bool contents = false) { return {true, std::move(base), contents}; }
CopyDestState existing_dir() { return {true, true, false, true}; }
CopyDestState existing_file(bool slash = false) { return {true, false, slash, true}; }
CopyDestState missing(bool parent = true, bool slash = false) { return {false, false, slash, parent}; }
}  // namespace

TEST_CASE("cp: into an existing directory keeps the source's name, /. spreads its contents") {
    auto d = decide_copy(file("f"), "/tmp", existing_dir());
    REQUIRE(d.placement);
    CHECK(d.placement->dir == "/tmp");
    CHECK(d.placement->name == "f");
    d = decide_copy(dir("etc"), "/out", existing_dir());
    CHECK(d.placement->name == "etc");
    d = decide_copy(dir("etc", true), "/out", existing_dir());
    CHECK(d.placement->name == ".");
    d = decide_copy(dir(""), "/out", existing_dir());  // the container's /
    CHECK(d.placement->name == ".");
}

TEST_CASE("cp: a missing destination becomes the copy's new name") {
    auto d = decide_copy(file("f"), "/tmp/new", missing());
    REQUIRE(d.placement);
    CHECK(d.placement->dir == "/tmp");
    CHECK(d.placement->name == "new");
    d = decide_copy(dir("d", true), "rel/new/", missing());
    REQUIRE(d.placement);
    CHECK(d.placement->dir == "rel");
    CHECK(d.placement->name == "new");
    d = decide_copy(file("f"), "plain", missing());
    CHECK(d.placement->dir == ".");
}

TEST_CASE("cp: an existing file is overwritten by a file only") {
    auto d = decide_copy(file("f"), "/etc/passwd", existing_file());
    REQUIRE(d.placement);
    CHECK(d.placement->dir == "/etc");
    CHECK(d.placement->name == "passwd");
    CHECK_FALSE(decide_copy(dir("d"), "/etc/passwd", existing_file()).placement);
    CHECK(decide_copy(dir("d"), "/etc/passwd", existing_file()).error == "cannot copy a directory to a file: /etc/passwd");
    CHECK_FALSE(decide_copy(file("f"), "/etc/passwd/", existing_file(true)).placement);
}

TEST_CASE("cp: a missing parent or a missing directory named with a slash is an error") {
    auto d = decide_copy(file("f"), "/no/such/x", missing(false));
    CHECK_FALSE(d.placement);
    CHECK(d.error == "no such directory: \"/no/such\"");
    d = decide_copy(file("f"), "/tmp/newdir/", missing(true, true));
    CHECK_FALSE(d.placement);
    CHECK(d.placement == std::nullopt);
}

TEST_CASE("cp arguments: NAME:PATH names a container unless it looks like a local path") {
    auto a = split_copy_arg("web:/etc/hosts");
    CHECK(a.name == "web");
    CHECK(a.path == "/etc/hosts");
    CHECK(split_copy_arg("./web:x").name.empty());
    CHECK(split_copy_arg("/abs:x").name.empty());
    CHECK(split_copy_arg("dir/web:x").name.empty());
    CHECK(split_copy_arg("plain").name.empty());
    CHECK(split_copy_arg("plain").path == "plain");
    CHECK(split_copy_arg("-").name.empty());
    a = split_copy_arg("web:");
    CHECK(a.name == "web");
    CHECK(a.path.empty());
}
