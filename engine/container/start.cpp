// docker start: prepare everything the container's run needs (layers, cgroup, network,
// /etc files, the runtime spec), then hand it to a new shim and wait for its answer.
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <set>

#include "container/engine.hpp"
#include "container/events.hpp"
#include "container/etc_files.hpp"
#include "container/parse.hpp"
#include "container/start_internal.hpp"
#include "images/store.hpp"
#include "network/dns.hpp"
#include "network/nat.hpp"
#include "network/netns.hpp"
#include "network/network.hpp"
#include "runtime/attach.hpp"
#include "runtime/container_init.hpp"
#include "runtime/security_caps.hpp"
#include "runtime/security_paths.hpp"
#include "runtime/security_seccomp.hpp"
#include "sys/sha256.hpp"
#include "runtime/spec.hpp"
#include "runtime/user.hpp"
#include "sys/child.hpp"
#include "sys/error.hpp"
#include "sys/event_log.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/random.hpp"
#include "sys/strings.hpp"
#include "sys/unix_socket.hpp"
#include "volumes/volumes.hpp"

namespace berth::container {

namespace {

constexpr int kFirstProxyFd = 5;  // the shim's fds: 3 start socket, 4 netns, 5… [::1] ports

std::string host_resolv_conf() { return sys::read_file_if_exists("/etc/resolv.conf").value_or(""); }

std::string host_hostname() {
    char buf[256] = {};
    ::gethostname(buf, sizeof buf - 1);
    return buf;
}

}  // namespace

std::vector<int> container_caps(const HostConfig& hc) {
    auto caps = runtime::resolve_caps(hc.cap_add, hc.cap_drop, hc.privileged);
    // A container cannot have what berth itself does not (here: root without CAP_SYS_RESOURCE).
    // For --privileged that is the meaning ("every capability the engine has", as Docker's is
    // the daemon's); an explicit --cap-add of a missing one is refused rather than dropped.
    auto status = sys::read_file("/proc/self/status");
    auto pos = status.find("CapPrm:\t");
    std::uint64_t have = pos == std::string::npos ? ~0ULL : std::stoull(status.substr(pos + 8, 16), nullptr, 16);
    if (hc.privileged) return runtime::CapSet(caps.bits() & have).numbers();
    if (auto missing = caps.bits() & ~have) {
        std::vector<std::string> names;
        for (int c = 0; c < 64; ++c)
            if (missing >> c & 1) names.push_back(std::string(runtime::cap_name(c)));
        throw Error(Errc::unsupported, "berth itself does not hold " + str::join(names, ", ") + ", so a container cannot have it");
    }
    return caps.numbers();
}

// The file holding the container's seccomp program, nullopt when it runs unconfined. Compiling
// Docker's profile costs tens of milliseconds, so programs are cached by (profile, capabilities)
// under the root.
std::optional<std::filesystem::path> Engine::seccomp_program(const HostConfig& hc, const std::vector<int>& caps) {
    auto choice = runtime::seccomp_choice(hc.security_opt);
    if (hc.privileged || choice.kind == runtime::SeccompChoice::Kind::unconfined) return std::nullopt;
    runtime::CapSet set;
    for (int c : caps) set.add(c);
    std::string key = sys::sha256_hex("berth-seccomp-v1\n" + std::to_string(static_cast<int>(choice.kind)) + "\n" +
                                      choice.profile_json + "\n" + std::to_string(set.bits()));
    auto cached = paths().root / "cache" / "seccomp" / (key + ".bpf");
    if (sys::exists(cached)) return cached;
    auto bpf = runtime::compile_seccomp(choice, hc.privileged, set);
    if (!bpf) return std::nullopt;
    sys::mkdirs(cached.parent_path(), 0700);
    sys::write_file_atomic(cached, *bpf, 0600);
    return cached;
}

namespace {

runtime::Mount bind_file(const std::filesystem::path& source, const std::string& target) {
    runtime::Mount m;
    m.kind = runtime::Mount::Kind::bind;
    m.source = source.string();
    m.target = target;
    m.recursive = false;
    m.target_is_file = true;
    return m;
}

}  // namespace

// Everything one run of a container holds, released by Run::undo() (on a failed start) or by
// the cleanup after the run.
void Engine::release_run(const Container& c, bool after_run) {
    auto net = records_.network_state(c.id);
    try {
        networks().unpublish(c.id);
    } catch (...) {
    }
    // network.json is written once every attachment is made; a start that failed before it
    // may have attached some, which only the network store knows.
    std::set<std::string> attached;  // by ID when network.json has it: detach then reads one record
    if (net) {
        for (auto& [name, ep] : net->networks) attached.insert(ep.network_id.empty() ? name : ep.network_id);
    } else {
        try {
            for (auto& n : networks().list())
                if (n.endpoints.count(c.id)) attached.insert(n.name);
        } catch (...) {
        }
    }
    for (auto& name : attached) {
        try {
            networks().detach(name, c.id, after_run);
        } catch (...) {
        }
    }
    // The name stops answering now rather than at the server's next look at the store; the
    // server's re-read overlaps the rest of the cleanup, and is waited for at its end.
    network::DnsReload dns_reload;
    if (!attached.empty() && network::dns_server_running(paths())) dns_reload = network::notify_dns_server_async(paths());
    // prepare_run got to the end (its volumes' "mount" events are out): "unmount" answers them.
    std::optional<bool> prepared;
    for (auto& m : c.host_config.mounts) {
        if (m.type != "volume" || m.source.empty()) continue;
        if (!prepared) prepared = sys::exists(records_.run_dir(c.id) / "spec.json");
        try {
            volumes().release(m.source, c.id);
            if (*prepared)
                sys::emit_event(paths().root, "volume", "unmount", m.source,
                                {{"container", c.id}, {"driver", volumes::kLocalDriver}});
        } catch (const std::exception& e) {
            warnings_.push_back("releasing volume " + m.source + ": " + e.what());
        }
    }
    try {
        auto cg = cgroups::Cgroup::open(cgroups::detect(), cgroup_parent_path(paths().prefix, c.host_config), c.id);
        // The root's parent cgroup stays for the next container (cgroups::remove_parent: it goes
        // with `system teardown`); a --cgroup-parent is the user's and stays too.
        cg.destroy(false);
    } catch (const Error& e) {
        if (e.kind() != Errc::not_found) throw;
    }
    release_shm(records_.run_dir(c.id));
    discard_dir(records_.run_dir(c.id), c.id);
    dns_reload.wait();
}

PreparedRun Engine::prepare_run(const Container& c) {
    PreparedRun run;
    const auto& cf = c.config;
    const auto& hc = c.host_config;
    auto dir = records_.dir(c.id);
    auto rundir = records_.run_dir(c.id);
    sys::mkdirs(rundir, 0700);
    run.run_id = sys::random_hex(16);

    auto& s = run.spec;
    s.id = c.id;
    s.name = c.name;
    s.run_id = run.run_id;
    s.domainname = cf.domainname;

    auto img = images().get(c.image_id);
    for (auto& d : images().layer_dirs(img)) s.lowerdirs.push_back(d.string());
    if (s.lowerdirs.empty()) {
        // An image with no layers: overlay needs a lower dir, an empty one will do.
        sys::mkdirs(dir / "empty", 0755);
        s.lowerdirs.push_back((dir / "empty").string());
    }
    s.upperdir = (dir / "upper").string();
    s.workdir = (dir / "work").string();
    s.rootfs = (dir / "merged").string();
    sys::mkdirs(dir / "upper", 0755);
    sys::mkdirs(dir / "work", 0700);
    sys::mkdirs(dir / "merged", 0755);
    s.readonly_rootfs = hc.readonly_rootfs;
    s.privileged = hc.privileged;
    s.shm_size = hc.shm_size > 0 ? hc.shm_size : 64 * 1024 * 1024;
    s.sysctls = hc.sysctls;
    if (!hc.privileged) {
        s.masked_paths = runtime::default_masked_paths();
        s.readonly_paths = runtime::default_readonly_paths();
    }
    for (auto& so : hc.security_opt)
        if (so == "systempaths=unconfined") {
            s.masked_paths.clear();
            s.readonly_paths.clear();
        }

    // --- cgroup -------------------------------------------------------------------------
    auto resources = hc.resources;
    if (hc.privileged) {
        resources.devices = std::vector<cgroups::DeviceRule>{cgroups::DeviceRule{}};
    } else {
        auto rules = cgroups::default_device_rules();
        for (auto& d : hc.devices) {
            struct stat st;
            if (::stat(d.path_on_host.c_str(), &st) < 0) sys::throw_errno("stat", d.path_on_host);
            if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                throw Error(Errc::invalid, d.path_on_host + " is not a device");
            cgroups::DeviceRule r;
            r.type = S_ISBLK(st.st_mode) ? 'b' : 'c';
            r.major = major(st.st_rdev);
            r.minor = minor(st.st_rdev);
            r.access = d.permissions;
            rules.push_back(r);
            s.devices.push_back({d.path_on_host, d.path_in_container, r.type, major(st.st_rdev), minor(st.st_rdev),
                                 st.st_mode & 0777});
        }
        resources.devices = rules;
    }
    s.cgroup_parent = cgroup_parent_path(paths().prefix, hc);
    auto cg = cgroups::Cgroup::create(cgroups::detect(), s.cgroup_parent, c.id, resources);
    run.cgroup_made = true;
    for (auto& f : cg.procs_files()) s.cgroup_procs.push_back(f.string());
    s.cgroup_name = c.id;

    // --- network ------------------------------------------------------------------------
    std::string hostname = cf.hostname;
    std::vector<std::string> own_ips;
    std::vector<std::string> host_ips;  // /etc/hosts: each network's IPv4, then its IPv6 address
    std::string first_ip6;              // the first network's IPv6 address, for [::] publishing
    std::string resolv;
    DnsSettings dns{hc.dns, hc.dns_search, hc.dns_options};
    NetworkState ns;
    network::DnsReload dns_reload;
    const std::string& mode = hc.network_mode;
    std::string first_gateway, dns_server;
    if (mode == "host") {
        s.net = runtime::Spec::Net::host;
        hostname = host_hostname();
        resolv = host_resolv_conf();
    } else if (mode == "none") {
        s.net = runtime::Spec::Net::none;
        resolv = resolv_conf_filtered(host_resolv_conf(), dns);
    } else if (mode.rfind("container:", 0) == 0) {
        auto other = records_.get(mode.substr(10));
        auto ost = records_.state(other.id);
        if (!ost.running() || ost.pid <= 0)
            throw Error(Errc::conflict, "cannot join network of a non running container: " + other.id);
        s.net = runtime::Spec::Net::container_path;
        s.net_path = "/proc/" + std::to_string(ost.pid) + "/ns/net";
        hostname = other.config.hostname;
        auto odir = records_.dir(other.id);
        resolv = sys::read_file_if_exists(odir / "resolv.conf").value_or(resolv_conf_filtered(host_resolv_conf(), dns));
    } else {
        s.net = runtime::Spec::Net::own_fd;
        run.netns = network::create_netns();
        // The first network is the one named by the network mode; the rest in name order.
        std::vector<std::string> order{mode};
        for (auto& [name, ep] : c.networks)
            if (name != mode) order.push_back(name);
        for (auto& name : order) {
            auto it = c.networks.find(name);
            EndpointConfig want = it != c.networks.end() ? it->second : EndpointConfig{};
            network::EndpointOptions eo;
            eo.ip = want.ipv4;
            eo.ip6 = want.ipv6;
            eo.aliases = want.aliases;
            eo.mac = name == mode && want.mac.empty() ? c.mac_address : want.mac;
            // The namespace is new: eth0 is the first network's, and takes the default route.
            eo.ifname = "eth" + std::to_string(run.attached.size());
            eo.default_route = run.attached.empty();
            auto ep = networks().attach(name, c.id, c.name, run.netns.get(), eo);
            run.attached.push_back(name);
            EndpointState es{ep.network_id, ep.endpoint_id, ep.ip, ep.gateway, ep.mac, ep.ifname, ep.host_veth, ep.prefix, want.aliases};
            es.ip6 = ep.ip6;
            es.gateway6 = ep.gateway6;
            es.prefix6 = ep.prefix6;
            ns.networks[ep.network_name] = es;
            if (own_ips.empty()) first_ip6 = ep.ip6;
            own_ips.push_back(ep.ip);
            host_ips.push_back(ep.ip);
            if (!ep.ip6.empty()) host_ips.push_back(ep.ip6);
            if (first_gateway.empty()) first_gateway = ep.gateway;
            if (ep.dns && dns_server.empty()) dns_server = ep.gateway;
        }
        ns.sandbox_key = "";
        if (dns_server.empty()) {
            resolv = resolv_conf_filtered(host_resolv_conf(), dns);
        } else {
            // A user network: names are answered by the root's DNS server on the gateway, which
            // forwards the rest to the host's resolvers (or to --dns servers, from dns.json).
            DnsSettings embedded = dns;
            bool ndots = false;
            for (auto& o : embedded.options)
                if (o.rfind("ndots:", 0) == 0) ndots = true;
            if (embedded.options.empty()) embedded.options = {"ndots:0"};
            else if (!ndots) embedded.options.push_back("ndots:0");
            resolv = resolv_conf_embedded(host_resolv_conf(), dns_server, embedded);
            if (!hc.dns.empty()) {
                ojson servers = ojson::array();
                for (auto& d : hc.dns) servers.push_back(d);
                sys::write_file_replace(rundir / "dns.json", ojson{{"servers", servers}}.dump());
            }
            // The server's re-read overlaps the rest of the preparation; the container's
            // name answers before its shim is started (the wait at the end).
            dns_reload = network::ensure_dns_server_async(paths());
        }

        // Published ports, on the first network's address.
        std::vector<network::PortSpec> specs;
        for (auto& [port, bindings] : hc.port_bindings) {
            auto [num, proto] = str::split_once(port, '/');
            for (auto& b : bindings) {
                std::string flag = (b.host_ip.empty() ? "" : (b.host_ip.find(':') != std::string::npos ? "[" + b.host_ip + "]:" : b.host_ip + ":")) +
                                   (b.host_port.empty() ? (b.host_ip.empty() ? "" : ":") : b.host_port + ":") + num + "/" +
                                   proto.value_or("tcp");
                if (b.host_ip.empty() && b.host_port.empty()) flag = num + "/" + proto.value_or("tcp");
                specs.push_back(network::parse_publish(flag));
            }
        }
        if (hc.publish_all) {
            std::vector<std::string> unpublished;
            for (auto& p : cf.exposed_ports)
                if (!hc.port_bindings.count(p)) unpublished.push_back(p);
            for (auto& ps : network::publish_all(unpublished)) specs.push_back(ps);
        }
        if (!specs.empty()) {
            auto mapped = networks().publish(c.id, own_ips.front(), specs, first_ip6);
            run.published = true;
            for (auto& m : mapped) {
                ns.ports.push_back({std::to_string(m.container_port) + "/" + m.proto, m.host_ip, std::to_string(m.host_port)});
                if (!network::listened_on_loopback6(m)) continue;
                run.proxy_fds.push_back(network::listen_loopback6(m.proto, m.host_port));
                s.proxies.push_back({kFirstProxyFd + static_cast<int>(run.proxy_fds.size()) - 1, m.proto,
                                     m.container_ip, m.container_port});
            }
        }
    }
    share_namespaces(records_, c, rundir, s);
    if (s.uts_host) hostname = host_hostname();
    s.hostname = hostname;

    // --- /etc files ----------------------------------------------------------------------
    if (mode.rfind("container:", 0) != 0) {
        std::vector<std::pair<std::string, std::string>> extra;
        for (auto& h : hc.extra_hosts) {
            auto [name, ip] = parse_add_host(h);
            if (ip == "host-gateway") {
                if (first_gateway.empty()) {
                    try {
                        first_gateway = networks().inspect("bridge").gateway;
                    } catch (...) {
                    }
                }
                if (first_gateway.empty()) throw Error(Errc::invalid, "unable to derive the IP value for host-gateway");
                ip = first_gateway;
            }
            extra.emplace_back(name, ip);
        }
        std::string hosts = mode == "host" ? sys::read_file_if_exists("/etc/hosts").value_or("")
                                           : hosts_file(extra, host_ips, hostname, cf.domainname);
        if (mode == "host")
            for (auto& [name, ip] : extra) hosts += ip + "\t" + name + "\n";
        sys::write_file_replace(dir / "hostname", hostname_file(hostname));
        sys::write_file_replace(dir / "hosts", hosts);
        sys::write_file_replace(dir / "resolv.conf", resolv);
    }
    auto etc_dir = mode.rfind("container:", 0) == 0 ? records_.dir(records_.get(mode.substr(10)).id) : dir;

    // --- mounts -------------------------------------------------------------------------
    std::vector<const MountSpec*> mounted_volumes;  // their events go once the spec is written
    for (auto& m : hc.mounts) {
        runtime::Mount rm;
        rm.target = m.target;
        rm.readonly = m.readonly;
        if (m.type == "bind") {
            struct stat st;
            if (::stat(m.source.c_str(), &st) < 0) {
                if (errno != ENOENT || !m.create_host_path)
                    throw Error(Errc::invalid, "invalid mount config for type \"bind\": bind source path does not exist: " + m.source);
                sys::mkdirs(m.source, 0755);
                ::stat(m.source.c_str(), &st);
            }
            rm.source = m.source;
            rm.propagation = m.propagation;
            rm.target_is_file = !S_ISDIR(st.st_mode);
        } else if (m.type == "tmpfs") {
            rm.kind = runtime::Mount::Kind::tmpfs;
            std::string opts;
            bool exec = false;
            for (auto& o : str::split(m.tmpfs_options, ','))
                if (o == "exec") exec = true;
            if (m.tmpfs_size) opts += "size=" + std::to_string(m.tmpfs_size);
            if (!opts.empty()) opts += ",";
            char mode_buf[16];
            std::snprintf(mode_buf, sizeof mode_buf, "%o", m.tmpfs_mode ? m.tmpfs_mode : 01777);
            opts += std::string("mode=") + mode_buf;
            rm.tmpfs_options = opts;
            rm.flags = MS_NOSUID | MS_NODEV | (exec ? 0 : MS_NOEXEC);
        } else {
            if (m.source.empty()) throw Error(Errc::failed, "volume mount at " + m.target + " has no volume");
            rm.source = volumes().acquire(m.source, c.id);  // released by release_run
            mounted_volumes.push_back(&m);
            rm.copy_up = !m.nocopy;
            if (!m.subpath.empty()) {
                auto [path, is_dir] = volume_subpath(rm.source, m.subpath);
                rm.source = path;
                rm.target_is_file = !is_dir;
                rm.copy_up = false;  // a part of a volume is never filled from the image
            }
        }
        s.mounts.push_back(rm);
    }
    auto has_target = [&](const std::string& t) {
        for (auto& m : s.mounts)
            if (m.target == t) return true;
        return false;
    };
    if (!has_target("/etc/hostname")) s.mounts.push_back(bind_file(etc_dir / "hostname", "/etc/hostname"));
    if (!has_target("/etc/hosts")) s.mounts.push_back(bind_file(etc_dir / "hosts", "/etc/hosts"));
    if (!has_target("/etc/resolv.conf")) s.mounts.push_back(bind_file(etc_dir / "resolv.conf", "/etc/resolv.conf"));

    // --- process ------------------------------------------------------------------------
    auto& p = s.process;
    p.args = c.command();
    p.env = cf.env;
    auto has_env = [&](const char* k) {
        for (auto& e : p.env)
            if (e.rfind(std::string(k) + "=", 0) == 0) return true;
        return false;
    };
    if (!has_env("HOSTNAME")) p.env.push_back("HOSTNAME=" + hostname);
    if (cf.tty && !has_env("TERM")) p.env.push_back("TERM=xterm");
    p.cwd = cf.working_dir.empty() ? "/" : cf.working_dir;
    p.user = cf.user;
    p.additional_groups = hc.group_add;
    p.tty = cf.tty;
    p.stdin_open = cf.open_stdin;
    p.caps = container_caps(hc);
    if (auto cached = seccomp_program(hc, p.caps)) {
        // A hard link to the cached program: the run keeps its own even when the cache is
        // cleared, and no bytes are written here (nor freed again by the cleanup). A copy when
        // the run dir is on another filesystem.
        auto path = rundir / "seccomp.bpf";
        if (::link(cached->c_str(), path.c_str()) < 0) sys::write_file_replace(path, sys::read_file(*cached), 0600);
        s.seccomp_path = path.string();
        p.seccomp = true;
    }
    for (auto& so : hc.security_opt) {
        auto [k, v] = str::split_once(so, so.find('=') != std::string::npos ? '=' : ':');
        if (k == "no-new-privileges" && v.value_or("true") == "true") p.no_new_privileges = true;
    }
    for (auto& u : hc.ulimits)
        p.rlimits.push_back({*ulimit_resource(u.name), static_cast<std::uint64_t>(u.soft), static_cast<std::uint64_t>(u.hard)});
    if (hc.init.value_or(false)) {
        s.init = true;
        p.args.insert(p.args.begin(), {"/sbin/docker-init", "--"});
    }

    // --- supervision --------------------------------------------------------------------
    s.log_path = records_.log_path(c.id).string();
    if (auto it = hc.log_config.find("max-size"); it != hc.log_config.end()) {
        auto b = str::parse_bytes(it->second);
        if (!b || *b <= 0) throw Error(Errc::invalid, "invalid max-size: " + it->second);
        s.log_max_size = *b;
    }
    if (auto it = hc.log_config.find("max-file"); it != hc.log_config.end()) {
        auto n = str::parse_int(it->second);
        if (!n || *n < 1) throw Error(Errc::invalid, "invalid max-file: " + it->second);
        s.log_max_file = static_cast<int>(*n);
    }
    s.restart.name = hc.restart_policy;
    s.restart.max_retries = hc.restart_max_retries;
    if (cf.healthcheck && !cf.healthcheck->test.empty() && cf.healthcheck->test[0] != "NONE") {
        const auto& h = *cf.healthcheck;
        runtime::Healthcheck rh;
        rh.test = h.test;
        if (h.interval) rh.interval_ns = h.interval;
        if (h.timeout) rh.timeout_ns = h.timeout;
        if (h.start_period) rh.start_period_ns = h.start_period;
        if (h.start_interval) rh.start_interval_ns = h.start_interval;
        if (h.retries) rh.retries = h.retries;
        s.health = rh;
    }
    s.stop_signal = cf.stop_signal.empty() ? SIGTERM : parse_signal(cf.stop_signal).value_or(SIGTERM);
    s.stop_timeout = cf.stop_timeout.value_or(10);
    s.state_path = records_.state_path(c.id).string();
    s.socket_path = (rundir / "shim.sock").string();
    s.lock_path = (rundir / "shim.lock").string();

    auto exe = sys::self_exe_dir();
    s.exit_command = {(exe / "berth").string(), "--root", paths().root.string(), "--run-dir", paths().run.string(),
                      "container", "cleanup", "--run-id", run.run_id, c.id};
    s.auto_remove = hc.auto_remove;
    s.event_root = paths().root.string();
    s.event_attrs = event_attributes(c);
    sys::write_file_replace(rundir / "network.json", network_state_to_json(ns));
    sys::write_file_replace(rundir / "spec.json", runtime::to_json(s), 0600);
    // Docker's event for each volume a start mounts, once the run is prepared: release_run
    // records "unmount" for a run that got this far (it has a spec.json) and only for one.
    for (const auto* m : mounted_volumes)
        sys::emit_event(paths().root, "volume", "mount", m->source,
                        {{"container", c.id},
                         {"destination", m->target},
                         {"driver", volumes::kLocalDriver},
                         {"propagation", m->propagation},
                         {"read/write", m->readonly ? "false" : "true"}});
    dns_reload.wait();
    return run;
}

namespace {

// The middle process of spawn_shim: it shares our memory (clone with CLONE_VM|CLONE_VFORK, so
// we wait while it runs), posix_spawns berth-shim and exits, which leaves the shim nobody's
// child but init's without a page table copied anywhere (a fork of this process would copy
// ours, a fork in the shim its own, whose pages it would then fault in again).
struct SpawnCall {
    const char* path;
    const posix_spawn_file_actions_t* fa;
    const posix_spawnattr_t* attr;
    char* const* argv;
    int err = 0;
};

int spawn_middle(void* arg) {
    auto* call = static_cast<SpawnCall*>(arg);
    pid_t pid;
    call->err = ::posix_spawn(&pid, call->path, call->fa, call->attr, call->argv, environ);
    ::_exit(call->err == 0 ? 0 : 1);
}

// Starts berth-shim detached, in a session of its own, with fd 3 = our socket, fd 4 = the
// network namespace and fds 5… the [::1] published ports' sockets (spec.proxies names them).
sys::unique_fd spawn_shim(const std::string& spec_path, int netns_fd, const std::vector<sys::unique_fd>& proxy_fds) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) sys::throw_errno("socketpair");
    sys::unique_fd ours(sv[0]), theirs(sv[1]);
    std::string shim = (sys::self_exe_dir() / "berth-shim").string();
    if (::access(shim.c_str(), X_OK) < 0) sys::throw_errno("access", shim);
    // Copies above the targets, so that dup2 to 3 cannot clobber the source of the dup2 to 4.
    sys::unique_fd s_fd(::fcntl(theirs.get(), F_DUPFD_CLOEXEC, 10));
    if (!s_fd) sys::throw_errno("fcntl(F_DUPFD_CLOEXEC)");
    sys::unique_fd n_fd;
    if (netns_fd >= 0) {
        n_fd.reset(::fcntl(netns_fd, F_DUPFD_CLOEXEC, 10));
        if (!n_fd) sys::throw_errno("fcntl(F_DUPFD_CLOEXEC)");
    }
    std::vector<sys::unique_fd> p_fds;
    for (auto& fd : proxy_fds) {
        // Above every target, so no dup2 below clobbers a source not yet copied.
        p_fds.emplace_back(::fcntl(fd.get(), F_DUPFD_CLOEXEC, kFirstProxyFd + 10 + static_cast<int>(proxy_fds.size())));
        if (!p_fds.back()) sys::throw_errno("fcntl(F_DUPFD_CLOEXEC)");
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    ::posix_spawn_file_actions_init(&fa);
    ::posix_spawnattr_init(&attr);
    struct Free {
        posix_spawn_file_actions_t* fa;
        posix_spawnattr_t* attr;
        ~Free() {
            ::posix_spawn_file_actions_destroy(fa);
            ::posix_spawnattr_destroy(attr);
        }
    } free_actions{&fa, &attr};
    ::posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
    ::posix_spawn_file_actions_adddup2(&fa, 0, 1);
    ::posix_spawn_file_actions_adddup2(&fa, 0, 2);
    ::posix_spawn_file_actions_adddup2(&fa, s_fd.get(), 3);
    if (n_fd) ::posix_spawn_file_actions_adddup2(&fa, n_fd.get(), 4);
    for (size_t i = 0; i < p_fds.size(); ++i)
        ::posix_spawn_file_actions_adddup2(&fa, p_fds[i].get(), kFirstProxyFd + static_cast<int>(i));
    ::posix_spawn_file_actions_addclosefrom_np(&fa, p_fds.empty() ? (n_fd ? 5 : 4)
                                                                  : kFirstProxyFd + static_cast<int>(p_fds.size()));
    sigset_t none;
    sigemptyset(&none);
    ::posix_spawnattr_setsigmask(&attr, &none);
    ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID);
    const char* argv[] = {shim.c_str(), spec_path.c_str(), nullptr};
    SpawnCall call{shim.c_str(), &fa, &attr, const_cast<char* const*>(argv)};
    // posix_spawn hands the shim an empty signal mask.
    int status = sys::run_middle(spawn_middle, &call, "the middle process for " + shim);
    if (call.err) throw sys::Error(call.err, "posix_spawn", shim);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw Error(Errc::failed, "could not start berth-shim");
    return ours;
}

}  // namespace

int Engine::start(const std::string& id_or_name, const StartOptions& opts) {
    auto c = records_.get(id_or_name);
    if (opts.attach) emit_event(paths(), c, "attach");
    sys::unique_fd sock;
    std::string run_id;  // set when this call started the run and claimed its cleanup
    // A --rm container that never ran is removed, as Docker's daemon does when start fails
    // (one that ran and exited is removed by its shim's exit command).
    bool unstarted = false;
    try {
        {
            auto lock = records_.lock(c.id);
            if (records_.shim_alive(c.id)) {
                if (!opts.attach) return 0;
                sock = sys::connect_unix((records_.run_dir(c.id) / "shim.sock").string());
                runtime::write_frame(sock.get(), 'A', std::string(1, static_cast<char>(attach_flags(opts))));
            } else {
                auto raw = store::read_state(records_.state_path(c.id));
                if (raw.running()) release_run(c);  // the previous run's shim died without cleaning up
                PreparedRun run;
                try {
                    run = prepare_run(c);
                } catch (...) {
                    unstarted = true;
                    try {
                        release_run(c);
                    } catch (...) {
                    }
                    throw;
                }
                try {
                    sock = spawn_shim((records_.run_dir(c.id) / "spec.json").string(), run.netns ? run.netns.get() : -1,
                                      run.proxy_fds);
                    if (opts.attach) {
                        auto flags = static_cast<unsigned char>(attach_flags(opts) | runtime::kClaimCleanup);
                        runtime::write_frame(sock.get(), 'A', std::string(1, static_cast<char>(flags)));
                        run_id = run.run_id;
                    } else {
                        runtime::write_frame(sock.get(), 'D');
                    }
                } catch (...) {
                    unstarted = true;
                    release_run(c);
                    throw;
                }
                run.netns.reset();
                auto reply = runtime::read_frame(sock.get());
                if (!reply) {
                    unstarted = true;
                    release_run(c);
                    throw Error(Errc::failed, "berth-shim exited without starting the container");
                }
                if (reply->type == 'X') {
                    auto [code, msg] = str::split_once(reply->data, '\n');
                    // The shim now runs the cleanup, which takes the container's lock: let go of it
                    // and wait for the shim to finish, so the caller sees the final state.
                    { auto released = std::move(lock); }
                    while (runtime::read_frame(sock.get())) {
                    }
                    throw runtime::StartError(static_cast<int>(str::parse_int(code).value_or(125)), msg.value_or(reply->data));
                }
            }
        }
    } catch (...) {
        if (unstarted && c.host_config.auto_remove) {
            try {
                remove(c.id, false, true);
            } catch (...) {
            }
        }
        throw;
    }
    if (!opts.attach) return 0;
    auto end = stream_attach(sock.get(), opts);
    if (end.cleanup_owed && !run_id.empty()) {
        // The shim waits for our 'c' (or our end) before it would run the exit command, so a
        // Ctrl-C now must not cut the cleanup short: hold the terminal's signals until it is done.
        sigset_t mask, old;
        sigemptyset(&mask);
        for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&mask, sig);
        ::pthread_sigmask(SIG_BLOCK, &mask, &old);
        struct Restore {
            sigset_t old;
            ~Restore() { ::pthread_sigmask(SIG_SETMASK, &old, nullptr); }
        } restore{old};
        std::vector<std::filesystem::path> trash;
        cleanup(c.id, run_id, &trash);
        try {
            runtime::write_frame(sock.get(), 'c', deferred_removals(trash));
        } catch (const sys::Error&) {
            // The shim is gone already: delete what it would have.
            for (auto& t : trash) sys::remove_tree(t);
        }
    }
    return end.exit_code;
}

}  // namespace berth::container
