// stop, kill, restart, rm, wait, pause, unpause, rename and the cleanup of a run: each a
// request to the container's shim when it runs, or a change of the record when it does not.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <thread>

#include "container/engine.hpp"
#include "container/events.hpp"
#include "container/parse.hpp"
#include "container/start_internal.hpp"
#include "runtime/attach.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"
#include "sys/unix_socket.hpp"
#include "volumes/volumes.hpp"

namespace berth::container {

namespace {

// Connects to a running container's shim; an empty fd when it is not running.
sys::unique_fd shim_socket(const Records& r, const std::string& id) {
    if (!r.shim_alive(id)) return {};
    return sys::try_connect_unix((r.run_dir(id) / "shim.sock").string());
}

// Reads frames until 'E' (the container exited for good), 'C' (the same, and the cleanup is
// ours: we claimed it) or the shim closes.
std::optional<AttachEnd> wait_end(int fd) {
    try {
        while (auto f = runtime::read_frame(fd))
            if (f->type == 'E' || f->type == 'C') return AttachEnd{static_cast<int>(str::parse_int(f->data).value_or(0)), f->type == 'C'};
    } catch (const sys::Error& e) {
        // A connection made just as the shim finishes is reset unaccepted; the state it wrote
        // before closing its socket is then the answer.
        if (e.err() != ECONNRESET && e.err() != EPIPE) throw;
    }
    return std::nullopt;
}

std::optional<int> wait_exit(int fd) {
    auto end = wait_end(fd);
    return end ? std::optional<int>(end->exit_code) : std::nullopt;
}

// Sends a request; false when the shim went away meanwhile (same race as above).
bool send_request(int fd, char type, const std::string& data = {}) {
    try {
        runtime::write_frame(fd, type, data);
        return true;
    } catch (const sys::Error& e) {
        if (e.err() != ECONNRESET && e.err() != EPIPE) throw;
        return false;
    }
}

// Waits (bounded) until the shim has let go of its lock, i.e. it has finished its cleanup.
void wait_shim_gone(const Records& r, const std::string& id) {
    auto deadline = sys::monotonic_ns() + 30'000'000'000LL;
    while (r.shim_alive(id)) {
        if (sys::monotonic_ns() > deadline) throw Error(Errc::failed, "the container's shim did not exit");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

}  // namespace

void Engine::stop(const std::string& id_or_name, std::optional<int> timeout) {
    auto c = records_.get(id_or_name);
    auto sock = shim_socket(records_, c.id);
    if (!sock) {
        // Not running. A run whose shim died (crash, reboot) is cleaned up now.
        auto raw = store::read_state(records_.state_path(c.id));
        if (raw.running()) cleanup(c.id, raw.run_id);
        return;
    }
    int t = timeout.value_or(c.config.stop_timeout.value_or(10));
    // Claim the run's cleanup as an attached start does (runtime/attach.hpp): done here, it
    // spares the shim's exit command, a berth process per stopped container (compose down).
    // The claim follows the stop request, so a restart policy cannot end our wait first (the
    // stop has disabled it); a run that ends before the shim reads the claim gets its exit
    // command and we get 'E'.
    auto run_id = store::read_state(records_.state_path(c.id)).run_id;
    if (send_request(sock.get(), 'S', std::to_string(t))) {
        bool claim = !run_id.empty() && send_request(sock.get(), 'A', std::string(1, static_cast<char>(runtime::kClaimCleanup)));
        auto end = wait_end(sock.get());
        if (claim && end && end->cleanup_owed) {
            std::vector<std::filesystem::path> trash;
            cleanup(c.id, run_id, &trash);
            if (!send_request(sock.get(), 'c', deferred_removals(trash)))
                for (auto& t : trash) sys::remove_tree(t);  // the shim is gone: ours to delete
        }
    }
    wait_shim_gone(records_, c.id);
    emit_event(paths(), c, "stop");
}

void Engine::kill(const std::string& id_or_name, int sig) {
    auto c = records_.get(id_or_name);
    auto sock = shim_socket(records_, c.id);
    if (!sock) throw Error(Errc::conflict, "cannot kill container: " + id_or_name + ": container " + c.id + " is not running");
    runtime::write_frame(sock.get(), 'K', std::to_string(sig));
    runtime::read_frame(sock.get());
}

void Engine::restart(const std::string& id_or_name, std::optional<int> timeout) {
    stop(id_or_name, timeout);
    start(id_or_name);
    emit_event(paths(), records_.get(id_or_name), "restart");
}

int Engine::wait(const std::string& id_or_name) {
    auto c = records_.get(id_or_name);
    if (auto sock = shim_socket(records_, c.id)) {
        if (send_request(sock.get(), 'A', std::string(1, '\0')))
            if (auto code = wait_exit(sock.get())) return *code;
        wait_shim_gone(records_, c.id);
    }
    return records_.state(c.id).exit_code;
}

void Engine::pause(const std::string& id_or_name) {
    auto c = records_.get(id_or_name);
    auto sock = shim_socket(records_, c.id);
    if (!sock) throw Error(Errc::conflict, "Container " + c.id + " is not running");
    runtime::write_frame(sock.get(), 'F');
    auto r = runtime::read_frame(sock.get());
    if (r && r->type == 'X') throw Error(Errc::conflict, str::split_once(r->data, '\n').second.value_or(r->data));
}

void Engine::unpause(const std::string& id_or_name) {
    auto c = records_.get(id_or_name);
    auto sock = shim_socket(records_, c.id);
    if (!sock) throw Error(Errc::conflict, "Container " + c.id + " is not running");
    runtime::write_frame(sock.get(), 'T');
    auto r = runtime::read_frame(sock.get());
    if (r && r->type == 'X') throw Error(Errc::conflict, "Container " + c.id + " is not paused");
}

void Engine::rename(const std::string& id_or_name, const std::string& new_name) {
    auto names = records_.lock_names();
    auto c = records_.get(id_or_name);
    std::string n = !new_name.empty() && new_name.front() == '/' ? new_name.substr(1) : new_name;
    if (n.size() < 2 || !str::valid_object_name(n))
        throw Error(Errc::invalid, "Invalid container name (" + n + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    if (n == c.name) throw Error(Errc::invalid, "Renaming a container with the same name as its current name");
    if (auto other = records_.find_by_name(n))
        throw Error(Errc::conflict, "Conflict. The container name \"/" + n + "\" is already in use by container \"" +
                                        other->id + "\". You have to remove (or rename) that container to be able to reuse that name.");
    auto lock = records_.lock(c.id);
    std::string old = c.name;
    c.name = n;
    records_.save(c);
    emit_event(paths(), c, "rename", {{"oldName", "/" + old}});
}

void Engine::remove(const std::string& id_or_name, bool force, bool volumes) {
    auto c = records_.get(id_or_name);
    if (records_.shim_alive(c.id)) {
        auto st = records_.state(c.id);
        if (!force) {
            if (st.status == "paused")
                throw Error(Errc::conflict, "cannot remove container \"/" + c.name + "\": container is paused and must be unpaused first");
            throw Error(Errc::conflict, "cannot remove container \"/" + c.name + "\": container is " + st.status +
                                            ": stop the container before removing or force remove");
        }
        if (auto sock = shim_socket(records_, c.id))
            if (send_request(sock.get(), 'S', "0")) wait_exit(sock.get());  // SIGKILL at once, as docker rm -f
        wait_shim_gone(records_, c.id);
    }
    auto lock = records_.lock(c.id);
    if (!sys::exists(records_.dir(c.id) / "config.json")) return;  // removed meanwhile (--rm)
    auto raw = store::read_state(records_.state_path(c.id));
    if (raw.running() || sys::exists(records_.run_dir(c.id))) release_run(c);
    discard_dir(records_.dir(c.id), c.id);
    emit_event(paths(), c, "destroy");
    if (!volumes) return;
    // rm -v: the container's own anonymous volumes, unless another container still uses one
    // (--volumes-from); that is reported, not fatal, as Docker does.
    std::optional<volumes::InUse> in_use;
    for (auto& m : c.host_config.mounts) {
        if (m.type != "volume" || !m.anonymous || m.source.empty()) continue;
        if (!in_use) in_use = volumes::volumes_in_use(paths());
        try {
            this->volumes().remove(m.source, true, *in_use);
        } catch (const std::exception& e) {
            warnings_.push_back(e.what());
        }
    }
}

void Engine::discard_dir(const std::filesystem::path& dir, const std::string& id) {
    // Moved out of the way first, so a reader never sees half a container (Records::list skips
    // names that are not IDs); a trash left by a crash is replaced.
    auto trash = dir.parent_path() / (".rm-" + id);
    if (::rename(dir.c_str(), trash.c_str()) < 0) {
        if (errno == ENOENT) return;
        if (errno != ENOTEMPTY && errno != EEXIST) sys::throw_errno("rename", dir.string());
        sys::remove_tree(trash);
        if (::rename(dir.c_str(), trash.c_str()) < 0) sys::throw_errno("rename", dir.string());
    }
    if (deferred_) deferred_->push_back(trash);
    else sys::remove_tree(trash);
}

void Engine::sweep_trash(std::chrono::seconds min_age) {
    auto now = std::chrono::system_clock::now();
    for (const auto& dir : {paths().containers(), paths().run / "containers"}) {
        for (const auto& name : sys::list_dir(dir)) {
            if (name.rfind(".rm-", 0) != 0) continue;
            auto path = dir / name;
            struct stat st;
            if (::lstat(path.c_str(), &st) < 0) continue;
            // The rename sets the directory's ctime.
            auto renamed = std::chrono::system_clock::time_point(std::chrono::seconds(st.st_ctim.tv_sec));
            if (now - renamed < min_age) continue;
            try {
                sys::remove_tree(path);
            } catch (const sys::Error&) {
                // A shim deleting the same tree at the same time, or a busy mount: the next sweep.
            }
        }
    }
}

void Engine::cleanup(const std::string& id, const std::string& run_id, std::vector<std::filesystem::path>* defer) {
    struct Scope {
        Engine& e;
        ~Scope() { e.deferred_ = nullptr; }
    } scope{*this};
    deferred_ = defer;
    auto c = records_.find(id);
    if (!c) return;
    bool auto_remove = false;
    {
        auto lock = records_.lock(c->id);
        if (records_.shim_alive(c->id)) return;
        auto raw = store::read_state(records_.state_path(c->id));
        if (!run_id.empty() && raw.run_id != run_id) return;  // a later run owns the resources now
        release_run(*c, true);
        auto_remove = c->host_config.auto_remove;
    }
    if (auto_remove) remove(c->id, false, true);
}

}  // namespace berth::container
