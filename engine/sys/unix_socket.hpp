#pragma once
// Unix stream sockets by path. Paths longer than sun_path (108 bytes, easily reached under a
// test's temp root) go through /proc/self/fd/<dirfd>/<name>, which the kernel resolves.
#include <string>

#include "sys/fd.hpp"

namespace berth::sys {

unique_fd listen_unix(const std::string& path, int backlog = 64);
unique_fd connect_unix(const std::string& path);
// nullopt-like: an empty fd when nothing listens there (ENOENT / ECONNREFUSED).
unique_fd try_connect_unix(const std::string& path);

}  // namespace berth::sys
