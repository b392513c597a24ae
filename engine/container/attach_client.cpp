#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "container/start_internal.hpp"
#include "runtime/attach.hpp"
#include "sys/error.hpp"
#include "sys/strings.hpp"

namespace berth::container {

std::string deferred_removals(const std::vector<std::filesystem::path>& trash) {
    std::string out;
    for (auto& t : trash) out += t.string() + "\n";
    return out;
}

unsigned char attach_flags(const StartOptions& opts) {
    unsigned char f = runtime::kAttachStdout | runtime::kAttachStderr;
    if (opts.attach_stdin) f |= runtime::kAttachStdin;
    return f;
}

namespace {
void send_size(int sock) {
    winsize ws{};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
        runtime::write_frame(sock, 'R', std::to_string(ws.ws_row) + " " + std::to_string(ws.ws_col));
}
}  // namespace

AttachEnd stream_attach(int sock, const StartOptions& opts) {
    sigset_t mask, old;
    sigemptyset(&mask);
    sigaddset(&mask, SIGWINCH);
    if (!opts.tty) {
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
    }
    ::sigprocmask(SIG_BLOCK, &mask, &old);
    sys::unique_fd sfd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    struct Restore {
        sigset_t old;
        ~Restore() { ::sigprocmask(SIG_SETMASK, &old, nullptr); }
    } restore{old};

    if (opts.tty) send_size(sock);
    runtime::FrameReader reader;
    bool stdin_open = opts.attach_stdin && opts.stdin_fd >= 0;
    for (;;) {
        pollfd pfds[3] = {{sock, POLLIN, 0}, {sfd.get(), POLLIN, 0}, {stdin_open ? opts.stdin_fd : -1, POLLIN, 0}};
        if (::poll(pfds, 3, -1) < 0) {
            if (errno == EINTR) continue;
            sys::throw_errno("poll");
        }
        if (pfds[1].revents) {
            signalfd_siginfo si;
            while (::read(sfd.get(), &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGWINCH) send_size(sock);
                else runtime::write_frame(sock, 'K', std::to_string(si.ssi_signo));
            }
        }
        if (pfds[2].revents) {
            char buf[32768];
            ssize_t n = ::read(opts.stdin_fd, buf, sizeof buf);
            if (n > 0) {
                runtime::write_frame(sock, '0', std::string_view(buf, static_cast<size_t>(n)));
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                runtime::write_frame(sock, 'Z');
                stdin_open = false;
            }
        }
        if (pfds[0].revents) {
            char buf[65536];
            ssize_t n = ::read(sock, buf, sizeof buf);
            if (n < 0) {
                if (errno == EINTR || errno == EAGAIN) continue;
                sys::throw_errno("read", "shim socket");
            }
            if (n == 0) throw Error(Errc::failed, "lost the connection to the container's shim");
            reader.feed(buf, static_cast<size_t>(n));
            while (auto f = reader.next()) {
                if (f->type == '1' || f->type == '2') {
                    if (opts.on_output) opts.on_output(f->type - '0', f->data);
                } else if (f->type == 'E' || f->type == 'C') {
                    return {static_cast<int>(str::parse_int(f->data).value_or(0)), f->type == 'C'};
                }
            }
        }
    }
}

}  // namespace berth::container
