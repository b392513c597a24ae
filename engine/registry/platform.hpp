#pragma once
// Platform selection in image indexes and Docker manifest lists, as containerd's `platforms`
// package does it for `docker pull --platform`: os and architecture must match; variants are
// compatible downwards (an arm/v7 host runs v6 and v5 images, amd64/v3 runs v2 and v1); an
// exact variant beats a compatible one, a newer compatible variant beats an older one.
// Attestation manifests (unknown/unknown, vnd.docker.reference.type) are never chosen.
#include <string>
#include <string_view>

#include "images/manifest.hpp"

namespace berth::registry {

// "linux/arm64", "linux/arm/v7", "arm64" (os defaults to linux). Normalises Docker's aliases
// (x86_64 -> amd64, aarch64 -> arm64, arm64/v8 -> arm64, armhf -> arm/v7). Throws
// berth::Error(Errc::invalid) naming the text when it is not os/arch[/variant].
images::Platform parse_platform(std::string_view s);

// linux/<host arch>[/<host variant>] (arm64's v8 left out, as Docker prints it).
images::Platform host_platform();

// "linux/arm/v7"
std::string platform_string(const images::Platform& p);

// Whether an image for `have` runs where `want` is asked for.
bool platform_matches(const images::Platform& have, const images::Platform& want);

// The descriptor of index to pull for want; throws berth::Error(Errc::not_found) when there is
// none: "no matching manifest for linux/s390x in the manifest list entries of <what> (it has
// linux/amd64, linux/arm64)".
const images::Descriptor& select_manifest(const images::Index& index, const images::Platform& want, std::string_view what);

}  // namespace berth::registry
