#pragma once
// Test helpers: processes inside a netns (forked children that setns, with timeouts), tiny TCP
// and UDP servers, and clients with timeouts. Every wait is bounded.
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace nettest {

// Polls f every 20 ms until it is true or the time is up.
bool eventually(const std::function<bool()>& f, std::chrono::milliseconds limit = std::chrono::seconds(5));

// Runs f in a forked child switched into netns_fd (or the host's when -1); the child's exit
// code is f's return value; killed after the timeout (returns -1 then).
int run_in(int netns_fd, const std::function<int()>& f, std::chrono::milliseconds limit = std::chrono::seconds(8));

// busybox ping -c 1 -W 1 inside the namespace; true when a reply came back.
bool ping(int netns_fd, const std::string& ip);

// A child process serving in a netns until killed: TCP replies `reply` to every connection,
// UDP answers each datagram with `reply` + the datagram.
class Server {
public:
    enum Kind { tcp, udp };
    Server(int netns_fd, Kind kind, int port, std::string reply);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

private:
    pid_t pid_ = -1;
};

// Connects (2 s timeout), reads the reply to EOF; nullopt on any failure.
std::optional<std::string> tcp_fetch(const std::string& ip, int port);
// Sends one datagram and waits 1 s for the answer.
std::optional<std::string> udp_ask(const std::string& ip, int port, const std::string& msg);

// A port nothing on the host listens on now (bound to 0 and released).
int free_port();

}  // namespace nettest
