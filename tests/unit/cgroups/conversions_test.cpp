// The pure parts: Docker's unit conversions, cpu lists, device rules, and check().
#include <catch2/catch.hpp>

#include "cgroups/cgroups.hpp"
#include "sys/error.hpp"

using namespace berth;
using namespace berth::cgroups;

TEST_CASE("shares_to_weight keeps the ends and the default aligned (runc/crun log-quadratic mapping)") {
    CHECK(shares_to_weight(0) == 0);  // unset stays unset
    CHECK(shares_to_weight(1) == 1);
    CHECK(shares_to_weight(2) == 1);
    CHECK(shares_to_weight(1024) == 100);  // the two defaults meet
    CHECK(shares_to_weight(262144) == 10000);
    CHECK(shares_to_weight(1000000) == 10000);
    // Values computed with the published formula, ceil(10^((l^2 + 125 l)/612 - 7/34)), l = log2.
    CHECK(shares_to_weight(3) == 2);
    CHECK(shares_to_weight(100) == 17);
    CHECK(shares_to_weight(512) == 59);
    CHECK(shares_to_weight(2048) == 174);
    CHECK(shares_to_weight(4096) == 303);
    // Monotonic over the whole range.
    std::uint64_t prev = 0;
    for (std::uint64_t s = 2; s <= 262144; s += 97) {
        auto w = shares_to_weight(s);
        CHECK(w >= prev);
        prev = w;
    }
}

TEST_CASE("--cpus becomes a quota over Docker's 100 ms period") {
    auto half = nano_cpus_to_bandwidth(500000000);
    CHECK(half.quota == 50000);
    CHECK(half.period == 100000);
    CHECK(nano_cpus_to_bandwidth(1500000000).quota == 150000);
    CHECK(nano_cpus_to_bandwidth(10000000).quota == 1000);  // --cpus 0.01, the smallest Docker takes
}

TEST_CASE("blkio weight to io.weight and memory+swap to swap.max") {
    CHECK(blkio_weight_to_io_weight(0) == 0);
    CHECK(blkio_weight_to_io_weight(10) == 1);
    CHECK(blkio_weight_to_io_weight(1000) == 10000);
    CHECK(blkio_weight_to_io_weight(500) == 4950);
    CHECK(memsw_to_swap_max(128 << 20, 64 << 20) == (64 << 20));
    CHECK(memsw_to_swap_max(64 << 20, 64 << 20) == 0);  // --memory-swap == --memory: no swap
    CHECK(memsw_to_swap_max(-1, 64 << 20) == -1);
    CHECK(memsw_to_swap_max(128 << 20, -1) == -1);
}

TEST_CASE("parse_cpu_list reads the kernel's list format") {
    CHECK(parse_cpu_list("0-2,4") == std::set<unsigned>{0, 1, 2, 4});
    CHECK(parse_cpu_list(" 3 ") == std::set<unsigned>{3});
    CHECK(parse_cpu_list("") == std::set<unsigned>{});
    CHECK_FALSE(parse_cpu_list("2-1"));
    CHECK_FALSE(parse_cpu_list("a"));
    CHECK_FALSE(parse_cpu_list("1,,2"));
    CHECK_FALSE(parse_cpu_list("-1"));
}

TEST_CASE("device rules print and parse in the devices.allow syntax") {
    CHECK(DeviceRule{true, 'c', 1, 3, "rwm"}.to_string() == "c 1:3 rwm");
    CHECK(DeviceRule{false, 'a', -1, -1, "rwm"}.to_string() == "a *:* rwm");
    CHECK(DeviceRule{true, 'c', 136, -1, "rwm"}.to_string() == "c 136:* rwm");
    auto r = DeviceRule::parse("b 8:* r");
    REQUIRE(r);
    CHECK(*r == DeviceRule{true, 'b', 8, -1, "r"});
    CHECK(DeviceRule::parse("a")->type == 'a');
    CHECK(DeviceRule::parse("c 1:3")->access == "rwm");
    CHECK_FALSE(DeviceRule::parse("x 1:3 r"));
    CHECK_FALSE(DeviceRule::parse("c 1 r"));
    CHECK_FALSE(DeviceRule::parse("c 1:3 rx"));
    CHECK_FALSE(DeviceRule::parse("c"));
}

TEST_CASE("Docker's default device rules: deny all first, then the usual nodes") {
    auto rules = default_device_rules();
    REQUIRE(rules.size() == 13);
    CHECK(rules[0] == DeviceRule{false, 'a', -1, -1, "rwm"});
    std::vector<std::string> text;
    for (auto& r : rules) text.push_back((r.allow ? "allow " : "deny ") + r.to_string());
    for (const char* want : {"allow c *:* m", "allow b *:* m", "allow c 1:3 rwm", "allow c 1:5 rwm", "allow c 1:7 rwm",
                             "allow c 1:8 rwm", "allow c 1:9 rwm", "allow c 5:0 rwm", "allow c 5:1 rwm",
                             "allow c 5:2 rwm", "allow c 136:* rwm", "allow c 10:200 rwm"}) {
        CHECK(std::find(text.begin(), text.end(), want) != text.end());
    }
}

namespace {

Layout v1_host() {
    Layout l;
    l.version = Version::v1;
    l.root = "/sys/fs/cgroup";
    for (const char* c : {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"}) {
        l.hierarchies[c] = l.root / c;
        l.controllers.insert(c);
    }
    l.swap_accounting = true;
    l.cpus = "0-1";
    l.mems = "0";
    return l;
}

Layout v2_host() {
    Layout l;
    l.version = Version::v2;
    l.root = "/sys/fs/cgroup";
    l.controllers = {"cpu", "cpuset", "io", "memory", "pids"};
    l.swap_accounting = true;
    l.cpus = "0-3";
    l.mems = "0";
    return l;
}

bool has_text(const std::vector<std::string>& v, std::string_view needle) {
    for (auto& s : v) {
        if (s.find(needle) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("check: --memory-swap follows Docker (unset = 2x memory, -1 unlimited, >= memory)") {
    Resources r;
    r.memory = 64 << 20;
    auto c = check(v1_host(), r);
    CHECK(c.errors.empty());
    CHECK(c.effective.memory_swap == (128 << 20));

    r.memory_swap = -1;
    CHECK(check(v1_host(), r).effective.memory_swap == -1);

    r.memory_swap = 32 << 20;
    c = check(v1_host(), r);
    CHECK(has_text(c.errors, "Minimum memoryswap limit should be larger than memory limit"));
    CHECK_FALSE(c.unsupported);

    Resources swap_only;
    swap_only.memory_swap = 128 << 20;
    CHECK(has_text(check(v1_host(), swap_only).errors, "You should always set the Memory limit"));
    CHECK(check(v1_host(), swap_only, /*update=*/true).errors.empty());  // docker update may
}

TEST_CASE("check: without swap accounting the memory limit stays and swap is dropped with Docker's warning") {
    auto l = v1_host();
    l.swap_accounting = false;
    Resources r;
    r.memory = 64 << 20;
    r.memory_swap = 256 << 20;
    auto c = check(l, r);
    CHECK(c.errors.empty());
    CHECK(c.effective.memory == (64 << 20));
    CHECK_FALSE(c.effective.memory_swap);
    CHECK(has_text(c.warnings, "does not support swap limit capabilities"));
}

TEST_CASE("check: a limit the host cannot enforce is an error naming the file and the value") {
    auto l = v1_host();
    l.hierarchies.erase("pids");
    l.controllers.erase("pids");
    l.hierarchies.erase("memory");
    l.controllers.erase("memory");
    Resources r;
    r.pids_limit = 20;
    r.memory = 64 << 20;
    auto c = check(l, r);
    CHECK(c.unsupported);
    REQUIRE(c.errors.size() == 2);  // every problem at once
    CHECK(has_text(c.errors, "--pids-limit=20 cannot be enforced"));
    CHECK(has_text(c.errors, "/sys/fs/cgroup/pids/pids.max"));
    CHECK(has_text(c.errors, "--memory=67108864 cannot be enforced"));
    CHECK(has_text(c.errors, "memory.limit_in_bytes"));

    Resources devices_only;  // the default rules need the devices controller on v1
    l.hierarchies.erase("devices");
    l.controllers.erase("devices");
    c = check(l, devices_only);
    CHECK(c.unsupported);
    CHECK(has_text(c.errors, "devices.deny"));
    devices_only.devices = std::vector<DeviceRule>{{true, 'a', -1, -1, "rwm"}};  // privileged: nothing to enforce
    CHECK(check(l, devices_only).errors.empty());
}

TEST_CASE("check: Docker's bounds and conflicts") {
    Resources r;
    r.memory = 4 << 20;
    r.nano_cpus = 500000000;
    r.cpu_quota = 50000;
    r.cpu_period = 500;
    r.blkio_weight = 5;
    r.cpuset_cpus = "0-7";
    r.memory_swappiness = 200;
    auto c = check(v1_host(), r);
    CHECK(has_text(c.errors, "Minimum memory limit allowed is 6MB"));
    CHECK(has_text(c.errors, "Conflicting options: Nano CPUs and CPU Quota cannot both be set"));
    CHECK(has_text(c.errors, "Conflicting options: Nano CPUs and CPU Period cannot both be set"));
    CHECK(has_text(c.errors, "CPU cfs period can not be less than 1ms"));
    CHECK(has_text(c.errors, "Range of blkio weight is from 10 to 1000"));
    CHECK(has_text(c.errors, "Requested CPUs are not available - requested 0-7, available: 0-1"));
    CHECK(has_text(c.errors, "valid memory swappiness range is 0-100"));

    Resources too_many;
    too_many.nano_cpus = 3000000000LL;
    CHECK(has_text(check(v1_host(), too_many).errors, "Range of CPUs is from 0.01 to 2.00"));

    Resources reservation;
    reservation.memory = 64 << 20;
    reservation.memory_reservation = 128 << 20;
    CHECK(has_text(check(v1_host(), reservation).errors, "can not be less than memory reservation"));
}

TEST_CASE("check: pids 0 and -1 mean unlimited, shares are clamped with a warning") {
    Resources r;
    r.pids_limit = 0;
    r.cpu_shares = 1;
    auto c = check(v1_host(), r);
    CHECK(c.errors.empty());
    CHECK(c.effective.pids_limit == -1);
    CHECK(c.effective.cpu_shares == 2u);
    CHECK(has_text(c.warnings, "Changing requested CPUShares of 1 to minimum allowed of 2"));
    r.cpu_shares = 500000;
    CHECK(check(v1_host(), r).effective.cpu_shares == 262144u);
}

TEST_CASE("check: v2 discards --oom-kill-disable and --memory-swappiness with Docker's warnings") {
    Resources r;
    r.memory = 64 << 20;
    r.oom_kill_disable = true;
    r.memory_swappiness = 10;
    auto c = check(v2_host(), r);
    CHECK(c.errors.empty());
    CHECK_FALSE(c.effective.oom_kill_disable);
    CHECK_FALSE(c.effective.memory_swappiness);
    CHECK(has_text(c.warnings, "does not support OomKillDisable"));
    CHECK(has_text(c.warnings, "memory swappiness"));
    // v1 keeps both.
    auto c1 = check(v1_host(), r);
    CHECK(c1.effective.oom_kill_disable == true);
    CHECK(c1.effective.memory_swappiness == 10);
}

TEST_CASE("check: unset devices at create mean Docker's defaults; update never touches them") {
    Resources r;
    CHECK(check(v1_host(), r).effective.devices == default_device_rules());
    r.devices = std::vector<DeviceRule>{{true, 'c', 1, 3, "rwm"}};
    CHECK_FALSE(check(v1_host(), r, /*update=*/true).effective.devices);
}
