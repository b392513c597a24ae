#pragma once
// Content digests ("sha256:<hex>") and the IDs derived from them (image-spec descriptor.md,
// config.md): the image ID is the digest of the config blob, a layer's DiffID the digest of its
// uncompressed tar, and its ChainID names the stack of layers up to it.
#include <string>
#include <string_view>
#include <vector>

namespace berth::images {

// Grammar of descriptor.md: algorithm ":" encoded, with sha256 = 64 and sha512 = 128 lowercase
// hex digits; other registered-looking algorithms must have at least 32 hex digits.
bool valid_digest(std::string_view d);
// Throws berth::Error(Errc::invalid) naming what unless d is a valid sha256 digest (the only
// algorithm berth stores; a valid sha512 digest is Errc::unsupported).
void require_sha256(std::string_view d, std::string_view what);

// The hex part of "sha256:<hex>" (the whole string when there is no colon).
std::string_view digest_hex(std::string_view d);
// Docker's short ID: 12 hex digits, no "sha256:".
std::string short_id(std::string_view id);

// ChainID(L0) = DiffID(L0); ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln)).
// Returns the chain ID of every prefix, base first.
std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids);

}  // namespace berth::images
