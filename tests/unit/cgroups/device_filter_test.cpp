// The v2 device filter: the generated BPF program, run by a small interpreter of the
// instructions it uses, must decide like the v1 devices cgroup would for Docker's rule lists.
#include "cgroups/device_filter.hpp"

#include <catch2/catch.hpp>
#include <cstring>

#include "sys/error.hpp"

using namespace berth;
using namespace berth::cgroups;
using berth::cgroups::detail::device_filter;

namespace {

// Runs prog on one access. Only the instruction forms device_filter() emits are accepted;
// anything else fails the test. Also checks that every path ends in EXIT within the program.
int run(const std::vector<bpf_insn>& prog, int type, int access, std::uint32_t major, std::uint32_t minor) {
    bpf_cgroup_dev_ctx ctx{static_cast<std::uint32_t>(access << 16 | type), major, minor};
    std::uint64_t reg[11] = {};
    bool set[11] = {};
    set[1] = true;  // ctx pointer
    std::size_t pc = 0;
    for (int steps = 0; steps < 10000; ++steps) {
        REQUIRE(pc < prog.size());
        const bpf_insn& i = prog[pc++];
        auto src = [&] {
            REQUIRE(set[i.src_reg]);
            return reg[i.src_reg];
        };
        auto dst = [&]() -> std::uint64_t& {
            REQUIRE(set[i.dst_reg]);
            return reg[i.dst_reg];
        };
        switch (i.code) {
            case BPF_LDX | BPF_W | BPF_MEM: {
                REQUIRE(i.src_reg == 1);
                REQUIRE(i.off >= 0);
                REQUIRE(i.off + 4 <= static_cast<int>(sizeof ctx));
                std::uint32_t v;
                std::memcpy(&v, reinterpret_cast<const char*>(&ctx) + i.off, 4);
                reg[i.dst_reg] = v;
                set[i.dst_reg] = true;
                break;
            }
            case BPF_ALU64 | BPF_MOV | BPF_X:
                reg[i.dst_reg] = src();
                set[i.dst_reg] = true;
                break;
            case BPF_ALU64 | BPF_MOV | BPF_K:
                reg[i.dst_reg] = static_cast<std::uint64_t>(static_cast<std::int64_t>(i.imm));
                set[i.dst_reg] = true;
                break;
            case BPF_ALU64 | BPF_AND | BPF_K:
                dst() &= static_cast<std::uint64_t>(static_cast<std::int64_t>(i.imm));
                break;
            case BPF_ALU64 | BPF_RSH | BPF_K:
                dst() >>= i.imm;
                break;
            case BPF_JMP | BPF_JNE | BPF_K:
                if (dst() != static_cast<std::uint64_t>(static_cast<std::int64_t>(i.imm))) pc += i.off;
                break;
            case BPF_JMP | BPF_JEQ | BPF_K:
                if (dst() == static_cast<std::uint64_t>(static_cast<std::int64_t>(i.imm))) pc += i.off;
                break;
            case BPF_JMP | BPF_EXIT:
                REQUIRE(set[0]);
                return static_cast<int>(reg[0]);
            default:
                FAIL("unexpected BPF instruction code " << int(i.code));
        }
    }
    FAIL("program did not exit");
    return -1;
}

constexpr int C = BPF_DEVCG_DEV_CHAR;
constexpr int B = BPF_DEVCG_DEV_BLOCK;
constexpr int R = BPF_DEVCG_ACC_READ;
constexpr int W = BPF_DEVCG_ACC_WRITE;
constexpr int M = BPF_DEVCG_ACC_MKNOD;

}  // namespace

TEST_CASE("device filter for Docker's defaults allows the usual nodes and nothing else") {
    auto prog = device_filter(default_device_rules());
    CHECK(prog.back().code == (BPF_JMP | BPF_EXIT));
    CHECK(run(prog, C, R | W, 1, 3) == 1);    // /dev/null
    CHECK(run(prog, C, R, 1, 9) == 1);        // /dev/urandom
    CHECK(run(prog, C, R | W, 136, 7) == 1);  // /dev/pts/7
    CHECK(run(prog, C, R | W, 10, 200) == 1);
    CHECK(run(prog, C, R | W, 5, 2) == 1);  // /dev/ptmx
    CHECK(run(prog, C, R, 1, 11) == 0);     // /dev/kmsg
    CHECK(run(prog, C, R, 1, 1) == 0);      // /dev/mem
    CHECK(run(prog, C, M, 1, 1) == 1);      // mknod c *:* is allowed
    CHECK(run(prog, C, M | R, 1, 1) == 0);  // but not mknod and read together
    CHECK(run(prog, B, M, 8, 0) == 1);
    CHECK(run(prog, B, R, 8, 0) == 0);     // /dev/sda
    CHECK(run(prog, B, R, 1, 3) == 0);     // a block device with /dev/null's numbers
    CHECK(run(prog, C, R, 10, 229) == 0);  // /dev/fuse is not in Docker's list
}

TEST_CASE("device filter: later rules win, deny rules take away only their access") {
    auto rules = default_device_rules();
    rules.push_back({false, 'c', 1, 3, "w"});  // then deny writing /dev/null
    rules.push_back({true, 'b', 8, -1, "r"});  // and allow reading any 8:*
    auto prog = device_filter(rules);
    CHECK(run(prog, C, R, 1, 3) == 1);
    CHECK(run(prog, C, W, 1, 3) == 0);
    CHECK(run(prog, C, R | W, 1, 3) == 0);
    CHECK(run(prog, B, R, 8, 16) == 1);
    CHECK(run(prog, B, R | W, 8, 16) == 0);
}

TEST_CASE("device filter: allow-all, and nothing matching denies") {
    auto all = device_filter({{true, 'a', -1, -1, "rwm"}});
    CHECK(run(all, B, R | W | M, 8, 0) == 1);
    CHECK(all.size() == 8);  // 6 loads + "r0 = 1; exit", nothing unreachable after it

    auto one = device_filter({{true, 'c', 1, 3, "rw"}});
    CHECK(run(one, C, R, 1, 3) == 1);
    CHECK(run(one, C, M, 1, 3) == 0);
    CHECK(run(one, C, R, 1, 5) == 0);
    CHECK(run(device_filter({}), C, R, 1, 3) == 0);
}

TEST_CASE("device filter rejects rules it cannot express") {
    CHECK_THROWS_AS(device_filter({{true, 'x', 1, 3, "r"}}), Error);
    CHECK_THROWS_AS(device_filter({{true, 'c', 1, 3, "rq"}}), Error);
    CHECK_THROWS_AS(device_filter({{true, 'c', 1LL << 33, 3, "r"}}), Error);
}
