// The v2 driver on the real kernel, as far as a v1 hybrid host allows: its cgroup2 mount
// (/sys/fs/cgroup/unified) offers no resource controller, but the core files work there
// (cgroup.procs, cgroup.freeze, cgroup.events, cgroup.kill), and so do BPF device filters,
// which the kernel consults for a task's cgroup2 cgroup before the v1 devices cgroup.
#include <fcntl.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "cgroups/cgroups.hpp"
#include "helpers.hpp"
#include "sys/error.hpp"

using namespace berth;
using namespace berth::cgroups;
using cgtest::Child;
using cgtest::drain;
using cgtest::eventually;
using cgtest::Fixture;
using cgtest::read_some;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const fs::path kUnified = "/sys/fs/cgroup/unified";

bool have_unified() {
    return sys::exists(kUnified / "cgroup.controllers") && sys::exists(kUnified / "cgroup.procs");
}

}  // namespace

TEST_CASE_METHOD(Fixture, "v2 on the hybrid cgroup2 mount: device filter, freeze, kill, destroy") {
    if (!have_unified()) {
        WARN("no cgroup2 mount at /sys/fs/cgroup/unified: nothing to run here");
        return;
    }
    also_clean(kUnified);
    auto l = detect(kUnified);
    REQUIRE(l.version == Version::v2);

    // What this mount cannot do is refused up front, naming the file and the value.
    Resources mem;
    mem.memory = 64 << 20;
    try {
        Cgroup::create(l, parent(), name("v2-mem"), mem);
        FAIL("a memory limit without a memory controller must be refused");
    } catch (const Error& e) {
        CHECK(e.kind() == Errc::unsupported);
        CHECK(std::string(e.what()).find("memory.max") != std::string::npos);
    }
    CHECK_FALSE(sys::exists(kUnified / parent() / name("v2-mem")));

    auto cg = Cgroup::create(l, parent(), name("v2"), Resources{});  // Docker's default device rules
    CHECK(cg.version() == Version::v2);
    CHECK(cg.procs_files() == std::vector<fs::path>{kUnified / parent() / name("v2") / "cgroup.procs"});

    Child c = spawn(cg, [](int fd) {
        int res[2];
        int n = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        res[0] = n < 0 ? errno : 0;
        int k = ::open("/dev/kmsg", O_RDONLY | O_CLOEXEC);
        res[1] = k < 0 ? errno : 0;
        (void)!::write(fd, res, sizeof res);
        for (;;) {
            (void)!::write(fd, ".", 1);
            struct timespec ts {
                0, 10 * 1000000L
            };
            ::nanosleep(&ts, nullptr);
        }
    });
    auto rep = read_some(c.fd, 2 * sizeof(int), 5s);
    REQUIRE(rep.size() == 2 * sizeof(int));
    int res[2];
    std::memcpy(res, rep.data(), sizeof res);
    CHECK(res[0] == 0);      // allowed by the filter
    CHECK(res[1] == EPERM);  // denied by the filter (the v1 devices cgroup of this task allows all)
    CHECK(cg.pids() == std::vector<pid_t>{c.pid});
    REQUIRE(read_some(c.fd, 3, 2s).size() == 3);

    cg.freeze();
    CHECK(cg.frozen());
    drain(c.fd);
    CHECK(read_some(c.fd, 1, 300ms).empty());
    cg.thaw();
    CHECK_FALSE(cg.frozen());
    CHECK(read_some(c.fd, 3, 2s).size() == 3);

    cg.kill_all(SIGKILL);  // cgroup.kill
    CHECK(cg.pids().empty());
    int status = wait(c);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);

    auto s = cg.stats();
    CHECK(s.cpu_usage_ns > 0);  // cpu.stat is core accounting, there without the cpu controller
    CHECK(s.memory_limit == host_memory_bytes());
    CHECK_FALSE(s.memory_limited);

    cg.destroy();
    CHECK_FALSE(sys::exists(kUnified / parent() / name("v2")));
    CHECK_FALSE(sys::exists(kUnified / parent()));
}
