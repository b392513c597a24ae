#include "build/dockerfile.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "build/shell_lex.hpp"
#include "sys/error.hpp"
#include "sys/json.hpp"
#include "sys/strings.hpp"

namespace berth::build {

std::optional<std::string> Instruction::flag(std::string_view name) const {
    std::optional<std::string> out;
    for (auto& f : flags)
        if (f.name == name) out = f.value;
    return out;
}

void fail_at(const Dockerfile& df, int line, const std::string& msg) {
    throw_error(Errc::invalid, df.name + ":" + std::to_string(line) + ": " + msg);
}

namespace {

// Flags each instruction takes (BuildKit's); a flag not listed is an error.
const std::map<std::string, std::set<std::string>>& known() {
    static const std::map<std::string, std::set<std::string>> k = {
        {"ADD", {"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude"}},
        {"ARG", {}},
        {"CMD", {}},
        {"COPY", {"from", "chown", "chmod", "link", "parents", "exclude"}},
        {"ENTRYPOINT", {}},
        {"ENV", {}},
        {"EXPOSE", {}},
        {"FROM", {"platform"}},
        {"HEALTHCHECK", {"interval", "timeout", "start-period", "start-interval", "retries"}},
        {"LABEL", {}},
        {"MAINTAINER", {}},
        {"ONBUILD", {}},
        {"RUN", {"network", "mount", "security"}},
        {"SHELL", {}},
        {"STOPSIGNAL", {}},
        {"USER", {}},
        {"VOLUME", {}},
        {"WORKDIR", {}},
    };
    return k;
}

std::string_view ltrim(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    return s.substr(i);
}
std::string_view rtrim(std::string_view s) {
    size_t n = s.size();
    while (n > 0 && std::isspace(static_cast<unsigned char>(s[n - 1]))) --n;
    return s.substr(0, n);
}

bool is_comment(std::string_view line) {
    auto t = ltrim(line);
    return !t.empty() && t[0] == '#';
}

struct Parser {
    Dockerfile& df;
    std::vector<std::string> lines;
    std::vector<std::string> errors;
    size_t i = 0;

    void error(int line, const std::string& msg) { errors.push_back(df.name + ":" + std::to_string(line) + ": " + msg); }

    void directives() {
        std::set<std::string> seen;
        for (; i < lines.size(); ++i) {
            std::string_view l = lines[i];
            if (l.empty() || l[0] != '#') return;
            auto body = ltrim(l.substr(1));
            auto eq = body.find('=');
            if (eq == std::string_view::npos) return;
            std::string key = str::to_lower(str::trim(body.substr(0, eq)));
            std::string val(str::trim(body.substr(eq + 1)));
            if (key.empty() || !std::all_of(key.begin(), key.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }))
                return;
            if (key != "escape" && key != "syntax" && key != "check") return;  // an ordinary comment
            if (!seen.insert(key).second) error(static_cast<int>(i + 1), "only one " + key + " parser directive can be used");
            if (key == "escape") {
                if (val != "\\" && val != "`") error(static_cast<int>(i + 1), "invalid escape token '" + val + "' does not match ` or \\");
                else df.escape = val[0];
            }
        }
    }

    // Heredoc markers in the instruction's text: <<EOF, <<-EOF, <<"EOF", <<'EOF'.
    struct Marker {
        std::string name;
        bool strip_tabs = false, quoted = false;
    };
    static std::vector<Marker> markers(std::string_view s) {
        std::vector<Marker> out;
        for (size_t p = s.find("<<"); p != std::string_view::npos; p = s.find("<<", p + 2)) {
            if (p > 0 && s[p - 1] == '<') continue;
            // A heredoc starts a word (or follows an fd number that does): "$((1<<2))" is none.
            size_t w = p;
            while (w > 0 && std::isdigit(static_cast<unsigned char>(s[w - 1]))) --w;
            if (w > 0 && s[w - 1] != ' ' && s[w - 1] != '\t') continue;
            size_t j = p + 2;
            Marker m;
            if (j < s.size() && s[j] == '-') m.strip_tabs = true, ++j;
            char q = 0;
            if (j < s.size() && (s[j] == '"' || s[j] == '\'')) q = s[j++], m.quoted = true;
            size_t start = j;
            if (j < s.size() && !std::isalpha(static_cast<unsigned char>(s[j])) && s[j] != '_') continue;
            while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_' || s[j] == '-' || s[j] == '.')) ++j;
            if (j == start) continue;
            if (q && (j >= s.size() || s[j] != q)) continue;
            m.name = std::string(s.substr(start, j - start));
            out.push_back(m);
        }
        return out;
    }

    void run() {
        directives();
        while (i < lines.size()) {
            std::string_view first = lines[i];
            if (ltrim(first).empty() || is_comment(first)) {
                ++i;
                continue;
            }
            int start_line = static_cast<int>(i + 1);
            std::string text;
            std::string original;
            // Continuation lines: a line ending in the escape character goes on; comment lines
            // and blank lines inside are skipped (a blank one is deprecated: a warning).
            for (;;) {
                std::string_view l = lines[i++];
                auto r = rtrim(l);
                bool cont = !r.empty() && r.back() == df.escape;
                if (cont) r.remove_suffix(1);
                text += std::string(text.empty() ? ltrim(r) : r);
                original += std::string(l);
                if (!cont) break;
                original += "\n";
                while (i < lines.size() && (is_comment(lines[i]) || ltrim(lines[i]).empty())) {
                    if (ltrim(lines[i]).empty())
                        df.warnings.push_back(df.name + ":" + std::to_string(i + 1) + ": empty continuation line");
                    ++i;
                }
                if (i >= lines.size()) break;
            }
            instruction(start_line, text, original);
        }
    }

    void instruction(int line, const std::string& text, const std::string& original) {
        Instruction ins;
        ins.line = line;
        ins.original = original;
        std::string_view t = ltrim(text);
        size_t kw_end = 0;
        while (kw_end < t.size() && !std::isspace(static_cast<unsigned char>(t[kw_end]))) ++kw_end;
        ins.keyword = str::to_lower(t.substr(0, kw_end));
        std::transform(ins.keyword.begin(), ins.keyword.end(), ins.keyword.begin(), [](char c) { return std::toupper(static_cast<unsigned char>(c)); });
        std::string_view rest = ltrim(t.substr(kw_end));
        auto it = known().find(ins.keyword);
        if (it == known().end()) {
            error(line, "unknown instruction: " + std::string(t.substr(0, kw_end)));
            return;
        }
        // --flags: words at the start beginning with "--".
        while (rest.size() > 2 && rest.substr(0, 2) == "--") {
            size_t end = 0;
            while (end < rest.size() && !std::isspace(static_cast<unsigned char>(rest[end]))) ++end;
            std::string word(rest.substr(2, end - 2));
            rest = ltrim(rest.substr(end));
            if (word.empty()) break;  // "--" ends the flags
            Flag f;
            auto eq = word.find('=');
            f.name = word.substr(0, eq);
            if (eq != std::string::npos) f.value = word.substr(eq + 1), f.has_value = true;
            if (!it->second.count(f.name)) {
                error(line, "unknown flag: --" + f.name + " (" + ins.keyword + ")");
                continue;
            }
            ins.flags.push_back(f);
        }
        ins.args = std::string(rtrim(rest));
        if (!ins.args.empty() && ins.args[0] == '[') {
            try {
                auto j = json::parse(ins.args);
                if (j.is_array() && std::all_of(j.begin(), j.end(), [](const json& e) { return e.is_string(); }))
                    ins.json = j.get<std::vector<std::string>>();
            } catch (const json::exception&) {
            }
        }
        if (ins.keyword == "RUN" || ins.keyword == "COPY" || ins.keyword == "ADD") {
            if (!ins.json) {
                for (auto& m : markers(ins.args)) {
                    Heredoc h;
                    h.name = m.name;
                    h.expand = !m.quoted;
                    bool closed = false;
                    while (i < lines.size()) {
                        std::string l = lines[i++];
                        ins.original += "\n" + l;
                        if (m.strip_tabs) l.erase(0, l.find_first_not_of('\t') == std::string::npos ? l.size() : l.find_first_not_of('\t'));
                        if (l == m.name) {
                            closed = true;
                            break;
                        }
                        h.content += l + "\n";
                    }
                    if (!closed) error(line, "unterminated heredoc <<" + m.name);
                    ins.heredocs.push_back(std::move(h));
                }
            }
        }
        check(ins);
        df.instructions.push_back(std::move(ins));
    }

    void check(const Instruction& ins) {
        const auto& k = ins.keyword;
        auto words = split_words(ins.args, df.escape);
        auto need = [&](bool ok, const std::string& msg) {
            if (!ok) error(ins.line, msg);
        };
        if (k == "FROM") {
            need(words.size() == 1 || (words.size() == 3 && str::to_lower(words[1]) == "as"),
                 "FROM requires either one or three arguments (FROM image [AS name])");
        } else if (k == "COPY" || k == "ADD") {
            size_t n = ins.json ? ins.json->size() : words.size();
            need(n >= 2 || (!ins.heredocs.empty() && n >= 1), k + " requires at least two arguments, but only one was provided. Destination could not be determined.");
        } else if (k == "ENV" || k == "LABEL") {
            need(!words.empty(), k + " requires at least one argument");
            if (!words.empty() && words[0].find('=') == std::string::npos && words.size() < 2)
                error(ins.line, k + " names can not be blank" + std::string(k == "ENV" ? " (ENV needs a value: ENV KEY=value)" : ""));
        } else if (k == "ARG") {
            need(words.size() == 1 || (!words.empty() && std::all_of(words.begin(), words.end(), [](auto& w) { return w.find('=') != std::string::npos; })),
                 "ARG requires exactly one argument (or NAME=value pairs)");
        } else if (k == "WORKDIR" || k == "USER" || k == "STOPSIGNAL" || k == "MAINTAINER") {
            need(!ins.args.empty(), k + " requires exactly one argument");
        } else if (k == "SHELL") {
            need(ins.json && !ins.json->empty(), "SHELL requires the arguments to be in JSON form");
        } else if (k == "RUN" || k == "EXPOSE" || k == "VOLUME" || k == "ONBUILD") {
            need(!ins.args.empty(), k + " requires at least one argument");
            if (k == "ONBUILD") {
                auto w = str::to_lower(words.empty() ? "" : words[0]);
                need(w != "onbuild" && w != "from" && w != "maintainer", "ONBUILD may not be used with " + (words.empty() ? "" : words[0]));
            }
        } else if (k == "HEALTHCHECK") {
            need(!words.empty(), "HEALTHCHECK requires at least one argument");
            if (!words.empty()) {
                auto w = str::to_lower(words[0]);
                need(w == "none" || w == "cmd", "Unknown type \"" + words[0] + "\" in HEALTHCHECK (try CMD)");
                if (w == "none") need(words.size() == 1, "HEALTHCHECK NONE takes no arguments");
                if (w == "cmd") need(words.size() > 1, "Missing command after HEALTHCHECK CMD");
            }
        }
    }
};

}  // namespace

Dockerfile parse_dockerfile(std::string_view text, std::string name) {
    Dockerfile df;
    df.name = std::move(name);
    Parser p{df, {}, {}, 0};
    size_t pos = 0;
    while (pos <= text.size()) {
        auto nl = text.find('\n', pos);
        std::string_view l = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        p.lines.emplace_back(l);
        if (nl == std::string_view::npos) break;
        pos = nl + 1;
    }
    if (!p.lines.empty() && p.lines.back().empty()) p.lines.pop_back();
    p.run();
    if (p.errors.empty() && df.instructions.empty()) p.errors.push_back(df.name + ": the Dockerfile cannot be empty");
    if (!p.errors.empty()) throw_error(Errc::invalid, str::join(p.errors, "\n"));
    return df;
}

Stages split_stages(const Dockerfile& df) {
    Stages out;
    std::vector<std::string> errors;
    std::set<std::string> names;
    for (auto& ins : df.instructions) {
        if (ins.keyword == "FROM") {
            Stage s;
            s.index = static_cast<int>(out.stages.size());
            s.from = ins;
            auto words = split_words(ins.args, df.escape);
            s.base = words.empty() ? "" : words[0];
            if (words.size() == 3) {
                s.name = str::to_lower(words[2]);
                bool ok = !s.name.empty() && std::isalpha(static_cast<unsigned char>(s.name[0])) &&
                          std::all_of(s.name.begin(), s.name.end(), [](char c) {
                              return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
                          });
                if (!ok) errors.push_back(df.name + ":" + std::to_string(ins.line) + ": invalid name for build stage: \"" + words[2] + "\", name can't start with a number or contain symbols");
                else if (!names.insert(s.name).second)
                    errors.push_back(df.name + ":" + std::to_string(ins.line) + ": duplicate stage name \"" + s.name + "\"");
            }
            if (auto p = ins.flag("platform")) s.platform = *p;
            out.stages.push_back(std::move(s));
        } else if (out.stages.empty()) {
            if (ins.keyword != "ARG")
                errors.push_back(df.name + ":" + std::to_string(ins.line) + ": no build stage in current context (" + ins.keyword + " before the first FROM)");
            else
                out.global_args.push_back(ins);
        } else {
            out.stages.back().steps.push_back(ins);
        }
    }
    if (errors.empty() && out.stages.empty()) errors.push_back(df.name + ": no build stage in current context (no FROM)");
    if (!errors.empty()) throw_error(Errc::invalid, str::join(errors, "\n"));
    return out;
}

}  // namespace berth::build
