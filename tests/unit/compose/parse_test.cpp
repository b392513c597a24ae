// The untyped tree: positions, anchors, merge keys, tags, and the merge rules on it.
#include <catch2/catch.hpp>

#include "compose/merge.hpp"
#include "compose/parse.hpp"
#include "compose/schema.hpp"

using namespace berth::compose;

namespace {
Node parse_one(const std::string& text, Problems& problems) {
    auto docs = parse_yaml(text, std::make_shared<const std::string>("t.yaml"), problems);
    REQUIRE(docs.size() == 1);
    return docs[0];
}
}  // namespace

TEST_CASE("parse: every node keeps its file, line and column") {
    Problems problems;
    Node root = parse_one("services:\n  web:\n    image: nginx\n    ports:\n      - \"80:80\"\n", problems);
    REQUIRE(problems.empty());
    const Node* image = root.find("services")->find("web")->find("image");
    REQUIRE(image);
    CHECK(image->pos.file_name() == "t.yaml");
    CHECK(image->pos.line == 3);
    CHECK(image->pos.column == 12);
    CHECK(image->plain);
    const Node& port = root.find("services")->find("web")->find("ports")->items[0];
    CHECK(port.pos.line == 5);
    CHECK_FALSE(port.plain);
    CHECK(root.find("services")->find_entry("web")->key_pos.line == 2);
}

TEST_CASE("parse: anchors, aliases and merge keys") {
    Problems problems;
    Node root = parse_one(
        "base: &b {a: 1, b: 2}\n"
        "other: &o {b: 20, c: 30}\n"
        "one:\n  <<: *b\n  a: 10\n"
        "two:\n  <<: [*o, *b]\n"
        "alias: *b\n",
        problems);
    REQUIRE(problems.empty());
    CHECK(root.find("one")->find("a")->value == "10");
    CHECK(root.find("one")->find("b")->value == "2");
    CHECK(root.find("two")->find("b")->value == "20");
    CHECK(root.find("two")->find("a")->value == "1");
    CHECK(root.find("two")->find("c")->value == "30");
    CHECK(root.find("alias")->find("b")->value == "2");
    CHECK_FALSE(root.find("one")->find("<<"));
}

TEST_CASE("parse: tags, nulls and errors") {
    Problems problems;
    Node root = parse_one("a: !reset null\nb: !override [1]\nc:\nd: ~\ne: 'null'\n", problems);
    REQUIRE(problems.empty());
    CHECK(root.find("a")->is_null());
    CHECK(root.find("a")->tag == "!reset");
    CHECK(root.find("b")->tag == "!override");
    CHECK(root.find("c")->is_null());
    CHECK(root.find("c")->pos.line == 3);
    CHECK(root.find("d")->is_null());
    CHECK(root.find("e")->is_scalar());

    Problems p2;
    parse_one("a: 1\nb: 2\na: 3\n", p2);
    CHECK(p2.text() == "t.yaml:3: mapping key \"a\" already defined at line 1");

    Problems p3;
    auto docs = parse_yaml("a: [1, 2\n", std::make_shared<const std::string>("t.yaml"), p3);
    CHECK(docs.empty());
    CHECK(p3.text().rfind("t.yaml:", 0) == 0);
}

TEST_CASE("parse: alias bombs are refused") {
    std::string text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    char prev = 'a';
    for (char c = 'b'; c <= 'j'; ++c, ++prev)
        text += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
                ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n";
    Problems problems;
    parse_yaml(text, std::make_shared<const std::string>("bomb.yaml"), problems);
    CHECK_FALSE(problems.empty());
    CHECK(problems.text().find("document too large") != std::string::npos);
}

TEST_CASE("merge: mappings merge, sequences append, scalars are replaced, tags reset and override") {
    Problems problems;
    Node base = parse_one(
        "services:\n  a:\n    image: x\n    dns: [1.1.1.1]\n    command: [one]\n    labels: {k: v}\n"
        "    group_add: [g1]\n    environment: {A: '1', B: '2'}\n",
        problems);
    Node over = parse_one(
        "services:\n  a:\n    image: y\n    dns: [8.8.8.8, 1.1.1.1]\n    command: [two]\n    labels: !override {z: 1}\n"
        "    group_add: [g2]\n    environment: {A: !reset null}\n",
        problems);
    REQUIRE(problems.empty());
    merge_into(base, over, "");
    strip_merge_tags(base);
    const Node* a = base.find("services")->find("a");
    CHECK(a->find("image")->value == "y");
    REQUIRE(a->find("dns")->items.size() == 2);  // a set: no duplicate
    CHECK(a->find("command")->items.size() == 1);
    CHECK(a->find("command")->items[0].value == "two");
    CHECK_FALSE(a->find("labels")->find("k"));
    CHECK(a->find("labels")->find("z"));
    CHECK(a->find("group_add")->items.size() == 2);
    CHECK_FALSE(a->find("environment")->find("A"));
    CHECK(a->find("environment")->find("B"));
    // The winning value keeps the position it was written at.
    CHECK(a->find("image")->pos.line == 3);
}

TEST_CASE("schema: suggestions use the edit distance") {
    CHECK(edit_distance("image", "image") == 0);
    CHECK(edit_distance("imgae", "image") == 1);
    CHECK(edit_distance("kitten", "sitting") == 3);
    CHECK(closest("enviroment", {"environment", "entrypoint"}) == "environment");
    CHECK(closest("xyz", {"image", "ports"}).empty());
}
