#pragma once
// The untyped tree every loading phase works on (PARSING.md): YAML parsed into plain nodes that
// remember where they came from (file, line, column) and their !reset / !override tag, so that
// interpolation, extends, merge and validation can all report `file:line: path: message`.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::compose {

// Where a node was written. `file` is the name shown to the user (relative to the working
// directory when inside it); line and column are 1-based, 0 when unknown.
struct Pos {
    std::shared_ptr<const std::string> file;
    int line = 0;
    int column = 0;

    std::string file_name() const { return file ? *file : std::string(); }
};

class Node;

struct Entry;  // one key of a mapping

class Node {
public:
    enum class Kind { null, scalar, sequence, mapping };

    Node() = default;
    static Node null(Pos pos = {});
    static Node scalar(std::string value, Pos pos = {}, bool plain = false);
    static Node sequence(Pos pos = {});
    static Node mapping(Pos pos = {});

    Kind kind = Kind::null;
    std::string value;  // scalar text
    // True for a plain (unquoted) YAML scalar: `8080` and `true` are plain, `"8080"` is not.
    // Only pass-through data (x- extensions, untyped attributes) uses it, to print 8080 as a number.
    bool plain = false;
    std::string tag;  // "!reset", "!override" or empty
    Pos pos;
    std::vector<Node> items;     // sequence
    std::vector<Entry> entries;  // mapping, in document order

    bool is_null() const { return kind == Kind::null; }
    bool is_scalar() const { return kind == Kind::scalar; }
    bool is_seq() const { return kind == Kind::sequence; }
    bool is_map() const { return kind == Kind::mapping; }

    // Mapping access. find() returns nullptr when absent (or when this is not a mapping).
    const Node* find(std::string_view key) const;
    Node* find(std::string_view key);
    const Entry* find_entry(std::string_view key) const;
    // Sets key (replacing the value in place, or appending a new entry).
    Node& set(std::string key, Node value, Pos key_pos = {});
    bool erase(std::string_view key);

    static const char* kind_name(Kind k);
    const char* kind_name() const { return kind_name(kind); }
};

struct Entry {
    std::string key;
    Pos key_pos;
    Node value;
};

// Document paths as compose-go prints them: services.web.ports[0].
std::string path_join(std::string_view parent, std::string_view key);
std::string path_index(std::string_view parent, size_t index);

// One problem found while loading, with where it was found.
struct Problem {
    Pos pos;
    std::string path;  // document path; may be empty
    std::string message;

    // "compose.yaml:12: services.web.ports[0]: invalid port \"80:abc\""
    std::string str() const;
};

// Every phase adds to one list; the loader throws once with all of them (STYLE.md convention 5).
class Problems {
public:
    void add(const Pos& pos, std::string path, std::string message);
    void add(const Node& at, std::string path, std::string message) { add(at.pos, std::move(path), std::move(message)); }
    bool empty() const { return list_.empty(); }
    size_t size() const { return list_.size(); }
    const std::vector<Problem>& list() const { return list_; }
    // One line per problem, in the order found, duplicates removed.
    std::string text() const;
    // Throws berth::Error(Errc::invalid) with text() when there is any problem.
    void throw_if_any() const;

private:
    std::vector<Problem> list_;
};

// Warnings are collected, never printed by the library (the CLI prints them).
class Warnings {
public:
    void add(std::string message);
    const std::vector<std::string>& list() const { return list_; }

private:
    std::vector<std::string> list_;
};

}  // namespace berth::compose
