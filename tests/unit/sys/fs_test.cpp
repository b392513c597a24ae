#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/sha256.hpp"

using namespace berth;
namespace fs = std::filesystem;

TEST_CASE("write_file_atomic replaces content and leaves no temp files") {
    sys::TempDir dir(fs::temp_directory_path(), "berth-unit-");
    auto p = dir.path() / "state.json";
    sys::write_file_atomic(p, "one");
    sys::write_file_atomic(p, "two");
    CHECK(sys::read_file(p) == "two");
    CHECK(sys::list_dir(dir.path()) == std::vector<std::string>{"state.json"});
}

TEST_CASE("remove_tree does not follow symlinks out of the tree") {
    sys::TempDir outside(fs::temp_directory_path(), "berth-unit-");
    sys::write_file(outside.path() / "keep", "x");
    sys::TempDir dir(fs::temp_directory_path(), "berth-unit-");
    sys::mkdirs(dir.path() / "a" / "b");
    sys::write_file(dir.path() / "a" / "b" / "f", "y");
    REQUIRE(::symlink(outside.path().c_str(), (dir.path() / "a" / "link").c_str()) == 0);
    sys::remove_tree(dir.path() / "a");
    CHECK_FALSE(sys::exists(dir.path() / "a"));
    CHECK(sys::read_file(outside.path() / "keep") == "x");
}

TEST_CASE("sys::Error names the call and the subject and keeps errno") {
    try {
        sys::read_file("/nonexistent/berth-file");
        FAIL("read_file should have thrown");
    } catch (const sys::Error& e) {
        CHECK(e.err() == ENOENT);
        CHECK(std::string(e.what()) == "open(/nonexistent/berth-file): No such file or directory");
    }
}

TEST_CASE("with_context keeps the error kind and adds what we were doing") {
    try {
        with_context("starting web", [] { throw_error(Errc::conflict, "port is already allocated"); });
        FAIL("should have thrown");
    } catch (const Error& e) {
        CHECK(e.kind() == Errc::conflict);
        CHECK(std::string(e.what()) == "starting web: port is already allocated");
    }
}

TEST_CASE("sha256 of known input") {
    CHECK(sys::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sys::sha256_digest("abc") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
