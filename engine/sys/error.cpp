#include "sys/error.hpp"

namespace berth {

void throw_error(Errc kind, std::string message) { throw Error(kind, std::move(message)); }

namespace sys {

namespace {
std::string describe(const std::string& op, const std::string& subject) {
    std::string s = op;
    if (!subject.empty()) {
        s += '(';
        s += subject;
        s += ')';
    }
    return s;  // std::system_error appends ": " and strerror(err)
}
}  // namespace

Error::Error(int err, std::string op, std::string subject)
    : std::system_error(err, std::generic_category(), describe(op, subject)),
      op_(std::move(op)),
      subject_(std::move(subject)) {}

void throw_errno(std::string_view op, std::string_view subject, int err) {
    throw Error(err, std::string(op), std::string(subject));
}

}  // namespace sys

void rethrow_with_context(std::string_view what) {
    std::string prefix(what);
    prefix += ": ";
    try {
        throw;
    } catch (const sys::Error& e) {
        // Keep the errno; the subject line grows the context.
        throw sys::Error(e.err(), prefix + e.op(), e.subject());
    } catch (const Error& e) {
        throw Error(e.kind(), prefix + e.what());
    } catch (const std::exception& e) {
        throw Error(Errc::failed, prefix + e.what());
    }
}

}  // namespace berth
