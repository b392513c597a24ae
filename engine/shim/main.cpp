// berth-shim: one small supervisor per container (engine/shim/supervisor.hpp), and the
// container's init for `--init` when invoked as docker-init.
//
//   berth-shim <spec.json>        fd 3: start socket to berth; fd 4: network namespace (optional);
//                                 spawned detached, in a session of its own
//   /sbin/docker-init -- CMD...   inside a container
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "runtime/spec.hpp"
#include "shim/init.hpp"
#include "shim/supervisor.hpp"
#include "sys/fs.hpp"

int main(int argc, char** argv) {
    std::string self = argv[0] ? argv[0] : "";
    if (self.size() >= 11 && self.compare(self.size() - 11, 11, "docker-init") == 0)
        return berth::shim::run_init(argc, argv);
    if (argc != 2) {
        std::fprintf(stderr, "usage: berth-shim SPEC.json (started by berth, not by hand)\n");
        return 2;
    }
    // berth spawns us in a session of our own from a middle process that exits at once
    // (engine/container/start.cpp: spawn_shim), so we are nobody's child but init's already.
    if (::getsid(0) != ::getpid()) ::setsid();
    try {
        auto spec = berth::runtime::spec_from_json(berth::sys::read_file(argv[1]));
        int netns = spec.net == berth::runtime::Spec::Net::own_fd ? 4 : -1;
        ::fcntl(3, F_SETFD, FD_CLOEXEC);
        if (netns >= 0) ::fcntl(netns, F_SETFD, FD_CLOEXEC);
        return berth::shim::supervise(std::move(spec), 3, netns);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "berth-shim: %s\n", e.what());
        return 1;
    }
}
