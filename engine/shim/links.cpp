#include "shim/links.hpp"

#include <string>
#include <thread>
#include <vector>

#include "network/netlink.hpp"

namespace berth::shim {

void delete_veths(int netns_fd) {
    if (netns_fd < 0) return;
    try {
        std::vector<std::string> veths;
        for (auto& l : network::Netlink::in_netns(netns_fd).links())
            if (l.kind == "veth") veths.push_back(l.name);
        for (auto& name : veths)
            std::thread([nl = network::Netlink::in_netns(netns_fd), name]() mutable {
                try {
                    nl.delete_link_if_exists(name);
                } catch (...) {
                }
            }).detach();
    } catch (...) {
    }
}

}  // namespace berth::shim
