#include <catch2/catch.hpp>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "sys/child.hpp"
#include "sys/fd.hpp"

using namespace berth;

namespace {
// Waits up to 5 s for fd to be readable.
bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 5000) == 1;
}
}  // namespace

TEST_CASE("run_orphan runs fn in a process that is not our child, with only the kept fds") {
    int sp[2], pp[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0);
    REQUIRE(::pipe2(pp, O_CLOEXEC) == 0);
    sys::unique_fd ours(sp[0]), theirs(sp[1]), pipe_r(pp[0]), pipe_w(pp[1]);
    pid_t parent = ::getpid();
    sys::run_orphan(
        [&] {
            // Report the signal mask and parent, then wait for our go before exiting, so that
            // the pipe's write end (not kept) is known to be closed while the orphan still runs.
            sigset_t mask;
            ::sigprocmask(SIG_BLOCK, nullptr, &mask);
            int report[2] = {sigismember(&mask, SIGTERM), ::getppid() == parent};
            [[maybe_unused]] auto n = ::send(theirs.get(), report, sizeof report, MSG_NOSIGNAL);
            char go;
            n = ::recv(theirs.get(), &go, 1, 0);
        },
        {theirs.get()});
    theirs.reset();
    REQUIRE(readable(ours.get()));
    int report[2] = {-1, -1};
    REQUIRE(::recv(ours.get(), report, sizeof report, 0) == sizeof report);
    CHECK(report[0] == 1);  // every signal blocked
    CHECK(report[1] == 0);  // we are not its parent
    // The middle process is reaped already, and the orphan is nobody's child of ours.
    CHECK(::waitpid(-1, nullptr, WNOHANG) == -1);
    CHECK(errno == ECHILD);
    // It holds no copy of the pipe: closing ours gives the reader EOF at once.
    pipe_w.reset();
    REQUIRE(readable(pipe_r.get()));
    char c;
    CHECK(::read(pipe_r.get(), &c, 1) == 0);
    // Its kept end goes when it exits.
    REQUIRE(::send(ours.get(), "x", 1, MSG_NOSIGNAL) == 1);
    REQUIRE(readable(ours.get()));
    CHECK(::recv(ours.get(), &c, 1, 0) == 0);
}
