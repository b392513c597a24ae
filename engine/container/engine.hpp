#pragma once
// The container engine as the CLI and the compose executor use it: one object per berth root,
// one method per Docker verb. Every method validates before it changes anything, holds the
// container's lock while it changes it, and undoes what it did when a later step fails.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "container/model.hpp"
#include "container/records.hpp"
#include "store/paths.hpp"
#include "store/state.hpp"

namespace berth::images {
class Store;
}
namespace berth::network {
class Manager;
}
namespace berth::volumes {
class Manager;
}

namespace berth::container {

struct PreparedRun;

// What `create` gets: Docker's flags, already parsed (parse.hpp), before the image's defaults
// are merged in.
struct CreateRequest {
    std::string name;   // "" = a random Docker-style name
    std::string image;  // reference or ID
    std::optional<std::vector<std::string>> cmd;         // nullopt: the image's
    std::optional<std::vector<std::string>> entrypoint;  // nullopt: the image's; empty: none
    std::vector<std::string> env;                        // KEY=VAL, over the image's
    std::optional<std::string> user, working_dir;
    std::string hostname, domainname;
    bool tty = false, open_stdin = false;
    bool attach_stdin = false, attach_stdout = false, attach_stderr = false;
    std::map<std::string, std::string> labels;
    std::vector<std::string> expose;  // "80", "80/udp", "8000-8010"
    std::optional<HealthConfig> healthcheck;  // fields set override the image's
    bool no_healthcheck = false;
    std::string stop_signal;
    std::optional<int> stop_timeout;
    HostConfig host;  // host.mounts holds -v/--mount/--tmpfs as parsed
    // Networks in order (the first gets the default route); empty = host.network_mode.
    std::vector<std::string> networks;
    std::map<std::string, EndpointConfig> endpoints;
    std::string mac_address;
};

struct StartOptions {
    bool attach = false;  // stream output (docker start -a, docker run without -d)
    bool attach_stdin = false;
    // Called with each chunk of output while attached: stream 1 stdout, 2 stderr.
    std::function<void(int stream, std::string_view data)> on_output;
    // Fills stdin while attached (read from the terminal by the caller); returns false at EOF.
    int stdin_fd = -1;
    bool tty = false;  // caller's terminal is a tty (raw mode, resize)
};

struct LogOptions {
    bool follow = false, timestamps = false;
    std::optional<std::int64_t> since, until;  // ns since the epoch
    std::optional<std::int64_t> tail;           // last N lines (per the whole log)
    bool stdout_ = true, stderr_ = true;
};

struct CommitOptions {
    std::string reference;  // REPOSITORY[:TAG], may be empty
    std::string message, author;
    std::vector<std::string> changes;
    bool pause = true;
};

// docker top: ps-like rows of the container's processes.
struct ProcessRow {
    std::string uid, pid, ppid, c, stime, tty, time, cmd;
};

// docker stats: one sample.
struct StatsSample {
    std::int64_t at_ns = 0;
    cgroups::Stats cg;
    std::uint64_t net_rx = 0, net_tx = 0;
};

// docker cp's flags.
struct CopyOptions {
    bool archive = false;      // -a: keep uid/gid from the source
    bool follow_link = false;  // -L: the source path itself is followed when a symlink
};

struct ExecRequest {
    std::vector<std::string> cmd;
    std::vector<std::string> env;
    std::string user, working_dir;
    bool tty = false, interactive = false, detach = false, privileged = false;
    int out_fd = -1, err_fd = -1;  // attached without a tty: where the output goes (-1: our stdout/stderr)
};

class Engine {
public:
    explicit Engine(store::Paths paths);
    ~Engine();

    const store::Paths& paths() const { return records_.paths(); }
    Records& records() { return records_; }
    images::Store& images();
    network::Manager& networks();
    volumes::Manager& volumes();

    // docker create. Returns the new container; warnings (Docker's) go to warnings().
    Container create(const CreateRequest& req);
    // docker start: returns the exit code when attached (after the container ended), else 0.
    // Starting a running container is a no-op.
    int start(const std::string& id_or_name, const StartOptions& opts = {});
    // docker stop: graceful then SIGKILL after timeout seconds (nullopt: the container's
    // StopTimeout, else 10; -1 waits forever).
    void stop(const std::string& id_or_name, std::optional<int> timeout = std::nullopt);
    void kill(const std::string& id_or_name, int sig);
    void restart(const std::string& id_or_name, std::optional<int> timeout = std::nullopt);
    // docker rm: refuses a running container unless force; volumes removes anonymous volumes.
    void remove(const std::string& id_or_name, bool force, bool volumes);
    // docker wait: blocks until the container is stopped; returns its exit code.
    int wait(const std::string& id_or_name);
    void pause(const std::string& id_or_name);
    void unpause(const std::string& id_or_name);
    void rename(const std::string& id_or_name, const std::string& new_name);
    // Reads the log (follow: until the container stops for good), calling out per entry.
    void logs(const std::string& id_or_name, const LogOptions& opts,
              const std::function<void(int stream, std::int64_t time_ns, std::string_view line)>& out);
    // docker exec: returns the command's exit code (0 when detached).
    int exec(const std::string& id_or_name, const ExecRequest& req);

    // docker network connect / disconnect (running: at once, in its netns; stopped: the record).
    void connect(const std::string& id_or_name, const std::string& network, const EndpointConfig& ep);
    void disconnect(const std::string& id_or_name, const std::string& network, bool force);

    // docker cp CONTAINER:SRC DEST (DEST "-": a tar on stdout) and SRC CONTAINER:DEST (SRC "-":
    // a tar from stdin, DEST must be a directory). Paths in the container resolve under its
    // root: a running container's own view (volumes and binds too), a stopped one's layers.
    void copy_from(const std::string& id_or_name, const std::string& src, const std::string& dest, const CopyOptions& o = {});
    void copy_to(const std::string& id_or_name, const std::string& src, const std::string& dest, const CopyOptions& o = {});

    // docker export: the container's filesystem as a tar written to fd.
    void export_rootfs(const std::string& id_or_name, int fd);
    // docker commit: returns the new image's ID.
    std::string commit(const std::string& id_or_name, const CommitOptions& opts);
    // docker top (ps -ef columns).
    std::vector<ProcessRow> top(const std::string& id_or_name);
    StatsSample stats(const Container& c);
    // docker update: new limits for the container's cgroup (running or not) and its record.
    void update(const std::string& id_or_name, const cgroups::Resources& r, std::optional<std::pair<std::string, int>> restart);
    // docker attach: streams until the container exits; returns its exit code.
    int attach(const std::string& id_or_name, const StartOptions& opts);

    // The exit command of a run (the shim calls it when the container stops for good): release
    // the run's network attachments, published ports and cgroup; remove the container when it
    // was created with --rm. Only acts when run_id is still the container's current run and no
    // shim is alive, so it never undoes a later start. With defer, the run dir and a removed
    // record's directory are renamed out of the way (the container is gone from every listing
    // and its name is free) and their paths appended there instead of deleted: a claimant hands
    // them to the shim with its 'c' (runtime/attach.hpp), which deletes them after the client
    // has its answer. On this kind of disk each freed block is a synchronous discard.
    void cleanup(const std::string& id, const std::string& run_id, std::vector<std::filesystem::path>* defer = nullptr);

    // Deletes the ".rm-<id>" directories (a removed record, a run dir renamed away by cleanup
    // or remove) whose rename is at least min_age old: a shim deletes its own within a moment
    // (cleanup's defer), so older ones were left by a process killed in between. `container
    // prune` and `system teardown` call it.
    void sweep_trash(std::chrono::seconds min_age);

    store::State state(const Container& c) { return records_.state(c.id); }
    std::vector<std::string> take_warnings();

private:
    friend struct PreparedRun;
    PreparedRun prepare_run(const Container& c);
    // after_run: the run's shim has ended it (cleanup after the run), so its veths are going
    // already (network::Manager::detach).
    void release_run(const Container& c, bool after_run = false);
    void remove_record(const Container& c, bool volumes);
    // Deletes dir, or (deferred_ set) renames it to its parent's ".rm-<id>" and records that.
    void discard_dir(const std::filesystem::path& dir, const std::string& id);
    void enter_rootfs(const Container& c, const std::string& mountpoint);
    static std::string str_command(const Container& c);
    std::optional<std::filesystem::path> seccomp_program(const HostConfig& hc, const std::vector<int>& caps);
    struct Impl;
    std::unique_ptr<Impl> impl_;
    Records records_;
    std::vector<std::string> warnings_;
    std::vector<std::filesystem::path>* deferred_ = nullptr;  // set during cleanup(..., defer)
};

// Docker's STATUS column: "Up 5 seconds (healthy)", "Exited (0) 3 minutes ago", "Created".
std::string status_text(const store::State& s, std::int64_t now_ns);

// Docker's PORTS column: published ports while running ("0.0.0.0:8080->80/tcp"), then exposed
// ports not published ("443/tcp").
std::string ports_text(const Container& c, const std::optional<NetworkState>& ns, bool running);

// The container's record + state + network state as `docker inspect` prints it (compact JSON
// in Docker's key order).
std::string inspect_json(const Container& c, const store::State& s, const std::optional<NetworkState>& net,
                         const store::Paths& paths);

}  // namespace berth::container
