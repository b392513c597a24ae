#pragma once
// A classic-BPF interpreter for seccomp programs (the subset the kernel accepts for seccomp,
// Documentation/userspace-api/seccomp_filter.rst): runs a compiled filter on one syscall so
// tests can ask what the kernel would answer, without installing anything.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <string>

namespace berth_test {

#if defined(__x86_64__)
constexpr std::uint32_t kNativeAudit = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr std::uint32_t kNativeAudit = AUDIT_ARCH_AARCH64;
#else
constexpr std::uint32_t kNativeAudit = 0;
#endif

inline std::uint32_t run_seccomp(const std::string& blob, int nr, std::initializer_list<std::uint64_t> args = {},
                                 std::uint32_t arch = kNativeAudit) {
    seccomp_data d{};
    d.nr = nr;
    d.arch = arch;
    int i = 0;
    for (auto a : args) d.args[i++] = a;
    const auto* prog = reinterpret_cast<const sock_filter*>(blob.data());
    size_t len = blob.size() / sizeof(sock_filter);
    std::uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = {};
    for (size_t pc = 0; pc < len; ++pc) {
        const sock_filter& in = prog[pc];
        std::uint32_t src = BPF_SRC(in.code) == BPF_X ? X : in.k;
        switch (BPF_CLASS(in.code)) {
            case BPF_LD:
            case BPF_LDX: {
                std::uint32_t v = 0;
                switch (BPF_MODE(in.code)) {
                    case BPF_ABS:
                        if (BPF_SIZE(in.code) != BPF_W || in.k % 4 || in.k + 4 > sizeof d) throw std::runtime_error("bad load");
                        std::memcpy(&v, reinterpret_cast<const char*>(&d) + in.k, 4);
                        break;
                    case BPF_IMM: v = in.k; break;
                    case BPF_MEM: v = M[in.k % BPF_MEMWORDS]; break;
                    case BPF_LEN: v = sizeof d; break;
                    default: throw std::runtime_error("bad load mode");
                }
                (BPF_CLASS(in.code) == BPF_LD ? A : X) = v;
                break;
            }
            case BPF_ST: M[in.k % BPF_MEMWORDS] = A; break;
            case BPF_STX: M[in.k % BPF_MEMWORDS] = X; break;
            case BPF_ALU:
                switch (BPF_OP(in.code)) {
                    case BPF_ADD: A += src; break;
                    case BPF_SUB: A -= src; break;
                    case BPF_MUL: A *= src; break;
                    case BPF_DIV: A = src ? A / src : 0; break;
                    case BPF_MOD: A = src ? A % src : 0; break;
                    case BPF_OR: A |= src; break;
                    case BPF_AND: A &= src; break;
                    case BPF_XOR: A ^= src; break;
                    case BPF_LSH: A <<= src; break;
                    case BPF_RSH: A >>= src; break;
                    case BPF_NEG: A = -A; break;
                    default: throw std::runtime_error("bad alu op");
                }
                break;
            case BPF_JMP: {
                if (BPF_OP(in.code) == BPF_JA) {
                    pc += in.k;
                    break;
                }
                bool cond;
                switch (BPF_OP(in.code)) {
                    case BPF_JEQ: cond = A == src; break;
                    case BPF_JGT: cond = A > src; break;
                    case BPF_JGE: cond = A >= src; break;
                    case BPF_JSET: cond = (A & src) != 0; break;
                    default: throw std::runtime_error("bad jump");
                }
                pc += cond ? in.jt : in.jf;
                break;
            }
            case BPF_RET: return BPF_RVAL(in.code) == BPF_A ? A : in.k;
            case BPF_MISC:
                if (BPF_MISCOP(in.code) == BPF_TAX) X = A;
                else A = X;
                break;
            default: throw std::runtime_error("bad instruction class");
        }
    }
    throw std::runtime_error("the program ran off its end");
}

constexpr std::uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr std::uint32_t errno_ret(int e) { return SECCOMP_RET_ERRNO | static_cast<std::uint32_t>(e); }

}  // namespace berth_test
