#include "registry/docker_config.hpp"

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

namespace {
fs::path config_file() { return docker_config_dir() / "config.json"; }
}  // namespace

std::optional<AuthEntry> load_auth(std::string_view domain) {
    auto path = config_file();
    auto text = sys::read_file_if_exists(path);
    if (!text) return std::nullopt;
    return find_auth(*text, domain, path.string());
}

void store_auth(std::string_view domain, const AuthEntry& entry) {
    auto path = config_file();
    auto text = sys::read_file_if_exists(path).value_or("");
    auto out = set_auth(text, domain, entry, path.string());
    sys::mkdirs(path.parent_path(), 0700);
    sys::write_file_atomic(path, out, 0600);
}

bool erase_auth(std::string_view domain) {
    auto path = config_file();
    auto text = sys::read_file_if_exists(path);
    if (!text) return false;
    auto out = remove_auth(*text, domain, path.string());
    if (!out) return false;
    sys::write_file_atomic(path, *out, 0600);
    return true;
}

}  // namespace berth::registry
