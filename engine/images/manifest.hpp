#pragma once
// OCI / Docker v2 manifests and indexes (image-spec manifest.md, image-index.md), parsed with the
// checks that keep bad input out of the store: schemaVersion 2, known media types, a manifest's
// own mediaType matching the descriptor that led to it (CVE-2021-41190), sha256 digests.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace berth::images {

struct Platform {
    std::string architecture, os, variant, os_version;
};

struct Descriptor {
    std::string media_type;
    std::string digest;
    std::int64_t size = -1;
    std::map<std::string, std::string> annotations;
    bool has_platform = false;
    Platform platform;
};

struct Manifest {
    std::string media_type;  // as declared (or the descriptor's when absent)
    Descriptor config;
    std::vector<Descriptor> layers;  // base first
};

struct Index {
    std::string media_type;
    std::vector<Descriptor> manifests;
};

// expected_media_type: the descriptor's mediaType ("" when not known). Throws
// berth::Error(Errc::corrupt) for malformed JSON or fields, Errc::unsupported for an unknown
// media type (named in the message).
Manifest parse_manifest(std::string_view json, std::string_view expected_media_type, std::string_view what);
Index parse_index(std::string_view json, std::string_view expected_media_type, std::string_view what);

// The media type a blob declares (its "mediaType" field), "" when it has none or is not JSON.
std::string declared_media_type(std::string_view json);

// An OCI manifest for a config and layers, compact JSON in the spec's field order.
std::string make_manifest(const Descriptor& config, const std::vector<Descriptor>& layers);

// The platform a descriptor/config matches: os "linux", the host architecture, and (for arm)
// a compatible variant. Attestation manifests (unknown/unknown) never match.
bool platform_matches_host(const Platform& p);

}  // namespace berth::images
