#include "runtime/pty.hpp"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "sys/error.hpp"

namespace berth::runtime {

void send_fd(int sock, int fd) {
    char byte = 'F';
    iovec iov{&byte, 1};
    alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = buf;
    msg.msg_controllen = sizeof buf;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    if (sys::retry_eintr([&] { return ::sendmsg(sock, &msg, MSG_NOSIGNAL); }) < 0) sys::throw_errno("sendmsg", "SCM_RIGHTS");
}

sys::unique_fd recv_fd(int sock) {
    char byte;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = buf;
    msg.msg_controllen = sizeof buf;
    ssize_t n = sys::retry_eintr([&] { return ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); });
    if (n < 0) sys::throw_errno("recvmsg", "SCM_RIGHTS");
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (n == 0 || !c || c->cmsg_type != SCM_RIGHTS) throw Error(Errc::failed, "no file descriptor received");
    int fd;
    std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return sys::unique_fd(fd);
}

void set_winsize(int tty_fd, unsigned short rows, unsigned short cols) {
    winsize ws{};
    ws.ws_row = rows;
    ws.ws_col = cols;
    if (::ioctl(tty_fd, TIOCSWINSZ, &ws) < 0) sys::throw_errno("ioctl", "TIOCSWINSZ");
}

RawTerminal::RawTerminal(int fd) : fd_(fd) {
    if (!::isatty(fd) || ::tcgetattr(fd, &saved_) < 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    raw.c_oflag = saved_.c_oflag;  // keep output processing, as docker's client does
    if (::tcsetattr(fd, TCSANOW, &raw) == 0) active_ = true;
}

RawTerminal::~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
}

}  // namespace berth::runtime
