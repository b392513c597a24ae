#include "shim/init.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace berth::shim {

int run_init(int argc, char** argv) {
    int first = 1;
    if (first < argc && std::strcmp(argv[first], "--") == 0) ++first;
    if (first >= argc) {
        std::fprintf(stderr, "docker-init: no command given\n");
        return 125;
    }
    sigset_t all, old;
    sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, &old);

    pid_t child = ::fork();
    if (child < 0) {
        std::perror("docker-init: fork");
        return 125;
    }
    if (child == 0) {
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        ::execvp(argv[first], argv + first);
        std::fprintf(stderr, "docker-init: exec %s: %s\n", argv[first], std::strerror(errno));
        ::_exit(errno == ENOENT ? 127 : 126);
    }
    for (;;) {
        siginfo_t si;
        int sig = ::sigwaitinfo(&all, &si);
        if (sig < 0) continue;
        if (sig != SIGCHLD) {
            // Everything else goes to the command (tini's default; SIGKILL/SIGSTOP cannot be caught).
            ::kill(child, sig);
            continue;
        }
        for (;;) {
            int status;
            pid_t p = ::waitpid(-1, &status, WNOHANG);
            if (p <= 0) break;
            if (p == child) {
                if (WIFEXITED(status)) return WEXITSTATUS(status);
                return 128 + WTERMSIG(status);
            }
        }
    }
}

}  // namespace berth::shim
