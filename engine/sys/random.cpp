#include "sys/random.hpp"

#include <sys/random.h>

#include "sys/error.hpp"

namespace berth::sys {

std::string random_hex(size_t n) {
    std::string bytes((n + 1) / 2, '\0');
    size_t got = 0;
    while (got < bytes.size()) {
        ssize_t r = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            throw_errno("getrandom");
        }
        got += static_cast<size_t>(r);
    }
    static const char* hex = "0123456789abcdef";
    std::string out;
    out.reserve(n);
    for (unsigned char c : bytes) {
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    out.resize(n);
    return out;
}

}  // namespace berth::sys
