#pragma once
// Fixture trees for the cgroup drivers: plain files in a temp dir, written the way the kernel
// would show them. The drivers never create files (a missing file is a missing kernel knob), so
// each fixture lists exactly the files that exist.
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "sys/fs.hpp"

namespace cgtest {

namespace fs = std::filesystem;

inline void put(const fs::path& p, std::string_view content) {
    berth::sys::mkdirs(p.parent_path());
    berth::sys::write_file(p, content);
}

inline void put_all(const fs::path& dir, std::initializer_list<std::pair<const char*, const char*>> files) {
    berth::sys::mkdirs(dir);
    for (auto& [name, content] : files) put(dir / name, content);
}

inline std::string get(const fs::path& p) {
    return berth::sys::read_file(p);
}

}  // namespace cgtest
