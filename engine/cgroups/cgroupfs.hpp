#pragma once
// Reading and writing cgroup interface files (internal to berth_cgroups). Cgroup files take one
// value per write(2) and are never created by us: a missing file means the kernel (or the
// fixture) lacks that knob, and writing it fails with ENOENT like any other error.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::cgroups::detail {

namespace fs = std::filesystem;

// The one write helper: open O_WRONLY|O_TRUNC (no O_CREAT), one write(2). Any failure, opening
// included, is sys::Error("write", `<file>, "<value>"`), so it reads
//   write(/sys/fs/cgroup/pids/berth/x/pids.max, "20"): Invalid argument
void write_value(const fs::path& file, std::string_view value);

// The file's content with surrounding whitespace trimmed; sys::Error if unreadable.
std::string read_value(const fs::path& file);
std::optional<std::string> read_value_if_exists(const fs::path& file);
// An unsigned number, or "max" -> nullopt. Errc::corrupt naming the file when it is neither.
std::optional<std::uint64_t> read_uint_or_max(const fs::path& file);
std::uint64_t read_uint(const fs::path& file);
// v1 values that mean "no limit" are huge (PAGE_COUNTER_MAX pages, or -1): signed parse.
std::int64_t read_int(const fs::path& file);

// "key value" lines (memory.stat, cpu.stat, memory.events, cpuacct.stat, memory.oom_control).
// Lines that do not parse are skipped (the kernel adds keys over time).
std::map<std::string, std::uint64_t> parse_keyed(std::string_view text);
std::map<std::string, std::uint64_t> read_keyed(const fs::path& file);
std::map<std::string, std::uint64_t> read_keyed_if_exists(const fs::path& file);

// cgroup.procs: one pid per line. A missing file reads as empty (the cgroup is gone).
std::vector<pid_t> read_pids(const fs::path& procs_file);

// Polls pred with a short back-off (1 ms doubling to 20 ms) until it is true or timeout passes.
// Returns pred's last answer. For kernel state that settles asynchronously (freezing, exits).
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// mkdir; true if it made the dir, false if it existed. sys::Error otherwise.
bool make_dir(const fs::path& dir);
// rmdir, retrying EBUSY (a killed task can still be leaving) until timeout; ENOENT is success.
void remove_dir(const fs::path& dir, std::chrono::milliseconds busy_timeout);

std::string to_string(std::int64_t v);

}  // namespace berth::cgroups::detail
