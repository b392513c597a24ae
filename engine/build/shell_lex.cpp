#include "build/shell_lex.hpp"

#include <cctype>

#include "sys/error.hpp"

namespace berth::build {

namespace {

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

class Lexer {
public:
    Lexer(std::string_view s, const Vars& vars, char esc) : s_(s), vars_(vars), esc_(esc) {}

    // Processes up to stop (not consumed) or the end. only_var: set when the whole word came
    // from unquoted variables (so an empty result is dropped when splitting).
    std::string run(char stop = 0) {
        std::string out;
        while (i_ < s_.size()) {
            char c = s_[i_];
            if (stop && c == stop) break;
            if (c == '\'') {
                quoted_ = true;
                single();
                out += last_;
            } else if (c == '"') {
                quoted_ = true;
                out += dbl();
            } else if (c == esc_) {
                literal_ = true;
                ++i_;
                if (i_ < s_.size()) out += s_[i_++];
                else out += esc_;
            } else if (c == '$') {
                out += dollar();
            } else {
                literal_ = true;
                out += c;
                ++i_;
            }
        }
        return out;
    }

    bool at_end() const { return i_ >= s_.size(); }
    size_t pos() const { return i_; }
    bool only_vars() const { return !quoted_ && !literal_; }

private:
    std::string_view s_;
    const Vars& vars_;
    char esc_;
    size_t i_ = 0;
    bool quoted_ = false, literal_ = false;
    std::string last_;

    void single() {
        auto close = s_.find('\'', i_ + 1);
        if (close == std::string_view::npos) throw_error(Errc::invalid, "unexpected end of statement while looking for matching single-quote");
        last_ = std::string(s_.substr(i_ + 1, close - i_ - 1));
        i_ = close + 1;
    }

    std::string dbl() {
        std::string out;
        ++i_;
        for (;;) {
            if (i_ >= s_.size()) throw_error(Errc::invalid, "unexpected end of statement while looking for matching double-quote");
            char c = s_[i_];
            if (c == '"') {
                ++i_;
                return out;
            }
            if (c == esc_ && i_ + 1 < s_.size()) {
                char n = s_[i_ + 1];
                if (n == '"' || n == '$' || n == esc_) {
                    out += n;
                    i_ += 2;
                    continue;
                }
                out += c;
                ++i_;
            } else if (c == '$') {
                out += dollar();
            } else {
                out += c;
                ++i_;
            }
        }
    }

    std::optional<std::string> lookup(const std::string& name) const {
        auto it = vars_.find(name);
        if (it == vars_.end()) return std::nullopt;
        return it->second;
    }

    std::string dollar() {
        ++i_;  // '$'
        if (i_ >= s_.size()) {
            literal_ = true;
            return "$";
        }
        if (s_[i_] != '{') {
            size_t start = i_;
            while (i_ < s_.size() && name_char(s_[i_])) ++i_;
            if (start == i_) {
                literal_ = true;
                return "$";
            }
            return lookup(std::string(s_.substr(start, i_ - start))).value_or("");
        }
        ++i_;  // '{'
        size_t start = i_;
        while (i_ < s_.size() && name_char(s_[i_])) ++i_;
        std::string name(s_.substr(start, i_ - start));
        if (name.empty()) throw_error(Errc::invalid, "bad substitution: missing variable name in ${...}");
        if (i_ >= s_.size()) throw_error(Errc::invalid, "missing '}' in substitution ${" + name);
        auto val = lookup(name);
        if (s_[i_] == '}') {
            ++i_;
            return val.value_or("");
        }
        bool colon = false;
        if (s_[i_] == ':') {
            colon = true;
            ++i_;
        }
        if (i_ >= s_.size()) throw_error(Errc::invalid, "missing '}' in substitution ${" + name);
        char mod = s_[i_++];
        if (mod != '-' && mod != '+' && mod != '?')
            throw_error(Errc::invalid, std::string("unsupported modifier (") + mod + ") in substitution ${" + name + "}");
        // The word runs to the matching '}' and is itself processed (quotes, nested variables).
        Lexer sub(s_.substr(i_), vars_, esc_);
        std::string word = sub.run('}');
        if (sub.at_end()) throw_error(Errc::invalid, "missing '}' in substitution ${" + name);
        i_ += sub.pos() + 1;
        bool set = colon ? (val && !val->empty()) : val.has_value();
        switch (mod) {
            case '-': return set ? *val : word;
            case '+': return set ? word : "";
            default:
                if (!set) throw_error(Errc::invalid, name + ": " + (word.empty() ? "is not allowed to be unset" : word));
                return *val;
        }
    }
};

}  // namespace

std::string process_word(std::string_view word, const Vars& vars, char escape) {
    Lexer l(word, vars, escape);
    return l.run();
}

std::vector<std::string> split_words(std::string_view s, char escape) {
    std::vector<std::string> out;
    std::string cur;
    bool have = false;
    char quote = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (!quote && std::isspace(static_cast<unsigned char>(c))) {
            if (have) out.push_back(cur), cur.clear(), have = false;
            continue;
        }
        have = true;
        cur += c;
        if (c == escape && i + 1 < s.size() && quote != '\'') {
            cur += s[++i];
            continue;
        }
        if (quote) {
            if (c == quote) quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        }
    }
    if (have) out.push_back(cur);
    return out;
}

std::vector<std::string> process_words(std::string_view s, const Vars& vars, char escape) {
    std::vector<std::string> out;
    for (auto& w : split_words(s, escape)) {
        Lexer l(w, vars, escape);
        std::string r = l.run();
        if (r.empty() && l.only_vars()) continue;
        out.push_back(std::move(r));
    }
    return out;
}

std::vector<std::string> referenced_vars(std::string_view s) {
    std::vector<std::string> out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '$') continue;
        size_t j = i + 1;
        if (j < s.size() && s[j] == '{') ++j;
        size_t start = j;
        while (j < s.size() && name_char(s[j])) ++j;
        if (j > start) out.emplace_back(s.substr(start, j - start));
    }
    return out;
}

}  // namespace berth::build
