#pragma once
// Passing fds over unix sockets (SCM_RIGHTS) and terminal helpers for consoles.
#include <termios.h>

#include "sys/fd.hpp"

namespace berth::runtime {

void send_fd(int sock, int fd);
sys::unique_fd recv_fd(int sock);  // throws if the peer closed without sending one

void set_winsize(int tty_fd, unsigned short rows, unsigned short cols);

// Puts a terminal in raw mode for the life of the object (docker run -it on the client side).
class RawTerminal {
public:
    explicit RawTerminal(int fd);
    ~RawTerminal();
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;

private:
    int fd_;
    bool active_ = false;
    termios saved_{};
};

}  // namespace berth::runtime
