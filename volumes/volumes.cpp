// The volume store: create/list/remove/prune under <root>/volumes/.lock, and the mounts of
// volumes with options, reference-counted by container in the run dir.
#include "volumes/volumes.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "sys/error.hpp"
#include "sys/event_log.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/lock.hpp"
#include "sys/random.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"

namespace berth::volumes {

namespace fs = std::filesystem;

namespace {

constexpr const char* kMeta = "volume.json";
constexpr const char* kData = "_data";
constexpr const char* kNewPrefix = ".new-";
constexpr const char* kTrashPrefix = ".trash-";

std::string meta_json(const Volume& v) {
    json j = {{"CreatedAt", sys::format_rfc3339_nano(v.created_ns)},
              {"Driver", v.driver},
              {"Labels", v.labels},
              {"Name", v.name},
              {"Options", v.options},
              {"Scope", v.scope}};
    return j.dump(2) + "\n";
}

std::map<std::string, std::string> string_map(const json& j, const char* key) {
    std::map<std::string, std::string> out;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return out;
    for (auto& [k, v] : it->items()) out[k] = v.get<std::string>();
    return out;
}

bool lstat_dir(const fs::path& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Container IDs become file names in users.json's set; anything path-like is refused.
void check_user_id(const std::string& id) {
    if (!str::valid_object_name(id)) throw_error(Errc::invalid, "invalid container id for a volume user: \"" + id + "\"");
}

std::string flag_names(unsigned long flags) {
    static const std::vector<std::pair<unsigned long, const char*>> names = {
        {MS_RDONLY, "MS_RDONLY"},     {MS_NOSUID, "MS_NOSUID"},         {MS_NODEV, "MS_NODEV"},
        {MS_NOEXEC, "MS_NOEXEC"},     {MS_SYNCHRONOUS, "MS_SYNCHRONOUS"}, {MS_REMOUNT, "MS_REMOUNT"},
        {MS_MANDLOCK, "MS_MANDLOCK"}, {MS_DIRSYNC, "MS_DIRSYNC"},       {MS_NOATIME, "MS_NOATIME"},
        {MS_NODIRATIME, "MS_NODIRATIME"}, {MS_BIND, "MS_BIND"},         {MS_REC, "MS_REC"},
        {MS_UNBINDABLE, "MS_UNBINDABLE"}, {MS_PRIVATE, "MS_PRIVATE"},   {MS_SLAVE, "MS_SLAVE"},
        {MS_SHARED, "MS_SHARED"},     {MS_RELATIME, "MS_RELATIME"},     {MS_STRICTATIME, "MS_STRICTATIME"}};
    std::vector<std::string> out;
    for (auto& [f, n] : names)
        if (flags & f) out.push_back(n);
    return out.empty() ? "0" : str::join(out, "|");
}

// Docker hides a CIFS password in mount errors; so does berth.
std::string mask_password(const std::string& data) {
    auto parts = str::split(data, ',');
    for (auto& p : parts)
        if (p.rfind("password=", 0) == 0) p = "password=********";
    return str::join(parts, ",");
}

// /proc/self/mountinfo's mount points (field 5, octal escapes undone).
std::vector<std::string> mount_points() {
    std::vector<std::string> out;
    auto text = sys::read_file("/proc/self/mountinfo");
    for (auto& line : str::split(text, '\n')) {
        auto fields = str::split(line, ' ');
        if (fields.size() < 5) continue;
        const std::string& raw = fields[4];
        std::string p;
        for (size_t i = 0; i < raw.size(); ++i) {
            if (raw[i] == '\\' && i + 3 < raw.size()) {
                int v = 0;
                bool ok = true;
                for (size_t k = 1; k <= 3; ++k) {
                    char c = raw[i + k];
                    if (c < '0' || c > '7') ok = false;
                    v = v * 8 + (c - '0');
                }
                if (ok) {
                    p += static_cast<char>(v);
                    i += 3;
                    continue;
                }
            }
            p += raw[i];
        }
        out.push_back(p);
    }
    return out;
}

std::set<std::string> read_users(const fs::path& file) {
    std::set<std::string> out;
    auto text = sys::read_file_if_exists(file);
    if (!text) return out;
    auto j = json::parse(*text, nullptr, false);
    if (!j.is_array()) throw_error(Errc::corrupt, file.string() + ": not a JSON array");
    for (auto& e : j)
        if (e.is_string()) out.insert(e.get<std::string>());
    return out;
}

void write_users(const fs::path& file, const std::set<std::string>& users) {
    json j = json::array();
    for (auto& u : users) j.push_back(u);
    sys::write_file_atomic(file, j.dump() + "\n", 0600);
}

}  // namespace

std::vector<std::string> mounts_under(const fs::path& dir) {
    std::error_code ec;
    auto real = fs::weakly_canonical(dir, ec);
    std::string base = (ec ? dir : real).string();
    std::vector<std::string> out;
    for (auto& m : mount_points())
        if (m == base || (m.size() > base.size() && m.compare(0, base.size(), base) == 0 && m[base.size()] == '/'))
            out.push_back(m);
    return out;
}

Manager::Manager(store::Paths paths) : paths_(std::move(paths)) {}

std::string Manager::mountpoint(const Volume& v) const { return (dir(v.name) / kData).string(); }

std::uint64_t Manager::size(const Volume& v) const { return sys::disk_usage(mountpoint(v)); }

std::optional<Volume> Manager::load(const std::string& name) const {
    if (name_error(name)) return std::nullopt;  // never a path component we did not vet
    auto d = dir(name);
    if (!lstat_dir(d)) return std::nullopt;
    Volume v;
    v.name = name;
    v.mountpoint = mountpoint(v);
    auto text = sys::read_file_if_exists(d / kMeta);
    if (!text) {
        // A bare <name>/_data (copied in by hand, as people do with Docker's dir): a plain
        // local volume created when its directory was.
        struct stat st;
        if (::lstat((d / kData).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
        v.created_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
        return v;
    }
    try {
        auto j = json::parse(*text);
        v.driver = j.value("Driver", std::string(kLocalDriver));
        v.scope = j.value("Scope", std::string("local"));
        v.labels = string_map(j, "Labels");
        v.options = string_map(j, "Options");
        auto created = sys::parse_rfc3339(j.value("CreatedAt", std::string()));
        v.created_ns = created.value_or(0);
    } catch (const json::exception& e) {
        throw_error(Errc::corrupt, "volume " + name + ": " + (d / kMeta).string() + ": " + e.what());
    }
    return v;
}

std::optional<Volume> Manager::find(const std::string& name) const { return load(name); }

Volume Manager::get(const std::string& name) const {
    auto v = load(name);
    if (!v) throw_error(Errc::not_found, "No such volume: " + name);
    return *v;
}

std::vector<Volume> Manager::list() const {
    std::vector<Volume> out;
    for (auto& n : sys::list_dir(paths_.volumes())) {
        if (n.empty() || n.front() == '.') continue;
        if (auto v = load(n)) out.push_back(std::move(*v));
    }
    return out;
}

namespace {

// Staging and trash dirs exist only while their creator holds the exclusive lock, so any seen
// under it are left over from a crash.
void sweep_locked(const fs::path& volumes) {
    for (auto& n : sys::list_dir(volumes))
        if (n.rfind(kNewPrefix, 0) == 0 || n.rfind(kTrashPrefix, 0) == 0) sys::remove_tree(volumes / n);
}

}  // namespace

Volume Manager::create(const std::string& name, const CreateOptions& opts) {
    std::string n = name.empty() ? sys::random_hex(64) : name;
    CreateOptions o = opts;
    if (o.driver.empty()) o.driver = kLocalDriver;
    if (name.empty()) o.labels[kAnonymousLabel] = "";
    auto problems = validate_create(n, o);
    if (!problems.empty()) {
        std::vector<std::string> msgs;
        for (auto& p : problems) msgs.push_back(p.message);
        throw_error(problems.front().kind, str::join(msgs, "\n"));
    }
    sys::mkdirs(paths_.volumes(), 0701);
    sys::FileLock lock(lock_path());
    if (auto existing = load(n)) return *existing;
    sweep_locked(paths_.volumes());
    return create_locked(n, o);
}

Volume Manager::create_locked(const std::string& name, const CreateOptions& opts) {
    Volume v;
    v.name = name;
    v.driver = opts.driver;
    v.labels = opts.labels;
    v.options = opts.driver_opts;
    v.created_ns = sys::now_ns();
    v.mountpoint = mountpoint(v);

    sys::TempDir staging(paths_.volumes(), kNewPrefix);
    // Docker's modes: the volume's own dir 0701 (its metadata is not for others), _data 0755.
    sys::check(::chmod(staging.path().c_str(), 0701), "chmod", staging.path().string());
    auto data = staging.path() / kData;
    sys::check(::mkdir(data.c_str(), 0755), "mkdir", data.string());
    sys::check(::chmod(data.c_str(), 0755), "chmod", data.string());
    sys::write_file_atomic(staging.path() / kMeta, meta_json(v), 0600);
    auto target = dir(name);
    if (::rename(staging.path().c_str(), target.c_str()) < 0)
        sys::throw_errno("rename", staging.path().string() + " -> " + target.string());
    staging.keep();
    sys::emit_event(paths_.root, "volume", "create", v.name, {{"driver", v.driver}});
    return v;
}

Volume Manager::ensure(const std::string& name, const std::map<std::string, std::string>& labels) {
    if (!name.empty())
        if (auto v = find(name)) return *v;
    CreateOptions o;
    o.labels = labels;
    return create(name, o);
}

void Manager::remove(const std::string& name, bool force, const InUse& in_use) {
    auto not_found = [&] {
        if (!force) throw_error(Errc::not_found, "No such volume: " + name);
    };
    if (name_error(name) || !lstat_dir(paths_.volumes())) return not_found();
    sys::FileLock lock(lock_path());
    auto v = load(name);
    if (!v) return not_found();
    if (auto it = in_use.find(name); it != in_use.end() && !it->second.empty())
        throw_error(Errc::in_use, "remove " + name + ": volume is in use - [" + str::join(it->second, ", ") + "]");
    sweep_locked(paths_.volumes());
    remove_locked(*v);
}

void Manager::remove_locked(const Volume& v) {
    // Nothing may be mounted inside the volume when its tree is deleted: remove_tree does not
    // stop at mount points, and a bind-backed volume's _data is the user's own directory.
    if (v.needs_mount() && mounted(v)) unmount(v);
    auto mounts = mounts_under(dir(v.name));
    if (!mounts.empty())
        throw_error(Errc::in_use, "remove " + v.name + ": " + mounts.front() +
                                      " is a mount point; unmount it before removing the volume");
    auto trash = paths_.volumes() / (kTrashPrefix + sys::random_hex(12));
    auto d = dir(v.name);
    if (::rename(d.c_str(), trash.c_str()) < 0) sys::throw_errno("rename", d.string() + " -> " + trash.string());
    sys::remove_tree(run_dir(v.name));
    sys::remove_tree(trash);
    sys::emit_event(paths_.root, "volume", "destroy", v.name, {{"driver", v.driver}});
}

PruneResult Manager::prune(const InUse& in_use, const std::function<bool(const Volume&)>& filter, bool all) {
    PruneResult r;
    if (!lstat_dir(paths_.volumes())) return r;
    sys::FileLock lock(lock_path());
    sweep_locked(paths_.volumes());
    for (auto& v : list()) {
        // Docker prunes only local volumes without options: one with options holds its data
        // elsewhere (a device, a host dir, memory), so removing it reclaims nothing here.
        if (v.driver != kLocalDriver || !v.options.empty()) continue;
        if (auto it = in_use.find(v.name); it != in_use.end() && !it->second.empty()) continue;
        if (!all && !v.anonymous()) continue;
        if (filter && !filter(v)) continue;
        try {
            auto bytes = size(v);
            remove_locked(v);
            r.removed.push_back(v.name);
            r.reclaimed += bytes;
        } catch (const std::exception& e) {
            r.errors.push_back(v.name + ": " + e.what());
        }
    }
    return r;
}

// ---- mounts --------------------------------------------------------------------------------------

bool Manager::mounted(const Volume& v) const {
    struct statx stx{};
    auto mp = mountpoint(v);
    if (::statx(AT_FDCWD, mp.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0) {
        if (errno == ENOENT) return false;
        sys::throw_errno("statx", mp);
    }
    if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
        throw_error(Errc::unsupported, "statx does not report STATX_ATTR_MOUNT_ROOT for " + mp);
    return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
}

void Manager::mount(const Volume& v) const {
    auto get = [&](const char* k) {
        auto it = v.options.find(k);
        return it == v.options.end() ? std::string() : it->second;
    };
    std::string type = get("type"), device = get("device");
    auto mo = parse_mount_options(get("o"));
    auto target = mountpoint(v);
    struct stat st;
    if (::lstat(target.c_str(), &st) < 0) {
        if (errno != ENOENT) sys::throw_errno("lstat", target);
        sys::check(::mkdir(target.c_str(), 0755), "mkdir", target);
    } else if (!S_ISDIR(st.st_mode)) {
        throw_error(Errc::corrupt, "volume " + v.name + ": " + target + " is not a directory");
    }

    auto describe = [&](const std::string& src, unsigned long flags, const std::string& data) {
        std::string s = "\"" + src + "\" -> " + target + ", " + flag_names(flags);
        if (!data.empty()) s += ", \"" + mask_password(data) + "\"";
        return s;
    };
    with_context("mounting volume " + v.name, [&] {
        const char* data = mo.data.empty() ? nullptr : mo.data.c_str();
        if (::mount(device.c_str(), target.c_str(), type.c_str(), mo.flags, data) < 0)
            sys::throw_errno("mount", describe(device, mo.flags, mo.data) + " (type " + type + ")");
        try {
            // A bind ignores per-mount flags on the first call (mount(2): MS_BIND "ignores
            // mountflags except MS_REC"); they take a remount of the new bind.
            unsigned long extra = mo.flags & ~(MS_BIND | MS_REC);
            if (mo.bind() && extra) {
                unsigned long rf = extra | MS_BIND | MS_REMOUNT;
                if (::mount(nullptr, target.c_str(), nullptr, rf, nullptr) < 0)
                    sys::throw_errno("mount", describe("", rf, ""));
            }
            if (mo.propagation && ::mount(nullptr, target.c_str(), nullptr, mo.propagation, nullptr) < 0)
                sys::throw_errno("mount", describe("", mo.propagation, ""));
        } catch (...) {
            ::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
            throw;
        }
    });
}

void Manager::unmount(const Volume& v) const {
    auto target = mountpoint(v);
    if (::umount2(target.c_str(), UMOUNT_NOFOLLOW) == 0) return;
    int err = errno;
    if (err == EINVAL && !mounted(v)) return;
    // Busy on the host (a shell's cwd in it): detach it from the tree now; the kernel frees
    // it when the last user lets go. Containers hold their own bind of it, unaffected.
    if (err == EBUSY && ::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) return;
    sys::throw_errno("umount2", target, err == EBUSY ? errno : err);
}

std::string Manager::acquire(const std::string& name, const std::string& container_id) {
    check_user_id(container_id);
    if (name_error(name) || !lstat_dir(paths_.volumes())) throw_error(Errc::not_found, "No such volume: " + name);
    sys::FileLock store_lock(lock_path(), /*shared=*/true);
    auto v = get(name);
    if (!v.needs_mount()) return mountpoint(v);
    sys::mkdirs(run_dir(name), 0700);
    sys::FileLock volume_lock(run_dir(name) / "lock");
    auto file = run_dir(name) / "users.json";
    auto users = read_users(file);
    bool mounted_now = false;
    if (!mounted(v)) {
        mount(v);
        mounted_now = true;
    }
    try {
        if (users.insert(container_id).second) write_users(file, users);
    } catch (...) {
        if (mounted_now && users.size() <= 1) {
            try {
                unmount(v);
            } catch (...) {
            }
        }
        throw;
    }
    return mountpoint(v);
}

void Manager::release(const std::string& name, const std::string& container_id) {
    check_user_id(container_id);
    if (name_error(name) || !lstat_dir(paths_.volumes())) return;
    sys::FileLock store_lock(lock_path(), /*shared=*/true);
    auto v = load(name);
    if (!v || !v->needs_mount()) return;
    sys::mkdirs(run_dir(name), 0700);
    sys::FileLock volume_lock(run_dir(name) / "lock");
    auto file = run_dir(name) / "users.json";
    auto users = read_users(file);
    if (users.erase(container_id)) write_users(file, users);
    if (users.empty() && mounted(*v)) unmount(*v);
}

std::vector<std::string> Manager::users(const std::string& name) const {
    if (name_error(name)) return {};
    auto u = read_users(run_dir(name) / "users.json");
    return {u.begin(), u.end()};
}

}  // namespace berth::volumes
