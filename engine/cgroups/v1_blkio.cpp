// cgroup v1 blkio controller (Documentation/admin-guide/cgroup-v1/blkio-controller.rst).
#include "cgroups/cgroupfs.hpp"
#include "cgroups/v1_controllers.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"

namespace berth::cgroups::detail::v1 {

std::vector<std::string> apply_blkio(const fs::path& dir, const Resources& r) {
    if (!r.blkio_weight) return {};
    // CFQ kernels have blkio.weight; BFQ-only kernels (CFQ is gone since 5.0) blkio.bfq.weight,
    // which takes the same 10..1000 scale (runc and dockerd look for both).
    for (const char* f : {"blkio.weight", "blkio.bfq.weight"}) {
        if (sys::exists(dir / f)) {
            write_value(dir / f, std::to_string(*r.blkio_weight));
            return {};
        }
    }
    return {"Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."};
}

void blkio_stats(const fs::path& dir, Stats& s) {
    // "<maj>:<min> Read <bytes>" lines per device, then "Total <bytes>".
    std::optional<std::string> text;
    for (const char* f : {"blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_service_bytes",
                          "blkio.io_service_bytes_recursive"}) {
        text = sys::read_file_if_exists(dir / f);
        if (text) break;
    }
    if (!text) return;
    s.blkio_read_bytes = 0;
    s.blkio_write_bytes = 0;
    for (auto& line : str::split(*text, '\n')) {
        auto f = str::split(str::trim(line), ' ');
        if (f.size() != 3) continue;
        auto v = str::parse_uint(f[2]);
        if (!v) continue;
        if (f[1] == "Read") s.blkio_read_bytes += *v;
        if (f[1] == "Write") s.blkio_write_bytes += *v;
    }
}

}  // namespace berth::cgroups::detail::v1
