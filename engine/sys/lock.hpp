#pragma once
// An exclusive flock(2) on a lock file, held for the object's lifetime. Every mutation of
// berth's state holds the lock of what it changes (DESIGN.md "State").
#include <filesystem>
#include <string_view>

#include "sys/fd.hpp"

namespace berth::sys {

class FileLock {
public:
    explicit FileLock(const std::filesystem::path& path, bool shared = false);
    // Unlocks before closing: a copy of the fd in a child (sys::run_orphan's copy, before it
    // closes what it inherited) would otherwise keep the lock held after its owner let go.
    ~FileLock() { release(); }
    FileLock(FileLock&&) noexcept = default;
    FileLock& operator=(FileLock&& o) noexcept {
        if (this != &o) {
            release();
            fd_ = std::move(o.fd_);
        }
        return *this;
    }

private:
    void release() noexcept;
    unique_fd fd_;
};

// Whether another process holds a lock on fd's file (a shim's, the DNS server's): tries a
// shared lock without waiting and lets go of it at once, by LOCK_UN rather than by close(),
// which a forked copy of the fd would defeat. Throws sys::Error (flock, what) on other errors.
bool lock_held_elsewhere(int fd, std::string_view what);

}  // namespace berth::sys
