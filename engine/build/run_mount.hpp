#pragma once
// RUN --mount=... and `build --secret` as BuildKit's Dockerfile frontend reads them
// (frontend/dockerfile/instructions/commands_runmount.go): comma-separated key=value options,
// a bare `ro`/`rw`/`required` meaning true. Checked here, before any side effect; mounted by the
// builder (build.cpp), which keeps every mount out of the step's layer.
//
//   bind    (default) target; source (in from, default its root); from (stage or image, default
//           the context); rw/readwrite (writes discarded). Read-only by default.
//   cache   target; id (default the target); ro; sharing shared|private|locked; from/source (a
//           seed for a new cache); mode (default 0755), uid, gid (default 0) of a new cache dir.
//   tmpfs   target; size.
//   secret  id (default the target's basename); target (default /run/secrets/<id>); required;
//           mode (default 0400), uid, gid. env= is parsed, and refused by the builder: RUN's
//           environment is stored in the build container's record on disk.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace berth::build {

struct RunMount {
    enum class Type { bind, cache, tmpfs, secret };
    Type type = Type::bind;
    std::string target;  // as given (relative: to the working dir); "" for an env-only secret
    std::string source;  // bind/cache: path in `from` (or the context)
    std::string from;    // bind/cache: stage or image ("" = the context; for cache: none)
    std::string id;      // cache/secret
    bool readonly = true;
    std::string sharing = "shared";
    std::optional<unsigned> mode;
    std::optional<std::uint32_t> uid, gid;
    bool required = false;
    std::string env;           // secret: also (or only) as this environment variable
    std::int64_t size = 0;     // tmpfs bytes, 0 = the kernel's default
    std::string type_name() const;
};

// Parses one --mount value (already variable-expanded). Throws berth::Error(Errc::invalid)
// naming the option that is wrong.
RunMount parse_run_mount(std::string_view value);

// `build --secret id=x[,src=path|,env=VAR][,type=file|env]`: the secret's id and where its
// value comes from. A bare `id=x` reads the environment variable x when it is set, else a file
// named x is required (BuildKit's rule). Throws berth::Error(Errc::invalid).
struct SecretSource {
    std::string id;
    std::string file;  // host path, or
    std::string env;   // environment variable
};
SecretSource parse_secret_flag(std::string_view value);

}  // namespace berth::build

#include <filesystem>
#include <utility>

#include "sys/fd.hpp"

namespace berth::build {

// A cache mount's directory, <builder>/mounts/<hash of id, mode, uid, gid>, kept between builds
// (not part of any image or cache key) until `builder prune`. Held for one RUN step through a
// lock file beside it: sharing=shared takes it shared, locked exclusively (waiting for other
// holders), private exclusively without waiting, and when another step holds it gets a fresh
// directory of its own under tmp_parent, removed with the lease.
class CacheMountLease {
public:
    CacheMountLease(const std::filesystem::path& builder_dir, const RunMount& m, const std::filesystem::path& tmp_parent);
    CacheMountLease(CacheMountLease&& o) noexcept
        : dir_(std::move(o.dir_)), lock_(std::move(o.lock_)), fresh_(o.fresh_), temporary_(std::exchange(o.temporary_, false)) {}
    CacheMountLease& operator=(CacheMountLease&&) = delete;
    ~CacheMountLease();
    const std::filesystem::path& dir() const { return dir_; }
    bool fresh() const { return fresh_; }  // just created (empty, with mode/uid/gid)

private:
    std::filesystem::path dir_;
    sys::unique_fd lock_;
    bool fresh_ = false, temporary_ = false;
};

// Removes every cache mount directory no step holds; returns how many.
int prune_cache_mounts(const std::filesystem::path& builder_dir);

}  // namespace berth::build
