#pragma once
// The media types berth reads and writes (image-spec media-types.md and Docker's manifest v2
// schema 2). Unknown ones are refused by name; schema 1 (+prettyjws) is not supported.
#include <string_view>

namespace berth::images::media {

inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kOciEmpty = "application/vnd.oci.empty.v1+json";

inline constexpr std::string_view kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

inline bool is_index(std::string_view m) { return m == kOciIndex || m == kDockerManifestList; }
inline bool is_manifest(std::string_view m) { return m == kOciManifest || m == kDockerManifest; }
inline bool is_config(std::string_view m) { return m == kOciConfig || m == kDockerConfig; }
inline bool is_layer(std::string_view m) {
    return m == kOciLayer || m == kOciLayerGzip || m == kOciLayerZstd || m == kDockerLayerGzip ||
           m == kDockerForeignLayerGzip || m == "application/vnd.oci.image.layer.nondistributable.v1.tar" ||
           m == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" ||
           m == "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" ||
           m == "application/vnd.docker.image.rootfs.diff.tar";
}

}  // namespace berth::images::media
