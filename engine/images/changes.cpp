// Dockerfile instructions applied to an image config (`import --change`, `commit --change`).
#include <algorithm>
#include <cctype>
#include <set>

#include "images/config.hpp"
#include "sys/error.hpp"
#include "sys/json.hpp"
#include "sys/strings.hpp"

namespace berth::images {

namespace {

[[noreturn]] void bad(const std::string& msg) { throw_error(Errc::invalid, msg); }

std::optional<std::string> env_lookup(const std::vector<std::string>& env, std::string_view key) {
    for (auto it = env.rbegin(); it != env.rend(); ++it) {
        auto [k, v] = str::split_once(*it, '=');
        if (k == key) return v.value_or("");
    }
    return std::nullopt;
}

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Dockerfile word processing: quotes ('...' literal, "..." with \ escapes), backslash escapes,
// and $VAR / ${VAR} / ${VAR:-default} / ${VAR:+alt} from env. split: break on blanks.
class Lexer {
public:
    Lexer(std::string_view s, const std::vector<std::string>& env) : s_(s), env_(env) {}

    std::vector<std::string> words() {
        std::vector<std::string> out;
        std::string cur;
        bool have = false;
        while (i_ < s_.size()) {
            char c = s_[i_];
            if (std::isspace(static_cast<unsigned char>(c))) {
                if (have) out.push_back(cur), cur.clear(), have = false;
                ++i_;
                continue;
            }
            have = true;
            piece(cur);
        }
        if (have) out.push_back(cur);
        return out;
    }

    std::string word() {
        std::string cur;
        while (i_ < s_.size()) piece(cur);
        return cur;
    }

private:
    std::string_view s_;
    const std::vector<std::string>& env_;
    size_t i_ = 0;

    void piece(std::string& cur) {
        char c = s_[i_];
        if (c == '\'') {
            auto close = s_.find('\'', i_ + 1);
            if (close == std::string_view::npos) bad("unexpected end of statement while looking for matching single-quote");
            cur.append(s_.substr(i_ + 1, close - i_ - 1));
            i_ = close + 1;
        } else if (c == '"') {
            ++i_;
            for (;;) {
                if (i_ >= s_.size()) bad("unexpected end of statement while looking for matching double-quote");
                char d = s_[i_];
                if (d == '"') {
                    ++i_;
                    break;
                }
                if (d == '\\' && i_ + 1 < s_.size()) {
                    cur += s_[i_ + 1];
                    i_ += 2;
                } else if (d == '$') {
                    cur += variable();
                } else {
                    cur += d;
                    ++i_;
                }
            }
        } else if (c == '\\' && i_ + 1 < s_.size()) {
            cur += s_[i_ + 1];
            i_ += 2;
        } else if (c == '$') {
            cur += variable();
        } else {
            cur += c;
            ++i_;
        }
    }

    std::string variable() {
        ++i_;  // '$'
        if (i_ < s_.size() && s_[i_] == '{') {
            auto close = s_.find('}', i_);
            if (close == std::string_view::npos) bad("missing '}' in variable substitution");
            std::string_view inner = s_.substr(i_ + 1, close - i_ - 1);
            i_ = close + 1;
            auto colon = inner.find(':');
            std::string_view name = inner.substr(0, colon);
            auto val = env_lookup(env_, name);
            if (colon == std::string_view::npos) return val.value_or("");
            std::string_view rest = inner.substr(colon + 1);
            if (rest.empty()) bad("bad substitution: ${" + std::string(inner) + "}");
            std::string word = Lexer(rest.substr(1), env_).word();
            if (rest[0] == '-') return val && !val->empty() ? *val : word;
            if (rest[0] == '+') return val && !val->empty() ? word : "";
            bad("unsupported modifier (" + std::string(1, rest[0]) + ") in substitution ${" + std::string(inner) + "}");
        }
        size_t start = i_;
        while (i_ < s_.size() && is_name_char(s_[i_])) ++i_;
        if (start == i_) return "$";
        return env_lookup(env_, s_.substr(start, i_ - start)).value_or("");
    }
};

// A JSON array of strings, or nullopt when s is not one (then it is the shell form).
std::optional<std::vector<std::string>> json_form(std::string_view s) {
    auto t = str::trim(s);
    if (t.empty() || t.front() != '[') return std::nullopt;
    try {
        auto j = json::parse(t);
        if (!j.is_array()) return std::nullopt;
        std::vector<std::string> out;
        for (auto& e : j) {
            if (!e.is_string()) return std::nullopt;
            out.push_back(e.get<std::string>());
        }
        return out;
    } catch (const json::exception&) {
        return std::nullopt;
    }
}

std::vector<std::string> command_form(const ImageConfig& c, std::string_view rest) {
    if (auto j = json_form(rest)) return *j;
    std::vector<std::string> out = c.shell.empty() ? std::vector<std::string>{"/bin/sh", "-c"} : c.shell;
    out.emplace_back(str::trim(rest));
    return out;
}

// key=value pairs (or the legacy "KEY value" form) for ENV and LABEL.
std::vector<std::pair<std::string, std::string>> name_values(const std::string& inst, std::string_view rest,
                                                             const std::vector<std::string>& env) {
    std::vector<std::pair<std::string, std::string>> out;
    auto t = str::trim(rest);
    auto first_end = t.find_first_of(" \t");
    auto first = t.substr(0, first_end);
    if (first.find('=') == std::string_view::npos) {
        // Legacy form: the first word is the name, the rest of the line the value.
        if (first_end == std::string_view::npos) bad(inst + " must have two arguments");
        std::string key = Lexer(first, env).word();
        std::string value = Lexer(str::trim(t.substr(first_end)), env).word();
        out.emplace_back(key, value);
    } else {
        for (auto& w : Lexer(t, env).words()) {
            auto [k, v] = str::split_once(w, '=');
            if (!v) bad("Syntax error - can't find = in \"" + w + "\". Must be of the form: name=value");
            out.emplace_back(k, *v);
        }
    }
    for (auto& [k, v] : out)
        if (k.empty()) bad(inst + " names can not be blank");
    return out;
}

std::string clean_path(const std::string& p) {
    std::vector<std::string> parts;
    for (auto& c : str::split(p, '/')) {
        if (c.empty() || c == ".") continue;
        if (c == "..") {
            if (!parts.empty()) parts.pop_back();
            continue;
        }
        parts.push_back(c);
    }
    return "/" + str::join(parts, "/");
}

bool valid_signal(std::string s) {
    if (auto n = str::parse_uint(s)) return *n >= 1 && *n <= 64;
    s = str::to_lower(s);
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (s.rfind("SIG", 0) == 0) s = s.substr(3);
    static const std::set<std::string> names = {
        "ABRT", "ALRM", "BUS",  "CHLD", "CLD",  "CONT",   "FPE",  "HUP",  "ILL",  "INT",  "IO",   "IOT",
        "KILL", "PIPE", "POLL", "PROF", "PWR",  "QUIT",   "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP",
        "TSTP", "TTIN", "TTOU", "URG",  "USR1", "USR2",   "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX"};
    if (names.count(s)) return true;
    for (std::string base : {"RTMIN+", "RTMAX-"})
        if (s.rfind(base, 0) == 0) {
            auto n = str::parse_uint(s.substr(base.size()));
            return n && *n >= 1 && *n <= 15;
        }
    return false;
}

std::vector<std::string> expose(const std::string& spec) {
    auto [range, proto] = str::split_once(spec, '/');
    std::string p = proto ? str::to_lower(*proto) : "tcp";
    if (p != "tcp" && p != "udp" && p != "sctp") bad("invalid proto: " + p);
    auto [lo, hi] = str::split_once(range, '-');
    auto a = str::parse_uint(lo);
    auto b = hi ? str::parse_uint(*hi) : a;
    if (!a || !b || *a > 65535 || *b > 65535 || *b < *a) bad("invalid containerPort: " + range);
    std::vector<std::string> out;
    for (auto n = *a; n <= *b; ++n) out.push_back(std::to_string(n) + "/" + p);
    return out;
}

Healthcheck healthcheck(std::string_view rest, const ImageConfig& c) {
    Healthcheck h;
    auto t = str::trim(rest);
    // Leading --flag=value options.
    while (t.substr(0, 2) == "--") {
        auto end = t.find_first_of(" \t");
        std::string flag(t.substr(0, end));
        t = end == std::string_view::npos ? std::string_view{} : str::trim(t.substr(end));
        auto [name, value] = str::split_once(flag, '=');
        if (!value) bad("HEALTHCHECK flag " + name + " needs a value (" + name + "=...)");
        if (name == "--retries") {
            auto n = str::parse_int(*value);
            if (!n) bad("HEALTHCHECK --retries: invalid number " + *value);
            if (*n < 0) bad("--retries cannot be negative (" + *value + ")");
            h.retries = static_cast<int>(*n);
            continue;
        }
        std::int64_t* slot = name == "--interval"         ? &h.interval_ns
                             : name == "--timeout"        ? &h.timeout_ns
                             : name == "--start-period"   ? &h.start_period_ns
                             : name == "--start-interval" ? &h.start_interval_ns
                                                          : nullptr;
        if (!slot) bad("unknown flag: " + name.substr(2));
        auto d = str::parse_duration_ns(*value);
        if (!d) bad("HEALTHCHECK " + name + ": invalid duration " + *value);
        if (*d != 0 && *d < 1000000) bad("HEALTHCHECK " + name + " cannot be less than 1ms");
        *slot = *d;
    }
    auto end = t.find_first_of(" \t");
    std::string kind = str::to_lower(t.substr(0, end));
    std::string_view args = end == std::string_view::npos ? std::string_view{} : str::trim(t.substr(end));
    if (kind == "none") {
        if (!args.empty()) bad("HEALTHCHECK NONE takes no arguments");
        h = Healthcheck{};
        h.test = {"NONE"};
        return h;
    }
    if (kind != "cmd") bad("Unknown type \"" + std::string(t.substr(0, end)) + "\" in HEALTHCHECK (try CMD)");
    if (args.empty()) bad("Missing command after HEALTHCHECK CMD");
    if (auto j = json_form(args)) {
        h.test = {"CMD"};
        h.test.insert(h.test.end(), j->begin(), j->end());
    } else {
        h.test = {"CMD-SHELL", std::string(args)};
    }
    (void)c;
    return h;
}

}  // namespace

void apply_changes(ImageConfig& out, const std::vector<std::string>& changes) {
    ImageConfig c = out;
    bool cmd_set = false;
    for (const auto& line : changes) {
        auto t = str::trim(line);
        auto sp = t.find_first_of(" \t");
        std::string inst = str::to_lower(t.substr(0, sp));
        std::string upper = inst;
        for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        std::string_view rest = sp == std::string_view::npos ? std::string_view{} : str::trim(t.substr(sp));
        if (t.empty()) bad("empty change: a Dockerfile instruction such as 'CMD [\"sh\"]' is expected");
        static const std::set<std::string> other = {"from", "run", "copy", "add", "arg", "shell", "maintainer"};
        static const std::set<std::string> valid = {"cmd",        "entrypoint", "env",  "expose", "healthcheck", "label",
                                                    "onbuild",    "stopsignal", "user", "volume", "workdir"};
        if (other.count(inst)) bad(upper + " is not a valid change command");
        if (!valid.count(inst)) bad("dockerfile parse error: unknown instruction: " + upper);
        if (rest.empty()) bad(upper + " requires at least one argument");

        if (inst == "cmd") {
            c.cmd = command_form(c, rest);
            cmd_set = true;
        } else if (inst == "entrypoint") {
            c.entrypoint = command_form(c, rest);
            if (c.entrypoint->empty()) c.entrypoint = std::nullopt;
            if (!cmd_set) c.cmd = std::nullopt;
        } else if (inst == "env") {
            for (auto& [k, v] : name_values("ENV", rest, c.env)) {
                auto it = std::find_if(c.env.begin(), c.env.end(), [&](const std::string& e) {
                    return str::split_once(e, '=').first == k;
                });
                if (it != c.env.end())
                    *it = k + "=" + v;
                else
                    c.env.push_back(k + "=" + v);
            }
        } else if (inst == "label") {
            for (auto& [k, v] : name_values("LABEL", rest, c.env)) c.labels[k] = v;
        } else if (inst == "expose") {
            std::set<std::string> ports(c.exposed_ports.begin(), c.exposed_ports.end());
            for (auto& w : Lexer(rest, c.env).words())
                for (auto& p : expose(w)) ports.insert(p);
            c.exposed_ports.assign(ports.begin(), ports.end());
        } else if (inst == "volume") {
            std::vector<std::string> vols;
            if (auto j = json_form(rest))
                vols = *j;
            else
                vols = Lexer(rest, c.env).words();
            std::set<std::string> all(c.volumes.begin(), c.volumes.end());
            for (auto& v : vols) {
                auto tv = std::string(str::trim(v));
                if (tv.empty()) bad("VOLUME specified can not be an empty string");
                all.insert(tv);
            }
            c.volumes.assign(all.begin(), all.end());
        } else if (inst == "workdir") {
            std::string w = Lexer(rest, c.env).word();
            if (w.empty()) bad("WORKDIR requires exactly one argument");
            c.working_dir = w.front() == '/' ? clean_path(w) : clean_path((c.working_dir.empty() ? "/" : c.working_dir) + "/" + w);
        } else if (inst == "user") {
            auto words = Lexer(rest, c.env).words();
            if (words.size() != 1 || words[0].empty()) bad("USER requires exactly one argument");
            c.user = words[0];
        } else if (inst == "stopsignal") {
            auto words = Lexer(rest, c.env).words();
            if (words.size() != 1) bad("STOPSIGNAL requires exactly one argument");
            if (!valid_signal(words[0])) bad("invalid signal: " + words[0]);
            c.stop_signal = words[0];
        } else if (inst == "healthcheck") {
            c.healthcheck = healthcheck(rest, c);
        } else if (inst == "onbuild") {
            auto tsp = rest.find_first_of(" \t");
            std::string trig = str::to_lower(rest.substr(0, tsp));
            if (trig == "onbuild") bad("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
            if (trig == "from" || trig == "maintainer")
                bad((trig == "from" ? "FROM" : "MAINTAINER") + std::string(" isn't allowed as an ONBUILD trigger"));
            c.on_build.emplace_back(rest);
        }
    }
    out = std::move(c);
}

}  // namespace berth::images
