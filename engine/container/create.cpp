// docker create: merge the request with the image's defaults, validate everything, then write
// the record. Nothing is created in the kernel until start.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <set>

#include "container/engine.hpp"
#include "container/events.hpp"
#include "container/parse.hpp"
#include "container/start_internal.hpp"
#include "images/store.hpp"
#include "network/network.hpp"
#include "runtime/security_caps.hpp"
#include "runtime/security_seccomp.hpp"
#include "sys/error.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/random.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"
#include "volumes/volumes.hpp"

namespace berth::container {

namespace {

[[noreturn]] void invalid(std::string msg) { throw Error(Errc::invalid, std::move(msg)); }

void sync_file(const std::filesystem::path& path) {
    sys::unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) sys::throw_errno("open", path.string());
    if (::fsync(fd.get()) < 0) sys::throw_errno("fsync", path.string());
}

std::string env_key(const std::string& kv) { return kv.substr(0, kv.find('=')); }

// Image env first, request env over it by key (Docker's ReplaceOrAppendEnvValues).
std::vector<std::string> merge_env(const std::vector<std::string>& base, const std::vector<std::string>& over) {
    std::vector<std::string> out = base;
    for (auto& e : over) {
        auto k = env_key(e);
        auto it = std::find_if(out.begin(), out.end(), [&](const std::string& x) { return env_key(x) == k; });
        if (it != out.end()) *it = e;
        else out.push_back(e);
    }
    return out;
}

std::string normalize_port(const std::string& p) {
    auto [num, proto] = str::split_once(p, '/');
    std::string pr = proto ? str::to_lower(*proto) : "tcp";
    if (pr != "tcp" && pr != "udp" && pr != "sctp") invalid("invalid proto: " + pr);
    auto [a, b] = str::split_once(num, '-');
    auto lo = str::parse_uint(a);
    if (!lo || *lo == 0 || *lo > 65535) invalid("invalid containerPort: " + num);
    if (b) {
        auto hi = str::parse_uint(*b);
        if (!hi || *hi < *lo || *hi > 65535) invalid("invalid range format for --expose: " + p);
    }
    return num + "/" + pr;
}

}  // namespace

Container Engine::create(const CreateRequest& req) {
    auto img = images().resolve(req.image);
    const auto& ic = img.config;

    Container c;
    c.id = sys::random_hex(64);
    c.created = sys::now_ns();
    c.image_id = img.id;
    auto& cf = c.config;
    auto& hc = c.host_config;
    hc = req.host;

    // Command: --entrypoint discards the image's CMD (Docker's rule), an explicit command wins.
    cf.entrypoint = req.entrypoint ? *req.entrypoint : ic.entrypoint.value_or(std::vector<std::string>{});
    if (req.cmd) cf.cmd = *req.cmd;
    else if (!req.entrypoint) cf.cmd = ic.cmd.value_or(std::vector<std::string>{});
    auto command = cf.entrypoint;
    command.insert(command.end(), cf.cmd.begin(), cf.cmd.end());
    if (command.empty()) invalid("No command specified");
    c.path = command.front();
    c.args.assign(command.begin() + 1, command.end());

    cf.image = req.image;
    cf.env = merge_env(ic.env, req.env);
    cf.user = req.user.value_or(ic.user);
    cf.working_dir = req.working_dir.value_or(ic.working_dir);
    if (!cf.working_dir.empty() && cf.working_dir.front() != '/')
        invalid("the working directory '" + cf.working_dir + "' is invalid, it needs to be an absolute path");
    cf.hostname = req.hostname;
    cf.domainname = req.domainname;
    if (!cf.hostname.empty()) {
        // Docker splits "a.b.c" into hostname a and domainname b.c.
        auto dot = cf.hostname.find('.');
        if (dot != std::string::npos && cf.domainname.empty()) {
            cf.domainname = cf.hostname.substr(dot + 1);
            cf.hostname = cf.hostname.substr(0, dot);
        }
        if (cf.hostname.size() > 63) invalid("invalid hostname format: " + cf.hostname);
    }
    cf.tty = req.tty;
    cf.open_stdin = req.open_stdin;
    cf.stdin_once = req.open_stdin && req.attach_stdin;
    cf.attach_stdin = req.attach_stdin;
    cf.attach_stdout = req.attach_stdout;
    cf.attach_stderr = req.attach_stderr;
    cf.labels = ic.labels;
    for (auto& [k, v] : req.labels) cf.labels[k] = v;
    cf.stop_signal = !req.stop_signal.empty() ? req.stop_signal : ic.stop_signal;
    if (!cf.stop_signal.empty() && !parse_signal(cf.stop_signal)) invalid("invalid signal: " + cf.stop_signal);
    cf.stop_timeout = req.stop_timeout;

    std::set<std::string> exposed(ic.exposed_ports.begin(), ic.exposed_ports.end());
    for (auto& e : req.expose) exposed.insert(normalize_port(e));
    for (auto& [p, b] : hc.port_bindings) exposed.insert(p);
    cf.exposed_ports.assign(exposed.begin(), exposed.end());

    // Healthcheck: the request's fields over the image's, as Docker merges them.
    if (req.no_healthcheck) {
        cf.healthcheck = HealthConfig{{"NONE"}};
    } else {
        std::optional<HealthConfig> h;
        if (ic.healthcheck) {
            HealthConfig base;
            base.test = ic.healthcheck->test;
            base.interval = ic.healthcheck->interval_ns;
            base.timeout = ic.healthcheck->timeout_ns;
            base.start_period = ic.healthcheck->start_period_ns;
            base.start_interval = ic.healthcheck->start_interval_ns;
            base.retries = ic.healthcheck->retries;
            h = base;
        }
        if (req.healthcheck) {
            HealthConfig m = h.value_or(HealthConfig{});
            const auto& r = *req.healthcheck;
            if (!r.test.empty()) m.test = r.test;
            if (r.interval) m.interval = r.interval;
            if (r.timeout) m.timeout = r.timeout;
            if (r.start_period) m.start_period = r.start_period;
            if (r.start_interval) m.start_interval = r.start_interval;
            if (r.retries) m.retries = r.retries;
            if (m.test.empty()) invalid("--health-* options need a health check command (--health-cmd) or an image HEALTHCHECK");
            h = m;
        }
        cf.healthcheck = h;
    }
    if (cf.healthcheck) {
        auto& h = *cf.healthcheck;
        auto bad = [](std::int64_t v) { return v != 0 && v < 1'000'000; };
        if (bad(h.interval)) invalid("Interval in Healthcheck cannot be less than 1ms");
        if (bad(h.timeout)) invalid("Timeout in Healthcheck cannot be less than 1ms");
        if (bad(h.start_period)) invalid("StartPeriod in Healthcheck cannot be less than 1ms");
        if (h.retries < 0) invalid("Retries in Healthcheck cannot be negative");
    }

    // Mounts: every target once; image VOLUMEs not covered by a mount become anonymous volumes.
    std::set<std::string> targets;
    for (auto& m : hc.mounts) {
        if (m.type == "volume" && !m.source.empty())
            if (auto why = volumes::name_error(m.source)) invalid("create " + m.source + ": " + *why);
        if (!m.subpath.empty()) {
            if (m.type != "volume") invalid("invalid mount config for type \"" + m.type + "\": volume-subpath is for volumes");
            check_subpath(m.subpath);
        }
        std::string t = std::filesystem::path(m.target).lexically_normal().string();
        if (t.size() > 1 && t.back() == '/') t.pop_back();
        if (!targets.insert(t).second) invalid("Duplicate mount point: " + t);
        if (t == "/") invalid("invalid mount config: the target cannot be /");
    }
    for (auto& [path, opts] : hc.tmpfs) {
        if (!targets.insert(path).second) invalid("Duplicate mount point: " + path);
        auto m = parse_tmpfs_flag(opts.empty() ? path : path + ":" + opts);
        hc.mounts.push_back(m);
    }
    hc.tmpfs.clear();
    // --volumes-from CONTAINER[:ro|:rw]: the other container's binds and volumes at the same
    // targets (mode kept unless given); its anonymous volumes are shared, not owned, here.
    for (auto& from : hc.volumes_from) {
        auto [ref, mode] = str::split_once(from, ':');
        if (mode && *mode != "ro" && *mode != "rw") invalid("invalid mode for volumes-from: " + *mode);
        auto other = records_.get(ref);
        for (auto m : other.host_config.mounts) {
            if (m.type == "tmpfs" || targets.count(m.target)) continue;
            if (mode) m.readonly = *mode == "ro";
            m.anonymous = false;
            m.create_host_path = false;
            targets.insert(m.target);
            hc.mounts.push_back(m);
        }
    }
    for (auto& v : ic.volumes) {
        if (targets.count(v)) continue;
        MountSpec m;
        m.type = "volume";
        m.anonymous = true;
        m.target = v;
        hc.mounts.push_back(m);
        targets.insert(v);
    }
    std::set<std::string> vols;
    for (auto& m : hc.mounts)
        if (m.type == "volume" && m.anonymous) vols.insert(m.target);
    cf.volumes.assign(vols.begin(), vols.end());

    // Restart policy and --rm.
    if (hc.auto_remove && hc.restart_policy != "no")
        invalid("Conflicting options: cannot specify both --restart and --rm");

    // Resources, checked against this host before anything is written.
    if (hc.resources.memory && *hc.resources.memory > 0 && *hc.resources.memory < 6 * 1024 * 1024)
        invalid("Minimum memory limit allowed is 6MB");
    auto layout = cgroups::detect();
    auto checked = cgroups::check(layout, hc.resources);
    if (!checked.errors.empty()) throw Error(checked.unsupported ? Errc::unsupported : Errc::invalid, str::join(checked.errors, "\n"));
    for (auto& w : checked.warnings) warnings_.push_back(w);

    for (auto& u : hc.ulimits)
        if (!ulimit_resource(u.name)) invalid("invalid ulimit type: " + u.name);
    // seccomp=PATH is read now and stored as its JSON, as Docker's CLI does; every profile is
    // compiled once here so a bad one is refused before anything exists.
    for (auto& so : hc.security_opt) {
        auto [k, v] = str::split_once(so, so.find('=') != std::string::npos ? '=' : ':');
        if (k != "seccomp" || !v || *v == "unconfined" || *v == "builtin") continue;
        auto choice = runtime::seccomp_choice({so});
        so = "seccomp=" + choice.profile_json;
    }
    (void)runtime::resolve_caps(hc.cap_add, hc.cap_drop, hc.privileged);
    for (auto& s : hc.security_opt) {
        auto [k, v] = str::split_once(s, s.find('=') != std::string::npos ? '=' : ':');
        if (k == "no-new-privileges") {
            if (v && *v != "true" && *v != "false") invalid("invalid --security-opt: " + s);
        } else if (k == "seccomp" || k == "apparmor" || k == "label" || k == "systempaths") {
            if (!v) invalid("invalid --security-opt: " + s);
        } else {
            invalid("invalid --security-opt: " + s);
        }
    }
    for (auto& d : hc.devices)
        if (!sys::exists(d.path_on_host)) invalid("error gathering device information while adding custom device \"" + d.path_on_host + "\": no such file or directory");

    // Networks: --network NAME (or the mode), each must exist; endpoint options only on user networks.
    std::vector<std::string> nets = req.networks;
    if (nets.empty()) nets.push_back(hc.network_mode.empty() ? "bridge" : hc.network_mode);
    hc.network_mode = nets.front();
    const std::string& mode = hc.network_mode;
    if (mode == "host" || mode == "none" || mode.rfind("container:", 0) == 0) {
        if (nets.size() > 1) invalid("container cannot be disconnected from host network or connected to host network");
        if (mode.rfind("container:", 0) == 0) {
            auto other = records_.get(mode.substr(10));
            hc.network_mode = "container:" + other.id;
            if (!req.hostname.empty()) invalid("Conflicting options: hostname and the network mode");
            if (!hc.port_bindings.empty() || hc.publish_all) invalid("Conflicting options: port publishing and the container type network mode");
        }
        if (mode == "host" && (!hc.port_bindings.empty() || hc.publish_all)) {
            warnings_.push_back("Published ports are discarded when using host network mode");
            hc.port_bindings.clear();
            hc.publish_all = false;
        }
    } else {
        for (auto& n : nets) {
            auto net = networks().inspect(n, false);  // throws "network x not found"
            EndpointConfig ep;
            if (auto it = req.endpoints.find(n); it != req.endpoints.end()) ep = it->second;
            if (net.name == "bridge" && (!ep.aliases.empty() || !ep.ipv4.empty() || !ep.ipv6.empty()))
                invalid(!ep.ipv4.empty() || !ep.ipv6.empty() ? "user specified IP address is supported on user defined networks only"
                                         : "network-scoped alias is supported only for containers in user defined networks");
            c.networks[net.name] = ep;
        }
    }
    c.mac_address = req.mac_address;
    check_namespace_modes(records_, hc, req.hostname);

    // The record's directory is nobody's until a config.json appears in it (Records::list skips
    // it), so its dirs are made before the names lock is taken: each is an inode allocation that
    // the other creates of a compose up would otherwise wait for. Removed again on any failure.
    auto dir = records_.dir(c.id);
    struct DirGuard {
        std::filesystem::path dir;
        bool keep = false;
        ~DirGuard() {
            if (keep) return;
            try {
                sys::remove_tree(dir);
            } catch (...) {
            }
        }
    } dir_guard{dir};
    sys::mkdirs(dir / "upper", 0755);
    sys::mkdirs(dir / "work", 0700);
    sys::mkdirs(dir / "merged", 0755);

    // The name, chosen and written under the names lock so two creates cannot take the same one.
    std::optional<sys::FileLock> names(records_.lock_names());
    if (req.name.empty()) {
        for (int i = 0; i < 16; ++i) {
            c.name = random_name();
            if (!records_.find_by_name(c.name)) break;
        }
    } else {
        c.name = req.name.front() == '/' ? req.name.substr(1) : req.name;
        if (c.name.size() < 2 || !str::valid_object_name(c.name))
            invalid("Invalid container name (" + c.name + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        if (auto other = records_.find_by_name(c.name))
            throw Error(Errc::conflict, "Conflict. The container name \"/" + c.name + "\" is already in use by container \"" +
                                            other->id + "\". You have to remove (or rename) that container to be able to reuse that name.");
    }
    if (cf.hostname.empty() && mode != "host" && mode.rfind("container:", 0) != 0 && hc.uts_mode != "host")
        cf.hostname = c.short_id();

    // Volumes last, so a request refused above created none: named ones are made when missing
    // (Docker's create does the same), anonymous ones get a generated name recorded as the source.
    std::vector<std::string> made;
    auto undo_volumes = [&] {
        for (auto& n : made) {
            try {
                volumes().remove(n, true, {});
            } catch (...) {
            }
        }
    };
    try {
        for (auto& m : hc.mounts) {
            if (m.type != "volume") continue;
            if (m.source.empty()) {
                m.source = volumes().create("", {}).name;
                m.anonymous = true;
                made.push_back(m.source);
            } else if (!volumes().find(m.source)) {
                volumes().ensure(m.source);
                made.push_back(m.source);
            }
        }
    } catch (...) {
        undo_volumes();
        throw;
    }

    try {
        // No state.json yet: a missing one reads as "created" (store::read_state), and the
        // first start's shim writes it; that spares a file and an fsync per container.
        // The record is renamed into place under the names lock (that is what takes the name)
        // and made durable after it: an fsync under the lock would queue every other create
        // (compose up's) behind the disk. create returns once the record is on disk either way.
        sys::mkdirs(dir, 0710);
        sys::write_file_replace(dir / "config.json", to_json(c), 0600);  // Records::save without its fsync
        names.reset();
        sync_file(dir / "config.json");
    } catch (...) {
        undo_volumes();
        throw;  // dir_guard removes the record's directory
    }
    dir_guard.keep = true;
    emit_event(paths(), c, "create");
    return c;
}

}  // namespace berth::container
