#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

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
    CHECK(sys::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("sha256_hex of small inputs (built in) agrees with the streaming hasher (OpenSSL)") {
    std::string data;
    for (size_t i = 0; i < 300'000; ++i) data += static_cast<char>((i * 131 + i / 7) & 0xff);
    // Every padding case (55/56/63/64 bytes and around), then sizes on both sides of the switch.
    std::vector<size_t> sizes;
    for (size_t n = 0; n <= 200; ++n) sizes.push_back(n);
    for (size_t n : {1000UL, 65543UL, 256UL * 1024 - 1, 256UL * 1024, 256UL * 1024 + 1, 300'000UL}) sizes.push_back(n);
    for (size_t n : sizes) {
        sys::Sha256 h;
        h.update(data.data(), n);
        INFO("size " << n);
        CHECK(sys::sha256_hex(std::string_view(data).substr(0, n)) == h.hex_digest());
    }
}
