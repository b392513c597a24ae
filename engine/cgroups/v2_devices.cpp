// cgroup v2 device access control: a BPF program per cgroup (cgroup-v2.rst, "Device
// controller": "Device controller manages access to device files ... implemented on top of
// cgroup BPF").
#include <fcntl.h>

#include "cgroups/device_filter.hpp"
#include "cgroups/v2_controllers.hpp"
#include "sys/bpf.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"

namespace berth::cgroups::detail::v2 {

void apply_devices(const fs::path& dir, const std::vector<DeviceRule>& rules) {
    if (rules.empty()) return;
    auto prog = device_filter(rules);
    with_context("device rules for " + dir.string(), [&] {
        // The generated program calls no helper, so the license string is not looked at.
        auto prog_fd = sys::bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, prog.data(), prog.size(), "Apache-2.0");
        auto dir_fd = sys::open_path(dir, O_RDONLY | O_DIRECTORY);
        // ALLOW_MULTI: programs attached further up (by systemd, say) keep running too; access
        // needs every one of them to allow it. The attachment lives as long as the cgroup.
        sys::bpf_prog_attach(dir_fd.get(), prog_fd.get(), BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI);
    });
}

}  // namespace berth::cgroups::detail::v2
