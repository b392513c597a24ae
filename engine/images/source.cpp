#include "images/source.hpp"

#include <unistd.h>

#include <cstring>

#include "sys/error.hpp"
#include "sys/fs.hpp"

namespace berth::images {

std::uint64_t Source::drain() {
    char buf[65536];
    std::uint64_t total = 0;
    while (size_t n = read(buf, sizeof buf)) total += n;
    return total;
}

size_t FdSource::read(void* buf, size_t n) {
    ssize_t r = sys::retry_eintr([&] { return ::read(fd_, buf, n); });
    if (r < 0) sys::throw_errno("read", what_);
    return static_cast<size_t>(r);
}

size_t MemorySource::read(void* buf, size_t n) {
    n = std::min(n, data_.size());
    std::memcpy(buf, data_.data(), n);
    data_.remove_prefix(n);
    return n;
}

size_t HashingSource::read(void* buf, size_t n) {
    size_t got = in_.read(buf, n);
    hash_.update(buf, got);
    count_ += got;
    return got;
}

size_t TeeSource::read(void* buf, size_t n) {
    size_t got = in_.read(buf, n);
    sys::write_all(fd_, std::string_view(static_cast<const char*>(buf), got), what_);
    return got;
}

}  // namespace berth::images
