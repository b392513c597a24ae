#include "compose/interpolate.hpp"

#include <algorithm>

namespace berth::compose {
namespace {

bool name_start(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

struct Invalid {
    std::string message;
};

class Expander {
public:
    Expander(std::string_view text, const Lookup& lookup) : text_(text), lookup_(lookup) {}

    Substitution run() {
        Substitution out;
        try {
            out.value = expand(text_);
        } catch (const Invalid& e) {
            out.error = e.message;
        }
        out.unset = std::move(unset_);
        return out;
    }

private:
    // Index of the '}' closing a ${ whose body starts at i, skipping nested ${...} and $$.
    static size_t find_close(std::string_view s, size_t i) {
        int depth = 0;
        for (size_t j = i; j < s.size(); ++j) {
            if (s[j] == '$' && j + 1 < s.size() && (s[j + 1] == '$' || s[j + 1] == '{')) {
                if (s[j + 1] == '{') ++depth;
                ++j;
                continue;
            }
            if (s[j] == '}') {
                if (depth == 0) return j;
                --depth;
            }
        }
        return std::string_view::npos;
    }

    [[noreturn]] void invalid() const {
        throw Invalid{"invalid interpolation format for \"" + std::string(text_) +
                      "\": you may need to escape any $ with another $"};
    }

    std::optional<std::string> get(const std::string& name) { return lookup_ ? lookup_(name) : std::nullopt; }

    std::string value_or_warn(const std::string& name) {
        auto v = get(name);
        if (!v) {
            if (std::find(unset_.begin(), unset_.end(), name) == unset_.end()) unset_.push_back(name);
            return "";
        }
        return *v;
    }

    std::string expand(std::string_view s) {
        std::string out;
        size_t i = 0;
        while (i < s.size()) {
            char c = s[i];
            if (c != '$' || i + 1 >= s.size()) {
                out += c;
                ++i;
                continue;
            }
            char n = s[i + 1];
            if (n == '$') {
                out += '$';
                i += 2;
            } else if (n == '{') {
                size_t close = find_close(s, i + 2);
                if (close == std::string_view::npos) invalid();
                out += braced(s.substr(i + 2, close - (i + 2)));
                i = close + 1;
            } else if (name_start(n)) {
                size_t j = i + 1;
                while (j < s.size() && name_char(s[j])) ++j;
                out += value_or_warn(std::string(s.substr(i + 1, j - i - 1)));
                i = j;
            } else {
                out += '$';
                ++i;
            }
        }
        return out;
    }

    std::string braced(std::string_view body) {
        if (body.empty() || !name_start(body[0])) invalid();
        size_t j = 0;
        while (j < body.size() && name_char(body[j])) ++j;
        std::string name(body.substr(0, j));
        std::string_view rest = body.substr(j);
        if (rest.empty()) return value_or_warn(name);
        bool colon = false;
        if (rest[0] == ':') {
            colon = true;
            rest.remove_prefix(1);
        }
        if (rest.empty()) invalid();
        char op = rest[0];
        std::string_view word = rest.substr(1);
        auto v = get(name);
        bool set = v.has_value();
        bool nonempty = set && !v->empty();
        bool cond = colon ? nonempty : set;
        switch (op) {
            case '-':
                return cond ? *v : expand(word);
            case '+':
                return cond ? expand(word) : std::string();
            case '?':
                if (!cond) {
                    std::string msg = expand(word);
                    throw Invalid{"required variable " + name + " is missing a value" + (msg.empty() ? "" : ": " + msg)};
                }
                return *v;
            default:
                invalid();
        }
    }

    std::string_view text_;
    const Lookup& lookup_;
    std::vector<std::string> unset_;
};

}  // namespace

Substitution substitute(std::string_view text, const Lookup& lookup) { return Expander(text, lookup).run(); }

std::string unset_variable_warning(const std::string& name) {
    return "The \"" + name + "\" variable is not set. Defaulting to a blank string.";
}

void interpolate_tree(Node& node, const Lookup& lookup, Problems& problems, Warnings& warnings, const std::string& path) {
    switch (node.kind) {
        case Node::Kind::scalar: {
            if (node.value.find('$') == std::string::npos) return;
            auto r = substitute(node.value, lookup);
            for (auto& name : r.unset) warnings.add(unset_variable_warning(name));
            if (r.error) {
                problems.add(node, path, *r.error);
                return;
            }
            node.value = std::move(r.value);
            return;
        }
        case Node::Kind::sequence:
            for (size_t i = 0; i < node.items.size(); ++i)
                interpolate_tree(node.items[i], lookup, problems, warnings, path_index(path, i));
            return;
        case Node::Kind::mapping:
            for (auto& e : node.entries) interpolate_tree(e.value, lookup, problems, warnings, path_join(path, e.key));
            return;
        case Node::Kind::null:
            return;
    }
}

}  // namespace berth::compose
