#include "images/inspect.hpp"

#include "sys/strings.hpp"
#include "sys/time.hpp"

namespace berth::images {

namespace {
ojson list_or_null(const std::vector<std::string>& v) { return v.empty() ? ojson(nullptr) : ojson(v); }
ojson set_or_null(const std::vector<std::string>& v) {
    if (v.empty()) return nullptr;
    ojson o = ojson::object();
    for (auto& k : v) o[k] = ojson::object();
    return o;
}
}  // namespace

ojson docker_config(const ImageConfig& c) {
    ojson k = ojson::object();
    k["Hostname"] = "";
    k["Domainname"] = "";
    k["User"] = c.user;
    k["AttachStdin"] = false;
    k["AttachStdout"] = false;
    k["AttachStderr"] = false;
    if (!c.exposed_ports.empty()) k["ExposedPorts"] = set_or_null(c.exposed_ports);
    k["Tty"] = false;
    k["OpenStdin"] = false;
    k["StdinOnce"] = false;
    k["Env"] = list_or_null(c.env);
    k["Cmd"] = c.cmd ? ojson(*c.cmd) : ojson(nullptr);
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
    if (c.args_escaped) k["ArgsEscaped"] = true;
    k["Image"] = "";
    k["Volumes"] = set_or_null(c.volumes);
    k["WorkingDir"] = c.working_dir;
    k["Entrypoint"] = c.entrypoint ? ojson(*c.entrypoint) : ojson(nullptr);
    k["OnBuild"] = list_or_null(c.on_build);
    k["Labels"] = c.labels.empty() ? ojson(nullptr) : ojson(c.labels);
    if (!c.stop_signal.empty()) k["StopSignal"] = c.stop_signal;
    if (!c.shell.empty()) k["Shell"] = c.shell;
    return k;
}

ojson inspect(const Store& store, const Image& img) {
    ojson o = ojson::object();
    o["Id"] = img.id;
    o["RepoTags"] = ojson::array();
    for (auto& t : img.tags) o["RepoTags"].push_back(t.familiar());
    o["RepoDigests"] = ojson::array();
    for (auto& d : img.digests) o["RepoDigests"].push_back(d.familiar());
    o["Parent"] = img.parent;
    o["Comment"] = img.config.comment;
    auto created = img.created_ns();
    o["Created"] = created ? sys::format_rfc3339_nano(created) : img.config.created;
    o["DockerVersion"] = img.config.docker_version;
    o["Author"] = img.config.author;
    o["Config"] = docker_config(img.config);
    o["Architecture"] = img.config.architecture;
    if (!img.config.variant.empty()) o["Variant"] = img.config.variant;
    o["Os"] = img.config.os;
    if (!img.config.os_version.empty()) o["OsVersion"] = img.config.os_version;
    o["Size"] = img.size;
    // Where the layers are unpacked: the top one as UpperDir-like "diff", the rest as lowers.
    std::vector<std::string> lowers;
    for (auto it = img.layers.rbegin(); it != img.layers.rend(); ++it)
        lowers.push_back((store.layer_dir(it->chain_id) / "diff").string());
    ojson data = ojson::object();
    if (!lowers.empty()) data["LowerDir"] = str::join(lowers, ":");
    o["GraphDriver"] = ojson{{"Data", data}, {"Name", "overlay"}};
    ojson layers = ojson::array();
    for (auto& l : img.layers) layers.push_back(l.diff_id);
    o["RootFS"] = ojson{{"Type", "layers"}, {"Layers", layers}};
    o["Metadata"] = ojson{{"LastTagTime", img.last_tag_time_ns ? sys::format_rfc3339_nano(img.last_tag_time_ns)
                                                               : std::string("0001-01-01T00:00:00Z")}};
    return o;
}

}  // namespace berth::images
