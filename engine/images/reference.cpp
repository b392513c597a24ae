#include "images/reference.hpp"

#include "images/digest.hpp"
#include "sys/error.hpp"
#include "sys/strings.hpp"

namespace berth::images {

namespace {

constexpr std::string_view kDefaultDomain = "docker.io";
constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
constexpr std::string_view kOfficialPrefix = "library/";
constexpr size_t kMaxNameLength = 255;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }
bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// ([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])
bool valid_domain_component(std::string_view c) {
    if (c.empty() || !is_alnum(c.front()) || !is_alnum(c.back())) return false;
    for (char ch : c)
        if (!is_alnum(ch) && ch != '-') return false;
    return true;
}

[[noreturn]] void bad(std::string_view input, const std::string& why) {
    throw_error(Errc::invalid, "invalid reference format \"" + std::string(input) + "\": " + why);
}

}  // namespace

bool valid_tag(std::string_view t) {
    if (t.empty() || t.size() > 128 || !is_word(t.front())) return false;
    for (char c : t)
        if (!is_word(c) && c != '.' && c != '-') return false;
    return true;
}

bool valid_path_component(std::string_view c) {
    // alphanumerics separated by exactly one of ".", "_", "__" or a run of "-".
    if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) return false;
    size_t i = 0;
    while (i < c.size()) {
        if (is_lower_alnum(c[i])) {
            ++i;
            continue;
        }
        size_t j = i;
        while (j < c.size() && !is_lower_alnum(c[j])) ++j;
        auto sep = c.substr(i, j - i);
        bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
        if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
        i = j;
    }
    return true;
}

bool valid_domain(std::string_view d) {
    std::string_view host = d, port;
    if (!d.empty() && d.front() == '[') {
        auto close = d.find(']');
        if (close == std::string_view::npos || close == 1) return false;
        for (char c : d.substr(1, close - 1))
            if (!is_hex(c) && c != ':') return false;
        host = d.substr(0, close + 1);
        auto rest = d.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return false;
            port = rest.substr(1);
            if (port.empty()) return false;
        }
    } else {
        auto colon = d.find(':');
        if (colon != std::string_view::npos) {
            host = d.substr(0, colon);
            port = d.substr(colon + 1);
            if (port.empty()) return false;
        }
        if (host.empty()) return false;
        for (auto& comp : str::split(host, '.'))
            if (!valid_domain_component(comp)) return false;
    }
    for (char c : port)
        if (c < '0' || c > '9') return false;
    return true;
}

bool is_full_id(std::string_view s) {
    if (s.substr(0, 7) == "sha256:") s.remove_prefix(7);
    if (s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

Reference parse_reference(std::string_view s, bool default_tag) {
    if (s.empty()) bad(s, "repository name must have at least one component");
    if (s.size() == 64 && is_full_id(s))
        throw_error(Errc::invalid, "invalid repository name (" + std::string(s) +
                                       "), cannot specify 64-byte hexadecimal strings");
    Reference r;
    // Docker's splitDockerDomain: the first component is a registry when it looks like a host.
    std::string_view remainder = s;
    auto slash = s.find('/');
    if (slash != std::string_view::npos) {
        auto first = s.substr(0, slash);
        bool hostlike = first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
                        str::to_lower(first) != first;
        if (hostlike) {
            r.domain = std::string(first);
            remainder = s.substr(slash + 1);
        }
    }
    if (r.domain.empty() || r.domain == kLegacyDefaultDomain) r.domain = std::string(kDefaultDomain);

    // Digest, then tag (the last ':' after the last '/').
    std::string_view name = remainder;
    if (auto at = name.find('@'); at != std::string_view::npos) {
        auto dg = name.substr(at + 1);
        name = name.substr(0, at);
        if (!valid_digest(dg)) bad(s, "digest \"" + std::string(dg) + "\" is not a valid digest (algorithm:hex)");
        r.digest = std::string(dg);
    }
    auto last_slash = name.rfind('/');
    auto colon = name.rfind(':');
    if (colon != std::string_view::npos && (last_slash == std::string_view::npos || colon > last_slash)) {
        auto tag = name.substr(colon + 1);
        name = name.substr(0, colon);
        if (!valid_tag(tag)) bad(s, "tag \"" + std::string(tag) + "\" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
        r.tag = std::string(tag);
    }
    if (str::to_lower(name) != name)
        throw_error(Errc::invalid, "invalid reference format: repository name (" +
                                       std::string(r.domain == kDefaultDomain && name.find('/') == std::string_view::npos
                                                       ? std::string(kOfficialPrefix) + std::string(name)
                                                       : std::string(name)) +
                                       ") must be lowercase");
    if (!valid_domain(r.domain)) bad(s, "registry \"" + r.domain + "\" is not a valid host[:port]");
    if (name.empty()) bad(s, "repository name must have at least one component");
    for (auto& comp : str::split(name, '/'))
        if (!valid_path_component(comp))
            bad(s, "path component \"" + comp +
                       "\" must be lowercase letters and digits, separated by '.', '_', '__' or dashes");
    r.path = std::string(name);
    if (r.domain == kDefaultDomain && r.path.find('/') == std::string::npos) r.path = std::string(kOfficialPrefix) + r.path;
    if (r.repository().size() > kMaxNameLength) bad(s, "repository name must not be more than 255 characters");
    if (default_tag && r.tag.empty() && r.digest.empty()) r.tag = "latest";
    return r;
}

std::string Reference::repository() const { return domain + "/" + path; }

std::string Reference::familiar_repository() const {
    if (domain != kDefaultDomain) return repository();
    if (path.substr(0, kOfficialPrefix.size()) == kOfficialPrefix &&
        path.find('/', kOfficialPrefix.size()) == std::string::npos)
        return path.substr(kOfficialPrefix.size());
    return path;
}

namespace {
std::string suffix(const Reference& r) {
    std::string out;
    if (!r.tag.empty()) out += ":" + r.tag;
    if (!r.digest.empty()) out += "@" + r.digest;
    return out;
}
}  // namespace

std::string Reference::str() const { return repository() + suffix(*this); }
std::string Reference::familiar() const { return familiar_repository() + suffix(*this); }

}  // namespace berth::images
