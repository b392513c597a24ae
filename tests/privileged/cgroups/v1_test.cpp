// The v1 driver against the host's real cgroup v1 hierarchies: limits are enforced on real
// workloads that joined the cgroup themselves.
#include <fcntl.h>
#include <sys/mman.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "cgroups/cgroups.hpp"
#include "helpers.hpp"
#include "sys/error.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"

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

constexpr std::int64_t MiB = 1024 * 1024;

[[noreturn]] void busy_forever() {
    volatile std::uint64_t n = 0;
    for (;;) n = n + 1;
}

char proc_state(pid_t pid) {
    auto stat = sys::read_file("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() ? stat[close + 2] : '?';
}

std::string cgroup_file(const Layout& l, const char* controller, const std::string& parent, const std::string& name,
                        const char* file) {
    return sys::read_file(l.hierarchies.at(controller) / parent / name / file);
}

}  // namespace

TEST_CASE_METHOD(Fixture, "v1: a memory hog in a 32 MiB cgroup is OOM-killed") {
    Resources r;
    r.memory = 32 * MiB;
    auto cg = Cgroup::create(layout(), parent(), name("oom"), r);
    CHECK(cgroup_file(layout(), "memory", parent(), name("oom"), "memory.limit_in_bytes") ==
          std::to_string(32 * MiB) + "\n");

    Child c = spawn(cg, [](int fd) {
        // Touch 1 MiB at a time up to 512 MiB, reporting every 4 MiB so the test sees it ran.
        for (int mib = 1; mib <= 512; ++mib) {
            void* p = ::mmap(nullptr, MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) ::_exit(3);
            std::memset(p, 0x5a, MiB);
            if (mib % 4 == 0) (void)!::write(fd, "+", 1);
        }
        (void)!::write(fd, "X", 1);  // survived: the limit did not hold
    });
    int status = wait(c);
    auto progress = drain(c.fd);
    REQUIRE(status != -1);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    CHECK(progress.find('X') == std::string::npos);
    CHECK(progress.size() >= 4);  // it got past 16 MiB, so it really allocated
    CHECK(progress.size() < 16);  // and not past 64 MiB
    CHECK(cg.oom_kills() == 1);
    auto s = cg.stats();
    CHECK(s.oom_kills == 1);
    CHECK(s.memory_limited);
    CHECK(s.memory_limit == static_cast<std::uint64_t>(32 * MiB));
    cg.destroy();
}

TEST_CASE_METHOD(Fixture, "v1: a fork bomb stops at a pids limit of 20 and kill_all cleans it up") {
    Resources r;
    r.pids_limit = 20;
    auto cg = Cgroup::create(layout(), parent(), name("bomb"), r);
    Child c = spawn(cg, [](int fd) {
        int forked = 0, err = 0;
        for (int i = 0; i < 1000; ++i) {
            pid_t p = ::fork();
            if (p == 0) {
                for (;;) ::pause();
            }
            if (p < 0) {
                err = errno;
                break;
            }
            ++forked;
        }
        int report[2] = {forked, err};
        (void)!::write(fd, report, sizeof report);
        for (;;) ::pause();
    });
    auto report = read_some(c.fd, 2 * sizeof(int), 10s);
    REQUIRE(report.size() == 2 * sizeof(int));
    int forked, err;
    std::memcpy(&forked, report.data(), sizeof(int));
    std::memcpy(&err, report.data() + sizeof(int), sizeof(int));
    CHECK(err == EAGAIN);
    CHECK(forked == 19);  // itself plus 19 children make the 20
    auto s = cg.stats();
    CHECK(s.pids_current == 20);
    CHECK(s.pids_limit == 20u);
    CHECK(cg.pids().size() == 20);
    // pids.peak (kernel 6.1+) is the high-water mark: the count never went above the limit.
    auto peak_file = layout().hierarchies.at("pids") / parent() / name("bomb") / "pids.peak";
    if (sys::exists(peak_file)) CHECK(sys::read_file(peak_file) == "20\n");
    auto events = cgroup_file(layout(), "pids", parent(), name("bomb"), "pids.events");
    CHECK(events.find("max 0") == std::string::npos);  // the kernel counted refused forks

    cg.kill_all(SIGKILL);
    CHECK(cg.pids().empty());
    int status = wait(c);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    reap_all();  // the 19 grandchildren were reparented to us
    CHECK(eventually([&] { return cg.stats().pids_current == 0; }, 5s));
    cg.destroy();
}

TEST_CASE_METHOD(Fixture, "v1: --cpus 0.5 holds a busy loop near half a core") {
    Resources r;
    r.nano_cpus = 500000000;
    auto cg = Cgroup::create(layout(), parent(), name("cpu"), r);
    CHECK(cgroup_file(layout(), "cpu", parent(), name("cpu"), "cpu.cfs_quota_us") == "50000\n");
    CHECK(cgroup_file(layout(), "cpu", parent(), name("cpu"), "cpu.cfs_period_us") == "100000\n");
    Child c = spawn(cg, [](int) { busy_forever(); });

    // Usage over a fixed window. The machine is shared: a window where other load kept the loop
    // below 35% is measured again, but no window may go above the limit.
    double share = 0;
    for (int attempt = 0; attempt < 3; ++attempt) {
        auto u0 = cg.stats().cpu_usage_ns;
        auto t0 = sys::monotonic_ns();
        struct timespec window {
            2, 0
        };
        ::nanosleep(&window, nullptr);  // the measurement window itself, not a wait for a state
        auto u1 = cg.stats().cpu_usage_ns;
        auto t1 = sys::monotonic_ns();
        share = static_cast<double>(u1 - u0) / static_cast<double>(t1 - t0);
        INFO("cpu share " << share);
        REQUIRE(share <= 0.65);
        if (share >= 0.35) break;
    }
    CHECK(share >= 0.35);
    auto s = cg.stats();
    CHECK(s.cpu_periods > 0);  // the CFS bandwidth timer runs for this group: the quota is live
    // Throttled periods prove the loop hit the quota; a loop that other load held near or
    // below the quota may not have.
    INFO("cpu share " << share << ", periods " << s.cpu_periods << ", throttled " << s.cpu_throttled_periods);
    CHECK((s.cpu_throttled_periods > 0 || share < 0.45));
    cg.destroy();
    CHECK(wait(c) != -1);
}

TEST_CASE_METHOD(Fixture, "v1: freeze stops a running child and thaw lets it go on") {
    auto cg = Cgroup::create(layout(), parent(), name("freeze"), Resources{});
    Child c = spawn(cg, [](int fd) {
        for (;;) {
            (void)!::write(fd, ".", 1);
            struct timespec ts {
                0, 10 * 1000000L
            };
            ::nanosleep(&ts, nullptr);
        }
    });
    REQUIRE(read_some(c.fd, 3, 2s).size() == 3);  // it is ticking

    cg.freeze();
    CHECK(cg.frozen());
    CHECK(cgroup_file(layout(), "freezer", parent(), name("freeze"), "freezer.state") == "FROZEN\n");
    CHECK(proc_state(c.pid) == 'D');  // frozen tasks show as uninterruptible
    drain(c.fd);
    CHECK(read_some(c.fd, 1, 300ms).empty());  // no tick while frozen

    cg.thaw();
    CHECK_FALSE(cg.frozen());
    CHECK(read_some(c.fd, 3, 2s).size() == 3);  // ticking again
    CHECK(proc_state(c.pid) != 'D');

    // A signal to a paused container waits for the unpause (and does not unpause it).
    cg.freeze();
    cg.kill_all(SIGTERM);
    CHECK(cg.frozen());
    CHECK(wait(c, 200ms) == -1);  // still there, frozen
    cg.thaw();
    int status = wait(c);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGTERM);
    cg.destroy();
}

TEST_CASE_METHOD(Fixture, "v1: stats of a running child are plausible") {
    Resources r;
    r.memory = 64 * MiB;
    r.pids_limit = 50;
    auto cg = Cgroup::create(layout(), parent(), name("stats"), r);
    Child c = spawn(cg, [](int fd) {
        void* p = ::mmap(nullptr, 16 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) ::_exit(3);
        std::memset(p, 1, 16 * MiB);
        // 300 ms of this process's own CPU time, however busy the machine is.
        auto cpu_ns = [] {
            struct timespec ts;
            ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
            return ts.tv_sec * 1000000000LL + ts.tv_nsec;
        };
        auto end = cpu_ns() + 300 * 1000000LL;
        while (cpu_ns() < end) {
        }
        (void)!::write(fd, "R", 1);
        for (;;) ::pause();
    });
    REQUIRE(read_some(c.fd, 1, 10s) == "R");
    auto s = cg.stats();
    CHECK(s.cpu_usage_ns >= 300 * 1000000ULL);
    CHECK(s.cpu_usage_ns < 10 * 1000000000ULL);
    CHECK(s.cpu_user_ns + s.cpu_system_ns > 0);
    CHECK(s.cpu_per_cpu_ns.size() >= static_cast<size_t>(layout().cpu_count()));
    std::uint64_t sum = 0;
    for (auto v : s.cpu_per_cpu_ns) sum += v;
    CHECK(sum == s.cpu_usage_ns);
    CHECK(s.memory_usage >= static_cast<std::uint64_t>(16 * MiB));
    CHECK(s.memory_usage <= static_cast<std::uint64_t>(64 * MiB));
    CHECK(s.memory_limited);
    CHECK(s.memory_limit == static_cast<std::uint64_t>(64 * MiB));
    CHECK(s.memory_stat.count("total_rss"));
    CHECK(s.pids_current == 1);
    CHECK(s.pids_limit == 50u);
    CHECK(s.oom_kills == 0);
    CHECK(cg.pids() == std::vector<pid_t>{c.pid});
    cg.destroy();
    CHECK(wait(c) != -1);
}

TEST_CASE_METHOD(Fixture, "v1: Docker's default device rules let /dev/null through and stop /dev/kmsg") {
    auto cg = Cgroup::create(layout(), parent(), name("dev"), Resources{});
    auto list = cgroup_file(layout(), "devices", parent(), name("dev"), "devices.list");
    CHECK(list.find("c 1:3 rwm") != std::string::npos);
    CHECK(list.find("a *:* rwm") == std::string::npos);
    Child c = spawn(cg, [](int fd) {
        int res[2];
        int n = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        res[0] = n < 0 ? errno : 0;
        int k = ::open("/dev/kmsg", O_RDONLY | O_CLOEXEC);
        res[1] = k < 0 ? errno : 0;
        (void)!::write(fd, res, sizeof res);
    });
    auto rep = read_some(c.fd, 2 * sizeof(int), 5s);
    REQUIRE(rep.size() == 2 * sizeof(int));
    int res[2];
    std::memcpy(res, rep.data(), sizeof res);
    CHECK(res[0] == 0);
    CHECK(res[1] == EPERM);
    CHECK(wait(c) != -1);
    cg.destroy();
}

TEST_CASE_METHOD(Fixture, "v1: update changes a live limit; bad values change nothing") {
    Resources r;
    r.pids_limit = 20;
    r.memory = 64 * MiB;
    auto cg = Cgroup::create(layout(), parent(), name("upd"), r);
    Resources u;
    u.pids_limit = 30;
    u.memory = 96 * MiB;
    u.memory_swap = 192 * MiB;
    CHECK(cg.update(u).empty());
    CHECK(cgroup_file(layout(), "pids", parent(), name("upd"), "pids.max") == "30\n");
    CHECK(cgroup_file(layout(), "memory", parent(), name("upd"), "memory.limit_in_bytes") ==
          std::to_string(96 * MiB) + "\n");
    CHECK(cgroup_file(layout(), "memory", parent(), name("upd"), "memory.memsw.limit_in_bytes") ==
          std::to_string(192 * MiB) + "\n");
    Resources down;  // shrinking both: memory first, then memsw, or the kernel says EINVAL
    down.memory = 16 * MiB;
    down.memory_swap = 16 * MiB;
    cg.update(down);
    CHECK(cgroup_file(layout(), "memory", parent(), name("upd"), "memory.memsw.limit_in_bytes") ==
          std::to_string(16 * MiB) + "\n");
    Resources bad;
    bad.cpuset_cpus = "99";
    CHECK_THROWS_AS(cg.update(bad), Error);
    cg.destroy();
}

TEST_CASE_METHOD(Fixture, "v1: destroy removes the dir in every hierarchy, and the parent when empty") {
    auto cg = Cgroup::create(layout(), parent(), name("rm"), Resources{});
    auto dirs = cg.dirs();
    CHECK(dirs.size() >= 8);
    for (auto& d : dirs) CHECK(sys::is_dir(d));
    // A second container under the same parent keeps the parent alive until it goes too.
    auto other = Cgroup::create(layout(), parent(), name("rm2"), Resources{});
    Child c = spawn(cg, [](int) {
        for (;;) ::pause();
    });
    Child c2 = spawn(other, [](int) {
        for (;;) ::pause();
    });
    CHECK(cg.pids() == std::vector<pid_t>{c.pid});
    auto again = Cgroup::open(layout(), parent(), name("rm"));
    CHECK(again.pids() == std::vector<pid_t>{c.pid});

    cg.destroy();
    int status = wait(c);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    for (auto& d : dirs) {
        CHECK_FALSE(sys::exists(d));
        CHECK(sys::is_dir(d.parent_path()));  // rm2 is still there
    }
    CHECK(other.pids() == std::vector<pid_t>{c2.pid});
    cg.destroy();  // idempotent

    other.destroy();
    CHECK(wait(c2) != -1);
    for (auto& [controller, root] : layout().hierarchies) {
        CHECK_FALSE(sys::exists(root / parent()));
    }
    CHECK_THROWS_AS(Cgroup::open(layout(), parent(), name("rm")), Error);
}

TEST_CASE_METHOD(Fixture, "v1: destroy of a frozen cgroup kills and removes it") {
    auto cg = Cgroup::create(layout(), parent(), name("frozen-rm"), Resources{});
    Child c = spawn(cg, [](int) {
        for (;;) ::pause();
    });
    cg.freeze();
    cg.destroy();
    int status = wait(c);
    CHECK(WIFSIGNALED(status));
    for (auto& d : cg.dirs()) CHECK_FALSE(sys::exists(d));
}

TEST_CASE_METHOD(Fixture, "v1: add() moves a running process into every hierarchy") {
    auto cg = Cgroup::create(layout(), parent(), name("add"), Resources{});
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
        for (;;) ::pause();
    }
    Child c = track(pid);
    cg.add(pid);
    CHECK(cg.pids() == std::vector<pid_t>{pid});
    auto self = sys::read_file("/proc/" + std::to_string(pid) + "/cgroup");
    const std::string where = "/" + parent() + "/" + name("add") + "\n";
    for (const char* c : {"memory", "pids", "freezer", "devices", "cpuset", "name=systemd"}) {
        INFO(self);
        CHECK(self.find(std::string(":") + c + ":" + where) != std::string::npos);
    }
    cg.destroy();
    int status = wait(c);
    CHECK(WIFSIGNALED(status));
}
