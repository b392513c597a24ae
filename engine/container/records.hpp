#pragma once
// The containers of one root: their records, their state as the kernel sees it, and the locks
// that serialise changes.
//
//   <root>/containers/<id>/config.json   the record (model.hpp)
//   <root>/containers/<id>/state.json    Docker's State, written by the shim while it lives
//   <root>/containers/<id>/<id>-json.log the json-file log
//   <root>/containers/<id>/{upper,work,merged}  overlay dirs (merged is mounted only inside
//                                        the container's own mount namespace)
//   <root>/containers/<id>/{hostname,hosts,resolv.conf}
//   <root>/containers/<id>/lock          held while the container is changed (start, stop, rm)
//   <run>/containers/<id>/               spec.json, seccomp.bpf, network.json, shim.sock, shim.lock
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "container/model.hpp"
#include "store/paths.hpp"
#include "store/state.hpp"
#include "sys/lock.hpp"

namespace berth::container {

class Records {
public:
    explicit Records(store::Paths paths);
    const store::Paths& paths() const { return paths_; }

    std::vector<Container> list() const;  // newest first, as docker ps
    // By full ID, name (with or without "/"), or unique ID prefix. Errc::not_found
    // "No such container: x"; an ambiguous prefix is Errc::invalid.
    Container get(std::string_view id_or_name) const;
    std::optional<Container> find(std::string_view id_or_name) const;
    std::optional<Container> find_by_name(std::string_view name) const;
    void save(const Container& c) const;

    // The state, reconciled with the kernel: a state that says running while no shim holds
    // the container's lock (a crash, a reboot) reads as exited with code 255.
    store::State state(const std::string& id) const;
    void write_state(const std::string& id, const store::State& s) const;
    bool shim_alive(const std::string& id) const;

    sys::FileLock lock(const std::string& id) const;
    sys::FileLock lock_names() const;  // held while a name is chosen and the record written

    std::filesystem::path dir(const std::string& id) const { return paths_.container(id); }
    std::filesystem::path run_dir(const std::string& id) const { return paths_.run_container(id); }
    std::filesystem::path state_path(const std::string& id) const { return dir(id) / "state.json"; }
    std::filesystem::path log_path(const std::string& id) const { return dir(id) / (id + "-json.log"); }

    std::optional<NetworkState> network_state(const std::string& id) const;

private:
    store::Paths paths_;
};

}  // namespace berth::container
