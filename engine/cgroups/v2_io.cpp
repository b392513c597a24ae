// cgroup v2 io controller (cgroup-v2.rst, "IO").
#include "cgroups/cgroupfs.hpp"
#include "cgroups/v2_controllers.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"

namespace berth::cgroups::detail::v2 {

std::vector<std::string> apply_io(const fs::path& dir, const Resources& r) {
    if (!r.blkio_weight) return {};
    // BFQ keeps blkio's 1..1000 scale in io.bfq.weight; io.weight (the cost model) is 1..10000.
    if (sys::exists(dir / "io.bfq.weight")) {
        write_value(dir / "io.bfq.weight", std::to_string(*r.blkio_weight));
    } else if (sys::exists(dir / "io.weight")) {
        write_value(dir / "io.weight", std::to_string(blkio_weight_to_io_weight(*r.blkio_weight)));
    } else {
        return {"Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."};
    }
    return {};
}

void io_stats(const fs::path& dir, Stats& s) {
    // "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0", one line per device.
    auto text = sys::read_file_if_exists(dir / "io.stat");
    if (!text) return;
    s.blkio_read_bytes = 0;
    s.blkio_write_bytes = 0;
    for (auto& line : str::split(*text, '\n')) {
        for (auto& field : str::split(str::trim(line), ' ')) {
            auto [k, v] = str::split_once(field, '=');
            if (!v) continue;
            auto n = str::parse_uint(*v);
            if (!n) continue;
            if (k == "rbytes") s.blkio_read_bytes += *n;
            if (k == "wbytes") s.blkio_write_bytes += *n;
        }
    }
}

}  // namespace berth::cgroups::detail::v2
