#pragma once
// A small HTTP/1.1 client over Boost.Beast and OpenSSL, for the registry protocol: keep-alive
// connections, bodies streamed in both directions (a layer flows from the socket into the
// image store without being held in memory; an upload is read from a file), a stall timeout on
// every network operation. The Beast and OpenSSL headers stay in http.cpp.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "images/source.hpp"
#include "registry/endpoint.hpp"
#include "sys/error.hpp"

namespace berth::registry {

struct Url {
    std::string scheme;  // "https" or "http"
    std::string host;
    std::string port;    // "" = the scheme's default
    std::string target;  // "/v2/...?..."
    std::string origin() const;  // "https://host[:port]"
    std::string str() const { return origin() + target; }
};
// Throws berth::Error(Errc::invalid) for anything but http(s)://host[:port][/path].
Url parse_url(std::string_view s);
// A Location header relative to the URL it came from.
Url resolve_location(const Url& base, std::string_view location);

struct Header {
    std::string name, value;
};

struct Request {
    std::string method = "GET";
    std::string target;  // "/v2/"
    std::vector<Header> headers;
    std::string body;  // sent as is (with Content-Length) unless body_fd >= 0
    int body_fd = -1;  // a file to send bytes [body_offset, body_offset + body_size) of
    std::uint64_t body_offset = 0, body_size = 0;
};

struct Response {
    int status = 0;
    std::vector<Header> headers;
    std::string body;  // filled by Connection::send
    // The first header of that name (case-insensitive), "" when none.
    std::string header(std::string_view name) const;
    std::vector<std::string> headers_named(std::string_view name) const;
    std::int64_t content_length() const;  // -1 when not given
};

// Why a connection failed, so the caller can fall back from HTTPS to HTTP (plain_http), or
// explain a certificate problem (tls_verify).
enum class NetFailure { connect, plain_http, tls_verify, tls, io };

class NetError : public berth::Error {
public:
    NetError(NetFailure f, std::string msg) : berth::Error(Errc::failed, std::move(msg)), failure_(f) {}
    NetFailure failure() const { return failure_; }

private:
    NetFailure failure_;
};

class Connection {
public:
    Connection(std::string scheme, std::string host, std::string port, TlsConfig tls,
               std::chrono::seconds stall_timeout = std::chrono::seconds(60));
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    const std::string& scheme() const;
    const std::string& host() const;
    const std::string& port() const;

    // Connects (and for https completes the TLS handshake) now, so the caller learns early how
    // the server speaks. Throws NetError.
    void connect();

    // The response with its whole body (refused beyond max_body bytes).
    Response send(const Request& r, std::size_t max_body = 32 << 20);

    // Sends r and returns when the response header is in; the body is then read through the
    // returned Source (which must be read to the end, or dropped, before the next request).
    class Body : public images::Source {
    public:
        virtual const Response& head() const = 0;
        virtual std::uint64_t received() const = 0;
    };
    std::unique_ptr<Body> open(const Request& r);

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

// A response whose head is in, with its whole body read: refused beyond max_body bytes (the
// error names what: the server and target).
Response read_response(Connection::Body& body, std::size_t max_body, const std::string& what);

}  // namespace berth::registry
