// The pure half of the local driver: names, create options, mount option words and filters,
// worded as Docker words them so users' scripts that match on messages keep working.
#include <sys/mount.h>

#include <algorithm>
#include <regex>
#include <set>

#include "sys/strings.hpp"
#include "volumes/volumes.hpp"

namespace berth::volumes {

std::optional<std::string> name_error(std::string_view name) {
    if (name.size() == 1) return "volume name is too short, names should be at least two alphanumeric characters";
    if (name.size() < 2 || !str::valid_object_name(name))
        return "\"" + std::string(name) +
               "\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are "
               "allowed. If you intended to pass a host directory, use absolute path";
    return std::nullopt;
}

bool MountOptions::bind() const { return (flags & MS_BIND) != 0; }

MountOptions parse_mount_options(std::string_view o) {
    // moby/sys/mount's table: {clear?, flag}. "rw" clears MS_RDONLY, and so on.
    struct Word {
        bool clear;
        unsigned long flag;
    };
    static const std::map<std::string, Word, std::less<>> flags = {
        {"defaults", {false, 0}},
        {"ro", {false, MS_RDONLY}},
        {"rw", {true, MS_RDONLY}},
        {"suid", {true, MS_NOSUID}},
        {"nosuid", {false, MS_NOSUID}},
        {"dev", {true, MS_NODEV}},
        {"nodev", {false, MS_NODEV}},
        {"exec", {true, MS_NOEXEC}},
        {"noexec", {false, MS_NOEXEC}},
        {"sync", {false, MS_SYNCHRONOUS}},
        {"async", {true, MS_SYNCHRONOUS}},
        {"dirsync", {false, MS_DIRSYNC}},
        {"remount", {false, MS_REMOUNT}},
        {"mand", {false, MS_MANDLOCK}},
        {"nomand", {true, MS_MANDLOCK}},
        {"atime", {true, MS_NOATIME}},
        {"noatime", {false, MS_NOATIME}},
        {"diratime", {true, MS_NODIRATIME}},
        {"nodiratime", {false, MS_NODIRATIME}},
        {"bind", {false, MS_BIND}},
        {"rbind", {false, MS_BIND | MS_REC}},
        {"relatime", {false, MS_RELATIME}},
        {"norelatime", {true, MS_RELATIME}},
        {"strictatime", {false, MS_STRICTATIME}},
        {"nostrictatime", {true, MS_STRICTATIME}},
    };
    static const std::map<std::string, unsigned long, std::less<>> propagation = {
        {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
        {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
        {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
        {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    };
    MountOptions out;
    std::vector<std::string> data;
    if (o.empty()) return out;
    for (auto& word : str::split(o, ',')) {
        if (auto it = flags.find(word); it != flags.end()) {
            if (it->second.clear)
                out.flags &= ~it->second.flag;
            else
                out.flags |= it->second.flag;
        } else if (auto p = propagation.find(word); p != propagation.end()) {
            out.propagation |= p->second;
        } else if (!word.empty()) {
            data.push_back(word);
        }
    }
    out.data = str::join(data, ",");
    return out;
}

std::vector<Problem> validate_create(const std::string& name, const CreateOptions& opts) {
    std::vector<Problem> out;
    auto add = [&](Errc kind, const std::string& msg) { out.push_back({kind, "create " + name + ": " + msg}); };

    if (!name.empty())
        if (auto why = name_error(name)) add(Errc::invalid, *why);

    std::string driver = opts.driver.empty() ? kLocalDriver : opts.driver;
    if (driver != kLocalDriver) {
        add(Errc::not_found, "error looking up volume plugin " + driver + ": plugin \"" + driver + "\" not found");
        return out;  // the options are the unknown driver's business
    }

    const auto& o = opts.driver_opts;
    static const std::set<std::string> valid = {"type", "o", "device", "size"};
    for (auto& [k, v] : o)
        if (!valid.count(k)) add(Errc::invalid, "invalid option: \"" + k + "\"");
    // Docker's mandatory pairs: device needs type, type needs device, o needs both.
    static const std::vector<std::pair<std::string, std::vector<std::string>>> mandatory = {
        {"device", {"type"}}, {"type", {"device"}}, {"o", {"device", "type"}}};
    std::set<std::string> missing;
    for (auto& [opt, reqs] : mandatory)
        if (o.count(opt))
            for (auto& r : reqs)
                if (!o.count(r)) missing.insert(r);
    for (auto& m : missing) add(Errc::invalid, "missing required option: \"" + m + "\"");

    if (auto it = o.find("size"); it != o.end()) {
        auto bytes = str::parse_bytes(it->second);
        if (!bytes || *bytes < 0)
            add(Errc::invalid, "invalid size: '" + it->second + "'");
        else if (*bytes > 0)
            // Docker supports it only with XFS project quotas on the volumes dir; berth has no
            // quota control, so it refuses rather than create a volume without its limit.
            add(Errc::unsupported, "quota size requested but no quota support");
    }

    auto type = o.count("type") ? o.at("type") : std::string();
    auto device = o.count("device") ? o.at("device") : std::string();
    auto mo = parse_mount_options(o.count("o") ? o.at("o") : std::string());
    if (mo.flags & MS_REMOUNT) add(Errc::invalid, "invalid mount option \"remount\" for a volume");
    if (o.count("type") && o.count("device")) {
        if (type.empty()) add(Errc::invalid, "option \"type\" must not be empty");
        if (device.empty()) add(Errc::invalid, "option \"device\" must not be empty");
        if (mo.bind()) {
            if (!device.empty() && device.front() != '/')
                add(Errc::invalid, "device \"" + device + "\" must be an absolute path for a bind mount");
        } else if (type == "none") {
            // mount(2) knows no filesystem called "none": without bind it fails at first use.
            add(Errc::invalid, "type \"none\" needs o=bind or o=rbind (a bind-backed volume)");
        }
    }
    return out;
}

// ---- filters -----------------------------------------------------------------------------------

namespace {

std::optional<bool> parse_bool(const std::string& v) {
    // Go's strconv.ParseBool, which the daemon uses for these filters.
    static const std::set<std::string> t = {"1", "t", "T", "TRUE", "true", "True"};
    static const std::set<std::string> f = {"0", "f", "F", "FALSE", "false", "False"};
    if (t.count(v)) return true;
    if (f.count(v)) return false;
    return std::nullopt;
}

bool label_matches(const std::map<std::string, std::string>& labels, const std::string& key,
                   const std::optional<std::string>& value) {
    auto it = labels.find(key);
    if (it == labels.end()) return false;
    return !value || it->second == *value;
}

}  // namespace

Filters parse_filters(const std::vector<std::string>& args, FilterFor use) {
    Filters f;
    bool list = use == FilterFor::list;
    for (auto& raw : args) {
        auto [key, value] = str::split_once(raw, '=');
        if (!value) throw_error(Errc::invalid, "bad format of filter (expected name=value)");
        std::string k = str::to_lower(key);
        if (k == "dangling" && list) {
            auto b = parse_bool(*value);
            if (!b) throw_error(Errc::invalid, "invalid filter 'dangling=" + *value + "'");
            if (f.dangling && *f.dangling != *b) throw_error(Errc::invalid, "invalid filter 'dangling=" + *value + "'");
            f.dangling = *b;
        } else if (k == "name" && list) {
            f.names.push_back(*value);
        } else if (k == "driver" && list) {
            f.drivers.push_back(*value);
        } else if (k == "label") {
            auto [lk, lv] = str::split_once(*value, '=');
            f.labels.emplace_back(lk, lv);
        } else if (k == "label!" && !list) {
            auto [lk, lv] = str::split_once(*value, '=');
            f.not_labels.emplace_back(lk, lv);
        } else if (k == "all" && !list) {
            auto b = parse_bool(*value);
            if (!b) throw_error(Errc::invalid, "invalid filter 'all=" + *value + "'");
            f.all = *b;
        } else {
            throw_error(Errc::invalid, "invalid filter '" + std::string(key) + "'");
        }
    }
    return f;
}

bool Filters::match(const Volume& v, const InUse& in_use) const {
    if (dangling) {
        auto it = in_use.find(v.name);
        bool used = it != in_use.end() && !it->second.empty();
        if (*dangling == used) return false;
    }
    if (!names.empty()) {
        bool any = false;
        for (auto& pattern : names) {
            if (pattern == v.name) {
                any = true;
                break;
            }
            // The daemon matches name filters as (unanchored) regular expressions; a pattern
            // that does not compile matches nothing, as there.
            try {
                if (std::regex_search(v.name, std::regex(pattern))) {
                    any = true;
                    break;
                }
            } catch (const std::regex_error&) {
            }
        }
        if (!any) return false;
    }
    if (!drivers.empty() && std::find(drivers.begin(), drivers.end(), v.driver) == drivers.end()) return false;
    for (auto& [k, val] : labels)
        if (!label_matches(v.labels, k, val)) return false;
    for (auto& [k, val] : not_labels)
        if (label_matches(v.labels, k, val)) return false;
    return true;
}

}  // namespace berth::volumes
