#include "shim/links.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "network/netlink.hpp"

namespace berth::shim {

namespace {

void delete_quietly(network::Netlink& nl, const std::string& name) {
    try {
        nl.delete_link_if_exists(name);
    } catch (...) {
    }
}

}  // namespace

void delete_veths(int netns_fd) noexcept {
    if (netns_fd < 0) return;
    // CLOEXEC: the exit command the shim may fork meanwhile must not hold the namespace.
    int fd = ::fcntl(netns_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) return;
    // Everything, the listing too, is the thread's: the caller only pays for starting it. The
    // thread moves into the namespace for good (setns changes the calling thread alone) and
    // ends there; a second link gets a thread of its own, as each delete waits for the kernel.
    try {
        std::thread([fd] {
            int ok = ::setns(fd, CLONE_NEWNET);
            ::close(fd);
            if (ok != 0) return;
            try {
                network::Netlink nl;
                std::vector<std::string> veths;
                for (auto& l : nl.links())
                    if (l.kind == "veth") veths.push_back(l.name);
                for (size_t i = 1; i < veths.size(); ++i) {
                    try {
                        std::thread([nl = network::Netlink(), name = veths[i]]() mutable {
                            delete_quietly(nl, name);
                        }).detach();
                    } catch (...) {
                        delete_quietly(nl, veths[i]);  // no thread to be had: wait here instead
                    }
                }
                if (!veths.empty()) delete_quietly(nl, veths[0]);
            } catch (...) {
            }
        }).detach();
    } catch (...) {
        ::close(fd);  // no thread: the cleanup after the run deletes them (shim/links.hpp)
    }
}

}  // namespace berth::shim
