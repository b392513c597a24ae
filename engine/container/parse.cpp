#include "container/parse.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <csignal>

#include "network/nat.hpp"
#include "sys/error.hpp"
#include "sys/random.hpp"
#include "sys/strings.hpp"

namespace berth::container {

namespace {

[[noreturn]] void invalid(std::string msg) { throw Error(Errc::invalid, std::move(msg)); }

bool valid_volume_name(std::string_view s) {
    // Docker's local driver: [a-zA-Z0-9][a-zA-Z0-9_.-]+
    return s.size() >= 2 && str::valid_object_name(s);
}

void check_target(std::string_view target, std::string_view spec, const char* type) {
    if (target.empty() || target.front() != '/')
        invalid("invalid volume specification: '" + std::string(spec) + "': invalid mount config for type \"" + type +
                "\": invalid mount path: '" + std::string(target) + "' mount path must be absolute");
}

bool is_propagation(std::string_view o) {
    return o == "shared" || o == "rshared" || o == "slave" || o == "rslave" || o == "private" || o == "rprivate";
}

std::optional<bool> parse_bool(std::string_view v) {
    if (v.empty() || v == "1" || v == "true" || v == "True" || v == "TRUE") return true;
    if (v == "0" || v == "false" || v == "False" || v == "FALSE") return false;
    return std::nullopt;
}

unsigned parse_mode(std::string_view v, std::string_view spec) {
    unsigned mode = 0;
    if (v.empty()) invalid("invalid tmpfs mode in '" + std::string(spec) + "'");
    for (char c : v) {
        if (c < '0' || c > '7') invalid("invalid tmpfs mode \"" + std::string(v) + "\": must be octal");
        mode = mode * 8 + static_cast<unsigned>(c - '0');
    }
    if (mode > 07777) invalid("invalid tmpfs mode \"" + std::string(v) + "\"");
    return mode;
}

}  // namespace

MountSpec parse_volume_flag(std::string_view spec) {
    if (spec.empty()) invalid("invalid empty volume spec");
    auto parts = str::split(spec, ':');
    MountSpec m;
    if (parts.size() == 1) {
        check_target(parts[0], spec, "volume");
        m.type = "volume";
        m.anonymous = true;
        m.target = parts[0];
        return m;
    }
    if (parts.size() > 3) invalid("invalid volume specification: '" + std::string(spec) + "'");
    const std::string& src = parts[0];
    m.target = parts[1];
    if (src.empty()) invalid("invalid volume specification: '" + std::string(spec) + "': empty source");
    if (src.front() == '/') {
        m.type = "bind";
        m.source = src;
        m.create_host_path = true;
    } else {
        if (!valid_volume_name(src))
            invalid("create " + src + ": \"" + src +
                    "\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are "
                    "allowed. If you intended to pass a host directory, use absolute path");
        m.type = "volume";
        m.source = src;
    }
    check_target(m.target, spec, m.type.c_str());
    if (parts.size() == 3) {
        for (auto& o : str::split(parts[2], ',')) {
            if (o == "ro") m.readonly = true;
            else if (o == "rw") m.readonly = false;
            else if (o == "z" || o == "Z") {  // SELinux relabelling: nothing to do without SELinux
            } else if (is_propagation(o) && m.type == "bind") m.propagation = o;
            else if (o == "nocopy" && m.type == "volume") m.nocopy = true;
            else invalid("invalid mode: " + o);
        }
    }
    return m;
}

void check_subpath(const std::string& subpath) {
    // Docker 26: a local path (filepath.IsLocal): relative, and never above the volume's root.
    bool ok = !subpath.empty() && subpath.front() != '/';
    for (auto& part : str::split(subpath, '/')) ok = ok && part != "..";
    if (!ok) invalid("invalid mount config for type \"volume\": subpath must be a relative path within the volume");
}

MountSpec parse_mount_flag(std::string_view spec) {
    MountSpec m;
    m.type = "volume";
    bool readonly_set = false;
    std::string tmpfs_opts;
    for (auto& field : str::split(spec, ',')) {
        auto [key, val] = str::split_once(field, '=');
        std::string k = str::to_lower(key);
        std::string v = val.value_or("");
        if (k == "type") {
            if (v != "bind" && v != "volume" && v != "tmpfs")
                invalid("invalid mount type \"" + v + "\" (bind, volume and tmpfs are supported)");
            m.type = v;
        } else if (k == "source" || k == "src") {
            m.source = v;
        } else if (k == "target" || k == "destination" || k == "dst") {
            m.target = v;
        } else if (k == "readonly" || k == "ro") {
            auto b = parse_bool(v);
            if (!b) invalid("invalid value for " + k + ": " + v);
            m.readonly = *b;
            readonly_set = true;
        } else if (k == "bind-propagation") {
            if (!is_propagation(v)) invalid("invalid value for bind-propagation: " + v);
            m.propagation = v;
        } else if (k == "volume-nocopy") {
            auto b = parse_bool(v);
            if (!b) invalid("invalid value for volume-nocopy: " + v);
            m.nocopy = *b;
        } else if (k == "volume-subpath") {
            m.subpath = v;
        } else if (k == "tmpfs-size") {
            auto b = str::parse_bytes(v);
            if (!b) invalid("invalid value for tmpfs-size: " + v);
            m.tmpfs_size = *b;
        } else if (k == "tmpfs-mode") {
            m.tmpfs_mode = parse_mode(v, spec);
        } else if (k == "consistency" || k == "volume-driver") {
            if (k == "volume-driver" && v != "local") invalid("volume driver \"" + v + "\" is not supported (only local)");
        } else {
            invalid("unexpected key '" + k + "' in '" + field + "'");
        }
    }
    (void)readonly_set;
    if (m.target.empty()) invalid("target is required");
    check_target(m.target, spec, m.type.c_str());
    if (!m.subpath.empty() && m.type != "volume")
        invalid("invalid mount config for type \"" + m.type + "\": volume-subpath is for volumes");
    if (m.type == "bind") {
        if (m.source.empty()) invalid("invalid mount config for type \"bind\": field Source must not be empty");
        if (m.source.front() != '/')
            invalid("invalid mount config for type \"bind\": invalid mount path: '" + m.source + "' mount path must be absolute");
        if (m.nocopy) invalid("invalid mount config for type \"bind\": volume-nocopy is for volumes");
    } else if (m.type == "volume") {
        if (m.source.empty()) m.anonymous = true;
        else if (!valid_volume_name(m.source))
            invalid("invalid volume name \"" + m.source + "\": only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed");
        if (!m.propagation.empty()) invalid("invalid mount config for type \"volume\": bind-propagation is for binds");
        if (!m.subpath.empty()) check_subpath(m.subpath);
    } else {
        if (!m.source.empty()) invalid("invalid mount config for type \"tmpfs\": field Source must be empty");
        if (!m.propagation.empty() || m.nocopy) invalid("invalid mount config for type \"tmpfs\": bind or volume options given");
    }
    return m;
}

MountSpec parse_tmpfs_flag(std::string_view spec) {
    auto [path, opts] = str::split_once(spec, ':');
    MountSpec m;
    m.type = "tmpfs";
    m.target = path;
    check_target(m.target, spec, "tmpfs");
    if (opts) {
        for (auto& o : str::split(*opts, ',')) {
            auto [k, v] = str::split_once(o, '=');
            if (k == "size") {
                auto b = v ? str::parse_bytes(*v) : std::nullopt;
                if (!b) invalid("invalid tmpfs size in '" + std::string(spec) + "'");
                m.tmpfs_size = *b;
            } else if (k == "mode") {
                m.tmpfs_mode = parse_mode(v.value_or(""), spec);
            } else if (k == "ro") {
                m.readonly = true;
            } else if (k == "rw" || k == "exec" || k == "noexec" || k == "suid" || k == "nosuid" || k == "dev" ||
                       k == "nodev" || k == "uid" || k == "gid" || k == "nr_inodes" || k == "atime" || k == "noatime") {
                if (!m.tmpfs_options.empty()) m.tmpfs_options += ",";
                m.tmpfs_options += o;
            } else {
                invalid("invalid tmpfs option \"" + o + "\" in '" + std::string(spec) + "'");
            }
        }
    }
    return m;
}

std::optional<int> ulimit_resource(std::string_view name) {
    static const std::pair<const char*, int> table[] = {
        {"core", RLIMIT_CORE},       {"cpu", RLIMIT_CPU},         {"data", RLIMIT_DATA},
        {"fsize", RLIMIT_FSIZE},     {"locks", RLIMIT_LOCKS},     {"memlock", RLIMIT_MEMLOCK},
        {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},     {"nofile", RLIMIT_NOFILE},
        {"nproc", RLIMIT_NPROC},     {"rss", RLIMIT_RSS},         {"rtprio", RLIMIT_RTPRIO},
        {"rttime", RLIMIT_RTTIME},   {"sigpending", RLIMIT_SIGPENDING}, {"stack", RLIMIT_STACK},
        {"as", RLIMIT_AS},
    };
    for (auto& [n, r] : table)
        if (name == n) return r;
    return std::nullopt;
}

Ulimit parse_ulimit(std::string_view spec) {
    auto [name, val] = str::split_once(spec, '=');
    if (!val) invalid("invalid ulimit argument: " + std::string(spec));
    if (!ulimit_resource(name)) invalid("invalid ulimit type: " + name);
    auto [soft, hard] = str::split_once(*val, ':');
    auto s = str::parse_int(soft);
    auto h = hard ? str::parse_int(*hard) : s;
    if (!s || !h) invalid("invalid ulimit argument: " + std::string(spec));
    if (*s > *h && *h != -1) invalid("ulimit soft limit must be less than or equal to hard limit: " + std::to_string(*s) + " > " + std::to_string(*h));
    return {name, *s, *h};
}

DeviceMapping parse_device(std::string_view spec) {
    auto parts = str::split(spec, ':');
    DeviceMapping d;
    if (parts.empty() || parts.size() > 3 || parts[0].empty()) invalid("invalid device specification: " + std::string(spec));
    d.path_on_host = parts[0];
    d.path_in_container = parts[0];
    if (parts.size() >= 2) {
        bool is_perm = parts[1].find_first_not_of("rwm") == std::string::npos && parts.size() == 2;
        if (is_perm) d.permissions = parts[1];
        else d.path_in_container = parts[1];
    }
    if (parts.size() == 3) d.permissions = parts[2];
    if (d.permissions.empty() || d.permissions.find_first_not_of("rwm") != std::string::npos)
        invalid("invalid device mode: " + d.permissions);
    if (d.path_in_container.front() != '/') invalid("invalid device specification: " + std::string(spec) + ": paths must be absolute");
    return d;
}

std::pair<std::string, int> parse_restart(std::string_view spec) {
    auto [name, count] = str::split_once(spec, ':');
    if (name.empty() || name == "no") {
        if (count) invalid("invalid restart policy format: maximum retry count cannot be used with restart policy 'no'");
        return {"no", 0};
    }
    if (name == "always" || name == "unless-stopped") {
        if (count) invalid("invalid restart policy format: maximum retry count cannot be used with restart policy '" + name + "'");
        return {name, 0};
    }
    if (name == "on-failure") {
        int n = 0;
        if (count) {
            auto v = str::parse_int(*count);
            if (!v || *v < 0) invalid("invalid restart policy format: maximum retry count must be a positive integer");
            n = static_cast<int>(*v);
        }
        return {name, n};
    }
    invalid("invalid restart policy '" + std::string(spec) + "'");
}

std::optional<std::string> parse_env_flag(std::string_view spec, const Lookup& lookup) {
    auto [k, v] = str::split_once(spec, '=');
    if (k.empty()) invalid("invalid environment variable: " + std::string(spec));
    if (v) return std::string(spec);
    if (auto val = lookup(k)) return k + "=" + *val;
    return std::nullopt;
}

std::vector<std::string> parse_env_file(std::string_view content, const std::string& file, const Lookup& lookup) {
    std::vector<std::string> out;
    int lineno = 0;
    for (auto& raw : str::split(content, '\n')) {
        ++lineno;
        std::string line = raw;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        // Leading whitespace is ignored; the rest of the line is taken literally (no quotes).
        auto t = std::string(line.begin() + static_cast<long>(line.find_first_not_of(" \t") == std::string::npos
                                                                    ? line.size()
                                                                    : line.find_first_not_of(" \t")),
                             line.end());
        if (t.empty() || t.front() == '#') continue;
        auto [k, v] = str::split_once(t, '=');
        if (k.empty()) invalid(file + ":" + std::to_string(lineno) + ": no variable name on this line: \"" + t + "\"");
        if (k.find_first_of(" \t") != std::string::npos)
            invalid(file + ":" + std::to_string(lineno) + ": variable '" + k + "' contains whitespaces");
        if (v) out.push_back(t);
        else if (auto val = lookup(k)) out.push_back(k + "=" + *val);
    }
    return out;
}

namespace {
const std::pair<const char*, int> kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT},   {"ILL", SIGILL},     {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT}, {"IOT", SIGIOT},     {"BUS", SIGBUS},     {"FPE", SIGFPE},     {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
    {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},   {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU},   {"URG", SIGURG},     {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"POLL", SIGPOLL}, {"PWR", SIGPWR},     {"SYS", SIGSYS},
};
}

std::optional<int> parse_signal(std::string_view s) {
    if (auto n = str::parse_int(s)) {
        if (*n <= 0 || *n > 64) return std::nullopt;
        return static_cast<int>(*n);
    }
    std::string up;
    for (char c : s) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string_view v = up;
    if (v.substr(0, 3) == "SIG") v.remove_prefix(3);
    for (auto& [n, sig] : kSignals)
        if (v == n) return sig;
    if (v.substr(0, 5) == "RTMIN" || v.substr(0, 5) == "RTMAX") {
        int base = v.substr(0, 5) == "RTMIN" ? SIGRTMIN : SIGRTMAX;
        auto rest = v.substr(5);
        if (rest.empty()) return base;
        auto off = str::parse_int(rest);
        if (!off) return std::nullopt;
        int sig = base + static_cast<int>(*off);
        if (sig < SIGRTMIN || sig > SIGRTMAX) return std::nullopt;
        return sig;
    }
    return std::nullopt;
}

std::string signal_name(int sig) {
    for (auto& [n, s] : kSignals)
        if (s == sig && std::string_view(n) != "IOT" && std::string_view(n) != "POLL") return std::string("SIG") + n;
    return std::to_string(sig);
}

std::pair<std::string, std::string> parse_label(std::string_view spec) {
    auto [k, v] = str::split_once(spec, '=');
    if (k.empty()) invalid("invalid label '" + std::string(spec) + "': empty name");
    return {k, v.value_or("")};
}

std::pair<std::string, std::string> parse_add_host(std::string_view spec) {
    // Docker accepts host:ip and host=ip; an IPv6 address contains ':' so split on the first.
    auto eq = spec.find('=');
    auto colon = spec.find(':');
    size_t at = eq != std::string_view::npos ? eq : colon;
    if (at == std::string_view::npos || at == 0 || at + 1 >= spec.size())
        invalid("bad format for add-host: \"" + std::string(spec) + "\"");
    std::string host(spec.substr(0, at));
    std::string ip(spec.substr(at + 1));
    if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    return {host, ip};
}

std::pair<std::string, std::string> parse_sysctl(std::string_view spec, bool host_network) {
    auto [k, v] = str::split_once(spec, '=');
    if (k.empty() || !v) invalid("invalid argument \"" + std::string(spec) + "\" for \"--sysctl\": must be key=value");
    // The sysctls a container may set are the namespaced ones (runc's list): IPC and network.
    static const char* ipc[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                                "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
    bool ok = false;
    for (auto* s : ipc) ok = ok || k == s;
    if (k.rfind("fs.mqueue.", 0) == 0) ok = true;
    if (k.rfind("net.", 0) == 0) {
        if (host_network) invalid("sysctl \"" + k + "\" not allowed in host network namespace");
        ok = true;
    }
    if (!ok) invalid("sysctl \"" + k + "\" is not allowed: it is not namespaced, so it would change the host");
    return {k, *v};
}

std::map<std::string, std::vector<PortBinding>> port_bindings_from_flags(const std::vector<std::string>& publish) {
    std::map<std::string, std::vector<PortBinding>> out;
    for (auto& p : publish) {
        auto spec = network::parse_publish(p);
        int n = spec.container_end - spec.container_start + 1;
        for (int i = 0; i < n; ++i) {
            std::string key = std::to_string(spec.container_start + i) + "/" + spec.proto;
            PortBinding b;
            b.host_ip = spec.host_ip;
            if (spec.host_start) {
                // A host range for one container port means "any free port in the range" in
                // Docker; kept as the range string.
                if (n == 1 && spec.host_end != spec.host_start)
                    b.host_port = std::to_string(spec.host_start) + "-" + std::to_string(spec.host_end);
                else
                    b.host_port = std::to_string(spec.host_start + i);
            }
            auto& v = out[key];
            if (std::find(v.begin(), v.end(), b) == v.end()) v.push_back(b);
        }
    }
    return out;
}

std::string random_name() {
    static const char* adjectives[] = {
        "admiring", "adoring", "affectionate", "agitated", "amazing", "angry", "awesome", "beautiful", "blissful",
        "bold", "boring", "brave", "busy", "charming", "clever", "compassionate", "competent", "condescending",
        "confident", "cool", "cranky", "crazy", "dazzling", "determined", "distracted", "dreamy", "eager", "ecstatic",
        "elastic", "elated", "elegant", "eloquent", "epic", "exciting", "fervent", "festive", "flamboyant", "focused",
        "friendly", "frosty", "funny", "gallant", "gifted", "goofy", "gracious", "great", "happy", "hardcore",
        "heuristic", "hopeful", "hungry", "infallible", "inspiring", "intelligent", "interesting", "jolly", "jovial",
        "keen", "kind", "laughing", "loving", "lucid", "magical", "modest", "musing", "mystifying", "naughty",
        "nervous", "nice", "nifty", "nostalgic", "objective", "optimistic", "peaceful", "pedantic", "pensive",
        "practical", "priceless", "quirky", "quizzical", "recursing", "relaxed", "reverent", "romantic", "sad",
        "serene", "sharp", "silly", "sleepy", "stoic", "strange", "stupefied", "suspicious", "sweet", "tender",
        "thirsty", "trusting", "unruffled", "upbeat", "vibrant", "vigilant", "vigorous", "wizardly", "wonderful",
        "xenodochial", "youthful", "zealous", "zen"};
    static const char* names[] = {
        "agnesi", "albattani", "allen", "almeida", "archimedes", "ardinghelli", "aryabhata", "austin", "babbage",
        "banach", "bardeen", "bartik", "bassi", "bell", "bhabha", "bhaskara", "blackwell", "bohr", "booth", "borg",
        "bose", "boyd", "brahmagupta", "brattain", "brown", "carson", "chandrasekhar", "clarke", "colden", "cori",
        "cray", "curie", "darwin", "davinci", "dijkstra", "dubinsky", "easley", "einstein", "elion", "engelbart",
        "euclid", "euler", "fermat", "fermi", "feynman", "franklin", "galileo", "gates", "goldberg", "goldstine",
        "goldwasser", "golick", "goodall", "haibt", "hamilton", "hawking", "heisenberg", "hermann", "hodgkin",
        "hoover", "hopper", "hugle", "hypatia", "jackson", "jang", "jennings", "jepsen", "johnson", "joliot", "jones",
        "kalam", "kapitsa", "keller", "kepler", "khorana", "kilby", "kirch", "knuth", "kowalevski", "lalande",
        "lamarr", "lamport", "leakey", "leavitt", "lewin", "lichterman", "liskov", "lovelace", "lumiere", "mahavira",
        "mayer", "mccarthy", "mcclintock", "mclean", "mcnulty", "meitner", "mendel", "mendeleev", "minsky",
        "mirzakhani", "montalcini", "moore", "morse", "murdock", "napier", "nash", "neumann", "newton", "nightingale",
        "nobel", "noether", "northcutt", "noyce", "panini", "pare", "pasteur", "payne", "perlman", "pike", "poincare",
        "poitras", "ptolemy", "raman", "ramanujan", "ride", "ritchie", "roentgen", "rosalind", "saha", "sammet",
        "shamir", "shannon", "shaw", "shirley", "shockley", "sinoussi", "snyder", "spence", "stonebraker",
        "sutherland", "swanson", "swartz", "swirles", "tesla", "thompson", "torvalds", "turing", "varahamihira",
        "visvesvaraya", "volhard", "wescoff", "wiles", "williams", "wilson", "wing", "wozniak", "wright", "yalow",
        "yonath"};
    auto r = sys::random_hex(8);
    unsigned long v = std::stoul(r, nullptr, 16);
    std::string n = std::string(adjectives[v % std::size(adjectives)]) + "_" + names[(v / 1000) % std::size(names)];
    // Docker never names a container boring_wozniak ("Steve Wozniak is not boring").
    if (n == "boring_wozniak") n = "admiring_wozniak";
    return n;
}

}  // namespace berth::container
