#include <catch2/catch.hpp>

#include "images/source.hpp"
#include "sys/error.hpp"
#include "sys/sha256.hpp"
#include "unit/images/tar_builder.hpp"

using namespace berth;
using namespace berth::images;

namespace {
std::string read_all(Source& s) {
    std::string out;
    char buf[1000];  // small reads exercise the buffering
    while (size_t n = s.read(buf, sizeof buf)) out.append(buf, n);
    return out;
}
std::string payload() {
    std::string s;
    for (int i = 0; i < 200000; ++i) s += std::to_string(i * 7919 % 1000);
    return s;
}
Errc failure(const std::string& data) {
    MemorySource m(data);
    try {
        DecompressingSource d(m, "test data");
        read_all(d);
    } catch (const berth::Error& e) {
        return e.kind();
    }
    return Errc::failed;
}
}  // namespace

TEST_CASE("plain, gzip and zstd streams decompress to the same bytes") {
    auto data = payload();
    for (auto& [input, comp] : std::vector<std::pair<std::string, Compression>>{
             {data, Compression::none}, {berth_test::gzip(data), Compression::gzip}, {berth_test::zstd(data), Compression::zstd}}) {
        MemorySource m(input);
        DecompressingSource d(m, "test");
        CHECK(d.compression() == comp);
        CHECK(read_all(d) == data);
    }
}

TEST_CASE("concatenated gzip members are one stream") {
    std::string two = berth_test::gzip("hello ") + berth_test::gzip("world");
    MemorySource m(two);
    DecompressingSource d(m, "test");
    CHECK(read_all(d) == "hello world");
}

TEST_CASE("truncated or corrupt compressed streams are errors, not short data") {
    auto data = payload();
    auto gz = berth_test::gzip(data);
    auto zs = berth_test::zstd(data);
    CHECK(failure(gz.substr(0, gz.size() / 2)) == Errc::corrupt);
    CHECK(failure(gz.substr(0, gz.size() - 4)) == Errc::corrupt);  // trailer cut
    CHECK(failure(zs.substr(0, zs.size() / 2)) == Errc::corrupt);
    std::string flipped = gz;
    flipped[flipped.size() / 2] ^= 0x55;
    CHECK(failure(flipped) == Errc::corrupt);
    CHECK(failure(gz + "garbage") == Errc::corrupt);
    CHECK(failure(std::string("\xfd" "7zXZ\0rest", 10)) == Errc::unsupported);
    CHECK(failure("BZh91AY&SY") == Errc::unsupported);
}

TEST_CASE("hashing and tee sources see every byte") {
    std::string data = payload();
    MemorySource m(data);
    HashingSource h(m);
    CHECK(read_all(h) == data);
    CHECK(h.count() == data.size());
    CHECK(h.digest() == sys::sha256_digest(data));
}
