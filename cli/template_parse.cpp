// Go's text/template lexer and parser (text/template/parse, ported in structure so that a syntax
// error reads as Docker users know it: "template: :1: unexpected \"}\" in operand").
#include "cli/template_parse.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>

#include "cli/gofmt.hpp"
#include "sys/error.hpp"

namespace berth::cli::tmpl {

using gofmt::append_utf8;
using gofmt::decode_rune;
using gofmt::quote;
using gofmt::rune_count;
using gofmt::rune_desc;
using gofmt::Rune;

namespace {

// ---------------------------------------------------------------------------------------------
// Lexer (Go's text/template/parse/lex.go)

enum class Tok {
    error, eof, text, left_delim, right_delim, space, field, identifier, variable, boolean, number,
    char_constant, string, raw_string, pipe, left_paren, right_paren, chr, assign, declare,
    // keywords
    dot, block, brk, cont, define, else_, end, if_, nil, range, template_, with,
};

bool is_keyword(Tok t) { return t >= Tok::dot; }

struct Token {
    Tok type;
    size_t pos;
    std::string val;
    int line;
};

bool is_space(char32_t r) { return r == ' ' || r == '\t' || r == '\r' || r == '\n'; }
bool is_alnum(char32_t r) {
    return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r >= 0x80;
}

class Lexer {
public:
    explicit Lexer(std::string_view in) : in_(in) {}

    std::vector<Token> run() {
        bool more = true;
        while (more) more = inside_ ? inside_action() : lex_text();
        return std::move(toks_);
    }

private:
    static constexpr char32_t kEof = 0xFFFFFFFF;
    std::string_view in_;
    size_t pos_ = 0, start_ = 0, width_ = 0;
    bool inside_ = false;
    int paren_ = 0;
    std::vector<Token> toks_;

    int line_at(size_t p) const { return 1 + static_cast<int>(std::count(in_.begin(), in_.begin() + static_cast<long>(p), '\n')); }

    char32_t next() {
        if (pos_ >= in_.size()) {
            width_ = 0;
            return kEof;
        }
        Rune r = decode_rune(in_, pos_);
        width_ = r.n;
        pos_ += r.n;
        return r.r;
    }
    void backup() { pos_ -= width_; }
    char32_t peek() {
        char32_t r = next();
        backup();
        return r;
    }
    bool accept(std::string_view valid) {
        char32_t r = next();
        if (r != kEof && r < 0x80 && valid.find(static_cast<char>(r)) != std::string_view::npos) return true;
        backup();
        return false;
    }
    void accept_run(std::string_view valid) {
        while (accept(valid)) {
        }
    }
    void emit(Tok t) {
        toks_.push_back({t, start_, std::string(in_.substr(start_, pos_ - start_)), line_at(start_)});
        start_ = pos_;
    }
    bool error(std::string msg) {
        toks_.push_back({Tok::error, start_, std::move(msg), line_at(start_)});
        return false;
    }
    static bool has_left_trim(std::string_view s) { return s.size() >= 2 && s[0] == '-' && is_space(static_cast<unsigned char>(s[1])); }
    static bool has_right_trim(std::string_view s) { return s.size() >= 2 && is_space(static_cast<unsigned char>(s[0])) && s[1] == '-'; }
    static size_t right_trim_len(std::string_view s) {
        size_t n = s.size();
        while (n > 0 && is_space(static_cast<unsigned char>(s[n - 1]))) --n;
        return s.size() - n;
    }
    static size_t left_trim_len(std::string_view s) {
        size_t n = 0;
        while (n < s.size() && is_space(static_cast<unsigned char>(s[n]))) ++n;
        return n;
    }
    std::pair<bool, bool> at_right_delim() const {
        std::string_view rest = in_.substr(pos_);
        if (has_right_trim(rest) && rest.substr(2).substr(0, 2) == "}}") return {true, true};
        if (rest.substr(0, 2) == "}}") return {true, false};
        return {false, false};
    }
    bool at_terminator() {
        char32_t r = peek();
        if (r == kEof || is_space(r)) return true;
        switch (r) {
            case '.': case ',': case '|': case ':': case ')': case '(': case '}':
                return true;
            default:
                return false;
        }
    }

    bool lex_text() {
        size_t x = in_.find("{{", pos_);
        if (x == std::string_view::npos) {
            pos_ = in_.size();
            if (pos_ > start_) emit(Tok::text);
            emit(Tok::eof);
            return false;
        }
        if (x > pos_) {
            pos_ = x;
            size_t trim = has_left_trim(in_.substr(x + 2)) ? right_trim_len(in_.substr(start_, pos_ - start_)) : 0;
            pos_ -= trim;
            if (pos_ > start_) emit(Tok::text);
            pos_ += trim;
            start_ = pos_;
        }
        return left_delim();
    }

    bool left_delim() {
        pos_ += 2;
        bool trim = has_left_trim(in_.substr(pos_));
        size_t after = trim ? 2 : 0;
        if (in_.substr(pos_ + after).substr(0, 2) == "/*") {
            pos_ += after;
            start_ = pos_;
            return comment();
        }
        emit(Tok::left_delim);
        pos_ += after;
        start_ = pos_;
        inside_ = true;
        paren_ = 0;
        return true;
    }

    bool comment() {
        pos_ += 2;
        size_t x = in_.find("*/", pos_);
        if (x == std::string_view::npos) return error("unclosed comment");
        pos_ = x + 2;
        auto [delim, trim] = at_right_delim();
        if (!delim) return error("comment ends before closing delimiter");
        if (trim) pos_ += 2;
        pos_ += 2;
        if (trim) pos_ += left_trim_len(in_.substr(pos_));
        start_ = pos_;
        return true;
    }

    bool right_delim(bool trim) {
        if (trim) {
            pos_ += 2;
            start_ = pos_;
        }
        pos_ += 2;
        emit(Tok::right_delim);
        if (trim) {
            pos_ += left_trim_len(in_.substr(pos_));
            start_ = pos_;
        }
        inside_ = false;
        return true;
    }

    bool inside_action() {
        auto [delim, trim] = at_right_delim();
        if (delim) {
            if (paren_ == 0) return right_delim(trim);
            return error("unclosed left paren");
        }
        char32_t r = next();
        if (r == kEof) return error("unclosed action");
        if (is_space(r)) {
            backup();
            return lex_space();
        }
        switch (r) {
            case '=': emit(Tok::assign); return true;
            case ':':
                if (next() != '=') return error("expected :=");
                emit(Tok::declare);
                return true;
            case '|': emit(Tok::pipe); return true;
            case '"': return lex_quote();
            case '`': return lex_raw_quote();
            case '$': return lex_variable();
            case '\'': return lex_char();
            case '(':
                emit(Tok::left_paren);
                ++paren_;
                return true;
            case ')':
                emit(Tok::right_paren);
                if (--paren_ < 0) return error("unexpected right paren");
                return true;
            default:
                break;
        }
        if (r == '.') {
            if (pos_ < in_.size() && (in_[pos_] < '0' || in_[pos_] > '9')) return lex_field_or_variable(Tok::field);
            backup();
            return lex_number();
        }
        if (r == '+' || r == '-' || (r >= '0' && r <= '9')) {
            backup();
            return lex_number();
        }
        if (is_alnum(r)) {
            backup();
            return lex_identifier();
        }
        if (r < 0x80 && r >= 0x20 && r != 0x7F) {
            emit(Tok::chr);
            return true;
        }
        return error("unrecognized character in action: " + rune_desc(r));
    }

    bool lex_space() {
        int n = 0;
        while (is_space(peek())) {
            next();
            ++n;
        }
        // " -}}": the space belongs to the trim marker
        if (has_right_trim(in_.substr(pos_ - 1)) && in_.substr(pos_ - 1 + 2).substr(0, 2) == "}}") {
            --pos_;
            if (n == 1) return true;
        }
        emit(Tok::space);
        return true;
    }

    bool lex_identifier() {
        for (;;) {
            char32_t r = next();
            if (r != kEof && is_alnum(r)) continue;
            backup();
            std::string_view word = in_.substr(start_, pos_ - start_);
            if (!at_terminator()) return error("bad character " + rune_desc(r));
            static const std::map<std::string_view, Tok> kw = {
                {"block", Tok::block}, {"break", Tok::brk},   {"continue", Tok::cont}, {"define", Tok::define},
                {"else", Tok::else_},  {"end", Tok::end},     {"if", Tok::if_},        {"nil", Tok::nil},
                {"range", Tok::range}, {"template", Tok::template_}, {"with", Tok::with},
            };
            if (auto it = kw.find(word); it != kw.end())
                emit(it->second);
            else if (word == "true" || word == "false")
                emit(Tok::boolean);
            else
                emit(Tok::identifier);
            return true;
        }
    }

    bool lex_variable() {
        if (at_terminator()) {
            emit(Tok::variable);
            return true;
        }
        return lex_field_or_variable(Tok::variable);
    }

    bool lex_field_or_variable(Tok t) {
        if (at_terminator()) {
            emit(t == Tok::variable ? Tok::variable : Tok::dot);
            return true;
        }
        char32_t r;
        for (;;) {
            r = next();
            if (r == kEof || !is_alnum(r)) {
                backup();
                break;
            }
        }
        if (!at_terminator()) return error("bad character " + rune_desc(r));
        emit(t);
        return true;
    }

    bool lex_quote() {
        for (;;) {
            char32_t r = next();
            if (r == '\\') {
                r = next();
                if (r != kEof && r != '\n') continue;
                return error("unterminated quoted string");
            }
            if (r == kEof || r == '\n') return error("unterminated quoted string");
            if (r == '"') break;
        }
        emit(Tok::string);
        return true;
    }

    bool lex_raw_quote() {
        size_t x = in_.find('`', pos_);
        if (x == std::string_view::npos) return error("unterminated raw quoted string");
        pos_ = x + 1;
        emit(Tok::raw_string);
        return true;
    }

    bool lex_char() {
        for (;;) {
            char32_t r = next();
            if (r == '\\') {
                r = next();
                if (r != kEof && r != '\n') continue;
                return error("unterminated character constant");
            }
            if (r == kEof || r == '\n') return error("unterminated character constant");
            if (r == '\'') break;
        }
        emit(Tok::char_constant);
        return true;
    }

    bool scan_number() {
        accept("+-");
        std::string_view digits = "0123456789_";
        if (accept("0")) {
            if (accept("xX"))
                digits = "0123456789abcdefABCDEF_";
            else if (accept("oO"))
                digits = "01234567_";
            else if (accept("bB"))
                digits = "01_";
        }
        accept_run(digits);
        if (accept(".")) accept_run(digits);
        if (digits.size() == 11 && accept("eE")) {
            accept("+-");
            accept_run("0123456789_");
        }
        if (digits.size() == 23 && accept("pP")) {
            accept("+-");
            accept_run("0123456789_");
        }
        accept("i");
        char32_t r = peek();
        if (r != kEof && is_alnum(r)) {
            next();
            return false;
        }
        return true;
    }

    bool lex_number() {
        if (!scan_number()) return error("bad number syntax: " + quote(in_.substr(start_, pos_ - start_)));
        char32_t sign = peek();
        if (sign == '+' || sign == '-') {
            scan_number();
            return error("complex numbers are not supported: " + quote(in_.substr(start_, pos_ - start_)));
        }
        emit(Tok::number);
        return true;
    }
};

}  // namespace

static std::string pipe_str(const Node* p) {
    std::string s;
    if (!p->decl.empty()) {
        for (size_t i = 0; i < p->decl.size(); ++i) {
            if (i) s += ", ";
            s += node_str(p->decl[i]);
        }
        s += p->is_assign ? " = " : " := ";
    }
    for (size_t i = 0; i < p->cmds.size(); ++i) {
        if (i) s += " | ";
        s += node_str(p->cmds[i]);
    }
    return s;
}

std::string node_str(const Node* n) {
    switch (n->t) {
        case NT::text: return n->text;
        case NT::action: return "{{" + pipe_str(n->sub) + "}}";
        case NT::if_:
        case NT::range:
        case NT::with: {
            std::string name = n->t == NT::if_ ? "if" : n->t == NT::range ? "range" : "with";
            std::string s = "{{" + name + " " + pipe_str(n->sub) + "}}" + node_str(n->list);
            if (n->else_list) s += "{{else}}" + node_str(n->else_list);
            return s + "{{end}}";
        }
        case NT::brk: return "{{break}}";
        case NT::cont: return "{{continue}}";
        case NT::list: {
            std::string s;
            for (auto* c : n->nodes) s += node_str(c);
            return s;
        }
        case NT::pipe: return pipe_str(n);
        case NT::command: {
            std::string s;
            for (size_t i = 0; i < n->args.size(); ++i) {
                if (i) s += ' ';
                if (n->args[i]->t == NT::pipe)
                    s += "(" + node_str(n->args[i]) + ")";
                else
                    s += node_str(n->args[i]);
            }
            return s;
        }
        case NT::field: {
            std::string s;
            for (auto& f : n->ident) s += "." + f;
            return s;
        }
        case NT::variable: {
            std::string s;
            for (size_t i = 0; i < n->ident.size(); ++i) s += (i ? "." : "") + n->ident[i];
            return s;
        }
        case NT::dot: return ".";
        case NT::nil: return "nil";
        case NT::boolean: return n->boolean ? "true" : "false";
        case NT::number:
        case NT::string:
        case NT::identifier: return n->text;
        case NT::chain: {
            std::string s = n->sub->t == NT::pipe ? "(" + node_str(n->sub) + ")" : node_str(n->sub);
            for (auto& f : n->ident) s += "." + f;
            return s;
        }
        case NT::end: return "{{end}}";
        case NT::else_: return "{{else}}";
    }
    return "";
}

const FuncInfo* find_function(std::string_view name) {
    // text/template's builtins, then docker/cli's basicFunctions ("call" is left out: template
    // data holds no functions to call)
    static const FuncInfo funcs[] = {
        {"and", 1, -1},   {"or", 1, -1},       {"not", 1, 1},     {"len", 1, 1},    {"index", 1, -1},   {"slice", 1, -1},
        {"print", 0, -1}, {"printf", 1, -1},   {"println", 0, -1}, {"html", 0, -1},  {"js", 0, -1},      {"urlquery", 0, -1},
        {"eq", 1, -1},    {"ne", 2, 2},        {"lt", 2, 2},      {"le", 2, 2},     {"gt", 2, 2},       {"ge", 2, 2},
        {"json", 1, 1},   {"split", 2, 2},     {"join", 2, 2},    {"title", 1, 1},  {"lower", 1, 1},    {"upper", 1, 1},
        {"pad", 3, 3},    {"truncate", 2, 2},
    };
    for (const auto& f : funcs)
        if (name == f.name) return &f;
    return nullptr;
}

namespace {

// strconv.Unquote for template string, raw string and character literals.
std::optional<std::string> go_unquote(std::string_view s) {
    if (s.size() < 2) return std::nullopt;
    char q = s.front();
    if (s.back() != q) return std::nullopt;
    std::string_view body = s.substr(1, s.size() - 2);
    if (q == '`') {
        std::string out;
        for (char c : body)
            if (c != '\r') out += c;
        return out;
    }
    if (q != '"' && q != '\'') return std::nullopt;
    std::string out;
    for (size_t i = 0; i < body.size();) {
        char c = body[i];
        if (c == q) return std::nullopt;
        if (c != '\\') {
            Rune r = decode_rune(body, i);
            out.append(body.substr(i, r.n));
            i += r.n;
            continue;
        }
        if (++i >= body.size()) return std::nullopt;
        char e = body[i++];
        auto hexval = [](char h) -> int {
            if (h >= '0' && h <= '9') return h - '0';
            if (h >= 'a' && h <= 'f') return h - 'a' + 10;
            if (h >= 'A' && h <= 'F') return h - 'A' + 10;
            return -1;
        };
        switch (e) {
            case 'a': out += '\a'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'v': out += '\v'; break;
            case '\\': out += '\\'; break;
            case '\'':
            case '"':
                if (e != q) return std::nullopt;
                out += e;
                break;
            case 'x':
            case 'u':
            case 'U': {
                size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                if (i + n > body.size()) return std::nullopt;
                std::uint32_t v = 0;
                for (size_t k = 0; k < n; ++k) {
                    int h = hexval(body[i + k]);
                    if (h < 0) return std::nullopt;
                    v = v * 16 + static_cast<std::uint32_t>(h);
                }
                i += n;
                if (e == 'x') {
                    out += static_cast<char>(v);
                } else {
                    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return std::nullopt;
                    append_utf8(out, v);
                }
                break;
            }
            default:
                if (e >= '0' && e <= '7') {
                    if (i + 2 > body.size()) return std::nullopt;
                    int v = e - '0';
                    for (int k = 0; k < 2; ++k) {
                        char d = body[i++];
                        if (d < '0' || d > '7') return std::nullopt;
                        v = v * 8 + (d - '0');
                    }
                    if (v > 255) return std::nullopt;
                    out += static_cast<char>(v);
                    break;
                }
                return std::nullopt;
        }
    }
    return out;
}

// strconv.ParseInt/ParseUint with base 0 (0x, 0o, 0b, leading-0 octal, underscores).
std::optional<std::uint64_t> parse_go_uint(std::string_view s, bool& neg) {
    neg = false;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        s.remove_prefix(1);
    }
    if (s.empty()) return std::nullopt;
    int base = 10;
    bool prefixed = false, zero_octal = false;
    if (s.size() > 1 && s[0] == '0') {
        char b = static_cast<char>(std::tolower(static_cast<unsigned char>(s[1])));
        if (b == 'x') base = 16, s.remove_prefix(2), prefixed = true;
        else if (b == 'o') base = 8, s.remove_prefix(2), prefixed = true;
        else if (b == 'b') base = 2, s.remove_prefix(2), prefixed = true;
        else base = 8, s.remove_prefix(1), zero_octal = true;
    }
    if (s.empty()) return std::nullopt;
    std::uint64_t v = 0;
    // base 0 allows '_' after a digit or the base prefix, when a digit follows
    bool any = zero_octal;  // the leading 0 of an octal number is a digit
    bool after_digit = prefixed || zero_octal;
    bool after_underscore = false;
    for (char c : s) {
        if (c == '_') {
            if (!after_digit) return std::nullopt;
            after_digit = false;
            after_underscore = true;
            continue;
        }
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : 99;
        if (d >= base) return std::nullopt;
        if (v > (UINT64_MAX - static_cast<unsigned>(d)) / static_cast<unsigned>(base)) return std::nullopt;
        v = v * static_cast<unsigned>(base) + static_cast<unsigned>(d);
        any = true;
        after_digit = true;
        after_underscore = false;
    }
    if (after_underscore || !any) return std::nullopt;
    return v;
}

class Parser {
public:
    Parser(std::string_view text, std::vector<std::unique_ptr<Node>>& arena) : toks_(Lexer(text).run()), arena_(arena) {}

    Node* parse() {
        Node* root = mk(NT::list, peek().pos, peek().line);
        while (peek().type != Tok::eof) {
            if (peek().type == Tok::left_delim) {
                size_t save = idx_;
                next();
                Tok t = next_non_space().type;
                if (t == Tok::define) errorf("{{define}} is not supported");
                idx_ = save;
            }
            Node* n = text_or_action();
            if (n->t == NT::end || n->t == NT::else_) errorf("unexpected " + node_str(n));
            root->nodes.push_back(n);
        }
        return root;
    }

private:
    std::vector<Token> toks_;
    std::vector<std::unique_ptr<Node>>& arena_;
    size_t idx_ = 0, hwm_ = 0;
    std::vector<std::string> vars_{"$"};
    int range_depth_ = 0;
    int action_line_ = 0;

    Node* mk(NT t, size_t pos, int line) {
        arena_.push_back(std::make_unique<Node>());
        Node* n = arena_.back().get();
        n->t = t;
        n->pos = pos;
        n->line = line;
        return n;
    }

    const Token& next() {
        const Token& t = toks_[std::min(idx_, toks_.size() - 1)];
        ++idx_;
        hwm_ = std::max(hwm_, idx_);
        return t;
    }
    void backup(size_t n = 1) { idx_ -= n; }
    const Token& peek() {
        const Token& t = next();
        backup();
        return t;
    }
    const Token& next_non_space() {
        for (;;) {
            const Token& t = next();
            if (t.type != Tok::space) return t;
        }
    }
    const Token& peek_non_space() {
        const Token& t = next_non_space();
        backup();
        return t;
    }

    [[noreturn]] void errorf(const std::string& msg) {
        int line = toks_[std::min(hwm_ == 0 ? 0 : hwm_ - 1, toks_.size() - 1)].line;
        throw Error(Errc::invalid, "template parsing error: template: :" + std::to_string(line) + ": " + msg);
    }

    static std::string token_str(const Token& t) {
        if (t.type == Tok::eof) return "EOF";
        if (t.type == Tok::error) return t.val;
        if (is_keyword(t.type)) return "<" + t.val + ">";
        if (rune_count(t.val) > 10) {
            size_t i = 0;
            for (int k = 0; k < 10; ++k) i += decode_rune(t.val, i).n;
            return quote(t.val.substr(0, i)) + "...";
        }
        return quote(t.val);
    }

    [[noreturn]] void unexpected(const Token& t, const std::string& context) {
        if (t.type == Tok::error) {
            std::string extra;
            if (action_line_ != 0 && action_line_ != t.line) {
                extra = " in action started at :" + std::to_string(action_line_);
                if (t.val.size() >= 7 && t.val.compare(t.val.size() - 7, 7, " action") == 0) extra = extra.substr(10);
            }
            errorf(t.val + extra);
        }
        errorf("unexpected " + token_str(t) + " in " + context);
    }

    const Token& expect(Tok type, const std::string& context) {
        const Token& t = next_non_space();
        if (t.type != type) unexpected(t, context);
        return t;
    }

    Node* text_or_action() {
        const Token& t = next_non_space();
        switch (t.type) {
            case Tok::text: {
                Node* n = mk(NT::text, t.pos, t.line);
                n->text = t.val;
                return n;
            }
            case Tok::left_delim: {
                int saved = action_line_;
                action_line_ = t.line;
                Node* n = action();
                action_line_ = saved;
                return n;
            }
            default:
                unexpected(t, "input");
        }
    }

    Node* action() {
        const Token& t = next_non_space();
        switch (t.type) {
            case Tok::block: errorf("{{block}} is not supported");
            case Tok::template_: errorf("{{template}} is not supported");
            case Tok::define: errorf("unexpected <define> in command");
            case Tok::brk:
            case Tok::cont: {
                bool is_break = t.type == Tok::brk;
                size_t pos = t.pos;
                int line = t.line;
                const Token& e = next_non_space();
                if (e.type != Tok::right_delim) unexpected(e, is_break ? "{{break}}" : "{{continue}}");
                if (range_depth_ == 0) errorf(is_break ? "{{break}} outside {{range}}" : "{{continue}} outside {{range}}");
                return mk(is_break ? NT::brk : NT::cont, pos, line);
            }
            case Tok::else_: return else_control();
            case Tok::end: {
                const Token& e = expect(Tok::right_delim, "end");
                return mk(NT::end, e.pos, e.line);
            }
            case Tok::if_: return control(NT::if_, "if");
            case Tok::range: return control(NT::range, "range");
            case Tok::with: return control(NT::with, "with");
            default: break;
        }
        backup();
        const Token& p = peek();
        Node* n = mk(NT::action, p.pos, p.line);
        n->sub = pipeline("command", Tok::right_delim);
        return n;
    }

    Node* else_control() {
        const Token& p = peek_non_space();
        if (p.type == Tok::if_ || p.type == Tok::with) return mk(NT::else_, p.pos, p.line);
        const Token& t = expect(Tok::right_delim, "else");
        return mk(NT::else_, t.pos, t.line);
    }

    Node* control(NT type, const std::string& context) {
        size_t nvars = vars_.size();
        Node* pipe = pipeline(context, Tok::right_delim);
        if (type == NT::range) ++range_depth_;
        auto [list, next_node] = item_list();
        if (type == NT::range) --range_depth_;
        Node* else_list = nullptr;
        if (next_node->t == NT::else_) {
            // {{else if ...}} / {{else with ...}} is {{else}}{{if ...}}...{{end}}{{end}}
            if (type == NT::if_ && peek().type == Tok::if_) {
                next();
                else_list = mk(NT::list, next_node->pos, next_node->line);
                else_list->nodes.push_back(control(NT::if_, "if"));
            } else if (type == NT::with && peek().type == Tok::with) {
                next();
                else_list = mk(NT::list, next_node->pos, next_node->line);
                else_list->nodes.push_back(control(NT::with, "with"));
            } else {
                auto [el, nn] = item_list();
                if (nn->t != NT::end) errorf("expected end; found " + node_str(nn));
                else_list = el;
            }
        }
        vars_.resize(nvars);
        Node* n = mk(type, pipe->pos, pipe->line);
        n->sub = pipe;
        n->list = list;
        n->else_list = else_list;
        return n;
    }

    std::pair<Node*, Node*> item_list() {
        const Token& p = peek_non_space();
        Node* list = mk(NT::list, p.pos, p.line);
        while (peek_non_space().type != Tok::eof) {
            Node* n = text_or_action();
            if (n->t == NT::end || n->t == NT::else_) return {list, n};
            list->nodes.push_back(n);
        }
        errorf("unexpected EOF");
    }

    Node* pipeline(const std::string& context, Tok end) {
        const Token& p = peek_non_space();
        Node* pipe = mk(NT::pipe, p.pos, p.line);
    decls:
        if (peek_non_space().type == Tok::variable) {
            size_t before = idx_;
            const Token& v = next();
            const Token& after = peek();
            const Token& nx = peek_non_space();
            if (nx.type == Tok::assign || nx.type == Tok::declare) {
                pipe->is_assign = nx.type == Tok::assign;
                next_non_space();
                pipe->decl.push_back(variable_node(v));
                vars_.push_back(v.val);
            } else if (nx.type == Tok::chr && nx.val == ",") {
                next_non_space();
                pipe->decl.push_back(variable_node(v));
                vars_.push_back(v.val);
                if (context == "range" && pipe->decl.size() < 2) {
                    Tok t = peek_non_space().type;
                    if (t == Tok::variable || t == Tok::right_delim || t == Tok::right_paren) goto decls;
                    errorf("range can only initialize variables");
                }
                errorf("too many declarations in " + context);
            } else {
                (void)after;
                idx_ = before;
            }
        }
        for (;;) {
            const Token& t = next_non_space();
            if (t.type == end) {
                if (pipe->cmds.empty()) errorf("missing value for " + context);
                for (size_t i = 1; i < pipe->cmds.size(); ++i) {
                    switch (pipe->cmds[i]->args[0]->t) {
                        case NT::boolean:
                        case NT::dot:
                        case NT::nil:
                        case NT::number:
                        case NT::string:
                            errorf("non executable command in pipeline stage " + std::to_string(i + 1));
                        default:
                            break;
                    }
                }
                return pipe;
            }
            switch (t.type) {
                case Tok::boolean: case Tok::char_constant: case Tok::dot: case Tok::field: case Tok::identifier:
                case Tok::number: case Tok::nil: case Tok::raw_string: case Tok::string: case Tok::variable:
                case Tok::left_paren:
                    backup();
                    pipe->cmds.push_back(command());
                    break;
                default:
                    unexpected(t, context);
            }
        }
    }

    Node* command() {
        const Token& p = peek_non_space();
        Node* cmd = mk(NT::command, p.pos, p.line);
        for (;;) {
            peek_non_space();
            if (Node* operand_node = operand()) cmd->args.push_back(operand_node);
            const Token& t = next();
            if (t.type == Tok::space) continue;
            if (t.type == Tok::right_delim || t.type == Tok::right_paren) {
                backup();
            } else if (t.type != Tok::pipe) {
                unexpected(t, "operand");
            }
            break;
        }
        if (cmd->args.empty()) errorf("empty command");
        return cmd;
    }

    Node* operand() {
        Node* node = term();
        if (!node) return nullptr;
        if (peek().type == Tok::field) {
            const Token& first = peek();
            Node* chain = mk(NT::chain, first.pos, first.line);
            chain->sub = node;
            while (peek().type == Tok::field) {
                const Token& f = next();
                chain->ident.push_back(f.val.substr(1));
            }
            switch (node->t) {
                case NT::field:
                case NT::variable: {
                    Node* merged = mk(node->t, chain->pos, chain->line);
                    merged->ident = node->ident;
                    for (auto& f : chain->ident) merged->ident.push_back(f);
                    return merged;
                }
                case NT::boolean:
                case NT::string:
                case NT::number:
                case NT::nil:
                case NT::dot:
                    errorf("unexpected . after term " + quote(node_str(node)));
                default:
                    return chain;
            }
        }
        return node;
    }

    Node* variable_node(const Token& t) {
        Node* n = mk(NT::variable, t.pos, t.line);
        n->ident.push_back(t.val);
        return n;
    }

    Node* term() {
        const Token& t = next_non_space();
        switch (t.type) {
            case Tok::identifier: {
                if (!find_function(t.val)) errorf("function " + quote(t.val) + " not defined");
                Node* n = mk(NT::identifier, t.pos, t.line);
                n->text = t.val;
                return n;
            }
            case Tok::dot: return mk(NT::dot, t.pos, t.line);
            case Tok::nil: return mk(NT::nil, t.pos, t.line);
            case Tok::variable: {
                if (std::find(vars_.begin(), vars_.end(), t.val) == vars_.end()) errorf("undefined variable " + quote(t.val));
                return variable_node(t);
            }
            case Tok::field: {
                Node* n = mk(NT::field, t.pos, t.line);
                n->ident.push_back(t.val.substr(1));
                return n;
            }
            case Tok::boolean: {
                Node* n = mk(NT::boolean, t.pos, t.line);
                n->boolean = t.val == "true";
                return n;
            }
            case Tok::char_constant:
            case Tok::number: return number(t);
            case Tok::left_paren: return pipeline("parenthesized pipeline", Tok::right_paren);
            case Tok::string:
            case Tok::raw_string: {
                auto s = go_unquote(t.val);
                if (!s) errorf("invalid syntax");
                Node* n = mk(NT::string, t.pos, t.line);
                n->text = t.val;
                n->ident.push_back(*s);  // the value
                return n;
            }
            default:
                backup();
                return nullptr;
        }
    }

    Node* number(const Token& t) {
        Node* n = mk(NT::number, t.pos, t.line);
        n->text = t.val;
        if (t.type == Tok::char_constant) {
            auto s = go_unquote(t.val);
            if (!s || s->empty()) errorf("malformed character constant: " + t.val);
            Rune r = decode_rune(*s, 0);
            if (r.n != s->size()) errorf("malformed character constant: " + t.val);
            n->is_int = n->is_uint = n->is_float = true;
            n->i = r.r;
            n->u = r.r;
            n->f = r.r;
            return n;
        }
        if (!t.val.empty() && t.val.back() == 'i') errorf("complex numbers are not supported: " + quote(t.val));
        bool neg = false;
        if (auto u = parse_go_uint(t.val, neg)) {
            if (!neg) {
                n->is_uint = true;
                n->u = *u;
            }
            if (neg ? *u <= static_cast<std::uint64_t>(INT64_MAX) + 1 : *u <= static_cast<std::uint64_t>(INT64_MAX)) {
                n->is_int = true;
                n->i = neg ? static_cast<std::int64_t>(~*u + 1) : static_cast<std::int64_t>(*u);
                if (neg && *u == 0) n->is_uint = true;
            }
        }
        if (n->is_int) {
            n->is_float = true;
            n->f = static_cast<double>(n->i);
        } else if (n->is_uint) {
            n->is_float = true;
            n->f = static_cast<double>(n->u);
        } else {
            std::string clean;
            for (char c : t.val)
                if (c != '_') clean += c;
            char* end = nullptr;
            errno = 0;
            double d = std::strtod(clean.c_str(), &end);
            if (end && *end == 0 && !clean.empty()) {
                if (t.val.find_first_of(".eEpP") == std::string::npos) errorf("integer overflow: " + quote(t.val));
                n->is_float = true;
                n->f = d;
                if (std::isfinite(d) && std::fabs(d) < 9.2e18 && static_cast<double>(static_cast<std::int64_t>(d)) == d) {
                    n->is_int = true;
                    n->i = static_cast<std::int64_t>(d);
                }
            }
        }
        if (!n->is_int && !n->is_uint && !n->is_float) errorf("illegal number syntax: " + quote(t.val));
        return n;
    }
};

}  // namespace

void parse(Parsed& p) {
    Parser parser(p.text, p.arena);
    p.root = parser.parse();
}

}  // namespace berth::cli::tmpl
