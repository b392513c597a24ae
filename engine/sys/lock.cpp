#include "sys/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include "sys/error.hpp"
#include "sys/fs.hpp"

namespace berth::sys {

FileLock::FileLock(const std::filesystem::path& path, bool shared) {
    fd_ = open_path(path, O_RDWR | O_CREAT, 0600);
    check(retry_eintr([&] { return ::flock(fd_.get(), shared ? LOCK_SH : LOCK_EX); }), "flock", path.string());
}

}  // namespace berth::sys
