#include "registry/client.hpp"

#include <algorithm>
#include <map>

#include "registry/auth.hpp"
#include "sys/json.hpp"
#include "sys/strings.hpp"

namespace berth::registry {

namespace {

// What each registry was found to speak, for the life of the process (compose pulls several
// images from one registry).
std::mutex g_scheme_mu;
std::map<std::string, std::string> g_scheme;

constexpr int kMaxRedirects = 5;

std::string read_all(Connection::Body& b, std::size_t limit) {
    std::string out;
    char buf[16 << 10];
    for (;;) {
        size_t n = b.read(buf, sizeof buf);
        if (n == 0) break;
        if (out.size() < limit) out.append(buf, std::min(n, limit - out.size()));
    }
    return out;
}

bool is_redirect(int s) { return s == 301 || s == 302 || s == 303 || s == 307 || s == 308; }

}  // namespace

std::string describe_error(const Response& r) {
    auto j = json::parse(r.body, nullptr, false);
    if (j.is_object()) {
        if (auto e = j.find("errors"); e != j.end() && e->is_array() && !e->empty() && (*e)[0].is_object()) {
            const auto& first = (*e)[0];
            std::string code = first.value("code", "");
            std::string msg = first.contains("message") && first["message"].is_string() ? first["message"].get<std::string>() : "";
            std::string c = str::to_lower(str::replace_all(code, "_", " "));
            if (!c.empty() && !msg.empty()) return c + ": " + msg;
            if (!c.empty() || !msg.empty()) return c + msg;
        }
        for (auto* k : {"details", "error_description", "error", "message"})
            if (j.contains(k) && j[k].is_string()) return j[k].get<std::string>();
    }
    std::string s = "HTTP status " + std::to_string(r.status);
    auto body = std::string(str::trim(r.body.substr(0, 200)));
    if (!body.empty() && body.find('\n') == std::string::npos && body.find('<') == std::string::npos) s += ": " + body;
    return s;
}

[[noreturn]] void throw_response(const Response& r, const std::string& doing) {
    std::string code;
    auto j = json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty() && j["errors"][0].is_object())
        code = j["errors"][0].value("code", "");
    Errc kind = r.status == 404 ? Errc::not_found : Errc::failed;
    throw RegistryError(kind, doing + ": " + describe_error(r), r.status, code);
}

// A streamed body whose connection goes back to the client's pool when it is done.
struct Client::Pooled : Connection::Body {
    Client* owner;
    std::unique_ptr<Connection> conn;
    std::unique_ptr<Connection::Body> body;
    bool pooled;
    Pooled(Client* o, std::unique_ptr<Connection> c, std::unique_ptr<Connection::Body> b, bool p)
        : owner(o), conn(std::move(c)), body(std::move(b)), pooled(p) {}
    ~Pooled() override {
        body.reset();  // closes the connection if the body was not read to the end
        if (pooled) owner->give_back(std::move(conn));
    }
    const Response& head() const override { return body->head(); }
    std::uint64_t received() const override { return body->received(); }
    size_t read(void* buf, size_t n) override { return body->read(buf, n); }
};

Client::Client(Endpoint ep, std::vector<std::string> scopes, std::optional<AuthEntry> creds)
    : ep_(std::move(ep)), scopes_(std::move(scopes)), creds_(creds ? std::move(creds) : load_auth(ep_.domain)) {
    if (creds_ && creds_->empty()) creds_.reset();
}

Client::~Client() = default;

std::string Client::scheme() {
    std::lock_guard lock(mu_);
    if (!scheme_.empty()) return scheme_;
    {
        std::lock_guard g(g_scheme_mu);
        if (auto it = g_scheme.find(ep_.domain); it != g_scheme.end()) return scheme_ = it->second;
    }
    if (!ep_.allow_http) {
        scheme_ = "https";
    } else {
        // Insecure registries: HTTPS when the server speaks it, else plain HTTP (as Docker).
        auto c = std::make_unique<Connection>("https", ep_.host, ep_.port, ep_.tls);
        try {
            c->connect();
            scheme_ = "https";
            idle_.push_back(std::move(c));
        } catch (const NetError& e) {
            if (e.failure() == NetFailure::tls_verify) throw;
            scheme_ = "http";
        }
    }
    std::lock_guard g(g_scheme_mu);
    g_scheme[ep_.domain] = scheme_;
    return scheme_;
}

Url Client::url_of(const std::string& target) {
    if (target.find("://") != std::string::npos) return parse_url(target);
    Url u;
    u.scheme = scheme();
    u.host = ep_.host;
    u.port = ep_.port;
    u.target = target;
    return u;
}

std::unique_ptr<Connection> Client::take() {
    std::string s = scheme();
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
    }
    return std::make_unique<Connection>(s, ep_.host, ep_.port, ep_.tls);
}

void Client::give_back(std::unique_ptr<Connection> c) {
    std::lock_guard lock(mu_);
    if (idle_.size() < 8) idle_.push_back(std::move(c));
}

std::unique_ptr<Connection::Body> Client::open_once(const Url& url, const Request& r, bool same_registry) {
    Request q = r;
    q.target = url.target;
    std::unique_ptr<Connection> conn;
    if (same_registry) {
        std::string auth;
        {
            std::lock_guard lock(mu_);
            auth = authorization_;
        }
        if (!auth.empty()) q.headers.push_back(Header{"Authorization", auth});
        conn = take();
    } else {
        // Somewhere else (a blob store the registry redirects to): its own TLS rules, no
        // credentials of ours.
        auto tls = endpoint_for(url.host + (url.port.empty() ? "" : ":" + url.port)).tls;
        conn = std::make_unique<Connection>(url.scheme, url.host, url.port, tls);
    }
    auto body = conn->open(q);
    return std::make_unique<Pooled>(this, std::move(conn), std::move(body), same_registry);
}

std::unique_ptr<Connection::Body> Client::open(Request r) {
    Url url = url_of(r.target);
    bool authed = false;
    for (int redirects = 0;;) {
        bool same = url.host == ep_.host && url.port == ep_.port && url.scheme == scheme();
        auto body = open_once(url, r, same);
        int st = body->head().status;
        if (st == 401 && same && !authed) {
            Response resp = body->head();
            resp.body = read_all(*body, 64 << 10);
            authenticate(resp);
            authed = true;
            continue;
        }
        if (is_redirect(st) && (r.method == "GET" || r.method == "HEAD")) {
            auto loc = body->head().header("Location");
            if (loc.empty()) return body;
            read_all(*body, 0);
            if (++redirects > kMaxRedirects)
                throw_error(Errc::failed, "too many redirects fetching " + url.str());
            url = resolve_location(url, loc);
            continue;
        }
        return body;
    }
}

Response Client::request(Request r, std::size_t max_body) {
    return read_response(*open(std::move(r)), max_body, ep_.domain);
}

void Client::authenticate(const Response& resp) {
    std::string all;
    for (auto& h : resp.headers_named("WWW-Authenticate")) all += (all.empty() ? "" : ", ") + h;
    auto chs = parse_challenges(all);
    const Challenge* bearer = nullptr;
    const Challenge* basic = nullptr;
    for (auto& c : chs) {
        if (c.scheme == "bearer" && !bearer) bearer = &c;
        if (c.scheme == "basic" && !basic) basic = &c;
    }
    std::string header;
    if (bearer) {
        header = "Bearer " + fetch_token(*bearer);
    } else if (basic) {
        if (!creds_ || creds_->username.empty())
            throw RegistryError(Errc::failed, "unauthorized: authentication required", 401, "UNAUTHORIZED");
        header = "Basic " + base64_encode(creds_->username + ":" + creds_->password);
    } else {
        throw RegistryError(Errc::unsupported,
                            "the registry " + ep_.domain + " asks for an authentication scheme berth does not support" +
                                (all.empty() ? std::string(" (no WWW-Authenticate header)") : ": " + all),
                            401, "");
    }
    std::lock_guard lock(mu_);
    authorization_ = header;
}

std::string Client::fetch_token(const Challenge& ch) {
    if (creds_ && !creds_->registry_token.empty()) return creds_->registry_token;
    auto realm = ch.param("realm");
    if (realm.empty()) throw_error(Errc::failed, "the registry " + ep_.domain + " asked for a bearer token without a realm");
    Url u = parse_url(realm);
    // Ours, plus what the challenge names unless one of ours already covers it
    // ("repository:x:pull,push" covers "repository:x:pull").
    std::vector<std::string> scopes = scopes_;
    auto covered = [&](const std::string& want) {
        auto cut = want.rfind(':');
        if (cut == std::string::npos) return std::find(scopes.begin(), scopes.end(), want) != scopes.end();
        for (auto& have : scopes) {
            auto hc = have.rfind(':');
            if (hc == std::string::npos || have.compare(0, hc, want, 0, cut) != 0 || hc != cut) continue;
            auto mine = str::split(have.substr(hc + 1), ',');
            bool all = true;
            for (auto& a : str::split(want.substr(cut + 1), ','))
                all = all && std::find(mine.begin(), mine.end(), a) != mine.end();
            if (all) return true;
        }
        return false;
    };
    for (auto& s : str::split(ch.param("scope"), ' '))
        if (!s.empty() && !covered(s)) scopes.push_back(s);
    std::string service = ch.param("service");

    Request req;
    if (creds_ && !creds_->identity_token.empty()) {
        // OAuth2 refresh token (the distribution spec's oauth.md).
        req.method = "POST";
        req.headers.push_back(Header{"Content-Type", "application/x-www-form-urlencoded"});
        req.body = "grant_type=refresh_token&client_id=berth&refresh_token=" + url_escape(creds_->identity_token);
        if (!service.empty()) req.body += "&service=" + url_escape(service);
        if (!scopes.empty()) req.body += "&scope=" + url_escape(str::join(scopes, " "));
        req.target = u.target;
    } else {
        std::string q;
        auto add = [&](const std::string& k, const std::string& v) { q += (q.empty() ? "" : "&") + k + "=" + url_escape(v); };
        if (!service.empty()) add("service", service);
        for (auto& s : scopes) add("scope", s);
        if (creds_ && !creds_->username.empty()) {
            add("account", creds_->username);
            req.headers.push_back(Header{"Authorization", "Basic " + base64_encode(creds_->username + ":" + creds_->password)});
        }
        req.target = u.target + (q.empty() ? "" : (u.target.find('?') == std::string::npos ? "?" : "&") + q);
    }
    TlsConfig tls = u.host == ep_.host ? ep_.tls : endpoint_for(u.host + (u.port.empty() ? "" : ":" + u.port)).tls;
    Connection conn(u.scheme, u.host, u.port, tls);
    auto resp = conn.send(req, 1 << 20);
    if (resp.status == 401 || resp.status == 403) {
        std::string why = describe_error(resp);
        if (why.rfind("HTTP status", 0) == 0)
            why = creds_ ? "incorrect username or password" : "authentication required";
        throw RegistryError(Errc::failed, "unauthorized: " + why, 401, "UNAUTHORIZED");
    }
    if (resp.status != 200) throw_response(resp, "getting a token from " + realm);
    auto j = json::parse(resp.body, nullptr, false);
    std::string token;
    if (j.is_object()) {
        if (j.contains("token") && j["token"].is_string()) token = j["token"].get<std::string>();
        if (token.empty() && j.contains("access_token") && j["access_token"].is_string())
            token = j["access_token"].get<std::string>();
    }
    if (token.empty()) throw_error(Errc::failed, "the token server " + realm + " answered without a token");
    return token;
}

void Client::check_login() {
    Request r;
    r.target = "/v2/";
    auto resp = request(r, 1 << 20);
    if (resp.status == 401) {
        std::string why = describe_error(resp);
        throw RegistryError(Errc::failed, "unauthorized: " + (why.rfind("unauthorized: ", 0) == 0 ? why.substr(14) : why), 401,
                            "UNAUTHORIZED");
    }
    if (resp.status != 200) throw_response(resp, "checking " + ep_.domain + "/v2/");
}

}  // namespace berth::registry
