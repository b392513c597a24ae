#pragma once
// The wire protocol between berth (the CLI) and a container's shim, on the shim's unix socket
// and on the start socket the CLI hands the shim: frames of [type:1][length:4, big endian][data].
//
//   CLI -> shim                          shim -> CLI
//   'A' attach, data = flags (below)     'P' started, data = pid
//   'D' detached start (no streams)      'X' error, data = "<exit code>\n<message>"
//   '0' stdin bytes, 'Z' stdin closed    '1' stdout bytes, '2' stderr bytes
//   'R' resize, data = "<rows> <cols>"   'E' the container exited for good, data = exit code
//   'S' stop, data = "<timeout s>"       'O' ok
//   'K' kill, data = signal number
//   'F' pause (freeze), 'T' unpause      'C' as 'E', and the run's cleanup is this client's
//   'c' the cleanup is done (after 'C'),
//       data = directories it renamed away, one a line, for the shim to delete after it
//
// The CLI that starts a container and stays attached (run without -d, start -a), or one that
// stops it (an 'A' with only kClaimCleanup after its 'S'), claims the cleanup of the run with
// kClaimCleanup: it does the cleanup in-process after 'C' and answers 'c', which spares a
// second berth process per run. A claimant that goes away without 'c' gets
// the spec's exit command run in its place, as every detached container does.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth::runtime {

enum AttachFlags : unsigned char { kAttachStdin = 1, kAttachStdout = 2, kAttachStderr = 4, kClaimCleanup = 8 };

struct Frame {
    char type = 0;
    std::string data;
};

inline constexpr std::uint32_t kMaxFrame = 1 << 20;

// Blocking I/O on a socket; write_frame throws sys::Error, read_frame returns nullopt on EOF
// at a frame boundary and throws on a truncated or oversized frame.
void write_frame(int fd, char type, std::string_view data = {});
std::optional<Frame> read_frame(int fd);

// Incremental decoder for non-blocking readers (the shim's poll loop).
class FrameReader {
public:
    void feed(const char* data, size_t n) { buf_.append(data, n); }
    std::optional<Frame> next();  // throws on an oversized frame

private:
    std::string buf_;
};

std::string encode_frame(char type, std::string_view data);

}  // namespace berth::runtime
