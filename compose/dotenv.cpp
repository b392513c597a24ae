#include "compose/dotenv.hpp"

namespace berth::compose {
namespace {

bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }
bool key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
}

class Parser {
public:
    Parser(std::string_view text, std::shared_ptr<const std::string> file, const Lookup& lookup, Problems& problems,
           Warnings& warnings)
        : s_(text), file_(std::move(file)), lookup_(lookup), problems_(problems), warnings_(warnings) {}

    EnvMap run() {
        while (true) {
            skip_blank();
            if (i_ >= s_.size()) break;
            if (s_[i_] == '#') {
                skip_line();
                continue;
            }
            statement();
        }
        return out_;
    }

private:
    void advance() {
        if (s_[i_] == '\n') ++line_;
        ++i_;
    }
    void skip_blank() {
        while (i_ < s_.size() && (space(s_[i_]) || s_[i_] == '\n')) advance();
    }
    void skip_line() {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
    }
    void error(int line, std::string msg) { problems_.add(Pos{file_, line, 0}, "", std::move(msg)); }

    void statement() {
        int line = line_;
        if (s_.substr(i_, 7) == "export " || s_.substr(i_, 7) == "export\t") {
            i_ += 7;
            while (i_ < s_.size() && space(s_[i_])) ++i_;
        }
        size_t start = i_;
        while (i_ < s_.size() && s_[i_] != '=' && s_[i_] != '\n') ++i_;
        std::string_view raw_key = s_.substr(start, i_ - start);
        while (!raw_key.empty() && space(raw_key.back())) raw_key.remove_suffix(1);
        std::string key(raw_key);
        bool has_value = i_ < s_.size() && s_[i_] == '=';
        if (key.empty()) {
            error(line, "missing variable name");
            skip_line();
            return;
        }
        for (char c : key) {
            if (!key_char(c)) {
                error(line, space(c) ? "variable name \"" + key + "\" cannot contain a space"
                                     : "unexpected character \"" + std::string(1, c) + "\" in variable name \"" + key + "\"");
                skip_line();
                return;
            }
        }
        if (!has_value) {
            // `VAR` alone: inherited from the environment, absent when unset there.
            if (auto v = lookup_ ? lookup_(key) : std::nullopt) out_[key] = *v;
            return;
        }
        ++i_;  // '='
        while (i_ < s_.size() && space(s_[i_])) ++i_;
        if (i_ < s_.size() && (s_[i_] == '"' || s_[i_] == '\'')) {
            quoted(key, line);
        } else {
            unquoted(key, line);
        }
    }

    // Escaped dollars become "$$" so that interpolation turns them into a literal "$".
    std::string interpolate(const std::string& text, int line) {
        Lookup scoped = [this](const std::string& name) -> std::optional<std::string> {
            if (auto it = out_.find(name); it != out_.end()) return it->second;
            return lookup_ ? lookup_(name) : std::nullopt;
        };
        auto r = substitute(text, scoped);
        for (auto& name : r.unset) warnings_.add(unset_variable_warning(name));
        if (r.error) {
            error(line, *r.error);
            return text;
        }
        return r.value;
    }

    void unquoted(const std::string& key, int line) {
        size_t start = i_;
        skip_line();
        std::string_view v = s_.substr(start, i_ - start);
        // An inline comment needs a space before the '#'.
        for (size_t k = 1; k < v.size(); ++k)
            if (v[k] == '#' && space(v[k - 1])) {
                v = v.substr(0, k);
                break;
            }
        if (!v.empty() && v[0] == '#') v = {};
        while (!v.empty() && space(v.back())) v.remove_suffix(1);
        std::string text;
        for (size_t k = 0; k < v.size(); ++k) {
            if (v[k] == '\\' && k + 1 < v.size() && v[k + 1] == '$') {
                text += "$$";
                ++k;
            } else {
                text += v[k];
            }
        }
        out_[key] = interpolate(text, line);
    }

    void quoted(const std::string& key, int line) {
        char q = s_[i_];
        advance();
        std::string text;
        bool closed = false;
        while (i_ < s_.size()) {
            char c = s_[i_];
            if (c == q) {
                advance();
                closed = true;
                break;
            }
            if (c == '\\' && i_ + 1 < s_.size()) {
                char n = s_[i_ + 1];
                if (q == '\'') {
                    if (n == '\'') {
                        text += '\'';
                        i_ += 2;
                        continue;
                    }
                } else {
                    std::string rep;
                    switch (n) {
                        case 'n': rep = "\n"; break;
                        case 'r': rep = "\r"; break;
                        case 't': rep = "\t"; break;
                        case '\\': rep = "\\"; break;
                        case '"': rep = "\""; break;
                        case '$': rep = "$$"; break;
                        default: break;
                    }
                    if (!rep.empty()) {
                        // A literal backslash must not start an escape for the interpolation pass.
                        text += rep;
                        i_ += 2;
                        continue;
                    }
                }
            }
            if (q == '\'' && c == '$') text += "$$";  // single quotes: no interpolation
            else text += c;
            advance();
        }
        if (!closed) {
            error(line, "unterminated quoted value for " + key);
            return;
        }
        // Anything after the closing quote must be a comment.
        while (i_ < s_.size() && space(s_[i_])) ++i_;
        if (i_ < s_.size() && s_[i_] != '\n' && s_[i_] != '#')
            error(line_, "unexpected characters after the quoted value of " + key);
        skip_line();
        out_[key] = interpolate(text, line);
    }

    std::string_view s_;
    std::shared_ptr<const std::string> file_;
    const Lookup& lookup_;
    Problems& problems_;
    Warnings& warnings_;
    size_t i_ = 0;
    int line_ = 1;
    EnvMap out_;
};

}  // namespace

EnvMap parse_dotenv(std::string_view text, std::shared_ptr<const std::string> file, const Lookup& lookup,
                    Problems& problems, Warnings& warnings) {
    return Parser(text, std::move(file), lookup, problems, warnings).run();
}

EnvMap parse_dotenv_raw(std::string_view text, std::shared_ptr<const std::string> file, Problems& problems) {
    EnvMap out;
    int line = 0;
    size_t i = 0;
    while (i <= text.size()) {
        size_t nl = text.find('\n', i);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view l = text.substr(i, nl - i);
        ++line;
        i = nl + 1;
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        size_t k = 0;
        while (k < l.size() && space(l[k])) ++k;
        if (k == l.size() || l[k] == '#') continue;
        auto eq = l.find('=');
        std::string key(l.substr(k, eq == std::string_view::npos ? std::string_view::npos : eq - k));
        while (!key.empty() && space(key.back())) key.pop_back();
        if (key.empty()) {
            problems.add(Pos{file, line, 0}, "", "missing variable name");
            continue;
        }
        out[key] = eq == std::string_view::npos ? "" : std::string(l.substr(eq + 1));
    }
    return out;
}

}  // namespace berth::compose
