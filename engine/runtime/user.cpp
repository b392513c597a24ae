#include "runtime/user.hpp"

#include <algorithm>

#include "sys/error.hpp"
#include "sys/strings.hpp"

namespace berth::runtime {

namespace {

struct PasswdEntry {
    std::string name;
    uid_t uid;
    gid_t gid;
    std::string home;
};

struct GroupEntry {
    std::string name;
    gid_t gid;
    std::vector<std::string> members;
};

std::vector<PasswdEntry> parse_passwd(const std::string& text) {
    std::vector<PasswdEntry> out;
    for (auto& line : str::split(text, '\n')) {
        auto t = str::trim(line);
        if (t.empty() || t.front() == '#') continue;
        auto f = str::split(t, ':');
        if (f.size() < 4) continue;
        auto uid = parse_id(f[2]);
        auto gid = parse_id(f[3]);
        if (!uid || !gid) continue;
        out.push_back({f[0], *uid, *gid, f.size() > 5 ? f[5] : std::string()});
    }
    return out;
}

std::vector<GroupEntry> parse_group(const std::string& text) {
    std::vector<GroupEntry> out;
    for (auto& line : str::split(text, '\n')) {
        auto t = str::trim(line);
        if (t.empty() || t.front() == '#') continue;
        auto f = str::split(t, ':');
        if (f.size() < 3) continue;
        auto gid = parse_id(f[2]);
        if (!gid) continue;
        GroupEntry g{f[0], *gid, {}};
        if (f.size() > 3 && !f[3].empty()) g.members = str::split(f[3], ',');
        out.push_back(std::move(g));
    }
    return out;
}

}  // namespace

std::optional<std::uint32_t> parse_id(std::string_view s) {
    auto v = str::parse_uint(s);
    if (!v || *v > 0x7fffffffULL) return std::nullopt;
    return static_cast<std::uint32_t>(*v);
}

ResolvedUser resolve_user(std::string_view spec, const std::optional<std::string>& passwd,
                          const std::optional<std::string>& group, const std::vector<std::string>& additional) {
    auto [user_part, group_part] = str::split_once(spec, ':');
    if (user_part.empty()) user_part = "0";
    auto users = passwd ? parse_passwd(*passwd) : std::vector<PasswdEntry>{};
    auto groups = group ? parse_group(*group) : std::vector<GroupEntry>{};

    ResolvedUser r;
    const PasswdEntry* entry = nullptr;
    if (auto id = parse_id(user_part)) {
        r.uid = *id;
        for (auto& u : users)
            if (u.uid == *id) {
                entry = &u;
                break;
            }
    } else {
        for (auto& u : users)
            if (u.name == user_part) {
                entry = &u;
                break;
            }
        if (!entry) {
            if (!passwd) throw Error(Errc::invalid, "unable to find user " + user_part + ": no /etc/passwd in the image");
            throw Error(Errc::invalid, "unable to find user " + user_part + ": no matching entries in passwd file");
        }
        r.uid = entry->uid;
    }
    if (entry) {
        r.gid = entry->gid;
        if (!entry->home.empty()) r.home = entry->home;
    } else {
        r.gid = 0;
        r.home = "/";
    }

    auto find_group = [&](const std::string& g, const char* what) -> gid_t {
        if (auto id = parse_id(g)) return *id;
        for (auto& e : groups)
            if (e.name == g) return e.gid;
        if (!group) throw Error(Errc::invalid, std::string("unable to find ") + what + " " + g + ": no /etc/group in the image");
        throw Error(Errc::invalid, std::string("unable to find ") + what + " " + g + ": no matching entries in group file");
    };

    if (group_part && !group_part->empty()) {
        r.gid = find_group(*group_part, "group");
    } else if (entry) {
        // Supplementary groups from /etc/group apply only when no group was given (runc).
        for (auto& g : groups)
            if (std::find(g.members.begin(), g.members.end(), entry->name) != g.members.end()) r.groups.push_back(g.gid);
    }
    for (auto& a : additional) r.groups.push_back(find_group(a, "additional group"));
    std::sort(r.groups.begin(), r.groups.end());
    r.groups.erase(std::unique(r.groups.begin(), r.groups.end()), r.groups.end());
    return r;
}

}  // namespace berth::runtime
