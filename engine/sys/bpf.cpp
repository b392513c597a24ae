#include "sys/bpf.hpp"

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "sys/error.hpp"

namespace berth::sys {

namespace {
long bpf(int cmd, bpf_attr* attr) {
    return ::syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}
}  // namespace

unique_fd bpf_prog_load(std::uint32_t prog_type, const bpf_insn* insns, std::size_t count, const char* license) {
    char log[4096];
    auto attempt = [&](bool with_log) {
        bpf_attr attr;
        std::memset(&attr, 0, sizeof attr);
        attr.prog_type = prog_type;
        attr.insns = reinterpret_cast<std::uintptr_t>(insns);
        attr.insn_cnt = static_cast<std::uint32_t>(count);
        attr.license = reinterpret_cast<std::uintptr_t>(license);
        if (with_log) {
            log[0] = '\0';
            attr.log_buf = reinterpret_cast<std::uintptr_t>(log);
            attr.log_size = sizeof log;
            attr.log_level = 1;
        }
        return static_cast<int>(retry_eintr([&] { return bpf(BPF_PROG_LOAD, &attr); }));
    };
    int fd = attempt(false);
    if (fd >= 0) return unique_fd(fd);  // the kernel makes BPF fds O_CLOEXEC
    int err = errno;
    // Load again with the verifier's log to say why (the log costs time, so only on failure).
    std::string why = "BPF_PROG_LOAD, " + std::to_string(count) + " insns";
    if (err == EACCES || err == EINVAL) {
        int again = attempt(true);
        if (again >= 0) {
            ::close(again);
        } else if (log[0] != '\0') {
            log[sizeof log - 1] = '\0';
            std::string text(log);
            while (!text.empty() && text.back() == '\n') text.pop_back();
            why += ", verifier: " + text;
        }
    }
    throw_errno("bpf", why, err);
}

void bpf_prog_attach(int target_fd, int prog_fd, std::uint32_t attach_type, std::uint32_t flags) {
    bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.target_fd = static_cast<std::uint32_t>(target_fd);
    attr.attach_bpf_fd = static_cast<std::uint32_t>(prog_fd);
    attr.attach_type = attach_type;
    attr.attach_flags = flags;
    if (retry_eintr([&] { return bpf(BPF_PROG_ATTACH, &attr); }) < 0) {
        throw_errno("bpf", "BPF_PROG_ATTACH, type " + std::to_string(attach_type));
    }
}

}  // namespace berth::sys
