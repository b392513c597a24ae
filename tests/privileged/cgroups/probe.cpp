#include "privileged/probe.hpp"

#include <unistd.h>

namespace berth_test {

const char* probe() {
    // These tests drive the v1 driver on the host's own hierarchies (this project's hosts boot
    // cgroup v1; the v2 driver is unit-tested on fixtures, plus what the hybrid cgroup2 mount
    // offers, see v2_hybrid_test.cpp).
    if (::access("/sys/fs/cgroup/memory/cgroup.procs", W_OK) != 0) return "no writable cgroup v1 memory hierarchy";
    if (::access("/sys/fs/cgroup/pids/cgroup.procs", W_OK) != 0) return "no writable cgroup v1 pids hierarchy";
    return nullptr;
}

}  // namespace berth_test
