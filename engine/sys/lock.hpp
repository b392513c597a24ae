#pragma once
// An exclusive flock(2) on a lock file, held for the object's lifetime. Every mutation of
// berth's state holds the lock of what it changes (DESIGN.md "State").
#include <filesystem>

#include "sys/fd.hpp"

namespace berth::sys {

class FileLock {
public:
    explicit FileLock(const std::filesystem::path& path, bool shared = false);
    FileLock(FileLock&&) noexcept = default;
    FileLock& operator=(FileLock&&) noexcept = default;

private:
    unique_fd fd_;
};

}  // namespace berth::sys
