// The file helpers every driver goes through, and join_self().
#include "cgroups/cgroupfs.hpp"

#include <catch2/catch.hpp>

#include "cgroups/cgroups.hpp"
#include "fixture.hpp"
#include "sys/error.hpp"

using namespace berth;
using namespace berth::cgroups;
using cgtest::get;
using cgtest::put;
namespace fs = std::filesystem;

TEST_CASE("write_value: one write, no create, and errors read write(<file>, \"<value>\")") {
    sys::TempDir t(fs::temp_directory_path(), "berth-unit-cg-");
    put(t.path() / "pids.max", "max\n");
    detail::write_value(t.path() / "pids.max", "20");
    CHECK(get(t.path() / "pids.max") == "20");
    try {
        detail::write_value(t.path() / "memory.max", "1024");
        FAIL("write_value should not create files");
    } catch (const sys::Error& e) {
        CHECK(e.err() == ENOENT);
        CHECK(std::string(e.what()) ==
              "write(" + (t.path() / "memory.max").string() + ", \"1024\"): No such file or directory");
    }
    CHECK_FALSE(sys::exists(t.path() / "memory.max"));
}

TEST_CASE("parse_keyed and read helpers") {
    auto m = detail::parse_keyed("usage_usec 10\nbogus\nx y\nnr_periods 3\n\n");
    CHECK(m.size() == 2);
    CHECK(m["usage_usec"] == 10);
    CHECK(m["nr_periods"] == 3);
    sys::TempDir t(fs::temp_directory_path(), "berth-unit-cg-");
    put(t.path() / "a", "max\n");
    put(t.path() / "b", " 42\n");
    put(t.path() / "c", "garbage");
    put(t.path() / "procs", "12\n7\n");
    CHECK_FALSE(detail::read_uint_or_max(t.path() / "a"));
    CHECK(detail::read_uint_or_max(t.path() / "b") == 42u);
    CHECK_THROWS_AS(detail::read_uint(t.path() / "c"), Error);
    CHECK(detail::read_pids(t.path() / "procs") == std::vector<pid_t>{12, 7});
    CHECK(detail::read_pids(t.path() / "gone").empty());
}

TEST_CASE("join_self writes \"0\" into each file and reports the first failure with its index") {
    sys::TempDir t(fs::temp_directory_path(), "berth-unit-cg-");
    put(t.path() / "one", "");
    put(t.path() / "two", "");
    std::string one = (t.path() / "one").string(), two = (t.path() / "two").string(),
                missing = (t.path() / "missing").string();
    const char* ok[] = {one.c_str(), two.c_str()};
    auto r = join_self(ok, 2);
    CHECK(r.err == 0);
    CHECK(get(t.path() / "one") == "0");
    CHECK(get(t.path() / "two") == "0");

    const char* bad[] = {one.c_str(), missing.c_str(), two.c_str()};
    r = join_self(bad, 3);
    CHECK(r.err == ENOENT);
    CHECK(r.index == 1);
    CHECK_FALSE(sys::exists(t.path() / "missing"));
}
