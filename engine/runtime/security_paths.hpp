#pragma once
// The paths Docker hides or makes read-only inside every non-privileged container (moby
// daemon/pkg/oci/defaults.go), so a container cannot read host kernel memory and keys or poke
// /proc/sys and /proc/sysrq-trigger. `--security-opt systempaths=unconfined` and --privileged
// turn both lists off.
#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace berth::runtime {

// Masked: a file is covered by /dev/null, a directory by an empty read-only tmpfs.
inline constexpr std::array<std::string_view, 12> kMaskedPaths = {
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",  // GHSA-6fw5-f8r9-fgfm
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",  // GHSA-jq35-85cj-fj4p
    "/sys/firmware",
};

// Read-only: bind-mounted over themselves read-only.
inline constexpr std::array<std::string_view, 5> kReadonlyPaths = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

// kMaskedPaths plus, as Docker does, /sys/devices/system/cpu/cpuN/thermal_throttle for every
// possible CPU of this host that has one (GHSA-6fw5-f8r9-fgfm). `sys_root` is "/sys" except in
// tests.
std::vector<std::string> default_masked_paths(const std::string& sys_root = "/sys");
std::vector<std::string> default_readonly_paths();

}  // namespace berth::runtime
