#include "cgroups/device_filter.hpp"

#include <climits>

#include "sys/error.hpp"

namespace berth::cgroups::detail {

namespace {

// Registers: r1 = ctx; r2 = access bits; r3 = device type; r4 = major; r5 = minor; r6 scratch.
bpf_insn insn(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off, std::int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

bpf_insn load_ctx_u32(std::uint8_t dst, std::int16_t off) {
    return insn(BPF_LDX | BPF_W | BPF_MEM, dst, 1, off, 0);
}
bpf_insn mov_reg(std::uint8_t dst, std::uint8_t src) {
    return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn mov_imm(std::uint8_t dst, std::int32_t imm) {
    return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
bpf_insn and_imm(std::uint8_t dst, std::int32_t imm) {
    return insn(BPF_ALU64 | BPF_AND | BPF_K, dst, 0, 0, imm);
}
bpf_insn rsh_imm(std::uint8_t dst, std::int32_t imm) {
    return insn(BPF_ALU64 | BPF_RSH | BPF_K, dst, 0, 0, imm);
}
bpf_insn jne_imm(std::uint8_t dst, std::int32_t imm) {
    return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, 0, imm);
}
bpf_insn jeq_imm(std::uint8_t dst, std::int32_t imm) {
    return insn(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, 0, imm);
}
bpf_insn exit_insn() {
    return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

std::int32_t access_bits(const DeviceRule& r) {
    std::int32_t bits = 0;
    for (char c : r.access) {
        switch (c) {
            case 'r':
                bits |= BPF_DEVCG_ACC_READ;
                break;
            case 'w':
                bits |= BPF_DEVCG_ACC_WRITE;
                break;
            case 'm':
                bits |= BPF_DEVCG_ACC_MKNOD;
                break;
            default:
                throw_error(Errc::invalid, "device rule \"" + r.to_string() + "\": access must be of r, w, m");
        }
    }
    if (bits == 0) throw_error(Errc::invalid, "device rule \"" + r.to_string() + "\": no access given");
    return bits;
}

constexpr std::int32_t kAllAccess = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

}  // namespace

std::vector<bpf_insn> device_filter(const std::vector<DeviceRule>& rules) {
    std::vector<bpf_insn> prog = {
        load_ctx_u32(2, offsetof(bpf_cgroup_dev_ctx, access_type)),
        mov_reg(3, 2),
        and_imm(3, 0xffff),  // type in the low 16 bits
        rsh_imm(2, 16),      // access in the high 16
        load_ctx_u32(4, offsetof(bpf_cgroup_dev_ctx, major)),
        load_ctx_u32(5, offsetof(bpf_cgroup_dev_ctx, minor)),
    };
    bool ends = false;  // an unconditional rule was emitted: the verifier rejects code after it
    for (auto it = rules.rbegin(); it != rules.rend() && !ends; ++it) {
        const DeviceRule& r = *it;
        const std::int32_t acc = access_bits(r);
        if (r.major > INT32_MAX || r.minor > INT32_MAX) {
            throw_error(Errc::invalid, "device rule \"" + r.to_string() + "\": device number out of range");
        }
        std::vector<bpf_insn> block;
        std::vector<std::size_t> jumps;  // to the end of the block: "this rule does not match"
        auto skip_unless = [&](bpf_insn j) {
            jumps.push_back(block.size());
            block.push_back(j);
        };
        switch (r.type) {
            case 'a':
                break;
            case 'c':
                skip_unless(jne_imm(3, BPF_DEVCG_DEV_CHAR));
                break;
            case 'b':
                skip_unless(jne_imm(3, BPF_DEVCG_DEV_BLOCK));
                break;
            default:
                throw_error(Errc::invalid, "device rule \"" + r.to_string() + "\": type must be a, b or c");
        }
        if (r.type != 'a' && r.major >= 0) skip_unless(jne_imm(4, static_cast<std::int32_t>(r.major)));
        if (r.type != 'a' && r.minor >= 0) skip_unless(jne_imm(5, static_cast<std::int32_t>(r.minor)));
        if (r.allow && acc != kAllAccess) {
            block.push_back(mov_reg(6, 2));
            block.push_back(and_imm(6, ~acc & kAllAccess));
            skip_unless(jne_imm(6, 0));  // asks for something the rule does not give
        } else if (!r.allow && acc != kAllAccess) {
            block.push_back(mov_reg(6, 2));
            block.push_back(and_imm(6, acc));
            skip_unless(jeq_imm(6, 0));  // asks for nothing the rule takes away
        }
        ends = jumps.empty();
        block.push_back(mov_imm(0, r.allow ? 1 : 0));
        block.push_back(exit_insn());
        for (auto j : jumps) block[j].off = static_cast<std::int16_t>(block.size() - j - 1);
        prog.insert(prog.end(), block.begin(), block.end());
    }
    if (!ends) {
        prog.push_back(mov_imm(0, 0));
        prog.push_back(exit_insn());
    }
    return prog;
}

}  // namespace berth::cgroups::detail
