#pragma once

namespace berth::shim {

// The run is over for good: the container's veths are deleted from its network namespace
// (netns_fd; -1 for none). Deleting one end deletes the pair, and the host end leaves its
// bridge. The kernel takes a link out of every listing within a millisecond or two but answers
// the delete only after an RCU barrier (network/netlink.hpp: 15-40 ms), so detached threads
// list the links and make the requests (one thread per link) and wait for that: the shim has
// nothing left that needs the answer, and no one waits for the shim's own exit. The cleanup
// after the run (network::Manager::detach) waits for the host end to go, then releases the
// address; failures here are left to it.
void delete_veths(int netns_fd) noexcept;

}  // namespace berth::shim
