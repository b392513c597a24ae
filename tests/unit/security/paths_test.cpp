#include <catch2/catch.hpp>

#include <algorithm>

#include "runtime/security_paths.hpp"
#include "sys/fs.hpp"

using namespace berth;

TEST_CASE("paths: Docker's masked and read-only lists") {
    auto masked = runtime::default_masked_paths("/nonexistent-sys-root");
    CHECK(masked.size() == 12);
    for (const char* p : {"/proc/kcore", "/proc/keys", "/proc/interrupts", "/proc/timer_list", "/sys/firmware",
                          "/sys/devices/virtual/powercap", "/proc/acpi", "/proc/scsi"})
        CHECK(std::find(masked.begin(), masked.end(), p) != masked.end());
    CHECK(runtime::default_readonly_paths() ==
          std::vector<std::string>{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"});
}

TEST_CASE("paths: each possible CPU's thermal_throttle directory is masked when it exists") {
    sys::TempDir tmp(sys::fs::temp_directory_path(), "berth-paths-");
    auto cpu = tmp.path() / "devices/system/cpu";
    sys::mkdirs(cpu);
    sys::write_file(cpu / "possible", "0-2,5\n");
    sys::mkdirs(cpu / "cpu0/thermal_throttle");
    sys::mkdirs(cpu / "cpu2/thermal_throttle");
    sys::mkdirs(cpu / "cpu5");  // no thermal_throttle
    sys::mkdirs(cpu / "cpu7/thermal_throttle");  // not a possible CPU
    auto masked = runtime::default_masked_paths(tmp.path().string());
    REQUIRE(masked.size() == 14);
    CHECK(masked[12] == "/sys/devices/system/cpu/cpu0/thermal_throttle");
    CHECK(masked[13] == "/sys/devices/system/cpu/cpu2/thermal_throttle");
}
