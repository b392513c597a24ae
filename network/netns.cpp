#include "network/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include "sys/error.hpp"
#include "sys/fs.hpp"

namespace berth::network {
namespace {

sys::unique_fd current_thread_netns() {
    return sys::unique_fd(sys::check(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC),
                                     "open", "/proc/thread-self/ns/net"));
}

void restore(int saved) {
    // Going back into the namespace we came from cannot fail unless the kernel is broken; if it
    // did, the thread would keep running in the wrong namespace, which is worse than stopping.
    if (::setns(saved, CLONE_NEWNET) != 0) std::terminate();
}

}  // namespace

sys::unique_fd create_netns() {
    auto saved = current_thread_netns();
    sys::check(::unshare(CLONE_NEWNET), "unshare", "CLONE_NEWNET");
    sys::unique_fd created(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    int err = errno;
    restore(saved.get());
    if (!created) sys::throw_errno("open", "/proc/thread-self/ns/net (new namespace)", err);
    return created;
}

sys::unique_fd open_netns(const std::string& path) {
    return sys::unique_fd(sys::check(::open(path.c_str(), O_RDONLY | O_CLOEXEC), "open", path));
}

NetnsSwitch::NetnsSwitch(int netns_fd) : saved_(current_thread_netns()) {
    sys::check(::setns(netns_fd, CLONE_NEWNET), "setns", "CLONE_NEWNET fd " + std::to_string(netns_fd));
}

NetnsSwitch::~NetnsSwitch() { restore(saved_.get()); }

void in_netns(int netns_fd, const std::function<void()>& f) {
    NetnsSwitch sw(netns_fd);
    f();
}

void write_sysctl(std::string_view key, std::string_view value) {
    std::string path = "/proc/sys/" + std::string(key);
    auto fd = sys::open_path(path, O_WRONLY | O_CLOEXEC);
    sys::write_all(fd.get(), value, path);
}

std::string read_sysctl(std::string_view key) {
    std::string s = sys::read_file("/proc/sys/" + std::string(key));
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

bool same_netns(int a, int b) {
    struct stat sa{}, sb{};
    sys::check(::fstat(a, &sa), "fstat", "netns");
    sys::check(::fstat(b, &sb), "fstat", "netns");
    return sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

}  // namespace berth::network
