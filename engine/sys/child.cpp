#include "sys/child.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <exception>

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

}  // namespace berth::sys
