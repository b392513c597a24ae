#pragma once
// Image references as Docker reads them (github.com/distribution/reference, "normalized" form):
//   busybox                  -> docker.io/library/busybox:latest
//   localhost:5000/x         -> localhost:5000/x:latest
//   example.com/a/b:tag      -> example.com/a/b:tag
//   busybox@sha256:<64 hex>  -> docker.io/library/busybox@sha256:<64 hex> (no tag added)
// The first path component is a registry host when it contains '.' or ':', is "localhost", or
// has an upper-case letter; otherwise the reference is on Docker Hub.
#include <string>
#include <string_view>

namespace berth::images {

struct Reference {
    std::string domain;  // "docker.io", "localhost:5000"
    std::string path;    // "library/busybox"
    std::string tag;     // "" when none
    std::string digest;  // "sha256:<hex>" or ""

    // "docker.io/library/busybox"
    std::string repository() const;
    // "busybox", "user/app", "localhost:5000/x"
    std::string familiar_repository() const;
    // "docker.io/library/busybox:latest", "docker.io/library/busybox@sha256:..."
    std::string str() const;
    // "busybox:latest", "busybox@sha256:..."
    std::string familiar() const;

    bool has_tag() const { return !tag.empty(); }
    bool has_digest() const { return !digest.empty(); }
    bool operator==(const Reference&) const = default;
};

// Parses and normalises a reference; adds the tag "latest" when there is neither tag nor digest
// (unless default_tag is false). Throws berth::Error(Errc::invalid) with Docker's wording
// ("invalid reference format", "repository name (library/Busybox) must be lowercase", a
// 64-hex name is refused as it would read as an image ID).
Reference parse_reference(std::string_view s, bool default_tag = true);

// True for "sha256:<64 hex>" or a bare 64-hex string: an image ID, not a name.
bool is_full_id(std::string_view s);

// Validity of the parts, as the grammar defines them.
bool valid_tag(std::string_view tag);                 // [\w][\w.-]{0,127}
bool valid_path_component(std::string_view c);        // [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool valid_domain(std::string_view d);                // host[:port], host a DNS name or [IPv6]

}  // namespace berth::images
