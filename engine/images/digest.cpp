#include "images/digest.hpp"

#include "sys/error.hpp"
#include "sys/sha256.hpp"

namespace berth::images {

namespace {

bool is_lower_hex(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return !s.empty();
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }

// algorithm-component ([+._-] algorithm-component)*, each component [a-z0-9]+ (the spec) or
// starting with a letter (distribution/reference); accept the union.
bool valid_algorithm(std::string_view a) {
    if (a.empty()) return false;
    bool need = true;
    for (char c : a) {
        if (is_alnum(c)) {
            need = false;
        } else if (c == '+' || c == '.' || c == '_' || c == '-') {
            if (need) return false;
            need = true;
        } else {
            return false;
        }
    }
    return !need;
}

}  // namespace

bool valid_digest(std::string_view d) {
    auto colon = d.find(':');
    if (colon == std::string_view::npos) return false;
    auto alg = d.substr(0, colon);
    auto hex = d.substr(colon + 1);
    if (!valid_algorithm(alg) || !is_lower_hex(hex)) return false;
    if (alg == "sha256") return hex.size() == 64;
    if (alg == "sha512") return hex.size() == 128;
    return hex.size() >= 32;
}

void require_sha256(std::string_view d, std::string_view what) {
    if (d.substr(0, 7) == "sha256:" && valid_digest(d)) return;
    if (valid_digest(d))
        throw_error(Errc::unsupported, std::string(what) + " uses digest algorithm \"" +
                                           std::string(d.substr(0, d.find(':'))) + "\"; berth stores sha256 only");
    throw_error(Errc::invalid, std::string(what) + " has an invalid digest \"" + std::string(d) + "\"");
}

std::string_view digest_hex(std::string_view d) {
    auto colon = d.find(':');
    return colon == std::string_view::npos ? d : d.substr(colon + 1);
}

std::string short_id(std::string_view id) { return std::string(digest_hex(id).substr(0, 12)); }

std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids) {
    std::vector<std::string> out;
    out.reserve(diff_ids.size());
    for (const auto& d : diff_ids) {
        if (out.empty())
            out.push_back(d);
        else
            out.push_back(sys::sha256_digest(out.back() + " " + d));
    }
    return out;
}

}  // namespace berth::images
