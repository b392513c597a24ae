#pragma once
// The embedded DNS server of user-defined networks, as the engine sees it (DESIGN.md "Process
// model": per-host networking services run in one small helper started on demand).
//
// One server process per berth root: `berth system dns-serve` (hidden), detached from whoever
// started it (setsid + double fork, stdin from /dev/null, stdout/stderr appended to
// <run>/dns/server.log). It holds an exclusive flock on <run>/dns/lock for its whole life, so
// at most one runs per root and "is it running?" is a non-blocking flock test; its pid is in
// <run>/dns/pid. It listens on UDP and TCP port 53 of every user network's gateway, answers
// names from the network store as it is now (dns_names.hpp, dns_query.hpp), forwards the rest to
// the host's resolvers (dns_upstream.hpp), and exits by itself once no user network of the root
// has an endpoint left for a few seconds.
//
// The engine's part:
//   1. attach the container to its networks (network.hpp);
//   2. ensure_dns_server(paths): starts the server if it is not running and waits (bounded) until
//      it listens, or tells the running one to reload and waits (bounded) for it, so the new
//      name answers before the container's first query (a start asks with
//      ensure_dns_server_async and waits just before it starts the shim);
//   3. write the container's /etc/resolv.conf with `nameserver <gateway of its first user
//      network>` (plus --dns-search/--dns-option lines, and `options ndots:0` as Docker does);
//   4. with --dns, write <run>/containers/<id>/dns.json as {"servers": [...]} (the server then
//      forwards that container's other names there instead of the host's resolvers);
//   5. after detach (container gone for good), notify_dns_server(paths), so the name stops
//      answering at once (the server also sees the store change by itself, see below).
// Do not call these while holding the network store's lock: the server may take that lock to
// read the store (the first use of a root), so the call would wait for its timeout.
//
// The server watches <root>/networks and <run>/networks with inotify and also re-reads the store
// every few seconds, so answers follow containers coming and going even without a notify.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "network/dns_upstream.hpp"
#include "store/paths.hpp"
#include "sys/fd.hpp"

namespace berth::network {

// <run>/dns: lock, pid, control.sock, server.log.
std::filesystem::path dns_run_dir(const store::Paths& paths);

// How ensure_dns_server() starts the server: `<exe> --root R --run-dir D system dns-serve
// <extra_args...>`. The default exe is the running berth (/proc/self/exe); tests pass the berth
// they built, or arguments such as --upstream/--port for `dns-serve`.
struct DnsLaunch {
    std::string exe;  // "" = /proc/self/exe
    std::vector<std::string> extra_args;
    std::chrono::milliseconds ready_timeout{2000};  // how long to wait for it to listen
};

// A re-read of the store asked of the running server, whose answer is waited for later: the
// caller's own work in between overlaps the server's (a start's spec and /etc files, a
// cleanup's cgroup and directories). Moves only; destroying it without wait() lets go of the
// answer (the server re-reads all the same).
class DnsReload {
public:
    DnsReload() = default;
    // control: the connection the request went out on, its receive timeout set.
    explicit DnsReload(sys::unique_fd control) : fd_(std::move(control)) {}
    DnsReload(DnsReload&&) noexcept = default;
    DnsReload& operator=(DnsReload&&) noexcept = default;
    // Waits, at most the timeout, for the server to have re-read the store. True then, and
    // when nothing is pending (no server ran, or the request was deferred or already answered).
    bool wait();
    bool pending() const { return bool(fd_); }

private:
    sys::unique_fd fd_;
    bool failed_ = false;
};

// Starts the server for this root unless it runs; then returns once it answers for the store as
// it is now, or after a bounded wait (the container start path calls this). Cheap when it runs:
// a flock test and one round trip on its control socket. Throws sys::Error when it cannot
// fork/exec; a server that starts but fails is reported in its log, not here.
void ensure_dns_server(const store::Paths& paths, const DnsLaunch& launch = {});
// The same, but a running server's re-read is waited for by the caller (DnsReload::wait). A
// server this starts has read the store before it returns.
DnsReload ensure_dns_server_async(const store::Paths& paths, const DnsLaunch& launch = {});

// Asks the running server (if any) to re-read the store now and waits, at most timeout, until it
// has. Returns false when no server runs (or it did not answer in time).
bool notify_dns_server(const store::Paths& paths, std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));
// The same, waited for by the caller; deferred under a DnsNotifyBatch as notify_dns_server is.
DnsReload notify_dns_server_async(const store::Paths& paths,
                                  std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));

// While one lives, notify_dns_server() for this root only notes that a re-read is owed and
// returns true at once; when the last one ends it sends that one notify (and waits for it).
// compose down removes many containers: each removal waiting for the server to re-read the whole
// store would put a re-read per container on its path, while their names may as well stop
// answering together, before down returns. ensure_dns_server() (a start) is never deferred: a
// started container's name answers before the start returns.
class DnsNotifyBatch {
public:
    explicit DnsNotifyBatch(const store::Paths& paths);
    ~DnsNotifyBatch();
    DnsNotifyBatch(const DnsNotifyBatch&) = delete;
    DnsNotifyBatch& operator=(const DnsNotifyBatch&) = delete;

private:
    store::Paths paths_;
};

// True while a server holds this root's lock.
bool dns_server_running(const store::Paths& paths);

// Stops the root's server (SIGTERM, waiting at most timeout for it to let go of its lock), for
// tests and uninstall. Returns false when none was running.
bool stop_dns_server(const store::Paths& paths, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// What `berth system dns-serve` runs.
struct DnsServeOptions {
    std::optional<std::vector<dns::Upstream>> upstreams;  // instead of resolv_conf's nameservers
    std::string resolv_conf = "/etc/resolv.conf";
    std::uint16_t port = 53;
    std::chrono::milliseconds idle_exit{5000};  // 0 = never exit by itself
    int ready_fd = -1;  // written ("1") and closed once listening (ensure_dns_server's pipe)
    bool log_queries = false;
};

// Takes the root's lock (returns 0 at once if another server holds it), writes the pid file and
// serves in the foreground until SIGTERM/SIGINT or idle exit. On idle it closes its sockets,
// lets go of the lock and looks at the store once more, so an ensure_dns_server() racing with
// the exit either sees the lock free and starts a new server, or this one carries on.
// Returns the process exit code.
int run_dns_server(const store::Paths& paths, const DnsServeOptions& opts);

}  // namespace berth::network
