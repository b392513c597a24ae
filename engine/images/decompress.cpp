// Decompression done in-process (zlib, libzstd) so the uncompressed stream can be hashed (the
// layer's DiffID) while it is fed to the tar reader, and so a truncated or corrupt stream is
// noticed rather than read as a short tar.
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <vector>

#include "images/source.hpp"
#include "sys/error.hpp"

namespace berth::images {

namespace {
constexpr size_t kInBuf = 128 * 1024;
}

std::string_view compression_name(Compression c) {
    switch (c) {
        case Compression::none: return "uncompressed";
        case Compression::gzip: return "gzip";
        case Compression::zstd: return "zstd";
    }
    return "?";
}

Compression sniff_compression(std::string_view h) {
    auto starts = [&](std::string_view magic) { return h.substr(0, magic.size()) == magic; };
    if (starts("\x1f\x8b\x08")) return Compression::gzip;
    if (starts("\x28\xb5\x2f\xfd")) return Compression::zstd;
    return Compression::none;
}

struct DecompressingSource::Impl {
    Source& in;
    std::string what;
    Compression comp = Compression::none;
    std::vector<unsigned char> buf;  // input not yet consumed: buf[pos, end)
    size_t pos = 0, end = 0;
    bool in_eof = false;
    bool done = false;  // the compressed stream ended cleanly and nothing follows
    z_stream zs{};
    bool zs_init = false;
    ZSTD_DStream* zd = nullptr;
    size_t zstd_last = 0;  // last ZSTD_decompressStream return: 0 at a frame boundary

    Impl(Source& i, std::string w) : in(i), what(std::move(w)), buf(kInBuf) {}
    ~Impl() {
        if (zs_init) inflateEnd(&zs);
        if (zd) ZSTD_freeDStream(zd);
    }

    [[noreturn]] void corrupt(const std::string& why) {
        throw_error(Errc::corrupt, what + ": " + std::string(compression_name(comp)) + " stream is " + why);
    }

    // Makes sure some input is buffered; false at the end of the input.
    bool fill() {
        if (pos < end) return true;
        if (in_eof) return false;
        pos = 0;
        end = in.read(buf.data(), buf.size());
        if (end == 0) in_eof = true;
        return end > 0;
    }

    void start() {
        // Peek enough bytes to recognise the format.
        while (end < 6 && !in_eof) {
            size_t n = in.read(buf.data() + end, buf.size() - end);
            if (n == 0) in_eof = true;
            end += n;
        }
        std::string_view head(reinterpret_cast<const char*>(buf.data()), end);
        if (head.substr(0, 6) == std::string_view("\xfd" "7zXZ\0", 6))
            throw_error(Errc::unsupported, what + " is xz-compressed; berth reads uncompressed, gzip and zstd tarballs");
        if (head.substr(0, 3) == "BZh")
            throw_error(Errc::unsupported, what + " is bzip2-compressed; berth reads uncompressed, gzip and zstd tarballs");
        comp = sniff_compression(head);
        if (comp == Compression::gzip) {
            if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw_error(Errc::failed, "zlib: inflateInit2 failed");
            zs_init = true;
        } else if (comp == Compression::zstd) {
            zd = ZSTD_createDStream();
            if (!zd) throw_error(Errc::failed, "zstd: cannot create a decompression stream");
            ZSTD_initDStream(zd);
        }
    }

    size_t read_plain(void* out, size_t n) {
        if (!fill()) return 0;
        n = std::min(n, end - pos);
        std::memcpy(out, buf.data() + pos, n);
        pos += n;
        return n;
    }

    size_t read_gzip(void* out, size_t n) {
        size_t cap = std::min<size_t>(n, 1u << 30);
        while (!done) {
            bool have = fill();
            zs.next_in = buf.data() + pos;
            zs.avail_in = static_cast<uInt>(have ? end - pos : 0);
            zs.next_out = static_cast<Bytef*>(out);
            zs.avail_out = static_cast<uInt>(cap);
            int rc = inflate(&zs, Z_NO_FLUSH);
            if (have) pos = end - zs.avail_in;
            size_t produced = cap - zs.avail_out;
            if (rc == Z_STREAM_END) {
                // gzip allows several members back to back; anything else after one is corrupt.
                if (fill()) {
                    if (end - pos >= 2 && buf[pos] == 0x1f && buf[pos + 1] == 0x8b)
                        inflateReset(&zs);
                    else
                        corrupt("followed by data that is not gzip");
                } else {
                    done = true;
                }
            } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
                corrupt(std::string("corrupt (") + (zs.msg ? zs.msg : "inflate error") + ")");
            }
            if (produced > 0) return produced;
            if (!have && !done) corrupt("truncated (unexpected end of data)");
        }
        return 0;
    }

    size_t read_zstd(void* out, size_t n) {
        for (;;) {
            bool have = fill();
            if (!have && zstd_last == 0) return 0;  // the last frame ended and was flushed
            ZSTD_inBuffer ib{buf.data(), have ? end : pos, pos};
            ZSTD_outBuffer ob{out, n, 0};
            size_t rc = ZSTD_decompressStream(zd, &ob, &ib);
            if (ZSTD_isError(rc)) corrupt(std::string("corrupt (") + ZSTD_getErrorName(rc) + ")");
            pos = ib.pos;
            zstd_last = rc;
            if (ob.pos > 0) return ob.pos;
            if (!have) {
                if (zstd_last != 0) corrupt("truncated (unexpected end of data)");
                return 0;
            }
        }
    }
};

DecompressingSource::DecompressingSource(Source& in, std::string what)
    : impl_(std::make_unique<Impl>(in, std::move(what))) {
    impl_->start();
}

DecompressingSource::~DecompressingSource() = default;

Compression DecompressingSource::compression() const { return impl_->comp; }

size_t DecompressingSource::read(void* buf, size_t n) {
    if (n == 0) return 0;
    switch (impl_->comp) {
        case Compression::none: return impl_->read_plain(buf, n);
        case Compression::gzip: return impl_->read_gzip(buf, n);
        case Compression::zstd: return impl_->read_zstd(buf, n);
    }
    return 0;
}

}  // namespace berth::images
