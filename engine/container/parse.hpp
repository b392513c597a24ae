#pragma once
// Docker's run/create flag syntaxes, parsed into the container model. Pure (no filesystem
// access, the environment is passed in), so every form and every error is unit-tested.
// Errors are berth::Error(Errc::invalid) in Docker's words.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "container/model.hpp"

namespace berth::container {

using Lookup = std::function<std::optional<std::string>(const std::string&)>;

// -v SRC:DST[:OPTS], -v DST (anonymous). A SRC starting with "/" (or "." / "~", resolved by
// the caller against cwd/home beforehand) is a bind; otherwise a named volume.
MountSpec parse_volume_flag(std::string_view spec);
// --mount type=bind|volume|tmpfs,source=..,target=..,readonly,bind-propagation=..,
// volume-nocopy,tmpfs-size=..,tmpfs-mode=..
MountSpec parse_mount_flag(std::string_view spec);
// --mount volume-subpath: relative, and no ".." (Docker's message otherwise).
void check_subpath(const std::string& subpath);
// --tmpfs /path[:opts]
MountSpec parse_tmpfs_flag(std::string_view spec);

// --ulimit nofile=1024[:2048]
Ulimit parse_ulimit(std::string_view spec);
// The resource number for a ulimit name (RLIMIT_*), or nullopt.
std::optional<int> ulimit_resource(std::string_view name);

// --device /dev/host[:/dev/container[:rwm]]
DeviceMapping parse_device(std::string_view spec);

// --restart no|always|on-failure[:N]|unless-stopped
std::pair<std::string, int> parse_restart(std::string_view spec);

// -e KEY=VAL, -e KEY (the value from lookup; dropped when unset, as Docker does).
std::optional<std::string> parse_env_flag(std::string_view spec, const Lookup& lookup);
// --env-file content: KEY=VAL lines taken literally, KEY alone from lookup, # comments and
// blank lines skipped. file names the file in errors.
std::vector<std::string> parse_env_file(std::string_view content, const std::string& file, const Lookup& lookup);

// SIGTERM, TERM, 15 -> 15; nullopt when unknown.
std::optional<int> parse_signal(std::string_view s);
std::string signal_name(int sig);  // 15 -> "SIGTERM"

// --label-file / -l k=v: "k=v" or "k" (empty value).
std::pair<std::string, std::string> parse_label(std::string_view spec);

// --add-host name:ip (or name=ip). "host-gateway" is kept for the caller to resolve.
std::pair<std::string, std::string> parse_add_host(std::string_view spec);

// --sysctl k=v (only namespaced sysctls are allowed in a container, as Docker checks).
std::pair<std::string, std::string> parse_sysctl(std::string_view spec, bool host_network);

// Published ports in Docker's PortBindings shape ("80/tcp" -> [{HostIp, HostPort}]) from -p
// flags; ranges are expanded one binding per port.
std::map<std::string, std::vector<PortBinding>> port_bindings_from_flags(const std::vector<std::string>& publish);

// Docker's default names: "<adjective>_<surname>".
std::string random_name();

}  // namespace berth::container
