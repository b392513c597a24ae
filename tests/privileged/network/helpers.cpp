#include "helpers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <thread>

namespace nettest {

using namespace std::chrono;

bool eventually(const std::function<bool()>& f, milliseconds limit) {
    auto end = steady_clock::now() + limit;
    for (;;) {
        if (f()) return true;
        if (steady_clock::now() >= end) return false;
        std::this_thread::sleep_for(milliseconds(20));
    }
}

namespace {
int wait_child(pid_t pid, milliseconds limit) {
    auto end = steady_clock::now() + limit;
    int status = 0;
    for (;;) {
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0) return -1;
        if (steady_clock::now() >= end) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(milliseconds(5));
    }
}

void set_timeouts(int fd, int ms) {
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

sockaddr_in addr_of(const std::string& ip, int port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) != 1) throw std::runtime_error("bad ip " + ip);
    return sa;
}
}  // namespace

int run_in(int netns_fd, const std::function<int()>& f, milliseconds limit) {
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) ::_exit(120);
        int rc = 121;
        try {
            rc = f();
        } catch (...) {
        }
        ::_exit(rc);
    }
    return wait_child(pid, limit);
}

bool ping(int netns_fd, const std::string& ip) {
    return run_in(netns_fd, [&] {
               int devnull = ::open("/dev/null", O_WRONLY);
               ::dup2(devnull, 1);
               ::dup2(devnull, 2);
               ::execl("/bin/busybox", "busybox", "ping", "-c", "1", "-W", "1", ip.c_str(), (char*)nullptr);
               return 127;
           }) == 0;
}

Server::Server(int netns_fd, Kind kind, int port, std::string reply) {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        ::close(ready[0]);
        if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) ::_exit(120);
        int fd = ::socket(AF_INET, kind == tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        auto sa = addr_of("0.0.0.0", port);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) ::_exit(121);
        if (kind == tcp && ::listen(fd, 16) != 0) ::_exit(122);
        char ok = 'k';
        if (::write(ready[1], &ok, 1) != 1) ::_exit(123);
        ::close(ready[1]);
        for (;;) {
            if (kind == tcp) {
                int c = ::accept(fd, nullptr, nullptr);
                if (c < 0) continue;
                set_timeouts(c, 2000);
                char buf[256];
                (void)!::recv(c, buf, sizeof buf, MSG_DONTWAIT);
                (void)!::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
                ::shutdown(c, SHUT_RDWR);
                ::close(c);
            } else {
                char buf[512];
                sockaddr_in from{};
                socklen_t fl = sizeof from;
                ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
                if (n < 0) continue;
                std::string out = reply + std::string(buf, static_cast<size_t>(n));
                (void)!::sendto(fd, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
            }
        }
    }
    ::close(ready[1]);
    pollfd p{ready[0], POLLIN, 0};
    char c = 0;
    bool ok = ::poll(&p, 1, 5000) == 1 && ::read(ready[0], &c, 1) == 1 && c == 'k';
    ::close(ready[0]);
    if (!ok) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
        throw std::runtime_error("test server did not start");
    }
}

Server::~Server() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

std::optional<std::string> tcp_fetch(const std::string& ip, int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    auto sa = addr_of(ip, port);
    std::optional<std::string> out;
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    if (rc != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int err = 0;
        socklen_t el = sizeof err;
        if (::poll(&p, 1, 2000) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0) rc = 0;
    }
    if (rc == 0) {
        ::fcntl(fd, F_SETFL, 0);
        set_timeouts(fd, 2000);
        (void)!::send(fd, "GET / HTTP/1.0\r\n\r\n", 18, MSG_NOSIGNAL);
        std::string s;
        char buf[512];
        ssize_t n;
        while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) s.append(buf, static_cast<size_t>(n));
        if (n == 0) out = s;
    }
    ::close(fd);
    return out;
}

std::optional<std::string> udp_ask(const std::string& ip, int port, const std::string& msg) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    set_timeouts(fd, 1000);
    auto sa = addr_of(ip, port);
    std::optional<std::string> out;
    if (::sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == ssize_t(msg.size())) {
        char buf[512];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n >= 0) out = std::string(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
}

int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto sa = addr_of("0.0.0.0", 0);
    ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    socklen_t l = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &l);
    ::close(fd);
    return ntohs(sa.sin_port);
}

}  // namespace nettest
