#pragma once
// One error convention for all of berth (shared/STYLE.md, conventions 5 and 6):
//  - sys::Error: a failed system call, carrying errno, the operation and its subject, e.g.
//    `mount("overlay" -> /var/lib/berth/x/merged, MS_NODEV): No such device`.
//  - berth::Error: something the user can act on (bad flag, unknown image, name in use), with a
//    kind that callers test instead of the text.
// Context is added on the way up with wrap(): "starting container web: mount(...): ...".
#include <cerrno>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace berth {

enum class Errc {
    invalid,      // bad input: a flag value, a file, a reference
    not_found,    // no such container/image/network/volume
    conflict,     // a name already in use, a port already allocated
    in_use,       // refused because something depends on it (rmi of a used image)
    unsupported,  // valid but not something berth (or this host) can do
    corrupt,      // stored or received data fails verification (digest, size, format)
    failed,       // an operation failed for a reason given in the message
};

class Error : public std::runtime_error {
public:
    Error(Errc kind, std::string message) : std::runtime_error(std::move(message)), kind_(kind) {}
    Errc kind() const noexcept { return kind_; }

private:
    Errc kind_;
};

[[noreturn]] void throw_error(Errc kind, std::string message);

namespace sys {

// A failed system call. code() is the errno, so callers can test it (never the text).
class Error : public std::system_error {
public:
    Error(int err, std::string op, std::string subject);
    const std::string& op() const noexcept { return op_; }
    const std::string& subject() const noexcept { return subject_; }
    int err() const noexcept { return code().value(); }

private:
    std::string op_;
    std::string subject_;
};

[[noreturn]] void throw_errno(std::string_view op, std::string_view subject = {}, int err = errno);

// Returns ret, or throws sys::Error with errno when ret == -1.
template <typename T>
T check(T ret, std::string_view op, std::string_view subject = {}) {
    if (ret == static_cast<T>(-1)) throw_errno(op, subject);
    return ret;
}

// Retries a call that failed with EINTR.
template <typename F>
auto retry_eintr(F&& f) {
    for (;;) {
        auto r = f();
        if (r != -1 || errno != EINTR) return r;
    }
}

}  // namespace sys

// Rethrows the exception in flight with "what: " in front of its message, keeping its kind
// (berth::Error keeps its Errc, sys::Error its errno). Use inside a catch block.
[[noreturn]] void rethrow_with_context(std::string_view what);

// Runs f(); on failure adds context. Keeps the original error's type and code.
template <typename F>
auto with_context(std::string_view what, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (...) {
        rethrow_with_context(what);
    }
}

}  // namespace berth
