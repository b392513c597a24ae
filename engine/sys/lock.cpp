#include "sys/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <string>

#include "sys/error.hpp"
#include "sys/fs.hpp"

namespace berth::sys {

FileLock::FileLock(const std::filesystem::path& path, bool shared) {
    fd_ = open_path(path, O_RDWR | O_CREAT, 0600);
    check(retry_eintr([&] { return ::flock(fd_.get(), shared ? LOCK_SH : LOCK_EX); }), "flock", path.string());
}

void FileLock::release() noexcept {
    if (!fd_) return;
    ::flock(fd_.get(), LOCK_UN);
    fd_.reset();
}

bool lock_held_elsewhere(int fd, std::string_view what) {
    if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
        ::flock(fd, LOCK_UN);
        return false;
    }
    if (errno == EWOULDBLOCK) return true;
    throw_errno("flock", std::string(what));
}

}  // namespace berth::sys
