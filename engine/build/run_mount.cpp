#include "build/run_mount.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/sha256.hpp"
#include "sys/strings.hpp"

namespace berth::build {

namespace {

bool parse_bool(const std::string& key, const std::optional<std::string>& v, std::string_view whole) {
    if (!v) return true;
    auto l = str::to_lower(*v);
    if (l == "true" || l == "1") return true;
    if (l == "false" || l == "0") return false;
    throw_error(Errc::invalid, "invalid value \"" + *v + "\" for " + key + " in --mount=" + std::string(whole) + ": true or false");
}

unsigned parse_octal(const std::string& key, const std::string& v, std::string_view whole) {
    char* end = nullptr;
    unsigned long m = std::strtoul(v.c_str(), &end, 8);
    if (v.empty() || *end || m > 07777)
        throw_error(Errc::invalid, "invalid " + key + " \"" + v + "\" in --mount=" + std::string(whole) + ": an octal mode is expected");
    return static_cast<unsigned>(m);
}

std::uint32_t parse_id(const std::string& key, const std::string& v, std::string_view whole) {
    auto n = str::parse_uint(v);
    if (!n || *n > 0xffffffffu)
        throw_error(Errc::invalid, "invalid " + key + " \"" + v + "\" in --mount=" + std::string(whole) + ": a number is expected");
    return static_cast<std::uint32_t>(*n);
}

}  // namespace

std::string RunMount::type_name() const {
    switch (type) {
        case Type::bind: return "bind";
        case Type::cache: return "cache";
        case Type::tmpfs: return "tmpfs";
        case Type::secret: return "secret";
    }
    return "";
}

RunMount parse_run_mount(std::string_view value) {
    RunMount m;
    std::string whole(value);
    auto bad = [&](const std::string& why) { throw_error(Errc::invalid, "--mount=" + whole + ": " + why); };
    std::vector<std::pair<std::string, std::optional<std::string>>> kvs;
    for (auto& part : str::split(value, ',')) {
        if (part.empty()) continue;
        auto [k, v] = str::split_once(part, '=');
        kvs.emplace_back(str::to_lower(k), v ? std::optional<std::string>(std::string(*v)) : std::nullopt);
    }
    // The type first: which keys are allowed depends on it.
    for (auto& [k, v] : kvs) {
        if (k != "type") continue;
        std::string t = v.value_or("");
        if (t == "bind") m.type = RunMount::Type::bind;
        else if (t == "cache") m.type = RunMount::Type::cache, m.readonly = false;
        else if (t == "tmpfs") m.type = RunMount::Type::tmpfs, m.readonly = false;
        else if (t == "secret") m.type = RunMount::Type::secret;
        else if (t == "ssh") bad("type=ssh is not supported by berth build (no SSH agent forwarding)");
        else bad("unsupported mount type \"" + t + "\" (bind, cache, tmpfs or secret)");
    }
    using T = RunMount::Type;
    for (auto& [k, v] : kvs) {
        auto need = [&]() -> std::string {
            if (!v) bad("option " + k + " needs a value");
            return *v;
        };
        auto only = [&](std::initializer_list<T> types) {
            for (auto t : types)
                if (t == m.type) return;
            bad("option " + k + " is not valid for type=" + m.type_name());
        };
        if (k == "type") continue;
        if (k == "target" || k == "dst" || k == "destination") {
            m.target = need();
        } else if (k == "source" || k == "src") {
            only({T::bind, T::cache});
            m.source = need();
        } else if (k == "from") {
            only({T::bind, T::cache});
            m.from = need();
        } else if (k == "id") {
            only({T::cache, T::secret});
            m.id = need();
        } else if (k == "ro" || k == "readonly") {
            only({T::bind, T::cache});
            m.readonly = parse_bool(k, v, whole);
        } else if (k == "rw" || k == "readwrite") {
            only({T::bind, T::cache});
            m.readonly = !parse_bool(k, v, whole);
        } else if (k == "sharing") {
            only({T::cache});
            m.sharing = need();
            if (m.sharing != "shared" && m.sharing != "private" && m.sharing != "locked")
                bad("unsupported sharing value \"" + m.sharing + "\" (shared, private or locked)");
        } else if (k == "mode") {
            only({T::cache, T::secret});
            m.mode = parse_octal(k, need(), whole);
        } else if (k == "uid") {
            only({T::cache, T::secret});
            m.uid = parse_id(k, need(), whole);
        } else if (k == "gid") {
            only({T::cache, T::secret});
            m.gid = parse_id(k, need(), whole);
        } else if (k == "required") {
            only({T::secret});
            m.required = parse_bool(k, v, whole);
        } else if (k == "env") {
            only({T::secret});
            m.env = need();
        } else if (k == "size") {
            only({T::tmpfs});
            auto b = str::parse_bytes(need());
            if (!b || *b < 0) bad("invalid size \"" + *v + "\"");
            m.size = *b;
        } else {
            bad("unexpected key \"" + k + "\" for type=" + m.type_name());
        }
    }
    if (m.type == T::secret) {
        if (m.id.empty() && !m.target.empty()) m.id = std::filesystem::path(m.target).filename().string();
        if (m.id.empty()) bad("a secret needs an id (or a target to take it from)");
        if (m.target.empty() && m.env.empty()) m.target = "/run/secrets/" + m.id;
    } else {
        if (m.target.empty()) bad("a target is required (target=PATH)");
        if (m.type == T::cache && m.id.empty()) m.id = m.target;
    }
    return m;
}

SecretSource parse_secret_flag(std::string_view value) {
    SecretSource s;
    std::string whole(value), type;
    for (auto& part : str::split(value, ',')) {
        auto [k, v] = str::split_once(part, '=');
        std::string key = str::to_lower(k);
        if (!v) throw_error(Errc::invalid, "invalid --secret " + whole + ": expected KEY=VALUE options, got \"" + std::string(part) + "\"");
        if (key == "id") s.id = *v;
        else if (key == "src" || key == "source") s.file = *v;
        else if (key == "env") s.env = *v;
        else if (key == "type") type = *v;
        else throw_error(Errc::invalid, "invalid --secret " + whole + ": unexpected key \"" + key + "\" (id, src, env, type)");
    }
    if (s.id.empty()) throw_error(Errc::invalid, "invalid --secret " + whole + ": an id is required (id=NAME)");
    if (!type.empty() && type != "file" && type != "env")
        throw_error(Errc::invalid, "invalid --secret " + whole + ": unsupported type \"" + type + "\" (file or env)");
    if (!s.file.empty() && !s.env.empty()) throw_error(Errc::invalid, "invalid --secret " + whole + ": src and env are exclusive");
    if (s.file.empty() && s.env.empty()) {
        // BuildKit: type=env or an id naming a set environment variable reads it; else a file.
        if (type == "env" || (type.empty() && std::getenv(s.id.c_str()))) s.env = s.id;
        else s.file = s.id;
    } else if (type == "env" && !s.file.empty()) {
        s.env = s.file, s.file.clear();
    }
    return s;
}

CacheMountLease::CacheMountLease(const std::filesystem::path& builder_dir, const RunMount& m,
                                 const std::filesystem::path& tmp_parent) {
    auto root = builder_dir / "mounts";
    sys::mkdirs(root, 0700);
    // A different mode or owner is a different cache (BuildKit keeps them apart too), so a
    // directory is only ever created once with them.
    std::string key = m.id + "\n" + std::to_string(m.mode.value_or(0755)) + "\n" + std::to_string(m.uid.value_or(0)) + ":" +
                      std::to_string(m.gid.value_or(0));
    std::string name = sys::sha256_hex(key).substr(0, 32);
    auto lock_path = root / (name + ".lock");
    lock_ = sys::unique_fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!lock_) sys::throw_errno("open", lock_path.string());
    int op = m.sharing == "shared" ? LOCK_SH : LOCK_EX;
    if (m.sharing == "private") op |= LOCK_NB;
    int r = sys::retry_eintr([&] { return ::flock(lock_.get(), op); });
    if (r < 0 && errno == EWOULDBLOCK) {
        // private, and another step has it: a directory of this step's own.
        lock_.reset();
        sys::mkdirs(tmp_parent, 0700);
        sys::TempDir t(tmp_parent, "cache-mount-");
        t.keep();
        dir_ = t.path();
        temporary_ = true;
    } else if (r < 0) {
        sys::throw_errno("flock", lock_path.string());
    } else {
        dir_ = root / name;
    }
    struct stat st;
    if (::lstat(dir_.c_str(), &st) == 0 && !temporary_) return;
    // Created beside and renamed in, so a half-made cache is never used.
    auto part = root / (name + ".new");
    if (temporary_) part = dir_;
    else {
        std::error_code ec;
        std::filesystem::remove_all(part, ec);
        if (::mkdir(part.c_str(), 0700) < 0) sys::throw_errno("mkdir", part.string());
    }
    if (::chown(part.c_str(), m.uid.value_or(0), m.gid.value_or(0)) < 0) sys::throw_errno("chown", part.string());
    if (::chmod(part.c_str(), m.mode.value_or(0755)) < 0) sys::throw_errno("chmod", part.string());
    if (!temporary_ && ::rename(part.c_str(), dir_.c_str()) < 0) sys::throw_errno("rename", part.string() + " -> " + dir_.string());
    fresh_ = true;
}

CacheMountLease::~CacheMountLease() {
    if (!temporary_ || dir_.empty()) return;
    try {
        sys::remove_tree(dir_);
    } catch (...) {
    }
}

int prune_cache_mounts(const std::filesystem::path& builder_dir) {
    auto root = builder_dir / "mounts";
    int n = 0;
    for (auto& e : sys::list_dir(root)) {
        if (e.size() < 5 || e.substr(e.size() - 5) != ".lock") continue;
        std::string name = e.substr(0, e.size() - 5);
        sys::unique_fd fd(::open((root / e).c_str(), O_RDWR | O_CLOEXEC));
        // A step holding it keeps it (shared or exclusive).
        if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) continue;
        std::error_code ec;
        std::filesystem::remove_all(root / (name + ".new"), ec);
        if (sys::exists(root / name)) {
            sys::remove_tree(root / name);
            ++n;
        }
        ::unlink((root / e).c_str());
    }
    return n;
}

}  // namespace berth::build
