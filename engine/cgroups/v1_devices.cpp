// cgroup v1 devices controller (Documentation/admin-guide/cgroup-v1/devices.rst).
#include "cgroups/cgroupfs.hpp"
#include "cgroups/v1_controllers.hpp"

namespace berth::cgroups::detail::v1 {

void apply_devices(const fs::path& dir, const std::vector<DeviceRule>& rules) {
    // Order matters: "a" in devices.deny switches the group to deny-by-default and drops every
    // exception, so Docker's list starts with it and the allows follow.
    for (const auto& rule : rules) {
        write_value(dir / (rule.allow ? "devices.allow" : "devices.deny"), rule.to_string());
    }
}

}  // namespace berth::cgroups::detail::v1
