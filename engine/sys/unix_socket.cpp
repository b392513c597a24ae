#include "sys/unix_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "sys/error.hpp"

namespace berth::sys {

namespace {

// Fills addr for path; dirfd keeps the parent directory open when the /proc route is used.
socklen_t make_addr(const std::string& path, sockaddr_un& addr, unique_fd& dirfd) {
    addr = {};
    addr.sun_family = AF_UNIX;
    std::string use = path;
    if (use.size() >= sizeof addr.sun_path) {
        auto p = std::filesystem::path(path);
        dirfd.reset(::open(p.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!dirfd) throw_errno("open", p.parent_path().string());
        use = "/proc/self/fd/" + std::to_string(dirfd.get()) + "/" + p.filename().string();
        if (use.size() >= sizeof addr.sun_path) throw_errno("socket path", path, ENAMETOOLONG);
    }
    std::memcpy(addr.sun_path, use.c_str(), use.size() + 1);
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + use.size() + 1);
}

}  // namespace

unique_fd listen_unix(const std::string& path, int backlog) {
    unique_fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("socket", "AF_UNIX");
    sockaddr_un addr;
    unique_fd dirfd;
    socklen_t len = make_addr(path, addr, dirfd);
    ::unlink(path.c_str());
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), len) < 0) throw_errno("bind", path);
    if (::listen(s.get(), backlog) < 0) throw_errno("listen", path);
    return s;
}

unique_fd try_connect_unix(const std::string& path) {
    unique_fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("socket", "AF_UNIX");
    sockaddr_un addr;
    unique_fd dirfd;
    socklen_t len;
    try {
        len = make_addr(path, addr, dirfd);
    } catch (const Error& e) {
        if (e.err() == ENOENT) return {};
        throw;
    }
    if (retry_eintr([&] { return ::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), len); }) < 0) {
        if (errno == ENOENT || errno == ECONNREFUSED) return {};
        throw_errno("connect", path);
    }
    return s;
}

unique_fd connect_unix(const std::string& path) {
    auto s = try_connect_unix(path);
    if (!s) throw_errno("connect", path, ECONNREFUSED);
    return s;
}

}  // namespace berth::sys
