// cgroups::Cgroup: the version-independent face over the two drivers.
#include <fcntl.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "cgroups/cgroups.hpp"
#include "cgroups/driver.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"

namespace berth::cgroups {

namespace {

void check_name(const std::string& what, const std::string& s) {
    if (s.empty() || s == "." || s == ".." || s.find('/') != std::string::npos || s.find('\0') != std::string::npos) {
        throw_error(Errc::invalid, "invalid cgroup " + what + " \"" + s + "\"");
    }
}

// The parent may be a path ("a/b", docker run --cgroup-parent): each component a plain name.
void check_parent(const std::string& parent) {
    for (auto& part : str::split(parent, '/')) {
        if (part.empty() || part == "." || part == ".." || part.find('\0') != std::string::npos)
            throw_error(Errc::invalid, "invalid cgroup parent \"" + parent + "\"");
    }
}

std::unique_ptr<detail::Driver> make(const Layout& layout, const std::string& parent, const std::string& name) {
    check_parent(parent);
    check_name("name", name);
    return layout.version == Version::v1 ? detail::make_v1(layout, parent, name)
                                         : detail::make_v2(layout, parent, name);
}

void throw_if_errors(const Checked& c) {
    if (c.errors.empty()) return;
    throw_error(c.unsupported ? Errc::unsupported : Errc::invalid, str::join(c.errors, "; "));
}

}  // namespace

Cgroup::Cgroup(std::unique_ptr<detail::Driver> driver) : driver_(std::move(driver)) {}
Cgroup::Cgroup(Cgroup&&) noexcept = default;
Cgroup& Cgroup::operator=(Cgroup&&) noexcept = default;
Cgroup::~Cgroup() = default;

Cgroup Cgroup::create(const Layout& layout, const std::string& parent, const std::string& name,
                      const Resources& resources) {
    auto driver = make(layout, parent, name);
    Checked checked = check(layout, resources, false);
    throw_if_errors(checked);
    auto made = layout.version == Version::v1 ? detail::create_v1_dirs(layout, parent, name)
                                              : detail::create_v2_dirs(layout, parent, name);
    try {
        auto late = driver->apply(checked.effective, false);
        driver->warnings = std::move(checked.warnings);
        driver->warnings.insert(driver->warnings.end(), late.begin(), late.end());
    } catch (...) {
        detail::rethrow_after_undo(made, name);
    }
    return Cgroup(std::move(driver));
}

Cgroup Cgroup::open(const Layout& layout, const std::string& parent, const std::string& name) {
    auto driver = make(layout, parent, name);
    bool any = false;
    for (auto& d : driver->dirs()) any = any || sys::is_dir(d);
    if (!any) throw_error(Errc::not_found, "no cgroup " + parent + "/" + name + " under " + layout.root.string());
    return Cgroup(std::move(driver));
}

Version Cgroup::version() const {
    return driver_->version();
}
const std::string& Cgroup::name() const {
    return driver_->name();
}
std::vector<fs::path> Cgroup::dirs() const {
    return driver_->dirs();
}
std::vector<fs::path> Cgroup::procs_files() const {
    return driver_->procs_files();
}
const std::vector<std::string>& Cgroup::warnings() const {
    return driver_->warnings;
}
void Cgroup::add(pid_t pid) {
    driver_->add(pid);
}

std::vector<std::string> Cgroup::update(const Resources& resources) {
    Checked checked = check(driver_->layout(), resources, true);
    throw_if_errors(checked);
    auto late = driver_->apply(checked.effective, true);
    checked.warnings.insert(checked.warnings.end(), late.begin(), late.end());
    return checked.warnings;
}

void Cgroup::freeze() {
    driver_->freeze();
}
void Cgroup::thaw() {
    driver_->thaw();
}
bool Cgroup::frozen() const {
    return driver_->frozen();
}
Stats Cgroup::stats() const {
    return driver_->stats();
}
std::vector<pid_t> Cgroup::pids() const {
    return driver_->pids();
}
std::uint64_t Cgroup::oom_kills() const {
    return driver_->oom_kills();
}
void Cgroup::kill_all(int sig) {
    driver_->kill_all(sig);
}
void Cgroup::destroy(bool remove_parent) {
    driver_->destroy(remove_parent);
}

void remove_parent(const Layout& layout, const std::string& parent) {
    std::vector<fs::path> roots;
    if (layout.version == Version::v2) {
        roots.push_back(layout.root);
    } else {
        for (auto& [controller, root] : layout.hierarchies)
            if (std::find(roots.begin(), roots.end(), root) == roots.end()) roots.push_back(root);
    }
    auto parts = str::split(parent, '/');
    for (auto& root : roots) {
        for (size_t n = parts.size(); n > 0; --n) {
            fs::path dir = root;
            for (size_t i = 0; i < n; ++i) dir /= parts[i];
            if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) continue;
            if (errno == EBUSY || errno == ENOTEMPTY) break;  // still in use: it and its parents stay
            sys::throw_errno("rmdir", dir.string());
        }
    }
}

std::uint64_t host_memory_bytes() {
    struct sysinfo si;
    if (::sysinfo(&si) < 0) sys::throw_errno("sysinfo");
    return static_cast<std::uint64_t>(si.totalram) * si.mem_unit;
}

JoinResult join_self(const char* const* procs_files, std::size_t count) noexcept {
    for (std::size_t i = 0; i < count; ++i) {
        int fd;
        do {
            fd = ::open(procs_files[i], O_WRONLY | O_CLOEXEC);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0) return {errno, i};
        ssize_t n;
        do {
            n = ::write(fd, "0", 1);
        } while (n < 0 && errno == EINTR);
        int err = n < 0 ? errno : (n == 1 ? 0 : EIO);
        ::close(fd);
        if (err != 0) return {err, i};
    }
    return {0, 0};
}

}  // namespace berth::cgroups
