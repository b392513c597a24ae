#pragma once
// SHA-256, the digest of every blob, layer and config in the image store: OpenSSL EVP for
// streams and large inputs, a small built-in one for sha256_hex() of small inputs (no OpenSSL
// start-up cost on the start path).
#include <memory>
#include <string>
#include <string_view>

namespace berth::sys {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;

    void update(const void* data, size_t n);
    void update(std::string_view s) { update(s.data(), s.size()); }
    // 64 lowercase hex digits; the hasher cannot be updated afterwards.
    std::string hex_digest();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

std::string sha256_hex(std::string_view data);
// "sha256:<hex>"
inline std::string sha256_digest(std::string_view data) { return "sha256:" + sha256_hex(data); }

}  // namespace berth::sys
