#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "build/build.hpp"
#include "build/context.hpp"
#include "sys/fs.hpp"

using namespace berth;
using namespace berth::build;
namespace fs = std::filesystem;

TEST_CASE("dockerignore rules") {
    IgnoreRules r(
        "# comment\n"
        "*.log\n"
        "/secret\n"
        "build/\n"
        "**/*.tmp\n"
        "docs/**\n"
        "!docs/keep.md\n"
        "./node_modules\n");
    CHECK(r.excluded("a.log"));
    CHECK_FALSE(r.excluded("dir/a.log"));  // '*' does not cross '/'
    CHECK(r.excluded("secret"));
    CHECK(r.excluded("secret/inner/file"));  // a matched directory excludes what is below
    CHECK(r.excluded("build"));
    CHECK(r.excluded("build/x.o"));
    CHECK(r.excluded("x.tmp"));
    CHECK(r.excluded("deep/down/x.tmp"));
    CHECK(r.excluded("docs/a.md"));
    CHECK_FALSE(r.excluded("docs/keep.md"));
    CHECK(r.excluded("node_modules/x/y.js"));
    CHECK_FALSE(r.excluded("src/main.c"));
    CHECK(r.has_exceptions());

    IgnoreRules last_wins("!a.txt\n*.txt\n");
    CHECK(last_wins.excluded("a.txt"));
    IgnoreRules classes("file[0-9].c\nf?o\n");
    CHECK(classes.excluded("file3.c"));
    CHECK_FALSE(classes.excluded("filex.c"));
    CHECK(classes.excluded("foo"));
    CHECK_FALSE(classes.excluded("fooo"));
}

TEST_CASE("glob components as Go's filepath.Match") {
    CHECK(match_component("*.c", "a.c"));
    CHECK_FALSE(match_component("*.c", "a.h"));
    CHECK(match_component("[^a]b", "cb"));
    CHECK_FALSE(match_component("[!a]b", "ab"));
    CHECK(match_component("\\*", "*"));
    CHECK(clean_rel("./a//b/../c/") == "a/c");
    CHECK(clean_rel("/") == "");
    CHECK(clean_rel("../../x") == "x");
}

TEST_CASE("COPY sources over a listing") {
    std::vector<Entry> l = {
        {"a.txt", Entry::file}, {"b.txt", Entry::file}, {"dir", Entry::dir}, {"dir/x", Entry::file},
        {"dir/sub", Entry::dir}, {"dir/sub/y", Entry::file}, {"empty", Entry::dir},
    };
    auto one = expand_source(l, "a.txt");
    REQUIRE(one.items.size() == 1);
    CHECK(one.items[0].dst == "a.txt");
    CHECK_FALSE(one.multiple);

    auto glob = expand_source(l, "*.txt");
    CHECK(glob.items.size() == 2);
    CHECK(glob.multiple);
    auto glob1 = expand_source(l, "a*.txt");
    CHECK(glob1.items.size() == 1);
    CHECK_FALSE(glob1.multiple);

    auto dir = expand_source(l, "./dir/");
    CHECK(dir.multiple);
    REQUIRE(dir.items.size() == 3);  // the contents, not the directory itself
    CHECK(dir.items[0].dst == "x");
    CHECK(dir.items[1].dst == "sub");
    CHECK(dir.items[2].dst == "sub/y");

    CHECK(expand_source(l, "nope").items.empty());
    CHECK(expand_source(l, "empty").items.size() == 1);
    CHECK(expand_source(l, ".").items.size() == l.size());
}

TEST_CASE("listing honours .dockerignore and content hashes see content only") {
    auto base = fs::temp_directory_path() / ("berth-build-test-" + std::to_string(::getpid()));
    sys::remove_tree(base);
    sys::mkdirs(base / "ctx" / "d");
    sys::write_file(base / "ctx" / "keep", "1");
    sys::write_file(base / "ctx" / "drop.log", "2");
    sys::write_file(base / "ctx" / "d" / "f", "3");
    auto l = list_tree(base / "ctx", IgnoreRules("*.log\n"));
    std::vector<std::string> paths;
    for (auto& e : l) paths.push_back(e.path);
    CHECK(paths == std::vector<std::string>{"d", "d/f", "keep"});

    auto fd = sys::open_path(base / "ctx", O_RDONLY | O_DIRECTORY);
    auto items = expand_source(l, ".").items;
    auto h1 = hash_items(fd.get(), items);
    CHECK(h1 == hash_items(fd.get(), items));
    sys::write_file(base / "ctx" / "keep", "1");  // same content, new mtime
    CHECK(h1 == hash_items(fd.get(), items));
    sys::write_file(base / "ctx" / "keep", "changed");
    CHECK(h1 != hash_items(fd.get(), items));
    sys::remove_tree(base);
}

TEST_CASE("cache keys") {
    std::map<std::string, std::string> args{{"A", "1"}};
    auto k = cache_key("sha256:p", "RUN x", args, "");
    CHECK(k.size() == 64);
    CHECK(k == cache_key("sha256:p", "RUN x", args, ""));
    CHECK(k != cache_key("sha256:q", "RUN x", args, ""));
    CHECK(k != cache_key("sha256:p", "RUN y", args, ""));
    CHECK(k != cache_key("sha256:p", "RUN x", {{"A", "2"}}, ""));
    CHECK(k != cache_key("sha256:p", "RUN x", {}, ""));
    CHECK(k != cache_key("sha256:p", "RUN x", args, "abc"));
    // Fields cannot run into each other.
    CHECK(cache_key("a", "bc", {}, "") != cache_key("ab", "c", {}, ""));

    auto dir = fs::temp_directory_path() / ("berth-cache-test-" + std::to_string(::getpid()));
    Cache c(dir);
    CHECK_FALSE(c.get(k));
    std::string id = "sha256:" + std::string(64, 'a');
    c.put(k, id);
    CHECK(c.get(k) == std::optional<std::string>(id));
    CHECK(c.entries().size() == 1);
    CHECK_FALSE(c.get("../etc/passwd"));
    c.clear();
    CHECK_FALSE(c.get(k));
    sys::remove_tree(dir);
}
