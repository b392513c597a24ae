#pragma once
// Credentials in Docker's client config (~/.docker/config.json, or $DOCKER_CONFIG/config.json):
//   {"auths": {"https://index.docker.io/v1/": {"auth": "<base64 user:password>"},
//              "localhost:5000": {"auth": "...", "identitytoken": "..."}}}
// berth reads and writes the same file, so `docker login` and `berth login` share credentials.
// Everything else in the file (proxies, plugins...) is kept as it is. When the file names a
// credential helper for the registry ("credHelpers": {"host": "x"}, or "credsStore": "x"), the
// credentials are kept by docker-credential-x (get / store / erase, Docker's protocol) and the
// file only gets an empty entry under "auths", as Docker does. A helper that is not installed
// reads as "no credentials" (Docker fails the command instead).
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace berth::registry {

struct AuthEntry {
    std::string username, password;
    std::string identity_token;  // OAuth refresh token ("identitytoken")
    std::string registry_token;  // a bearer token given as is ("registrytoken")
    bool empty() const { return username.empty() && password.empty() && identity_token.empty() && registry_token.empty(); }
};

// $DOCKER_CONFIG, else $HOME/.docker.
std::filesystem::path docker_config_dir();

// The key Docker files a registry's credentials under: "https://index.docker.io/v1/" for
// Docker Hub ("docker.io", "index.docker.io", "registry-1.docker.io"), else "host[:port]".
std::string auth_key(std::string_view domain);

// Pure functions over the file's text ("" = no file). find_auth also matches keys written as
// URLs ("https://host:port/v2/", "http://host:port"). Throws berth::Error(Errc::corrupt) for a
// file that is not a JSON object, or an "auth" that is not base64 "user:password".
std::optional<AuthEntry> find_auth(std::string_view config_json, std::string_view domain, std::string_view what);
std::string set_auth(std::string_view config_json, std::string_view domain, const AuthEntry& entry, std::string_view what);
// nullopt when there were no credentials for domain.
std::optional<std::string> remove_auth(std::string_view config_json, std::string_view domain, std::string_view what);

// The helper named for domain ("" = none).
std::string credential_helper(std::string_view config_json, std::string_view domain);

// The same on docker_config_dir()/config.json (and its credential helper); writes are atomic
// and the file is mode 0600.
std::optional<AuthEntry> load_auth(std::string_view domain);
void store_auth(std::string_view domain, const AuthEntry& entry);
bool erase_auth(std::string_view domain);

}  // namespace berth::registry
