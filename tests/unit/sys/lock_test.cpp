#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <string>

#include "sys/fd.hpp"
#include "sys/lock.hpp"

using namespace berth;

TEST_CASE("lock_held_elsewhere sees another holder's lock and leaves none of its own") {
    char tmpl[] = "/tmp/berth-unit-lock-XXXXXX";
    int made = ::mkstemp(tmpl);
    REQUIRE(made >= 0);
    sys::unique_fd keep(made);
    std::string path = tmpl;
    sys::unique_fd probe(::open(path.c_str(), O_RDONLY | O_CLOEXEC)), other(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    {
        sys::FileLock held(path);
        CHECK(sys::lock_held_elsewhere(probe.get(), path));
    }
    CHECK_FALSE(sys::lock_held_elsewhere(probe.get(), path));
    // The probe let go of its shared lock: an exclusive one is free to take.
    CHECK(::flock(other.get(), LOCK_EX | LOCK_NB) == 0);
    ::unlink(path.c_str());
}
