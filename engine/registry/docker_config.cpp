#include "registry/docker_config.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "registry/auth.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/strings.hpp"

namespace berth::registry {

namespace fs = std::filesystem;

fs::path docker_config_dir() {
    if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d) return d;
    const char* home = std::getenv("HOME");
    return fs::path(home && *home ? home : "/root") / ".docker";
}

namespace {

bool is_hub(std::string_view d) {
    return d == "docker.io" || d == "index.docker.io" || d == "registry-1.docker.io" || d == "registry.hub.docker.com";
}

// "https://host:port/v2/" -> "host:port"
std::string key_host(std::string_view key) {
    if (auto p = key.find("://"); p != std::string_view::npos) key = key.substr(p + 3);
    if (auto p = key.find('/'); p != std::string_view::npos) key = key.substr(0, p);
    return str::to_lower(key);
}

json parse_config(std::string_view text, std::string_view what) {
    if (str::trim(text).empty()) return json::object();
    auto j = json::parse(text, nullptr, false);
    if (!j.is_object()) throw_error(Errc::corrupt, std::string(what) + " is not a JSON object");
    if (j.contains("auths") && !j["auths"].is_object())
        throw_error(Errc::corrupt, std::string(what) + ": \"auths\" is not an object");
    return j;
}

// The key in auths that holds domain's credentials, "" when none.
std::string find_key(const json& auths, std::string_view domain) {
    std::string want = is_hub(domain) ? "index.docker.io" : str::to_lower(domain);
    std::string exact = auth_key(domain);
    if (auths.contains(exact)) return exact;
    for (auto& [k, v] : auths.items()) {
        std::string h = key_host(k);
        if (h == want || (is_hub(want) && is_hub(h))) return k;
    }
    return {};
}

std::string text_of(const json& j, const char* field) {
    auto it = j.find(field);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string auth_key(std::string_view domain) {
    if (is_hub(domain)) return "https://index.docker.io/v1/";
    return std::string(domain);
}

std::optional<AuthEntry> find_auth(std::string_view config_json, std::string_view domain, std::string_view what) {
    auto j = parse_config(config_json, what);
    if (!j.contains("auths")) return std::nullopt;
    auto key = find_key(j["auths"], domain);
    if (key.empty()) return std::nullopt;
    const auto& e = j["auths"][key];
    if (!e.is_object()) throw_error(Errc::corrupt, std::string(what) + ": auths[\"" + key + "\"] is not an object");
    AuthEntry a;
    a.username = text_of(e, "username");
    a.password = text_of(e, "password");
    if (auto enc = text_of(e, "auth"); !enc.empty()) {
        std::string plain;
        bool ok = base64_decode(enc, plain);
        auto [u, p] = str::split_once(plain, ':');
        if (!ok || !p)
            throw_error(Errc::corrupt, std::string(what) + ": auths[\"" + key + "\"].auth is not base64 of user:password");
        a.username = u;
        a.password = *p;
    }
    a.identity_token = text_of(e, "identitytoken");
    a.registry_token = text_of(e, "registrytoken");
    if (a.empty()) return std::nullopt;
    return a;
}

std::string set_auth(std::string_view config_json, std::string_view domain, const AuthEntry& entry, std::string_view what) {
    auto j = parse_config(config_json, what);
    if (!j.contains("auths")) j["auths"] = json::object();
    auto& auths = j["auths"];
    if (auto old = find_key(auths, domain); !old.empty()) auths.erase(old);
    json e = json::object();
    if (!entry.username.empty() || !entry.password.empty())
        e["auth"] = base64_encode(entry.username + ":" + entry.password);
    if (!entry.identity_token.empty()) e["identitytoken"] = entry.identity_token;
    auths[auth_key(domain)] = e;
    return j.dump(1, '\t') + "\n";
}

std::optional<std::string> remove_auth(std::string_view config_json, std::string_view domain, std::string_view what) {
    auto j = parse_config(config_json, what);
    if (!j.contains("auths")) return std::nullopt;
    auto key = find_key(j["auths"], domain);
    if (key.empty()) return std::nullopt;
    j["auths"].erase(key);
    return j.dump(1, '\t') + "\n";
}

std::string credential_helper(std::string_view config_json, std::string_view domain) {
    auto j = json::parse(config_json, nullptr, false);
    if (!j.is_object()) return {};
    if (auto h = j.find("credHelpers"); h != j.end() && h->is_object()) {
        std::string want = is_hub(domain) ? "index.docker.io" : str::to_lower(domain);
        for (auto& [k, v] : h->items())
            if (v.is_string() && (key_host(k) == want || (is_hub(want) && is_hub(key_host(k))))) return v.get<std::string>();
    }
    if (auto s = j.find("credsStore"); s != j.end() && s->is_string()) return s->get<std::string>();
    return {};
}

namespace {

fs::path config_file() { return docker_config_dir() / "config.json"; }

struct HelperRun {
    bool missing = false;  // not installed
    int status = 0;
    std::string out;
};

// docker-credential-<helper> <verb>, input on stdin, stdout captured (its stderr is passed on).
HelperRun run_helper(const std::string& helper, const char* verb, const std::string& input) {
    std::string prog = "docker-credential-" + helper;
    int in[2], out[2];
    // stdin is a socket so a helper that exits without reading it cannot SIGPIPE us (MSG_NOSIGNAL).
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0) sys::throw_errno("socketpair");
    if (::pipe2(out, O_CLOEXEC) < 0) sys::throw_errno("pipe");
    const char* argv[] = {prog.c_str(), verb, nullptr};
    pid_t pid = ::fork();
    if (pid < 0) sys::throw_errno("fork", prog);
    if (pid == 0) {  // only async-signal-safe calls until exec
        ::dup2(in[0], 0);
        ::dup2(out[1], 1);
        ::execvp(prog.c_str(), const_cast<char* const*>(argv));
        ::_exit(errno == ENOENT ? 127 : 126);
    }
    ::close(in[0]);
    ::close(out[1]);
    (void)!::send(in[1], input.data(), input.size(), MSG_NOSIGNAL);
    ::close(in[1]);
    HelperRun r;
    r.out = sys::read_fd(out[0]);
    ::close(out[0]);
    int st = 0;
    sys::retry_eintr([&] { return ::waitpid(pid, &st, 0); });
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.missing = r.status == 127;
    return r;
}

}  // namespace

std::optional<AuthEntry> load_auth(std::string_view domain) {
    auto path = config_file();
    auto text = sys::read_file_if_exists(path);
    if (!text) return std::nullopt;
    if (auto helper = credential_helper(*text, domain); !helper.empty()) {
        auto r = run_helper(helper, "get", auth_key(domain));
        if (!r.missing && r.status == 0) {
            auto j = json::parse(r.out, nullptr, false);
            if (!j.is_object())
                throw_error(Errc::corrupt, "docker-credential-" + helper + " get: the answer is not JSON");
            AuthEntry a;
            a.username = j.value("Username", "");
            a.password = j.value("Secret", "");
            if (a.username == "<token>") {  // an identity token, as Docker stores them
                a.identity_token = a.password;
                a.username.clear();
                a.password.clear();
            }
            if (!a.empty()) return a;
        }
    }
    return find_auth(*text, domain, path.string());
}

void store_auth(std::string_view domain, const AuthEntry& entry) {
    auto path = config_file();
    auto text = sys::read_file_if_exists(path).value_or("");
    AuthEntry inline_entry = entry;
    if (auto helper = credential_helper(text, domain); !helper.empty()) {
        json in = {{"ServerURL", auth_key(domain)}, {"Username", entry.username}, {"Secret", entry.password}};
        auto r = run_helper(helper, "store", in.dump());
        if (r.missing) throw_error(Errc::failed, "docker-credential-" + helper + " (named in " + path.string() + ") is not installed");
        if (r.status != 0)
            throw_error(Errc::failed, "docker-credential-" + helper + " store failed: " + std::string(str::trim(r.out)));
        inline_entry = AuthEntry{};  // the file keeps an empty entry only
    }
    auto out = set_auth(text, domain, inline_entry, path.string());
    sys::mkdirs(path.parent_path(), 0700);
    sys::write_file_atomic(path, out, 0600);
}

bool erase_auth(std::string_view domain) {
    auto path = config_file();
    auto text = sys::read_file_if_exists(path);
    if (!text) return false;
    bool erased = false;
    if (auto helper = credential_helper(*text, domain); !helper.empty()) {
        auto r = run_helper(helper, "erase", auth_key(domain));
        erased = !r.missing && r.status == 0;
    }
    auto out = remove_auth(*text, domain, path.string());
    if (!out) return erased;
    sys::write_file_atomic(path, *out, 0600);
    return true;
}

}  // namespace berth::registry
