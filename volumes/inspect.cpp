// A volume as the daemon reports it (`docker volume inspect`, `docker inspect`).
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "sys/json.hpp"
#include "volumes/volumes.hpp"

namespace berth::volumes {

std::string rfc3339_local(std::int64_t ns) {
    std::time_t t = static_cast<std::time_t>(ns / 1000000000);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string out = buf;
    long off = tm.tm_gmtoff;
    if (off == 0) return out + "Z";
    char z[32];
    std::snprintf(z, sizeof z, "%c%02ld:%02ld", off < 0 ? '-' : '+', std::labs(off) / 3600, (std::labs(off) % 3600) / 60);
    return out + z;
}

std::string inspect_json(const Volume& v) {
    auto object = [](const std::map<std::string, std::string>& m) {
        ojson o = ojson::object();
        for (auto& [k, val] : m) o[k] = val;
        return o;
    };
    ojson o = ojson::object();
    o["CreatedAt"] = rfc3339_local(v.created_ns);
    o["Driver"] = v.driver;
    o["Labels"] = object(v.labels);
    o["Mountpoint"] = v.mountpoint;
    o["Name"] = v.name;
    o["Options"] = object(v.options);
    o["Scope"] = v.scope;
    return o.dump();
}

}  // namespace berth::volumes
