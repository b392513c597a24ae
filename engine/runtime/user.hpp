#pragma once
// Resolving `--user name|uid[:group|gid]` against the container's own /etc/passwd and
// /etc/group, as runc does for Docker. Pure: the caller passes the files' content.
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::runtime {

struct ResolvedUser {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  // supplementary groups
    std::string home = "/";
};

// passwd/group: the files' content, or nullopt when the image has no such file (then only
// numeric ids work). additional: --group-add entries (names or numbers).
// Throws berth::Error(Errc::invalid) naming what could not be found, e.g.
// `unable to find user app: no matching entries in passwd file`.
ResolvedUser resolve_user(std::string_view spec, const std::optional<std::string>& passwd,
                          const std::optional<std::string>& group, const std::vector<std::string>& additional = {});

// Parses a uid/gid: a decimal number in [0, 2^31-1] (larger values are refused, as containerd
// does since CVE-2024-40635, rather than wrapping to root).
std::optional<std::uint32_t> parse_id(std::string_view s);

}  // namespace berth::runtime
