#include "runtime/security_paths.hpp"

#include "sys/fs.hpp"
#include "sys/strings.hpp"

namespace berth::runtime {

namespace {

// A kernel CPU list ("0-3,8,10-11", cpu/possible) as numbers; empty when malformed.
std::vector<int> parse_cpu_list(std::string_view s) {
    std::vector<int> cpus;
    for (const auto& part : str::split(str::trim(s), ',')) {
        if (part.empty()) continue;
        auto [lo, hi] = str::split_once(part, '-');
        auto a = str::parse_int(lo);
        auto b = hi ? str::parse_int(*hi) : a;
        if (!a || !b || *a < 0 || *b < *a || *b > 65535) return {};
        for (auto c = *a; c <= *b; ++c) cpus.push_back(static_cast<int>(c));
    }
    return cpus;
}

}  // namespace

std::vector<std::string> default_masked_paths(const std::string& sys_root) {
    std::vector<std::string> out(kMaskedPaths.begin(), kMaskedPaths.end());
    auto possible = sys::read_file_if_exists(sys_root + "/devices/system/cpu/possible");
    if (!possible) return out;
    for (int cpu : parse_cpu_list(*possible)) {
        std::string rel = "/devices/system/cpu/cpu" + std::to_string(cpu) + "/thermal_throttle";
        if (sys::exists(sys_root + rel)) out.push_back("/sys" + rel);
    }
    return out;
}

std::vector<std::string> default_readonly_paths() { return {kReadonlyPaths.begin(), kReadonlyPaths.end()}; }

}  // namespace berth::runtime
