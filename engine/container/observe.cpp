// top, stats, update and attach: looking at (or re-limiting) a container that runs.
#include <pwd.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "container/engine.hpp"
#include "container/start_internal.hpp"
#include "runtime/attach.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"
#include "sys/unix_socket.hpp"

namespace berth::container {

namespace {

cgroups::Cgroup container_cgroup(const store::Paths& p, const Container& c) {
    return cgroups::Cgroup::open(cgroups::detect(), cgroup_parent_path(p.prefix, c.host_config), c.id);
}

std::string user_name(uid_t uid) {
    // Names as the host sees them, as docker top (ps on the host) shows them.
    if (auto* pw = ::getpwuid(uid)) return pw->pw_name;
    return std::to_string(uid);
}

}  // namespace

std::vector<ProcessRow> Engine::top(const std::string& id_or_name) {
    auto c = records_.get(id_or_name);
    auto st = records_.state(c.id);
    if (!st.running()) throw Error(Errc::conflict, "container " + c.id + " is not running");
    auto pids = container_cgroup(paths(), c).pids();
    long hz = ::sysconf(_SC_CLK_TCK);
    struct sysinfo si {};
    ::sysinfo(&si);
    auto boot = sys::now_ns() / 1000000000 - si.uptime;
    std::vector<ProcessRow> rows;
    for (pid_t pid : pids) {
        auto stat = sys::read_file_if_exists("/proc/" + std::to_string(pid) + "/stat");
        auto status = sys::read_file_if_exists("/proc/" + std::to_string(pid) + "/status");
        auto cmdline = sys::read_file_if_exists("/proc/" + std::to_string(pid) + "/cmdline");
        if (!stat || !status) continue;  // exited meanwhile
        // Fields after the ")" of comm: state ppid pgrp session tty_nr ... utime(14) stime(15) ... starttime(22)
        auto close = stat->rfind(')');
        auto f = str::split(std::string(str::trim(stat->substr(close + 2))), ' ');
        if (f.size() < 20) continue;
        ProcessRow r;
        r.pid = std::to_string(pid);
        r.ppid = f[1];
        auto uidpos = status->find("Uid:\t");
        uid_t uid = uidpos == std::string::npos ? 0 : static_cast<uid_t>(std::stoul(status->substr(uidpos + 5)));
        r.uid = user_name(uid);
        auto ticks = std::stoull(f[11]) + std::stoull(f[12]);
        auto started = boot + static_cast<std::int64_t>(std::stoull(f[19]) / static_cast<unsigned long long>(hz));
        auto age = std::max<std::int64_t>(1, sys::now_ns() / 1000000000 - started);
        r.c = std::to_string(ticks / static_cast<unsigned long long>(hz) * 100 / static_cast<unsigned long long>(age));
        time_t t = static_cast<time_t>(started);
        struct tm tm;
        ::localtime_r(&t, &tm);
        char buf[16];
        std::strftime(buf, sizeof buf, "%H:%M", &tm);
        r.stime = buf;
        int tty = std::stoi(f[4]);
        r.tty = tty == 0 ? "?" : "pts/" + std::to_string(tty & 0xff);
        auto secs = ticks / static_cast<unsigned long long>(hz);
        char tbuf[32];  // hours unbounded: room for any unsigned long long
        std::snprintf(tbuf, sizeof tbuf, "%02llu:%02llu:%02llu", secs / 3600, secs / 60 % 60, secs % 60);
        r.time = tbuf;
        std::string cmd = cmdline ? *cmdline : "";
        std::replace(cmd.begin(), cmd.end(), '\0', ' ');
        r.cmd = std::string(str::trim(cmd));
        if (r.cmd.empty()) r.cmd = "[" + stat->substr(stat->find('(') + 1, close - stat->find('(') - 1) + "]";
        rows.push_back(r);
    }
    return rows;
}

StatsSample Engine::stats(const Container& c) {
    StatsSample s;
    s.at_ns = sys::monotonic_ns();
    s.cg = container_cgroup(paths(), c).stats();
    auto st = records_.state(c.id);
    if (st.pid > 0) {
        // The container's own interfaces, from its network namespace.
        if (auto dev = sys::read_file_if_exists("/proc/" + std::to_string(st.pid) + "/net/dev")) {
            std::istringstream in(*dev);
            std::string line;
            while (std::getline(in, line)) {
                auto colon = line.find(':');
                if (colon == std::string::npos) continue;
                auto name = std::string(str::trim(line.substr(0, colon)));
                if (name == "lo") continue;
                std::istringstream f(line.substr(colon + 1));
                std::uint64_t v[16] = {};
                for (auto& x : v) f >> x;
                s.net_rx += v[0];
                s.net_tx += v[8];
            }
        }
    }
    return s;
}

void Engine::update(const std::string& id_or_name, const cgroups::Resources& r,
                    std::optional<std::pair<std::string, int>> restart) {
    auto c = records_.get(id_or_name);
    auto lock = records_.lock(c.id);
    auto layout = cgroups::detect();
    auto checked = cgroups::check(layout, r, true);
    if (!checked.errors.empty()) throw Error(checked.unsupported ? Errc::unsupported : Errc::invalid, str::join(checked.errors, "\n"));
    for (auto& w : checked.warnings) warnings_.push_back(w);
    auto& res = c.host_config.resources;
    auto merge = [](auto& into, const auto& from) {
        if (from) into = from;
    };
    merge(res.memory, r.memory);
    merge(res.memory_swap, r.memory_swap);
    merge(res.memory_reservation, r.memory_reservation);
    merge(res.nano_cpus, r.nano_cpus);
    merge(res.cpu_shares, r.cpu_shares);
    merge(res.cpu_period, r.cpu_period);
    merge(res.cpu_quota, r.cpu_quota);
    merge(res.cpuset_cpus, r.cpuset_cpus);
    merge(res.cpuset_mems, r.cpuset_mems);
    merge(res.pids_limit, r.pids_limit);
    merge(res.blkio_weight, r.blkio_weight);
    if (restart) {
        if (c.host_config.auto_remove && restart->first != "no")
            throw Error(Errc::invalid, "Restart policy cannot be updated because AutoRemove is enabled for the container");
        c.host_config.restart_policy = restart->first;
        c.host_config.restart_max_retries = restart->second;
    }
    if (records_.shim_alive(c.id)) {
        auto cg = container_cgroup(paths(), c);
        for (auto& w : cg.update(r)) warnings_.push_back(w);
    }
    records_.save(c);
}

int Engine::attach(const std::string& id_or_name, const StartOptions& opts) {
    auto c = records_.get(id_or_name);
    if (!records_.shim_alive(c.id)) throw Error(Errc::conflict, "You cannot attach to a stopped container, start it first");
    auto sock = sys::connect_unix((records_.run_dir(c.id) / "shim.sock").string());
    runtime::write_frame(sock.get(), 'A', std::string(1, static_cast<char>(attach_flags(opts))));
    return stream_attach(sock.get(), opts).exit_code;
}

}  // namespace berth::container
