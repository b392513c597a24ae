#pragma once
// The image configuration (image-spec config.md, plus Docker's Healthcheck/OnBuild/Shell), parsed
// from the config blob. The raw JSON stays with the image (Image::config_json) so nothing berth
// does not model is lost, and so the image ID (its digest) never changes.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::images {

struct Healthcheck {
    std::vector<std::string> test;  // {"NONE"}, {"CMD", args...}, {"CMD-SHELL", command}
    std::int64_t interval_ns = 0, timeout_ns = 0, start_period_ns = 0, start_interval_ns = 0;
    int retries = 0;
    bool operator==(const Healthcheck&) const = default;
};

struct HistoryEntry {
    std::string created;  // RFC 3339, "" when absent
    std::string created_by, author, comment;
    bool empty_layer = false;
};

struct ImageConfig {
    // Defaults for containers ("config" in the JSON).
    std::string user;
    std::vector<std::string> exposed_ports;  // "80/tcp", sorted
    std::vector<std::string> env;            // "K=V", in order
    std::optional<std::vector<std::string>> entrypoint;  // nullopt: not set (null)
    std::optional<std::vector<std::string>> cmd;
    std::vector<std::string> volumes;  // sorted
    std::string working_dir;
    std::map<std::string, std::string> labels;
    std::string stop_signal;
    std::optional<Healthcheck> healthcheck;
    std::vector<std::string> on_build;
    std::vector<std::string> shell;
    bool args_escaped = false;

    // About the image.
    std::string architecture, os, variant, os_version;
    std::string created;  // RFC 3339 as stored, "" when absent
    std::string author, comment, docker_version;
    std::vector<HistoryEntry> history;
    std::vector<std::string> diff_ids;  // base layer first
};

// Parses and checks a config blob: a JSON object, rootfs.type "layers", diff_ids all sha256
// digests, fields of the right JSON types. Throws berth::Error(Errc::corrupt) naming the field.
ImageConfig parse_config(std::string_view json);

// The config as JSON (OCI field names and order), for a new image made by import or commit.
std::string serialize_config(const ImageConfig& c);

// Applies Dockerfile instructions to a config, as `docker import --change` and `docker commit
// --change` do: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER,
// VOLUME, WORKDIR (exec/JSON and shell forms, quotes, $VAR substitution from the config's Env).
// ENTRYPOINT without a CMD in the same batch clears Cmd, as a Dockerfile does. Every change is
// checked before the config is touched; the first bad one throws berth::Error(Errc::invalid).
void apply_changes(ImageConfig& c, const std::vector<std::string>& changes);

// The platform berth runs on, in OCI terms ("amd64", "arm64", "arm" + variant).
std::string host_architecture();
std::string host_variant();

}  // namespace berth::images
