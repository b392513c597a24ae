#include "sys/child.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <vector>

#include "sys/error.hpp"
#include "sys/fs.hpp"

namespace berth::sys {

Child fork_child(const std::function<void()>& fn, std::initializer_list<int> close_in_child) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) throw_errno("pipe2");
    unique_fd r(p[0]), w(p[1]);
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        r.reset();
        for (int fd : close_in_child) ::close(fd);
        try {
            fn();
            ::_exit(0);
        } catch (const std::exception& e) {
            std::string msg = e.what();
            if (msg.empty()) msg = "failed";
            [[maybe_unused]] auto n = ::write(w.get(), msg.data(), msg.size());
            ::_exit(1);
        }
    }
    return Child{pid, std::move(r)};
}

std::string wait_child(Child& c, std::string_view what) {
    std::string err = read_fd(c.errors.get());
    c.errors.reset();
    int status = 0;
    retry_eintr([&] { return ::waitpid(c.pid, &status, 0); });
    c.pid = -1;
    if (!err.empty()) return err;
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        return std::string(what) + " failed: exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string(what) + " failed: killed by signal " + std::to_string(WTERMSIG(status));
    return "";
}

void check_child(Child& c, std::string_view what) {
    auto err = wait_child(c, what);
    if (!err.empty()) throw berth::Error(Errc::failed, err);
}

void run_in_child(const std::function<void()>& fn, std::string_view what) {
    auto c = fork_child(fn);
    check_child(c, what);
}

namespace {

struct OrphanCall {
    const std::function<void()>* fn;
    std::vector<int> keep;  // sorted
    int err = 0;
};

void close_all_but(const std::vector<int>& keep) {
    unsigned from = 0;
    for (int fd : keep) {
        if (static_cast<unsigned>(fd) > from) ::syscall(SYS_close_range, from, static_cast<unsigned>(fd) - 1, 0u);
        from = static_cast<unsigned>(fd) + 1;
    }
    ::syscall(SYS_close_range, from, ~0u, 0u);
}

// The middle: runs in our memory while we wait (CLONE_VFORK), so it makes the copy with a bare
// clone3 (glibc's fork() would run its atfork handlers on our locks) and exits. Not instrumented
// by ASan, which cannot follow an exit from a stack of our own making.
__attribute__((no_sanitize("address"))) int orphan_middle(void* arg) {
    auto* call = static_cast<OrphanCall*>(arg);
    clone_args ca{};
    ca.exit_signal = SIGCHLD;
    long pid = ::syscall(SYS_clone3, &ca, sizeof ca);
    // Seccomp profiles that make glibc fall back (Docker's default, for berth run in a
    // container) refuse clone3 with ENOSYS: the same copy with clone (no stack: the copy's own).
    if (pid < 0 && errno == ENOSYS) pid = ::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        close_all_but(call->keep);
        try {
            (*call->fn)();
        } catch (...) {
        }
        ::_exit(0);
    }
    if (pid < 0) call->err = errno;
    ::_exit(0);
}

}  // namespace

int run_middle(int (*fn)(void*), void* arg, std::string_view what) {
    constexpr size_t kStack = 64 * 1024;
    void* stack = ::mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) throw_errno("mmap", "a stack for " + std::string(what));
    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t mid = ::clone(fn, static_cast<char*>(stack) + kStack, CLONE_VM | CLONE_VFORK | SIGCHLD, arg);
    int clone_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ::munmap(stack, kStack);
    if (mid < 0) throw Error(clone_errno, "clone", std::string(what));
    int status = 0;
    retry_eintr([&] { return ::waitpid(mid, &status, 0); });
    return status;
}

void run_orphan(const std::function<void()>& fn, std::initializer_list<int> keep) {
    OrphanCall call{&fn, std::vector<int>(keep)};
    std::sort(call.keep.begin(), call.keep.end());
    // The copy inherits the middle's mask: every signal blocked.
    run_middle(orphan_middle, &call, "the middle process of an orphan");
    if (call.err) throw Error(call.err, "clone3", "an orphan process");
}

}  // namespace berth::sys
