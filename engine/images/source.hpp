#pragma once
// Byte streams: a layer or archive flows from a file descriptor through decompression and
// hashing into the tar reader without being held in memory.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sys/sha256.hpp"

namespace berth::images {

class Source {
public:
    virtual ~Source() = default;
    // Up to n bytes into buf; 0 only at the end of the stream. Throws on error.
    virtual size_t read(void* buf, size_t n) = 0;
    // Reads and discards the rest of the stream; returns how many bytes that was.
    std::uint64_t drain();
};

// Reads a file descriptor it does not own. what names it in errors ("stdin", a path).
class FdSource : public Source {
public:
    FdSource(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}
    size_t read(void* buf, size_t n) override;

private:
    int fd_;
    std::string what_;
};

// Reads a string it does not own.
class MemorySource : public Source {
public:
    explicit MemorySource(std::string_view data) : data_(data) {}
    size_t read(void* buf, size_t n) override;

private:
    std::string_view data_;
};

// Passes bytes through, hashing and counting them.
class HashingSource : public Source {
public:
    explicit HashingSource(Source& in) : in_(in) {}
    size_t read(void* buf, size_t n) override;
    std::uint64_t count() const { return count_; }
    // "sha256:<hex>" of everything read so far; call once, at the end.
    std::string digest() { return "sha256:" + hash_.hex_digest(); }

private:
    Source& in_;
    sys::Sha256 hash_;
    std::uint64_t count_ = 0;
};

// Passes bytes through and writes a copy of them to a file descriptor it does not own.
class TeeSource : public Source {
public:
    TeeSource(Source& in, int fd, std::string what) : in_(in), fd_(fd), what_(std::move(what)) {}
    size_t read(void* buf, size_t n) override;

private:
    Source& in_;
    int fd_;
    std::string what_;
};

enum class Compression { none, gzip, zstd };
std::string_view compression_name(Compression c);

// Decompresses what it reads from in, detecting the format from the first bytes (gzip, zstd, or
// none). Other formats (xz, bzip2) are refused with Errc::unsupported. A truncated or corrupt
// stream throws Errc::corrupt naming what.
class DecompressingSource : public Source {
public:
    DecompressingSource(Source& in, std::string what);
    ~DecompressingSource() override;
    size_t read(void* buf, size_t n) override;
    Compression compression() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Sniffs the compression of a file's first bytes (none when unknown or short).
Compression sniff_compression(std::string_view head);

}  // namespace berth::images
