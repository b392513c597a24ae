#include "images/config.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <set>

#include "images/digest.hpp"
#include "sys/error.hpp"
#include "sys/json.hpp"

namespace berth::images {

namespace {

[[noreturn]] void malformed(const std::string& field, const std::string& why) {
    throw_error(Errc::corrupt, "malformed image config: " + field + " " + why);
}

std::string get_string(const json& o, const char* key, const std::string& where) {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return {};
    if (!it->is_string()) malformed(where + key, "must be a string");
    return it->get<std::string>();
}

std::vector<std::string> string_array(const json& v, const std::string& where) {
    if (v.is_null()) return {};
    if (!v.is_array()) malformed(where, "must be an array of strings");
    std::vector<std::string> out;
    for (auto& e : v) {
        if (!e.is_string()) malformed(where, "must be an array of strings");
        out.push_back(e.get<std::string>());
    }
    return out;
}

std::optional<std::vector<std::string>> opt_array(const json& o, const char* key, const std::string& where) {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return std::nullopt;
    return string_array(*it, where + key);
}

// {"80/tcp": {}} -> sorted keys
std::vector<std::string> set_keys(const json& o, const char* key, const std::string& where) {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return {};
    if (!it->is_object()) malformed(where + key, "must be an object");
    std::vector<std::string> out;
    for (auto& [k, v] : it->items()) out.push_back(k);
    std::sort(out.begin(), out.end());
    return out;
}

std::int64_t get_int(const json& o, const char* key, const std::string& where) {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return 0;
    if (!it->is_number_integer()) malformed(where + key, "must be an integer");
    return it->get<std::int64_t>();
}

}  // namespace

ImageConfig parse_config(std::string_view text) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        throw_error(Errc::corrupt, std::string("malformed image config: not valid JSON (") + e.what() + ")");
    }
    if (!j.is_object()) throw_error(Errc::corrupt, "malformed image config: not a JSON object");
    ImageConfig c;
    c.architecture = get_string(j, "architecture", "");
    c.os = get_string(j, "os", "");
    c.variant = get_string(j, "variant", "");
    c.os_version = get_string(j, "os.version", "");
    c.created = get_string(j, "created", "");
    c.author = get_string(j, "author", "");
    c.comment = get_string(j, "comment", "");
    c.docker_version = get_string(j, "docker_version", "");

    if (auto it = j.find("config"); it != j.end() && !it->is_null()) {
        const json& k = *it;
        if (!k.is_object()) malformed("config", "must be an object");
        const std::string w = "config.";
        c.user = get_string(k, "User", w);
        c.exposed_ports = set_keys(k, "ExposedPorts", w);
        if (auto e = k.find("Env"); e != k.end()) c.env = string_array(*e, w + "Env");
        c.entrypoint = opt_array(k, "Entrypoint", w);
        c.cmd = opt_array(k, "Cmd", w);
        c.volumes = set_keys(k, "Volumes", w);
        c.working_dir = get_string(k, "WorkingDir", w);
        if (auto l = k.find("Labels"); l != k.end() && !l->is_null()) {
            if (!l->is_object()) malformed("config.Labels", "must be an object of strings");
            for (auto& [key, v] : l->items()) {
                if (!v.is_string()) malformed("config.Labels", "must be an object of strings");
                c.labels[key] = v.get<std::string>();
            }
        }
        c.stop_signal = get_string(k, "StopSignal", w);
        if (auto h = k.find("Healthcheck"); h != k.end() && !h->is_null()) {
            if (!h->is_object()) malformed("config.Healthcheck", "must be an object");
            Healthcheck hc;
            if (auto t = h->find("Test"); t != h->end()) hc.test = string_array(*t, "config.Healthcheck.Test");
            const std::string hw = "config.Healthcheck.";
            hc.interval_ns = get_int(*h, "Interval", hw);
            hc.timeout_ns = get_int(*h, "Timeout", hw);
            hc.start_period_ns = get_int(*h, "StartPeriod", hw);
            hc.start_interval_ns = get_int(*h, "StartInterval", hw);
            hc.retries = static_cast<int>(get_int(*h, "Retries", hw));
            c.healthcheck = hc;
        }
        if (auto o = k.find("OnBuild"); o != k.end()) c.on_build = string_array(*o, w + "OnBuild");
        if (auto s = k.find("Shell"); s != k.end()) c.shell = string_array(*s, w + "Shell");
        if (auto a = k.find("ArgsEscaped"); a != k.end() && a->is_boolean()) c.args_escaped = a->get<bool>();
    }

    auto rootfs = j.find("rootfs");
    if (rootfs == j.end() || !rootfs->is_object()) malformed("rootfs", "is missing");
    if (get_string(*rootfs, "type", "rootfs.") != "layers") malformed("rootfs.type", "must be \"layers\"");
    auto ids = rootfs->find("diff_ids");
    if (ids != rootfs->end()) c.diff_ids = string_array(*ids, "rootfs.diff_ids");
    for (auto& d : c.diff_ids)
        if (d.substr(0, 7) != "sha256:" || !valid_digest(d)) malformed("rootfs.diff_ids", "has an invalid digest \"" + d + "\"");

    if (auto h = j.find("history"); h != j.end() && !h->is_null()) {
        if (!h->is_array()) malformed("history", "must be an array");
        for (auto& e : *h) {
            if (!e.is_object()) malformed("history", "entries must be objects");
            HistoryEntry he;
            he.created = get_string(e, "created", "history.");
            he.created_by = get_string(e, "created_by", "history.");
            he.author = get_string(e, "author", "history.");
            he.comment = get_string(e, "comment", "history.");
            if (auto el = e.find("empty_layer"); el != e.end() && el->is_boolean()) he.empty_layer = el->get<bool>();
            c.history.push_back(std::move(he));
        }
    }
    return c;
}

std::string serialize_config(const ImageConfig& c) {
    ojson j = ojson::object();
    j["architecture"] = c.architecture;
    if (!c.author.empty()) j["author"] = c.author;
    if (!c.comment.empty()) j["comment"] = c.comment;
    ojson k = ojson::object();
    if (!c.user.empty()) k["User"] = c.user;
    if (!c.exposed_ports.empty()) {
        k["ExposedPorts"] = ojson::object();
        for (auto& p : c.exposed_ports) k["ExposedPorts"][p] = ojson::object();
    }
    if (!c.env.empty()) k["Env"] = c.env;
    if (c.entrypoint) k["Entrypoint"] = *c.entrypoint;
    if (c.cmd) k["Cmd"] = *c.cmd;
    if (!c.volumes.empty()) {
        k["Volumes"] = ojson::object();
        for (auto& v : c.volumes) k["Volumes"][v] = ojson::object();
    }
    if (!c.working_dir.empty()) k["WorkingDir"] = c.working_dir;
    if (!c.labels.empty()) k["Labels"] = c.labels;
    if (!c.stop_signal.empty()) k["StopSignal"] = c.stop_signal;
    if (c.args_escaped) k["ArgsEscaped"] = true;
    if (c.healthcheck) {
        ojson h = ojson::object();
        h["Test"] = c.healthcheck->test;
        if (c.healthcheck->interval_ns) h["Interval"] = c.healthcheck->interval_ns;
        if (c.healthcheck->timeout_ns) h["Timeout"] = c.healthcheck->timeout_ns;
        if (c.healthcheck->start_period_ns) h["StartPeriod"] = c.healthcheck->start_period_ns;
        if (c.healthcheck->start_interval_ns) h["StartInterval"] = c.healthcheck->start_interval_ns;
        if (c.healthcheck->retries) h["Retries"] = c.healthcheck->retries;
        k["Healthcheck"] = h;
    }
    if (!c.on_build.empty()) k["OnBuild"] = c.on_build;
    if (!c.shell.empty()) k["Shell"] = c.shell;
    j["config"] = k;
    if (!c.created.empty()) j["created"] = c.created;
    if (!c.docker_version.empty()) j["docker_version"] = c.docker_version;
    ojson hist = ojson::array();
    for (auto& h : c.history) {
        ojson e = ojson::object();
        if (!h.created.empty()) e["created"] = h.created;
        if (!h.created_by.empty()) e["created_by"] = h.created_by;
        if (!h.author.empty()) e["author"] = h.author;
        if (!h.comment.empty()) e["comment"] = h.comment;
        if (h.empty_layer) e["empty_layer"] = true;
        hist.push_back(e);
    }
    if (!hist.empty()) j["history"] = hist;
    j["os"] = c.os;
    if (!c.os_version.empty()) j["os.version"] = c.os_version;
    j["rootfs"] = ojson{{"type", "layers"}, {"diff_ids", c.diff_ids}};
    if (!c.variant.empty()) j["variant"] = c.variant;
    return j.dump();
}

std::string host_architecture() {
    utsname u{};
    ::uname(&u);
    std::string m = u.machine;
    if (m == "x86_64") return "amd64";
    if (m == "aarch64" || m == "arm64") return "arm64";
    if (m.rfind("armv", 0) == 0) return "arm";
    if (m == "i386" || m == "i686") return "386";
    if (m == "ppc64le" || m == "s390x" || m == "riscv64" || m == "mips64") return m;
    return m;
}

std::string host_variant() {
    utsname u{};
    ::uname(&u);
    std::string m = u.machine;
    if (m == "aarch64" || m == "arm64") return "v8";
    if (m.rfind("armv", 0) == 0 && m.size() >= 5) return std::string("v") + m[4];
    return {};
}

}  // namespace berth::images
