#pragma once
// The pieces of registry authentication that are pure text: WWW-Authenticate challenges
// (RFC 7235 section 4.1, as the distribution token spec uses them) and base64 for Basic
// credentials and Docker's config.json "auth" field.
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace berth::registry {

struct Challenge {
    std::string scheme;                         // lower case: "bearer", "basic"
    std::map<std::string, std::string> params;  // names lower case: realm, service, scope, error
    std::string param(const std::string& name) const;
};

// Every challenge in one header value, e.g.
//   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"
//   Basic realm="Registry Realm"
// Quoted values may contain commas and backslash escapes. Malformed text yields what could be
// read (never throws): the caller reports "no usable challenge".
std::vector<Challenge> parse_challenges(std::string_view header);

std::string base64_encode(std::string_view data);
// Standard alphabet, padding optional; nullopt-like empty result with ok=false on bad input.
bool base64_decode(std::string_view text, std::string& out);

// "application/x-www-form-urlencoded" / query component escaping (RFC 3986 unreserved kept).
std::string url_escape(std::string_view s);

}  // namespace berth::registry
