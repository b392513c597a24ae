#include "runtime/attach.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include "sys/error.hpp"
#include "sys/fs.hpp"

namespace berth::runtime {

std::string encode_frame(char type, std::string_view data) {
    std::string out;
    out.reserve(5 + data.size());
    out += type;
    auto n = static_cast<std::uint32_t>(data.size());
    out += static_cast<char>(n >> 24);
    out += static_cast<char>(n >> 16);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n);
    out += data;
    return out;
}

void write_frame(int fd, char type, std::string_view data) {
    auto f = encode_frame(type, data);
    std::string_view rest = f;
    while (!rest.empty()) {
        ssize_t n = sys::retry_eintr([&] { return ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL); });
        if (n < 0) sys::throw_errno("send", "shim socket");
        rest.remove_prefix(static_cast<size_t>(n));
    }
}

namespace {
// Reads exactly n bytes; false on EOF before the first byte.
bool read_exact(int fd, char* buf, size_t n, bool eof_ok) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = sys::retry_eintr([&] { return ::read(fd, buf + got, n - got); });
        if (r < 0) sys::throw_errno("read", "shim socket");
        if (r == 0) {
            if (got == 0 && eof_ok) return false;
            throw Error(Errc::corrupt, "shim socket closed in the middle of a frame");
        }
        got += static_cast<size_t>(r);
    }
    return true;
}
}  // namespace

std::optional<Frame> read_frame(int fd) {
    char hdr[5];
    if (!read_exact(fd, hdr, 5, true)) return std::nullopt;
    std::uint32_t n = (std::uint32_t(std::uint8_t(hdr[1])) << 24) | (std::uint32_t(std::uint8_t(hdr[2])) << 16) |
                      (std::uint32_t(std::uint8_t(hdr[3])) << 8) | std::uint32_t(std::uint8_t(hdr[4]));
    if (n > kMaxFrame) throw Error(Errc::corrupt, "oversized frame on shim socket");
    Frame f;
    f.type = hdr[0];
    f.data.resize(n);
    if (n) read_exact(fd, f.data.data(), n, false);
    return f;
}

std::optional<Frame> FrameReader::next() {
    if (buf_.size() < 5) return std::nullopt;
    std::uint32_t n = (std::uint32_t(std::uint8_t(buf_[1])) << 24) | (std::uint32_t(std::uint8_t(buf_[2])) << 16) |
                      (std::uint32_t(std::uint8_t(buf_[3])) << 8) | std::uint32_t(std::uint8_t(buf_[4]));
    if (n > kMaxFrame) throw Error(Errc::corrupt, "oversized frame on shim socket");
    if (buf_.size() < 5 + static_cast<size_t>(n)) return std::nullopt;
    Frame f{buf_[0], buf_.substr(5, n)};
    buf_.erase(0, 5 + n);
    return f;
}

}  // namespace berth::runtime
