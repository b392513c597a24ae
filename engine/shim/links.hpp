#pragma once

namespace berth::shim {

// The run is over for good: the container's veths are deleted from its network namespace
// (netns_fd; -1 for none). Deleting one end deletes the pair, and the host end leaves its
// bridge. The kernel takes the links out at once but answers a delete only after an RCU
// barrier (network/netlink.hpp: 15-40 ms), so detached threads list the links and make the
// requests (one thread per link), and wait for that: the shim has nothing left that needs the
// answer, and no one waits for the shim's own exit. The cleanup's detach (berth's network store) then finds the host end gone,
// and releases the address without a netlink request of its own. Failures are left to it.
void delete_veths(int netns_fd);

}  // namespace berth::shim
