// cgroup v1 freezer (Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst).
#include "cgroups/cgroupfs.hpp"
#include "cgroups/v1_controllers.hpp"
#include "sys/error.hpp"

namespace berth::cgroups::detail::v1 {

namespace {
constexpr auto kFreezeTimeout = std::chrono::seconds(5);
}

void freeze(const fs::path& dir) {
    const auto state = dir / "freezer.state";
    // Writing FROZEN starts freezing; the state reads FREEZING until every task has stopped.
    // Writing it again while FREEZING retries tasks that were busy (in a vfork, say), as runc does.
    write_value(state, "FROZEN");
    bool done = wait_until(
        [&] {
            if (read_value(state) == "FROZEN") return true;
            write_value(state, "FROZEN");
            return false;
        },
        kFreezeTimeout);
    if (!done) {
        std::string last = read_value(state);
        write_value(state, "THAWED");
        throw_error(Errc::failed, "freezing " + dir.string() + ": freezer.state still " + last + " after 5s");
    }
}

void thaw(const fs::path& dir) {
    const auto state = dir / "freezer.state";
    write_value(state, "THAWED");
    if (!wait_until([&] { return read_value(state) == "THAWED"; }, kFreezeTimeout)) {
        throw_error(Errc::failed, "thawing " + dir.string() + ": freezer.state still " + read_value(state));
    }
}

bool frozen(const fs::path& dir) {
    return read_value(dir / "freezer.state") == "FROZEN";
}

}  // namespace berth::cgroups::detail::v1
