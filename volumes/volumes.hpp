#pragma once
// Named volumes with Docker's local driver, one directory per volume (DESIGN.md "State"):
//
//   <root>/volumes/<name>/_data         the data, and the mountpoint for volumes with options
//   <root>/volumes/<name>/volume.json   Docker's shape: CreatedAt, Driver, Labels, Name,
//                                       Options, Scope (Mountpoint is derived from the root)
//   <root>/volumes/.lock                exclusive while volumes are created or removed, shared
//                                       while one is mounted or released
//   <run>/volumes/<name>/users.json     containers that acquire()d a mounted volume; lives in
//   <run>/volumes/<name>/lock           the run dir because a reboot clears the mounts too
//
// A new volume is staged under a dot-name and renamed into place, so a volume either exists
// completely or not at all. Dot-names are never volume names (names start alphanumeric).
//
// Local driver options, as `docker volume create -o`: `type`, `device` and `o` (mount(2)'s
// filesystem type, source and options; type=none + o=bind makes a bind-backed volume, and
// type=tmpfs a tmpfs-backed one) and `size` (a quota, which berth does not support). A volume
// with options is mounted onto its _data by the first acquire() and unmounted by the last
// release(), as Docker's local driver does; a plain volume is just its _data directory.
//
// How the container engine uses it (Docker's order):
//   create  -v NAME:/p -> ensure(NAME, labels); -v /p or an image VOLUME -> create("", {labels})
//           and record the generated name as MountSpec::source (type "volume", anonymous).
//   start   acquire(name, id) -> host path to bind at the target; then, unless nocopy, when the
//           target has content in the image and sys::dir_is_empty(volume dir), the child fills
//           it with sys::copy_tree(target fd in the rootfs, volume dir fd) (sys/copy_tree.hpp).
//   stop    release(name, id) once the container is gone for good (the shim's exit command).
//   rm -v   remove(name, false, volumes_in_use(paths) without this container) for its
//           anonymous volumes, after the record is gone; in_use errors are not fatal to rm.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/paths.hpp"
#include "sys/error.hpp"

namespace berth::volumes {

// Docker (API 1.42+) labels a volume it named itself; `volume prune` without --all removes
// only volumes carrying it.
inline constexpr const char* kAnonymousLabel = "com.docker.volume.anonymous";
inline constexpr const char* kLocalDriver = "local";

struct Volume {
    std::string name;
    std::string driver = kLocalDriver;
    std::int64_t created_ns = 0;  // ns since the epoch
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> options;  // driver options as given (-o)
    std::string scope = "local";
    std::string mountpoint;  // host path of <root>/volumes/<name>/_data

    bool anonymous() const { return labels.count(kAnonymousLabel) != 0; }
    // Options that make acquire() mount something onto _data (Docker: a type or a device).
    bool needs_mount() const { return options.count("type") || options.count("device"); }
};

struct CreateOptions {
    std::string driver;                              // "" = local
    std::map<std::string, std::string> driver_opts;  // -o
    std::map<std::string, std::string> labels;       // --label
};

// Which containers use which volume: volume name -> container IDs (sorted).
using InUse = std::map<std::string, std::vector<std::string>>;

// Reads <root>/containers/*/config.json (HostConfig.Mounts[] with Type "volume") into InUse.
// A container record that cannot be read is skipped, not fatal: it cannot protect a volume it
// does not name legibly, and one bad record must not block every volume command.
InUse volumes_in_use(const store::Paths& paths);

// Mount points at or under dir (from /proc/self/mountinfo, symlinks in dir resolved): a tree
// about to be deleted with remove_tree, which does not stop at mount points, must have none.
std::vector<std::string> mounts_under(const std::filesystem::path& dir);

// The volume as the daemon reports it (`volume inspect`, `inspect`): compact JSON with
// Docker's keys in Docker's order (CreatedAt, Driver, Labels, Mountpoint, Name, Options, Scope).
std::string inspect_json(const Volume& v);
// Go's time.Format(time.RFC3339) in local time, as the daemon prints a volume's CreatedAt.
std::string rfc3339_local(std::int64_t ns);

// ---- validation (pure) -------------------------------------------------------------------------

// nullopt when name is a valid volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+), else Docker's reason.
std::optional<std::string> name_error(std::string_view name);

// Every problem with a create request, each as Docker words it ("create x: invalid option:
// \"foo\""); empty when the request is valid. Checked before anything is written.
struct Problem {
    Errc kind;
    std::string message;
};
std::vector<Problem> validate_create(const std::string& name, const CreateOptions& opts);

// mount(2) arguments from a Docker `o=` string, as moby/sys/mount splits them: known flag words
// (ro, nosuid, bind, rbind, rprivate, ...) become flags, everything else is passed on as data.
struct MountOptions {
    unsigned long flags = 0;        // MS_* for the mount itself
    unsigned long propagation = 0;  // MS_PRIVATE/MS_SHARED/MS_SLAVE/MS_UNBINDABLE (| MS_REC)
    std::string data;               // comma-joined, in the order given
    bool bind() const;
};
MountOptions parse_mount_options(std::string_view o);

// ---- filters (`volume ls --filter`, `volume prune --filter`) --------------------------------

enum class FilterFor { list, prune };

// Docker's semantics: values of one key are alternatives (OR), different keys must all hold.
struct Filters {
    std::optional<bool> dangling;                                        // list
    std::vector<std::string> names;                                      // list: regexp, searched
    std::vector<std::string> drivers;                                    // list: exact
    std::vector<std::pair<std::string, std::optional<std::string>>> labels;      // all must match
    std::vector<std::pair<std::string, std::optional<std::string>>> not_labels;  // prune: label!=
    std::optional<bool> all;                                             // prune: all=true

    bool match(const Volume& v, const InUse& in_use) const;
};
// Throws berth::Error(Errc::invalid) with Docker's text for a bad key or value.
Filters parse_filters(const std::vector<std::string>& args, FilterFor use);

// ---- the store -------------------------------------------------------------------------------

struct PruneResult {
    std::vector<std::string> removed;  // names, in removal order
    std::uint64_t reclaimed = 0;       // bytes (disk usage of the removed _data dirs)
    std::vector<std::string> errors;   // volumes that could not be removed, with why
};

class Manager {
public:
    explicit Manager(store::Paths paths);
    const store::Paths& paths() const { return paths_; }

    // docker volume create. name "" makes an anonymous volume (64 hex, labelled
    // kAnonymousLabel). An existing name returns the existing volume unchanged, as Docker
    // does. Throws berth::Error listing every problem before anything is created.
    Volume create(const std::string& name, const CreateOptions& opts);
    // Throws Errc::not_found "No such volume: x".
    Volume get(const std::string& name) const;
    std::optional<Volume> find(const std::string& name) const;
    // The volume for `-v NAME:/path` (created with labels if missing; an existing volume keeps
    // its own labels); name "" creates an anonymous one.
    Volume ensure(const std::string& name, const std::map<std::string, std::string>& labels = {});
    std::vector<Volume> list() const;  // sorted by name

    // docker volume rm. A volume any container uses is refused (Errc::in_use, "remove x: volume
    // is in use - [ids]"), force or not: Docker's -f only makes a missing volume not an error.
    void remove(const std::string& name, bool force, const InUse& in_use);
    // Removes local volumes without options that no container uses and that filter accepts
    // (an empty filter accepts all): only anonymous ones unless all.
    PruneResult prune(const InUse& in_use, const std::function<bool(const Volume&)>& filter, bool all);

    std::string mountpoint(const Volume& v) const;
    std::uint64_t size(const Volume& v) const;  // disk usage of _data (allocated bytes)

    // For the container runtime: the host path to bind into container_id's rootfs. A volume
    // with options is mounted on first use; every user is recorded, so the last release()
    // unmounts it. Both are idempotent per (volume, container) and serialised across berth
    // processes by flocks; release() of a volume that is gone is a no-op.
    std::string acquire(const std::string& name, const std::string& container_id);
    void release(const std::string& name, const std::string& container_id);

    // What the kernel says: is _data a mount point (STATX_ATTR_MOUNT_ROOT)?
    bool mounted(const Volume& v) const;
    // The containers recorded by acquire() and not yet released.
    std::vector<std::string> users(const std::string& name) const;

private:
    store::Paths paths_;

    std::filesystem::path dir(const std::string& name) const { return paths_.volumes() / name; }
    std::filesystem::path run_dir(const std::string& name) const { return paths_.run / "volumes" / name; }
    std::filesystem::path lock_path() const { return paths_.volumes() / ".lock"; }
    std::optional<Volume> load(const std::string& name) const;
    Volume create_locked(const std::string& name, const CreateOptions& opts);
    void remove_locked(const Volume& v);
    void mount(const Volume& v) const;
    void unmount(const Volume& v) const;
};

}  // namespace berth::volumes
