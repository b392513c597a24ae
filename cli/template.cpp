// Go's text/template executor (text/template/exec.go) over JSON data, with the functions Docker's
// CLI adds (docker/cli templates.basicFunctions, and HeaderFunctions for a table's header).
//
// Data is JSON: an object plays the part of a Go map or struct, an array a slice. A key that is
// not there is Go's "invalid value" (prints "<no value>"); JSON null is a nil pointer/interface
// (prints "<nil>"). Numbers keep their JSON kind: integers print as Go ints, other numbers as
// float64.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/gofmt.hpp"
#include "cli/output.hpp"
#include "cli/template_parse.hpp"
#include "sys/error.hpp"

namespace berth::cli {

namespace {

using gofmt::append_utf8;
using gofmt::decode_rune;
using gofmt::is_print;
using gofmt::quote;
using gofmt::Rune;
using gofmt::sorted_items;
using tmpl::NT;
using tmpl::Node;
using tmpl::node_str;
using tmpl::Parsed;

// Values during execution

// A value: borrowed from the data (which outlives render()), or owned (a function's result), or
// Go's invalid value (p == nullptr: a missing key).
struct Val {
    const ojson* p = nullptr;
    std::shared_ptr<const ojson> own;

    static Val missing() { return {}; }
    static Val of(ojson j) {
        auto s = std::make_shared<const ojson>(std::move(j));
        const ojson* p = s.get();
        return {p, std::move(s)};
    }
    static Val ref(const ojson& j) { return {&j, nullptr}; }
    // A part of this value, kept alive by the same owner.
    Val child(const ojson& j) const { return {&j, own}; }

    bool valid() const { return p != nullptr; }
    bool nil() const { return !p || p->is_null(); }
    const ojson& j() const { return *p; }
};

std::string type_name(const ojson* v) { return gofmt::type_name(v); }

std::string sprint_v(const Val& v) { return v.valid() ? gofmt::sprint_value(v.p) : "<no value>"; }

std::vector<const ojson*> ptrs(const std::vector<Val>& vals) {
    std::vector<const ojson*> out;
    for (const auto& v : vals) out.push_back(v.p);
    return out;
}

// Executor (Go's text/template/exec.go)

enum class Flow { normal, brk, cont };

// An error from a function's own logic ("error calling index: ...").
struct CallError {
    std::string msg;
};
// A bad argument type, reported at the argument.
struct ArgError {
    std::string msg;
};

bool is_true(const Val& v) {
    if (v.nil()) return false;
    const ojson& j = v.j();
    switch (j.type()) {
        case ojson::value_t::boolean: return j.get<bool>();
        case ojson::value_t::number_integer: return j.get<std::int64_t>() != 0;
        case ojson::value_t::number_unsigned: return j.get<std::uint64_t>() != 0;
        case ojson::value_t::number_float: return j.get<double>() != 0;
        case ojson::value_t::string: return !j.get_ref<const std::string&>().empty();
        case ojson::value_t::array:
        case ojson::value_t::object: return !j.empty();
        default: return true;
    }
}

const std::string& want_string(const Val& v) {
    if (!v.valid()) throw ArgError{"invalid value; expected string"};
    if (!v.j().is_string()) throw ArgError{"wrong type for value; expected string; got " + type_name(v.p)};
    return v.j().get_ref<const std::string&>();
}

std::int64_t want_int(const Val& v) {
    if (!v.valid()) throw ArgError{"invalid value; expected int"};
    const ojson& j = v.j();
    if (j.is_number_integer()) return j.get<std::int64_t>();
    if (j.is_number_float()) {
        double d = j.get<double>();
        if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9e18) return static_cast<std::int64_t>(d);
    }
    throw ArgError{"wrong type for value; expected int; got " + type_name(v.p)};
}

std::vector<std::string> want_strings(const Val& v) {
    if (!v.valid()) throw ArgError{"invalid value; expected []string"};
    const ojson& j = v.j();
    if (j.is_null()) return {};
    bool ok = j.is_array();
    std::vector<std::string> out;
    if (ok)
        for (const auto& e : j) {
            if (!e.is_string()) {
                ok = false;
                break;
            }
            out.push_back(e.get<std::string>());
        }
    if (!ok) throw ArgError{"wrong type for value; expected []string; got " + type_name(v.p)};
    return out;
}

enum class Basic { invalid, boolean, integer, floating, string, other };

Basic basic_kind(const Val& v) {
    if (v.nil()) return Basic::invalid;
    switch (v.j().type()) {
        case ojson::value_t::boolean: return Basic::boolean;
        case ojson::value_t::number_integer:
        case ojson::value_t::number_unsigned: return Basic::integer;
        case ojson::value_t::number_float: return Basic::floating;
        case ojson::value_t::string: return Basic::string;
        default: return Basic::other;
    }
}

// Compares two numbers of any JSON kind: -1, 0, 1.
int num_cmp(const ojson& a, const ojson& b) {
    if (a.is_number_float() || b.is_number_float()) {
        double x = a.get<double>(), y = b.get<double>();
        return x < y ? -1 : x > y ? 1 : 0;
    }
    bool an = a.is_number_integer() && !a.is_number_unsigned() && a.get<std::int64_t>() < 0;
    bool bn = b.is_number_integer() && !b.is_number_unsigned() && b.get<std::int64_t>() < 0;
    if (an != bn) return an ? -1 : 1;
    if (an) {
        auto x = a.get<std::int64_t>(), y = b.get<std::int64_t>();
        return x < y ? -1 : x > y ? 1 : 0;
    }
    auto x = a.get<std::uint64_t>(), y = b.get<std::uint64_t>();
    return x < y ? -1 : x > y ? 1 : 0;
}

bool go_eq(const Val& a, const std::vector<Val>& others) {
    if (others.empty()) throw CallError{"missing argument for comparison"};
    Basic ka = basic_kind(a);
    for (const auto& b : others) {
        Basic kb = basic_kind(b);
        bool numeric = (ka == Basic::integer || ka == Basic::floating) && (kb == Basic::integer || kb == Basic::floating);
        if (ka == Basic::other || kb == Basic::other) throw CallError{"non-comparable type " + type_name(ka == Basic::other ? a.p : b.p)};
        if (ka != kb && !numeric) {
            if (ka == Basic::invalid || kb == Basic::invalid) continue;  // nil vs a value: unequal
            throw CallError{"incompatible types for comparison"};
        }
        bool truth = false;
        switch (ka) {
            case Basic::invalid: truth = true; break;
            case Basic::boolean: truth = a.j().get<bool>() == b.j().get<bool>(); break;
            case Basic::string: truth = a.j().get_ref<const std::string&>() == b.j().get_ref<const std::string&>(); break;
            default: truth = num_cmp(a.j(), b.j()) == 0;
        }
        if (truth) return true;
    }
    return false;
}

bool go_lt(const Val& a, const Val& b) {
    Basic ka = basic_kind(a), kb = basic_kind(b);
    auto orderable = [](Basic k) { return k == Basic::integer || k == Basic::floating || k == Basic::string; };
    if (!orderable(ka) || !orderable(kb)) throw CallError{"invalid type for comparison"};
    bool numeric = ka != Basic::string && kb != Basic::string;
    if (ka != kb && !numeric) throw CallError{"incompatible types for comparison"};
    if (ka == Basic::string) return a.j().get_ref<const std::string&>() < b.j().get_ref<const std::string&>();
    return num_cmp(a.j(), b.j()) < 0;
}

std::string ascii_map(std::string s, bool up) {
    for (auto& c : s) {
        if (up && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        if (!up && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return s;
}

// strings.Title: the first letter of each word upper-cased (ASCII letters; docker/cli notes it
// only relies on ASCII).
std::string go_title(std::string_view s) {
    std::string out;
    char32_t prev = ' ';
    auto separator = [](char32_t r) {
        if (r < 0x80)
            return !((r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r == '_');
        return r == 0x85 || r == 0xA0 || r == 0x1680 || (r >= 0x2000 && r <= 0x200A) || r == 0x2028 || r == 0x2029 ||
               r == 0x202F || r == 0x205F || r == 0x3000;
    };
    for (size_t i = 0; i < s.size();) {
        Rune r = decode_rune(s, i);
        char32_t c = r.r;
        if (separator(prev) && c >= 'a' && c <= 'z') c = c - 'a' + 'A';
        prev = r.r;
        if (r.bad)
            out += s[i];
        else
            append_utf8(out, c);
        i += r.n;
    }
    return out;
}

std::string html_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '"': out += "&#34;"; break;
            case '\'': out += "&#39;"; break;
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '\0': out += "\xEF\xBF\xBD"; break;
            default: out += c;
        }
    }
    return out;
}

std::string js_escape(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
        Rune r = decode_rune(s, i);
        i += r.n;
        char buf[12];
        switch (r.r) {
            case '\\': out += "\\\\"; continue;
            case '\'': out += "\\'"; continue;
            case '"': out += "\\\""; continue;
            case '<': out += "\\u003C"; continue;
            case '>': out += "\\u003E"; continue;
            case '&': out += "\\u0026"; continue;
            case '=': out += "\\u003D"; continue;
            default: break;
        }
        if (r.r < 0x80 && !is_print(r.r)) {
            std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(r.r));
            out += buf;
        } else if (r.bad) {
            out += s[i - 1];
        } else {
            append_utf8(out, r.r);
        }
    }
    return out;
}

std::string url_query_escape(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else if (c == ' ') {
            out += '+';
        } else {
            out += '%';
            out += "0123456789ABCDEF"[c >> 4];
            out += "0123456789ABCDEF"[c & 15];
        }
    }
    return out;
}

// Docker's ps/images/volumes contexts: .Label "k" reads one label; Labels is an object or
// Docker's "k=v,k2=v2" text.
std::string label_of(const ojson& obj, const std::string& key) {
    auto it = obj.find("Labels");
    if (it == obj.end()) return "";
    if (it->is_object()) {
        auto v = it->find(key);
        if (v == it->end()) return "";
        return v->is_string() ? v->get<std::string>() : sprint_v(Val::ref(*v));
    }
    if (it->is_string()) {
        std::string_view s = it->get_ref<const std::string&>();
        size_t start = 0;
        while (start <= s.size()) {
            size_t comma = s.find(',', start);
            std::string_view part = s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
            size_t eq = part.find('=');
            if (part.substr(0, eq) == key) return eq == std::string_view::npos ? "" : std::string(part.substr(eq + 1));
            if (comma == std::string_view::npos) break;
            start = comma + 1;
        }
    }
    return "";
}

class State {
public:
    State(const Parsed& t, const ojson& data, bool header) : t_(t), root_(&data), header_(header) {
        vars_.emplace_back("$", Val::ref(data));
    }

    std::string out;

    void run() { walk(Val::ref(*root_), t_.root); }

private:
    const Parsed& t_;
    const ojson* root_;
    bool header_;
    std::vector<std::pair<std::string, Val>> vars_;
    const Node* node_ = nullptr;

    [[noreturn]] void errorf(const std::string& msg) {
        if (!node_) throw Error(Errc::invalid, "template parsing error: template: : " + msg);
        size_t pos = std::min(node_->pos, t_.text.size());
        std::string_view before(t_.text.data(), pos);
        size_t nl = before.rfind('\n');
        size_t col = nl == std::string_view::npos ? pos : pos - (nl + 1);
        int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
        std::string context = node_str(node_);
        if (context.size() > 20) {
            size_t i = 0;
            for (int k = 0; k < 20 && i < context.size(); ++k) i += decode_rune(context, i).n;
            context = context.substr(0, i) + "...";
        }
        throw Error(Errc::invalid, "template parsing error: template: :" + std::to_string(line) + ":" + std::to_string(col) +
                                       ": executing \"\" at <" + context + ">: " + msg);
    }

    Val var_value(const std::string& name) {
        for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
            if (it->first == name) return it->second;
        errorf("undefined variable: " + name);
    }
    void set_var(const std::string& name, Val v) {
        for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
            if (it->first == name) {
                it->second = std::move(v);
                return;
            }
        errorf("undefined variable: " + name);
    }

    Flow walk(const Val& dot, const Node* n) {
        switch (n->t) {
            case NT::action: {
                Val v = eval_pipeline(dot, n->sub);
                if (n->sub->decl.empty()) {
                    node_ = n;
                    out += sprint_v(v);
                }
                return Flow::normal;
            }
            case NT::brk: return Flow::brk;
            case NT::cont: return Flow::cont;
            case NT::if_:
            case NT::with: {
                size_t mark = vars_.size();
                Val v = eval_pipeline(dot, n->sub);
                Flow f = Flow::normal;
                if (is_true(v))
                    f = walk(n->t == NT::with ? v : dot, n->list);
                else if (n->else_list)
                    f = walk(dot, n->else_list);
                vars_.resize(mark);
                return f;
            }
            case NT::list:
                for (const Node* c : n->nodes) {
                    Flow f = walk(dot, c);
                    if (f != Flow::normal) return f;
                }
                return Flow::normal;
            case NT::range: return walk_range(dot, n);
            case NT::text: out += n->text; return Flow::normal;
            default: node_ = n; errorf("unknown node: " + node_str(n));
        }
    }

    Flow walk_range(const Val& dot, const Node* r) {
        node_ = r;
        size_t mark = vars_.size();
        Val v = eval_pipeline(dot, r->sub);
        size_t body_mark = vars_.size();
        const Node* pipe = r->sub;
        bool iterated = false;
        auto one = [&](Val index, Val elem) -> bool {
            if (!pipe->decl.empty()) {
                if (pipe->is_assign) {
                    set_var(pipe->decl[0]->ident[0], pipe->decl.size() > 1 ? index : elem);
                    if (pipe->decl.size() > 1) set_var(pipe->decl[1]->ident[0], elem);
                } else {
                    // declared with :=, pushed by eval_pipeline: the last is the element
                    vars_[body_mark - 1].second = elem;
                    if (pipe->decl.size() > 1) vars_[body_mark - 2].second = index;
                }
            }
            iterated = true;
            Flow f = walk(elem, r->list);
            vars_.resize(body_mark);
            return f != Flow::brk;
        };
        if (v.valid() && !v.j().is_null()) {
            const ojson& j = v.j();
            if (j.is_array()) {
                std::int64_t i = 0;
                for (const auto& e : j)
                    if (!one(Val::of(i++), v.child(e))) break;
            } else if (j.is_object()) {
                for (auto& [k, e] : sorted_items(j))
                    if (!one(Val::of(*k), v.child(*e))) break;
            } else if (j.is_number_integer()) {
                // range over an int (Go 1.22): 0..n-1
                auto n = j.get<std::int64_t>();
                for (std::int64_t i = 0; i < n; ++i)
                    if (!one(Val::of(i), Val::of(i))) break;
            } else {
                node_ = r;
                errorf("range can't iterate over " + sprint_v(v));
            }
        }
        if (!iterated && r->else_list) walk(dot, r->else_list);
        vars_.resize(mark);
        return Flow::normal;
    }

    Val eval_pipeline(const Val& dot, const Node* pipe) {
        node_ = pipe;
        Val value;
        bool have = false;
        for (const Node* cmd : pipe->cmds) {
            value = eval_command(dot, cmd, have ? &value : nullptr);
            have = true;
        }
        for (const Node* d : pipe->decl) {
            if (pipe->is_assign)
                set_var(d->ident[0], value);
            else
                vars_.emplace_back(d->ident[0], value);
        }
        return value;
    }

    void not_a_function(const std::vector<Node*>& args, const Val* final) {
        if (args.size() > 1 || final) errorf("can't give argument to non-function " + node_str(args[0]));
    }

    Val constant(const Node* n) {
        switch (n->t) {
            case NT::boolean: return Val::of(n->boolean);
            case NT::string: return Val::of(n->ident[0]);
            case NT::number: {
                bool hex_int = n->text.size() > 2 && n->text[0] == '0' && (n->text[1] == 'x' || n->text[1] == 'X') &&
                               n->text.find_first_of("pP") == std::string::npos;
                bool rune = !n->text.empty() && n->text[0] == '\'';
                if (n->is_float && !hex_int && !rune && n->text.find_first_of(".eEpP") != std::string::npos) return Val::of(n->f);
                if (n->is_int) return Val::of(n->i);
                errorf(n->text + " overflows int");
            }
            default: errorf("can't evaluate command " + quote(node_str(n)));
        }
    }

    Val eval_command(const Val& dot, const Node* cmd, const Val* final) {
        const Node* first = cmd->args[0];
        switch (first->t) {
            case NT::field: return eval_field_chain(dot, dot, first, first->ident, cmd->args, final);
            case NT::chain: return eval_chain(dot, first, cmd->args, final);
            case NT::identifier: return eval_function(dot, first, cmd, cmd->args, final);
            case NT::pipe:
                node_ = first;
                not_a_function(cmd->args, final);
                return eval_pipeline(dot, first);
            case NT::variable: return eval_variable(dot, first, cmd->args, final);
            default: break;
        }
        node_ = first;
        not_a_function(cmd->args, final);
        switch (first->t) {
            case NT::dot: return dot;
            case NT::nil: errorf("nil is not a command");
            default: return constant(first);
        }
    }

    Val eval_variable(const Val& dot, const Node* v, const std::vector<Node*>& args, const Val* final) {
        node_ = v;
        Val value = var_value(v->ident[0]);
        if (v->ident.size() == 1) {
            not_a_function(args, final);
            return value;
        }
        std::vector<std::string> fields(v->ident.begin() + 1, v->ident.end());
        return eval_field_chain(dot, value, v, fields, args, final);
    }

    Val eval_chain(const Val& dot, const Node* chain, const std::vector<Node*>& args, const Val* final) {
        node_ = chain;
        if (chain->sub->t == NT::nil) errorf("indirection through explicit nil in " + node_str(chain));
        Val v = eval_arg(dot, chain->sub);
        return eval_field_chain(dot, v, chain, chain->ident, args, final);
    }

    Val eval_field_chain(const Val& dot, Val receiver, const Node* node, const std::vector<std::string>& ident,
                         const std::vector<Node*>& args, const Val* final) {
        node_ = node;
        bool has_args = args.size() > 1 || final;
        // A table's header is rendered against the column titles; a field without a title shows
        // its own name upper-cased (ListFormat.headers).
        if (header_ && receiver.p == root_ && receiver.j().is_object() && !receiver.j().contains(ident[0]) &&
            !(ident.size() == 1 && ident[0] == "Label" && has_args))
            return Val::of(ascii_map(ident.back(), true));
        static const std::vector<Node*> no_args;
        for (size_t i = 0; i + 1 < ident.size(); ++i) receiver = eval_field(dot, ident[i], node, no_args, nullptr, receiver);
        return eval_field(dot, ident.back(), node, args, final, receiver);
    }

    Val eval_field(const Val& dot, const std::string& name, const Node* node, const std::vector<Node*>& args, const Val* final,
                   const Val& receiver) {
        bool has_args = args.size() > 1 || final;
        if (!receiver.valid()) return Val::missing();
        const ojson& r = receiver.j();
        if (r.is_object()) {
            if (name == "Label" && has_args && !r.contains("Label")) return label_method(dot, node, args, final, r);
            if (has_args) errorf(name + " is not a method but has arguments");
            auto it = r.find(name);
            if (it == r.end()) return Val::missing();
            return receiver.child(*it);
        }
        // JSON null stands for Go's nil maps as well as nil pointers; a nil map yields no value.
        if (r.is_null()) return Val::missing();
        errorf("can't evaluate field " + name + " in type " + type_name(&r));
    }

    Val label_method(const Val& dot, const Node* node, const std::vector<Node*>& args, const Val* final, const ojson& obj) {
        std::vector<Val> vals;
        for (size_t i = 1; i < args.size(); ++i) vals.push_back(eval_arg(dot, args[i]));
        if (final) vals.push_back(*final);
        node_ = node;
        if (vals.size() != 1) errorf("wrong number of args for Label: want 1 got " + std::to_string(vals.size()));
        std::string key;
        try {
            key = want_string(vals[0]);
        } catch (const ArgError& e) {
            errorf(e.msg);
        }
        if (header_) {
            // docker/cli SubHeaderContext.Label: the last dotted part, '-' and '_' as spaces
            size_t dotp = key.rfind('.');
            std::string h = dotp == std::string::npos ? key : key.substr(dotp + 1);
            for (auto& c : h)
                if (c == '-' || c == '_') c = ' ';
            return Val::of(h);
        }
        return Val::of(label_of(obj, key));
    }

    Val eval_arg(const Val& dot, const Node* n) {
        node_ = n;
        static const std::vector<Node*> none;
        std::vector<Node*> self{const_cast<Node*>(n)};
        switch (n->t) {
            case NT::dot: return dot;
            case NT::nil: return Val::of(nullptr);
            case NT::field: return eval_field_chain(dot, dot, n, n->ident, self, nullptr);
            case NT::variable: return eval_variable(dot, n, self, nullptr);
            case NT::pipe: return eval_pipeline(dot, n);
            case NT::identifier: return eval_function(dot, n, n, self, nullptr);
            case NT::chain: return eval_chain(dot, n, self, nullptr);
            default: return constant(n);
        }
    }

    Val eval_function(const Val& dot, const Node* ident, const Node* cmd, const std::vector<Node*>& args, const Val* final) {
        node_ = ident;
        const std::string& name = ident->text;
        size_t argc = args.size() - 1 + (final ? 1 : 0);
        if (name == "and" || name == "or") {
            if (argc < 1) errorf("wrong number of args for " + name + ": want at least 1 got 0");
            Val v;
            for (size_t i = 1; i < args.size(); ++i) {
                v = eval_arg(dot, args[i]);
                if (is_true(v) != (name == "and")) return v;
            }
            if (final) v = *final;
            return v;
        }
        const tmpl::FuncInfo* ar = tmpl::find_function(name);
        if (!ar) errorf(quote(name) + " is not a defined function");
        if (static_cast<int>(argc) < ar->min || (ar->max >= 0 && static_cast<int>(argc) > ar->max)) {
            if (ar->max < 0)
                errorf("wrong number of args for " + name + ": want at least " + std::to_string(ar->min) + " got " + std::to_string(argc));
            errorf("wrong number of args for " + name + ": want " + std::to_string(ar->min) + " got " + std::to_string(argc));
        }
        std::vector<Val> vals;
        for (size_t i = 1; i < args.size(); ++i) vals.push_back(eval_arg(dot, args[i]));
        if (final) vals.push_back(*final);
        try {
            return call(name, vals);
        } catch (const ArgError& e) {
            node_ = cmd;
            errorf(e.msg);
        } catch (const CallError& e) {
            node_ = cmd;
            errorf("error calling " + name + ": " + e.msg);
        }
    }

    Val call(const std::string& name, std::vector<Val>& a) {
        // docker/cli HeaderFunctions: a table's header keeps the column title as it is.
        if (header_ && (name == "json" || name == "split" || name == "join" || name == "title" || name == "lower" ||
                        name == "upper" || name == "truncate")) {
            std::string s = want_string(a[0]);
            if (name == "split" || name == "join") want_string(a[1]);
            if (name == "truncate") want_int(a[1]);
            return Val::of(s);
        }
        if (name == "not") return Val::of(!is_true(a[0]));
        if (name == "len") {
            if (a[0].nil()) throw CallError{"len of nil pointer"};
            const ojson& j = a[0].j();
            if (j.is_string()) return Val::of(static_cast<std::int64_t>(j.get_ref<const std::string&>().size()));
            if (j.is_array() || j.is_object()) return Val::of(static_cast<std::int64_t>(j.size()));
            throw CallError{"len of type " + type_name(a[0].p)};
        }
        if (name == "index") return builtin_index(a);
        if (name == "slice") return builtin_slice(a);
        if (name == "print") return Val::of(gofmt::sprint(ptrs(a), false));
        if (name == "println") return Val::of(gofmt::sprint(ptrs(a), true));
        if (name == "printf") return Val::of(gofmt::sprintf(want_string(a[0]), ptrs(std::vector<Val>(a.begin() + 1, a.end()))));
        if (name == "html") return Val::of(html_escape(go_sprint_for_escaper(a)));
        if (name == "js") return Val::of(js_escape(go_sprint_for_escaper(a)));
        if (name == "urlquery") return Val::of(url_query_escape(go_sprint_for_escaper(a)));
        if (name == "eq") return Val::of(go_eq(a[0], std::vector<Val>(a.begin() + 1, a.end())));
        if (name == "ne") return Val::of(!go_eq(a[0], {a[1]}));
        if (name == "lt") return Val::of(go_lt(a[0], a[1]));
        if (name == "le") return Val::of(go_lt(a[0], a[1]) || go_eq(a[0], {a[1]}));
        if (name == "gt") return Val::of(!go_lt(a[0], a[1]) && !go_eq(a[0], {a[1]}));
        if (name == "ge") return Val::of(!go_lt(a[0], a[1]));
        if (name == "json") {
            // docker/cli: json.Encoder with SetEscapeHTML(false), trailing newline trimmed
            std::string s;
            if (a[0].valid())
                gofmt::encode_json(s, a[0].j(), {}, false);
            else
                s = "null";
            return Val::of(s);
        }
        if (name == "split") {
            const std::string& s = want_string(a[0]);
            const std::string& sep = want_string(a[1]);
            ojson arr = ojson::array();
            if (sep.empty()) {
                for (size_t i = 0; i < s.size();) {
                    size_t n = decode_rune(s, i).n;
                    arr.push_back(s.substr(i, n));
                    i += n;
                }
            } else {
                size_t start = 0;
                for (;;) {
                    size_t p = s.find(sep, start);
                    if (p == std::string::npos) {
                        arr.push_back(s.substr(start));
                        break;
                    }
                    arr.push_back(s.substr(start, p - start));
                    start = p + sep.size();
                }
            }
            return Val::of(std::move(arr));
        }
        if (name == "join") {
            auto parts = want_strings(a[0]);
            const std::string& sep = want_string(a[1]);
            std::string out;
            for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
            return Val::of(out);
        }
        if (name == "title") return Val::of(go_title(want_string(a[0])));
        if (name == "lower") return Val::of(ascii_map(want_string(a[0]), false));
        if (name == "upper") return Val::of(ascii_map(want_string(a[0]), true));
        if (name == "pad") {
            const std::string& s = want_string(a[0]);
            auto pre = want_int(a[1]), post = want_int(a[2]);
            if (s.empty()) return Val::of(s);
            if (pre < 0 || post < 0) throw CallError{"strings: negative Repeat count"};
            return Val::of(std::string(static_cast<size_t>(pre), ' ') + s + std::string(static_cast<size_t>(post), ' '));
        }
        if (name == "truncate") {
            const std::string& s = want_string(a[0]);
            auto n = want_int(a[1]);
            if (n < 0) throw CallError{"slice bounds out of range [:" + std::to_string(n) + "]"};
            if (static_cast<std::uint64_t>(n) >= s.size()) return Val::of(s);
            // Docker cuts at a byte count; back off to a character boundary so the output stays
            // valid UTF-8.
            size_t cut = static_cast<size_t>(n);
            while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
            return Val::of(s.substr(0, cut));
        }
        throw CallError{"unknown function"};
    }

    // html/js/urlquery: a single string argument is used as is, otherwise fmt.Sprint.
    static std::string go_sprint_for_escaper(const std::vector<Val>& a) {
        if (a.size() == 1 && a[0].valid() && a[0].j().is_string()) return a[0].j().get<std::string>();
        return gofmt::sprint(ptrs(a), false);
    }

    static std::int64_t index_arg(const Val& v, std::int64_t cap, const char* what) {
        if (v.nil()) throw CallError{std::string("cannot index ") + what + " with nil"};
        if (!v.j().is_number_integer()) throw CallError{std::string("cannot index ") + what + " with type " + type_name(v.p)};
        std::int64_t x = v.j().is_number_unsigned() && v.j().get<std::uint64_t>() > INT64_MAX ? INT64_MAX : v.j().get<std::int64_t>();
        if (x < 0 || x > cap) throw CallError{"index out of range: " + std::to_string(x)};
        return x;
    }

    Val builtin_index(std::vector<Val>& a) {
        Val item = a[0];
        for (size_t k = 1; k < a.size(); ++k) {
            if (item.nil()) throw CallError{"index of untyped nil"};
            const ojson& j = item.j();
            if (j.is_array()) {
                auto x = index_arg(a[k], static_cast<std::int64_t>(j.size()) - 1, "slice/array");
                item = item.child(j[static_cast<size_t>(x)]);
            } else if (j.is_string()) {
                const auto& s = j.get_ref<const std::string&>();
                auto x = index_arg(a[k], static_cast<std::int64_t>(s.size()) - 1, "slice/array");
                item = Val::of(static_cast<std::int64_t>(static_cast<unsigned char>(s[static_cast<size_t>(x)])));
            } else if (j.is_object()) {
                if (a[k].nil()) throw CallError{"value is nil; should be of type string"};
                if (!a[k].j().is_string()) throw CallError{"value has type " + type_name(a[k].p) + "; should be string"};
                auto it = j.find(a[k].j().get<std::string>());
                if (it != j.end()) {
                    item = item.child(*it);
                } else {
                    // Go returns the map's zero value: "" for Docker's map[string]string (labels,
                    // options), nothing for maps of other values.
                    bool strings_only = std::all_of(j.begin(), j.end(), [](const ojson& e) { return e.is_string(); });
                    item = strings_only ? Val::of("") : Val::missing();
                }
            } else {
                throw CallError{"can't index item of type " + type_name(item.p)};
            }
        }
        return item;
    }

    Val builtin_slice(std::vector<Val>& a) {
        const Val& item = a[0];
        if (item.nil()) throw CallError{"slice of untyped nil"};
        if (a.size() > 4) throw CallError{"too many slice indexes: " + std::to_string(a.size() - 1)};
        const ojson& j = item.j();
        std::int64_t len;
        if (j.is_string())
            len = static_cast<std::int64_t>(j.get_ref<const std::string&>().size());
        else if (j.is_array())
            len = static_cast<std::int64_t>(j.size());
        else
            throw CallError{"can't slice item of type " + type_name(item.p)};
        if (j.is_string() && a.size() == 4) throw CallError{"cannot 3-index slice a string"};
        std::int64_t idx[3] = {0, len, len};
        for (size_t k = 1; k < a.size(); ++k) idx[k - 1] = index_arg(a[k], len, "slice");
        if (idx[0] > idx[1]) throw CallError{"invalid slice index: " + std::to_string(idx[0]) + " > " + std::to_string(idx[1])};
        if (a.size() == 4 && idx[1] > idx[2])
            throw CallError{"invalid slice index: " + std::to_string(idx[1]) + " > " + std::to_string(idx[2])};
        if (j.is_string()) return Val::of(j.get_ref<const std::string&>().substr(static_cast<size_t>(idx[0]), static_cast<size_t>(idx[1] - idx[0])));
        ojson arr = ojson::array();
        for (auto i = idx[0]; i < idx[1]; ++i) arr.push_back(j[static_cast<size_t>(i)]);
        return Val::of(std::move(arr));
    }
};

}  // namespace

std::string go_json(const ojson& value, std::string_view indent) {
    std::string out;
    gofmt::encode_json(out, value, indent, false);
    return out;
}

struct Template::Impl : tmpl::Parsed {};

Template::Template(std::string_view text) : impl_(std::make_unique<Impl>()) {
    impl_->text = std::string(text);
    tmpl::parse(*impl_);
}

Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

std::string Template::render(const ojson& data) const {
    State s(*impl_, data, false);
    s.run();
    return std::move(s.out);
}

std::string Template::render_header(const ojson& headers) const {
    static const ojson empty = ojson::object();
    State s(*impl_, headers.is_object() ? headers : empty, true);
    try {
        s.run();
    } catch (const Error&) {
        // docker/cli ignores the header template's error and prints what was rendered so far
    }
    return std::move(s.out);
}

std::string render_template(std::string_view text, const ojson& data) { return Template(text).render(data); }

}  // namespace berth::cli
