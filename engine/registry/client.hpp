#pragma once
// One registry, as the distribution spec's client sees it: requests under /v2/ with the
// authentication the registry asks for (WWW-Authenticate: Bearer tokens from its realm,
// anonymous or with the user's credentials; or Basic), HTTPS with HTTP fallback for insecure
// registries (endpoint.hpp), redirects for blob downloads, and a pool of keep-alive
// connections so layers can be fetched in parallel. Thread-safe.
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "registry/docker_config.hpp"
#include "registry/endpoint.hpp"
#include "registry/http.hpp"

namespace berth::registry {

// A registry's answer that is not what was asked for: status and, when it sent one, the first
// error of its JSON body ({"errors":[{"code":"MANIFEST_UNKNOWN","message":...}]}).
class RegistryError : public berth::Error {
public:
    RegistryError(Errc kind, std::string msg, int status, std::string code)
        : berth::Error(kind, std::move(msg)), status_(status), code_(std::move(code)) {}
    int status() const { return status_; }
    const std::string& code() const { return code_; }  // "MANIFEST_UNKNOWN", "" when none

private:
    int status_;
    std::string code_;
};

// "manifest unknown: manifest unknown" (Docker's wording) from an error response; the status
// line when the body says nothing.
std::string describe_error(const Response& r);
// Throws RegistryError for r (kind from the status: 404 not_found, 401/403 failed...).
[[noreturn]] void throw_response(const Response& r, const std::string& doing);

class Client {
public:
    // scopes: the token scopes this client needs ("repository:library/busybox:pull").
    // creds: nullopt = load them from Docker's config.json for the endpoint's domain.
    Client(Endpoint ep, std::vector<std::string> scopes, std::optional<AuthEntry> creds = std::nullopt);
    ~Client();

    const Endpoint& endpoint() const { return ep_; }
    bool has_credentials() const { return creds_.has_value(); }

    // r.target is a path on the registry ("/v2/..."), or an absolute URL the registry gave
    // (an upload Location). Authenticated; redirects followed for GET and HEAD.
    Response request(Request r, std::size_t max_body = 32 << 20);
    // The same, with the body streamed.
    std::unique_ptr<Connection::Body> open(Request r);

    // GET /v2/ with authentication: throws when the registry cannot be reached or refuses the
    // credentials (for login).
    void check_login();

    std::string scheme();  // "https" or "http", once resolved

private:
    struct Pooled;
    Endpoint ep_;
    std::vector<std::string> scopes_;
    std::optional<AuthEntry> creds_;
    std::mutex mu_;
    std::string scheme_;         // resolved on first use
    std::string authorization_;  // current Authorization header value, "" = none yet
    std::vector<std::unique_ptr<Connection>> idle_;

    std::unique_ptr<Connection> take();
    void give_back(std::unique_ptr<Connection> c);
    std::unique_ptr<Connection::Body> open_once(const Url& url, const Request& r, bool same_registry);
    void authenticate(const Response& challenge_response);
    std::string fetch_token(const struct Challenge& ch);
    Url url_of(const std::string& target);
};

}  // namespace berth::registry
