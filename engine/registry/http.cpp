#include "registry/http.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <limits>
#include <utility>  // Boost 1.74's asio uses std::exchange without including it

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "sys/strings.hpp"

namespace berth::registry {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// ---- URLs ----------------------------------------------------------------------------------

std::string Url::origin() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return scheme + "://" + h + (port.empty() ? "" : ":" + port);
}

Url parse_url(std::string_view s) {
    Url u;
    auto p = s.find("://");
    if (p == std::string_view::npos) throw_error(Errc::invalid, "invalid URL \"" + std::string(s) + "\": no scheme");
    u.scheme = str::to_lower(s.substr(0, p));
    if (u.scheme != "http" && u.scheme != "https")
        throw_error(Errc::invalid, "invalid URL \"" + std::string(s) + "\": only http and https are supported");
    auto rest = s.substr(p + 3);
    auto end = rest.find_first_of("/?");
    auto authority = rest.substr(0, end);
    if (auto at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
    auto [h, port] = split_host_port(authority);
    if (h.empty()) throw_error(Errc::invalid, "invalid URL \"" + std::string(s) + "\": no host");
    u.host = h;
    u.port = port;
    u.target = end == std::string_view::npos ? "/" : std::string(rest.substr(end));
    if (u.target[0] == '?') u.target = "/" + u.target;
    return u;
}

Url resolve_location(const Url& base, std::string_view loc) {
    if (loc.find("://") != std::string_view::npos) return parse_url(loc);
    if (loc.substr(0, 2) == "//") return parse_url(base.scheme + ":" + std::string(loc));
    Url u = base;
    if (!loc.empty() && loc[0] == '/') {
        u.target = std::string(loc);
    } else {
        auto path = base.target.substr(0, base.target.find('?'));
        u.target = path.substr(0, path.rfind('/') + 1) + std::string(loc);
    }
    return u;
}

std::string Response::header(std::string_view name) const {
    for (auto& h : headers)
        if (str::to_lower(h.name) == str::to_lower(name)) return h.value;
    return {};
}

std::vector<std::string> Response::headers_named(std::string_view name) const {
    std::vector<std::string> out;
    for (auto& h : headers)
        if (str::to_lower(h.name) == str::to_lower(name)) out.push_back(h.value);
    return out;
}

std::int64_t Response::content_length() const {
    auto v = str::parse_int(header("Content-Length"));
    return v ? *v : -1;
}

// ---- connections ---------------------------------------------------------------------------

namespace {

bool is_ip_literal(const std::string& h) {
    in6_addr a6{};
    in_addr a4{};
    return ::inet_pton(AF_INET, h.c_str(), &a4) == 1 || ::inet_pton(AF_INET6, h.c_str(), &a6) == 1;
}

std::unique_ptr<ssl::context> make_context(const TlsConfig& tls) {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    error_code ec;
    ctx->set_default_verify_paths(ec);
    for (auto& ca : tls.ca_files) {
        ctx->load_verify_file(ca.string(), ec);
        if (ec) throw_error(Errc::invalid, "loading the CA certificate " + ca.string() + ": " + ec.message());
    }
    if (!tls.client_cert.empty()) {
        ctx->use_certificate_chain_file(tls.client_cert.string(), ec);
        if (ec) throw_error(Errc::invalid, "loading the client certificate " + tls.client_cert.string() + ": " + ec.message());
        ctx->use_private_key_file(tls.client_key.string(), ssl::context::pem, ec);
        if (ec) throw_error(Errc::invalid, "loading the client key " + tls.client_key.string() + ": " + ec.message());
    }
    return ctx;
}

}  // namespace

struct Connection::Impl {
    std::string scheme, host, port;
    TlsConfig tls;
    std::chrono::seconds timeout;
    asio::io_context ioc;
    std::unique_ptr<ssl::context> ctx;
    std::unique_ptr<beast::tcp_stream> plain;
    std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
    beast::flat_buffer buf;
    bool ready = false;  // connected and idle
    bool used = false;   // has served a request (the server may have closed it since)

    std::string eff_port() const { return port.empty() ? (scheme == "https" ? "443" : "80") : port; }
    std::string where() const { return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + eff_port(); }
    std::string host_header() const {
        std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
        return port.empty() ? h : h + ":" + port;
    }

    beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

    // Runs one asynchronous operation to completion on this connection's io_context, so the
    // stream's expiry (a stall timeout) applies; returns its error.
    template <class Start>
    error_code run(Start&& start) {
        error_code result = asio::error::operation_aborted;
        start([&result](error_code ec, auto&&...) { result = ec; });
        ioc.restart();
        ioc.run();
        return result;
    }

    void close() {
        ready = false;
        used = false;
        error_code ec;
        if (secure) beast::get_lowest_layer(*secure).socket().close(ec);
        if (plain) plain->socket().close(ec);
        secure.reset();
        plain.reset();
        buf.clear();
    }

    NetError handshake_error(error_code ec) {
        std::string msg = "TLS handshake with " + where() + ": ";
        if (ec.category() == asio::error::get_ssl_category()) {
            int reason = ERR_GET_REASON(ec.value());
            if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_HTTP_REQUEST || reason == SSL_R_PACKET_LENGTH_TOO_LONG)
                return NetError(NetFailure::plain_http, msg + "the server does not speak TLS (" + ec.message() + ")");
            if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
                long vr = secure ? SSL_get_verify_result(secure->native_handle()) : X509_V_OK;
                std::string why = vr != X509_V_OK ? X509_verify_cert_error_string(vr) : ec.message();
                std::string hint;
                if (!tls.searched.empty())
                    hint = "; to trust a private CA, put its certificate in " + (tls.searched.front() / "ca.crt").string();
                return NetError(NetFailure::tls_verify, "x509: certificate of " + where() + " not trusted: " + why + hint);
            }
        }
        return NetError(NetFailure::tls, msg + ec.message());
    }

    void connect() {
        close();
        tcp::resolver resolver(ioc);
        error_code ec;
        auto results = resolver.resolve(host, eff_port(), ec);
        if (ec) throw NetError(NetFailure::connect, "cannot reach " + where() + ": lookup " + host + ": " + ec.message());
        auto s = std::make_unique<beast::tcp_stream>(ioc);
        s->expires_after(timeout);
        ec = run([&](auto h) { s->async_connect(results, std::move(h)); });
        if (ec) throw NetError(NetFailure::connect, "cannot reach " + where() + ": " + ec.message());
        s->socket().set_option(tcp::no_delay(true), ec);
        if (scheme != "https") {
            plain = std::move(s);
            ready = true;
            return;
        }
        if (!ctx) ctx = make_context(tls);
        secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*s), *ctx);
        if (!is_ip_literal(host)) SSL_set_tlsext_host_name(secure->native_handle(), host.c_str());
        if (tls.verify) {
            secure->set_verify_mode(ssl::verify_peer);
            secure->set_verify_callback(ssl::host_name_verification(host));
        } else {
            secure->set_verify_mode(ssl::verify_none);
        }
        beast::get_lowest_layer(*secure).expires_after(timeout);
        ec = run([&](auto h) { secure->async_handshake(ssl::stream_base::client, std::move(h)); });
        if (ec) {
            auto err = handshake_error(ec);
            close();
            throw err;
        }
        ready = true;
    }

    NetError io_error(const char* doing, error_code ec) {
        if (ec == beast::error::timeout)
            return NetError(NetFailure::io, doing + (" " + where()) + ": no data for " + std::to_string(timeout.count()) + "s");
        return NetError(NetFailure::io, doing + (" " + where()) + ": " + ec.message());
    }

    template <class Msg>
    void write_msg(Msg& m) {
        lowest().expires_after(timeout);
        error_code ec;
        if (secure)
            ec = run([&](auto h) { http::async_write(*secure, m, std::move(h)); });
        else
            ec = run([&](auto h) { http::async_write(*plain, m, std::move(h)); });
        if (ec) throw io_error("sending a request to", ec);
    }

    void write(const Request& r) {
        auto verb = http::string_to_verb(r.method);
        if (verb == http::verb::unknown) throw_error(Errc::invalid, "unknown HTTP method " + r.method);
        if (r.body_fd < 0) {
            http::request<http::string_body> req{verb, r.target, 11};
            req.set(http::field::host, host_header());
            req.set(http::field::user_agent, "berth/0.1");
            for (auto& h : r.headers) req.set(h.name, h.value);
            req.body() = r.body;
            req.prepare_payload();
            write_msg(req);
            return;
        }
        // A body read from a file: the header with its Content-Length, then the bytes.
        http::request<http::empty_body> req{verb, r.target, 11};
        req.set(http::field::host, host_header());
        req.set(http::field::user_agent, "berth/0.1");
        for (auto& h : r.headers) req.set(h.name, h.value);
        req.content_length(r.body_size);
        http::request_serializer<http::empty_body> sr{req};
        lowest().expires_after(timeout);
        error_code ec;
        if (secure)
            ec = run([&](auto h) { http::async_write_header(*secure, sr, std::move(h)); });
        else
            ec = run([&](auto h) { http::async_write_header(*plain, sr, std::move(h)); });
        if (ec) throw io_error("sending a request to", ec);
        std::vector<char> chunk(256 << 10);
        std::uint64_t done = 0;
        while (done < r.body_size) {
            size_t want = std::min<std::uint64_t>(chunk.size(), r.body_size - done);
            ssize_t n = sys::retry_eintr([&] { return ::pread(r.body_fd, chunk.data(), want, off_t(r.body_offset + done)); });
            if (n < 0) sys::throw_errno("read", "upload body");
            if (n == 0) throw_error(Errc::failed, "upload body: the file ended early");
            lowest().expires_after(timeout);
            auto b = asio::buffer(chunk.data(), size_t(n));
            if (secure)
                ec = run([&](auto h) { asio::async_write(*secure, b, std::move(h)); });
            else
                ec = run([&](auto h) { asio::async_write(*plain, b, std::move(h)); });
            if (ec) throw io_error("sending data to", ec);
            done += std::uint64_t(n);
        }
    }

    std::unique_ptr<http::response_parser<http::buffer_body>> parser;

    Response read_header(const std::string& method) {
        parser = std::make_unique<http::response_parser<http::buffer_body>>();
        // Not boost::none: Boost 1.74 compares the length with the empty optional and refuses.
        parser->body_limit(std::numeric_limits<std::uint64_t>::max());
        parser->header_limit(256 << 10);
        if (method == "HEAD") parser->skip(true);
        lowest().expires_after(timeout);
        error_code ec;
        if (secure)
            ec = run([&](auto h) { http::async_read_header(*secure, buf, *parser, std::move(h)); });
        else
            ec = run([&](auto h) { http::async_read_header(*plain, buf, *parser, std::move(h)); });
        if (ec) throw io_error("reading the response from", ec);
        Response r;
        r.status = int(parser->get().result_int());
        for (auto& f : parser->get()) r.headers.push_back(Header{std::string(f.name_string()), std::string(f.value())});
        return r;
    }

    // Up to n bytes of the body; 0 at its end.
    size_t read_body(void* out, size_t n) {
        while (!parser->is_done()) {
            auto& body = parser->get().body();
            body.data = out;
            body.size = n;
            lowest().expires_after(timeout);
            error_code ec;
            if (secure)
                ec = run([&](auto h) { http::async_read(*secure, buf, *parser, std::move(h)); });
            else
                ec = run([&](auto h) { http::async_read(*plain, buf, *parser, std::move(h)); });
            if (ec == http::error::need_buffer) ec = {};
            if (ec == http::error::partial_message || ec == asio::error::eof || ec == ssl::error::stream_truncated) {
                close();
                throw NetError(NetFailure::io, "the connection to " + where() + " closed before the whole body arrived (truncated)");
            }
            if (ec) {
                close();
                throw io_error("reading the response from", ec);
            }
            size_t got = n - body.size;
            if (got) return got;
        }
        return 0;
    }

    void finish() {
        if (parser && parser->is_done() && parser->keep_alive()) {
            ready = true;
        } else {
            close();
        }
        parser.reset();
    }
};

namespace {

class BodyImpl : public Connection::Body {
public:
    BodyImpl(Connection::Impl& c, Response head) : c_(c), head_(std::move(head)) {}
    ~BodyImpl() override {
        if (!done_) c_.close();  // not read to the end: the connection cannot be reused
    }
    const Response& head() const override { return head_; }
    std::uint64_t received() const override { return received_; }
    size_t read(void* buf, size_t n) override {
        if (done_ || n == 0) return 0;
        size_t got = c_.read_body(buf, n);
        received_ += got;
        if (got == 0) {
            done_ = true;
            c_.finish();
        }
        return got;
    }

private:
    Connection::Impl& c_;
    Response head_;
    std::uint64_t received_ = 0;
    bool done_ = false;
};

}  // namespace

Connection::Connection(std::string scheme, std::string host, std::string port, TlsConfig tls,
                       std::chrono::seconds stall_timeout)
    : impl_(std::make_unique<Impl>()) {
    impl_->scheme = std::move(scheme);
    impl_->host = std::move(host);
    impl_->port = std::move(port);
    impl_->tls = std::move(tls);
    impl_->timeout = stall_timeout;
}

Connection::~Connection() {
    if (impl_) impl_->close();
}

const std::string& Connection::scheme() const { return impl_->scheme; }
const std::string& Connection::host() const { return impl_->host; }
const std::string& Connection::port() const { return impl_->port; }

void Connection::connect() {
    if (!impl_->ready) impl_->connect();
}

std::unique_ptr<Connection::Body> Connection::open(const Request& r) {
    for (int attempt = 0;; ++attempt) {
        if (!impl_->ready) impl_->connect();
        bool reused = impl_->used;
        impl_->ready = false;
        try {
            impl_->write(r);
            auto head = impl_->read_header(r.method);
            impl_->used = true;
            auto body = std::make_unique<BodyImpl>(*impl_, std::move(head));
            if (r.method == "HEAD" || impl_->parser->is_done()) {
                char c;
                body->read(&c, 1);  // marks the exchange complete; there is no body
            }
            return body;
        } catch (const NetError&) {
            impl_->close();
            // A kept-alive connection the server closed meanwhile: once more on a new one.
            if (!reused || attempt > 0) throw;
        }
    }
}

Response read_response(Connection::Body& body, std::size_t max_body, const std::string& what) {
    Response resp = body.head();
    char buf[64 << 10];
    for (;;) {
        size_t n = body.read(buf, sizeof buf);
        if (n == 0) break;
        if (resp.body.size() + n > max_body)
            throw_error(Errc::failed, "the response from " + what + " is larger than " + std::to_string(max_body) + " bytes");
        resp.body.append(buf, n);
    }
    return resp;
}

Response Connection::send(const Request& r, std::size_t max_body) {
    return read_response(*open(r), max_body, impl_->where() + r.target);
}

}  // namespace berth::registry
