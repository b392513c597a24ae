#include "compose/node.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include "sys/error.hpp"

namespace berth::compose {

Node Node::null(Pos pos) {
    Node n;
    n.pos = std::move(pos);
    return n;
}

Node Node::scalar(std::string value, Pos pos, bool plain) {
    Node n;
    n.kind = Kind::scalar;
    n.value = std::move(value);
    n.pos = std::move(pos);
    n.plain = plain;
    return n;
}

Node Node::sequence(Pos pos) {
    Node n;
    n.kind = Kind::sequence;
    n.pos = std::move(pos);
    return n;
}

Node Node::mapping(Pos pos) {
    Node n;
    n.kind = Kind::mapping;
    n.pos = std::move(pos);
    return n;
}

const Entry* Node::find_entry(std::string_view key) const {
    if (kind != Kind::mapping) return nullptr;
    for (auto& e : entries)
        if (e.key == key) return &e;
    return nullptr;
}

const Node* Node::find(std::string_view key) const {
    auto* e = find_entry(key);
    return e ? &e->value : nullptr;
}

Node* Node::find(std::string_view key) {
    if (kind != Kind::mapping) return nullptr;
    for (auto& e : entries)
        if (e.key == key) return &e.value;
    return nullptr;
}

Node& Node::set(std::string key, Node v, Pos key_pos) {
    for (auto& e : entries)
        if (e.key == key) {
            e.value = std::move(v);
            return e.value;
        }
    if (!key_pos.file) key_pos = v.pos;
    entries.push_back(Entry{std::move(key), std::move(key_pos), std::move(v)});
    return entries.back().value;
}

bool Node::erase(std::string_view key) {
    auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.key == key; });
    if (it == entries.end()) return false;
    entries.erase(it);
    return true;
}

const char* Node::kind_name(Kind k) {
    switch (k) {
        case Kind::null: return "null";
        case Kind::scalar: return "a scalar";
        case Kind::sequence: return "a list";
        case Kind::mapping: return "a mapping";
    }
    return "?";
}

std::string path_join(std::string_view parent, std::string_view key) {
    if (parent.empty()) return std::string(key);
    std::string out(parent);
    out += '.';
    out += key;
    return out;
}

std::string path_index(std::string_view parent, size_t index) {
    return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::string Problem::str() const {
    std::string out;
    if (pos.file) {
        out = *pos.file;
        if (pos.line > 0) out += ":" + std::to_string(pos.line);
        out += ": ";
    }
    if (!path.empty()) out += path + ": ";
    out += message;
    return out;
}

void Problems::add(const Pos& pos, std::string path, std::string message) {
    list_.push_back(Problem{pos, std::move(path), std::move(message)});
}

std::string Problems::text() const {
    // Problems without a position first, then by file and line, each file in the order met.
    std::vector<std::string> files;
    for (auto& p : list_)
        if (p.pos.file && std::find(files.begin(), files.end(), *p.pos.file) == files.end()) files.push_back(*p.pos.file);
    auto rank = [&](const Problem& p) {
        if (!p.pos.file) return std::make_tuple(-1L, 0, 0);
        long f = std::find(files.begin(), files.end(), *p.pos.file) - files.begin();
        return std::make_tuple(f, p.pos.line, p.pos.column);
    };
    std::vector<Problem> sorted = list_;
    std::stable_sort(sorted.begin(), sorted.end(), [&](const Problem& a, const Problem& b) { return rank(a) < rank(b); });
    std::string out;
    std::set<std::string> seen;
    for (auto& p : sorted) {
        auto line = p.str();
        if (!seen.insert(line).second) continue;
        if (!out.empty()) out += '\n';
        out += line;
    }
    return out;
}

void Problems::throw_if_any() const {
    if (!list_.empty()) throw_error(Errc::invalid, text());
}

void Warnings::add(std::string message) {
    if (std::find(list_.begin(), list_.end(), message) == list_.end()) list_.push_back(std::move(message));
}

}  // namespace berth::compose
