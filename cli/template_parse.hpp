#pragma once
// The parse tree of a Go text/template (text/template/parse/node.go, one struct for all node
// kinds), shared by the parser (template_parse.cpp) and the executor (template.cpp).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace berth::cli::tmpl {

enum class NT {
    text, action, if_, range, with, brk, cont, list, pipe, command,
    field, variable, dot, nil, boolean, number, string, identifier, chain, end, else_,
};

struct Node {
    NT t;
    size_t pos = 0;
    int line = 0;
    std::string text;                // text; identifier name; number/string literal as written
    std::vector<std::string> ident;  // field names; variable "$x" + fields; chain fields; a
                                     // string node's value
    bool boolean = false;
    // number
    bool is_int = false, is_uint = false, is_float = false;
    std::int64_t i = 0;
    std::uint64_t u = 0;
    double f = 0;
    // pipe
    bool is_assign = false;
    std::vector<Node*> decl;
    std::vector<Node*> cmds;
    // command args; list nodes
    std::vector<Node*> args;
    std::vector<Node*> nodes;
    Node* sub = nullptr;  // action/control pipe; chain's term
    Node* list = nullptr;
    Node* else_list = nullptr;
};

// A parsed template: its text (for error positions), its nodes and the root list.
struct Parsed {
    std::string text;
    std::vector<std::unique_ptr<Node>> arena;
    Node* root = nullptr;
};

// Parses p.text into p.root; throws berth::Error(Errc::invalid) with Go's message, prefixed with
// "template parsing error: " as docker/cli prints it.
void parse(Parsed& p);

// The node written back as template text, as Go's Node.String() (error contexts).
std::string node_str(const Node* n);

// A function a template may call and how many arguments it takes (max -1: any number).
struct FuncInfo {
    const char* name;
    int min, max;
};
const FuncInfo* find_function(std::string_view name);

}  // namespace berth::cli::tmpl
