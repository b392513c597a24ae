// top, stats, update, attach, commit, export (top level and under `container`).
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <iostream>
#include <thread>

#include "cli/container_group.hpp"
#include "cli/output.hpp"
#include "container/engine.hpp"
#include "container/parse.hpp"
#include "runtime/pty.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"

namespace berth::cli {
namespace {

void add_top(CLI::App* p, Context& ctx) {
    auto name = std::make_shared<std::string>();
    auto* cmd = p->add_subcommand("top", "Display the running processes of a container");
    cmd->add_option("CONTAINER", *name)->required();
    cmd->callback([=, &ctx] {
        container::Engine e(ctx.paths());
        Table t;
        t.add({"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"});
        for (auto& r : e.top(*name)) t.add({r.uid, r.pid, r.ppid, r.c, r.stime, r.tty, r.time, r.cmd});
        std::cout << t.str();
    });
}

std::string pct(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f%%", v);
    return buf;
}

void add_stats(CLI::App* p, Context& ctx) {
    struct Args {
        bool all = false, no_stream = false, no_trunc = false;
        std::string format;
        std::vector<std::string> names;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = p->add_subcommand("stats", "Display a live stream of container(s) resource usage statistics");
    cmd->add_flag("-a,--all", a->all, "Show all containers (default shows just running)");
    cmd->add_flag("--no-stream", a->no_stream, "Disable streaming stats and only pull the first result");
    cmd->add_flag("--no-trunc", a->no_trunc, "Do not truncate output");
    add_format_flag(cmd, a->format);
    cmd->add_option("CONTAINER", a->names);
    cmd->callback([a, &ctx] {
        container::Engine e(ctx.paths());
        ListFormat spec;
        spec.default_table = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
        spec.headers = {{"ID", "CONTAINER ID"}, {"Name", "NAME"},       {"CPUPerc", "CPU %"},     {"MemUsage", "MEM USAGE / LIMIT"},
                        {"MemPerc", "MEM %"},    {"NetIO", "NET I/O"},   {"BlockIO", "BLOCK I/O"}, {"PIDs", "PIDS"},
                        {"Container", "CONTAINER"}};
        int ncpu = static_cast<int>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
        for (;;) {
            std::vector<container::Container> cs;
            if (a->names.empty()) {
                for (auto& c : e.records().list())
                    if (a->all || e.state(c).running()) cs.push_back(c);
            } else {
                for (auto& n : a->names) cs.push_back(e.records().get(n));
            }
            // CPU % needs two samples; Docker's daemon takes them a second apart.
            std::vector<std::optional<container::StatsSample>> first;
            for (auto& c : cs) {
                try {
                    first.push_back(e.stats(c));
                } catch (...) {
                    first.push_back(std::nullopt);
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1000));
            std::vector<ojson> items;
            for (size_t i = 0; i < cs.size(); ++i) {
                auto& c = cs[i];
                ojson item = {{"Container", a->no_trunc ? c.id : c.short_id()}, {"ID", a->no_trunc ? c.id : c.short_id()},
                              {"Name", c.name}};
                std::optional<container::StatsSample> second;
                try {
                    if (first[i]) second = e.stats(c);
                } catch (...) {
                }
                if (!first[i] || !second) {
                    item.update({{"CPUPerc", "--"}, {"MemUsage", "-- / --"}, {"MemPerc", "--"}, {"NetIO", "--"}, {"BlockIO", "--"}, {"PIDs", "--"}});
                } else {
                    auto& s1 = *first[i];
                    auto& s2 = *second;
                    double dt = static_cast<double>(s2.at_ns - s1.at_ns);
                    double cpu = dt > 0 ? static_cast<double>(s2.cg.cpu_usage_ns - s1.cg.cpu_usage_ns) / dt * 100.0 : 0;
                    (void)ncpu;
                    double used = static_cast<double>(s2.cg.memory_usage_no_cache());
                    double limit = static_cast<double>(s2.cg.memory_limit);
                    // docker stats prints binary units for memory ("1.2MiB / 7.7GiB").
                    auto bin = [](double b) {
                        const char* u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
                        int k = 0;
                        while (b >= 1024 && k < 4) {
                            b /= 1024;
                            ++k;
                        }
                        char buf[32];
                        std::snprintf(buf, sizeof buf, "%.4g%s", b, u[k]);
                        return std::string(buf);
                    };
                    item["CPUPerc"] = pct(cpu);
                    item["MemUsage"] = bin(used) + " / " + bin(limit);
                    item["MemPerc"] = pct(limit > 0 ? used / limit * 100 : 0);
                    item["NetIO"] = str::human_size(static_cast<double>(s2.net_rx)) + " / " + str::human_size(static_cast<double>(s2.net_tx));
                    item["BlockIO"] = str::human_size(static_cast<double>(s2.cg.blkio_read_bytes)) + " / " +
                                      str::human_size(static_cast<double>(s2.cg.blkio_write_bytes));
                    item["PIDs"] = std::to_string(s2.cg.pids_current);
                }
                items.push_back(item);
            }
            if (!a->no_stream) std::cout << "\033[2J\033[H";
            print_list(items, a->format, spec);
            std::cout.flush();
            if (a->no_stream) return;
        }
    });
}

void add_update(CLI::App* p, Context& ctx) {
    struct Args {
        std::string memory, memory_swap, memory_reservation, cpus, cpu_shares, cpu_period, cpu_quota, cpuset_cpus,
            cpuset_mems, pids_limit, blkio_weight, restart;
        std::vector<std::string> names;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = p->add_subcommand("update", "Update configuration of one or more containers");
    cmd->add_option("-m,--memory", a->memory, "Memory limit");
    cmd->add_option("--memory-swap", a->memory_swap, "Swap limit equal to memory plus swap");
    cmd->add_option("--memory-reservation", a->memory_reservation, "Memory soft limit");
    cmd->add_option("--cpus", a->cpus, "Number of CPUs");
    cmd->add_option("-c,--cpu-shares", a->cpu_shares, "CPU shares (relative weight)");
    cmd->add_option("--cpu-period", a->cpu_period, "Limit CPU CFS period");
    cmd->add_option("--cpu-quota", a->cpu_quota, "Limit CPU CFS quota");
    cmd->add_option("--cpuset-cpus", a->cpuset_cpus, "CPUs in which to allow execution");
    cmd->add_option("--cpuset-mems", a->cpuset_mems, "MEMs in which to allow execution");
    cmd->add_option("--pids-limit", a->pids_limit, "Tune container pids limit");
    cmd->add_option("--blkio-weight", a->blkio_weight, "Block IO (relative weight)");
    cmd->add_option("--restart", a->restart, "Restart policy to apply when a container exits");
    cmd->add_option("CONTAINER", a->names)->required();
    cmd->callback([a, &ctx] {
        cgroups::Resources r;
        auto num = [](const std::string& flag, const std::string& v) {
            auto n = str::parse_int(v);
            if (!n) throw Error(Errc::invalid, "invalid argument \"" + v + "\" for \"" + flag + "\" flag");
            return *n;
        };
        auto bytes = [](const std::string& flag, const std::string& v) -> std::int64_t {
            if (v == "-1") return -1;
            auto n = str::parse_bytes(v);
            if (!n) throw Error(Errc::invalid, "invalid argument \"" + v + "\" for \"" + flag + "\" flag: invalid size: '" + v + "'");
            return *n;
        };
        if (!a->memory.empty()) r.memory = bytes("--memory", a->memory);
        if (!a->memory_swap.empty()) r.memory_swap = bytes("--memory-swap", a->memory_swap);
        if (!a->memory_reservation.empty()) r.memory_reservation = bytes("--memory-reservation", a->memory_reservation);
        if (!a->cpus.empty()) {
            auto c = str::parse_double(a->cpus);
            if (!c || *c < 0) throw Error(Errc::invalid, "invalid argument \"" + a->cpus + "\" for \"--cpus\" flag");
            r.nano_cpus = static_cast<std::int64_t>(*c * 1e9);
        }
        if (!a->cpu_shares.empty()) r.cpu_shares = static_cast<std::uint64_t>(num("--cpu-shares", a->cpu_shares));
        if (!a->cpu_period.empty()) r.cpu_period = static_cast<std::uint64_t>(num("--cpu-period", a->cpu_period));
        if (!a->cpu_quota.empty()) r.cpu_quota = num("--cpu-quota", a->cpu_quota);
        if (!a->cpuset_cpus.empty()) r.cpuset_cpus = a->cpuset_cpus;
        if (!a->cpuset_mems.empty()) r.cpuset_mems = a->cpuset_mems;
        if (!a->pids_limit.empty()) r.pids_limit = num("--pids-limit", a->pids_limit);
        if (!a->blkio_weight.empty()) r.blkio_weight = static_cast<std::uint16_t>(num("--blkio-weight", a->blkio_weight));
        std::optional<std::pair<std::string, int>> restart;
        if (!a->restart.empty()) restart = container::parse_restart(a->restart);
        container::Engine e(ctx.paths());
        bool failed = false;
        for (auto& n : a->names) {
            try {
                e.update(n, r, restart);
                for (auto& w : e.take_warnings()) std::cerr << "WARNING: " << w << "\n";
                std::cout << n << "\n";
            } catch (const std::exception& ex) {
                std::cerr << "Error response from daemon: " << ex.what() << "\n";
                failed = true;
            }
        }
        if (failed) throw Exit{1};
    });
}

void add_attach(CLI::App* p, Context& ctx) {
    struct Args {
        bool no_stdin = false, sig_proxy = true;
        std::string name, detach_keys;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = p->add_subcommand("attach", "Attach local standard input, output, and error streams to a running container");
    cmd->add_flag("--no-stdin", a->no_stdin, "Do not attach STDIN");
    cmd->add_flag("--sig-proxy,!--no-sig-proxy", a->sig_proxy, "Proxy all received signals to the process");
    cmd->add_option("--detach-keys", a->detach_keys, "Override the key sequence for detaching a container");
    cmd->add_option("CONTAINER", a->name)->required();
    cmd->callback([a, &ctx] {
        container::Engine e(ctx.paths());
        auto c = e.records().get(a->name);
        container::StartOptions so;
        so.attach = true;
        so.attach_stdin = !a->no_stdin && c.config.open_stdin;
        so.stdin_fd = so.attach_stdin ? STDIN_FILENO : -1;
        so.tty = c.config.tty && ::isatty(STDIN_FILENO);
        so.on_output = [](int stream, std::string_view d) {
            auto& os = stream == 2 ? std::cerr : std::cout;
            os.write(d.data(), static_cast<std::streamsize>(d.size()));
            os.flush();
        };
        std::optional<runtime::RawTerminal> raw;
        if (so.tty) raw.emplace(STDIN_FILENO);
        throw Exit{e.attach(c.id, so)};
    });
}

void add_commit(CLI::App* p, Context& ctx) {
    struct Args {
        container::CommitOptions o;
        bool no_pause = false;
        std::string name;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = p->add_subcommand("commit", "Create a new image from a container's changes");
    cmd->add_option("-a,--author", a->o.author, "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")");
    cmd->add_option("-c,--change", a->o.changes, "Apply Dockerfile instruction to the created image")->allow_extra_args(false);
    cmd->add_option("-m,--message", a->o.message, "Commit message");
    cmd->add_flag("-p,--pause,!--no-pause", a->o.pause, "Pause container during commit (default true)");
    cmd->add_option("CONTAINER", a->name)->required();
    cmd->add_option("REPOSITORY[:TAG]", a->o.reference);
    cmd->callback([a, &ctx] {
        container::Engine e(ctx.paths());
        std::cout << e.commit(a->name, a->o) << "\n";
    });
}

void add_export(CLI::App* p, Context& ctx) {
    struct Args {
        std::string output, name;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = p->add_subcommand("export", "Export a container's filesystem as a tar archive");
    cmd->add_option("-o,--output", a->output, "Write to a file, instead of STDOUT");
    cmd->add_option("CONTAINER", a->name)->required();
    cmd->callback([a, &ctx] {
        if (a->output.empty() && ::isatty(STDOUT_FILENO))
            throw Error(Errc::invalid, "cowardly refusing to save to a terminal. Use the -o flag or redirect");
        container::Engine e(ctx.paths());
        if (a->output.empty()) {
            e.export_rootfs(a->name, STDOUT_FILENO);
            return;
        }
        auto tmp = a->output + ".tmp-berth";
        try {
            auto fd = sys::open_path(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            e.export_rootfs(a->name, fd.get());
        } catch (...) {
            ::unlink(tmp.c_str());
            throw;
        }
        if (::rename(tmp.c_str(), a->output.c_str()) < 0) sys::throw_errno("rename", a->output);
    });
}

Registrar reg(26, {"top", "stats", "update", "attach", "commit", "export", "container"}, [](CLI::App& app, Context& ctx) {
    for (auto* p : {&app, container_group(app)}) {
        add_top(p, ctx);
        add_stats(p, ctx);
        add_update(p, ctx);
        add_attach(p, ctx);
        add_commit(p, ctx);
        add_export(p, ctx);
    }
});

}  // namespace
}  // namespace berth::cli
