#include <fcntl.h>
#include <signal.h>

#include "build/build.hpp"
#include "container/engine.hpp"
#include "images/reference.hpp"
#include "images/store.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/sha256.hpp"
#include "sys/strings.hpp"

namespace berth::build {

namespace {
bool valid_key(const std::string& k) {
    return k.size() == 64 && k.find_first_not_of("0123456789abcdef") == std::string::npos;
}
}  // namespace

std::string cache_key(const std::string& parent, const std::string& text, const std::map<std::string, std::string>& args,
                      const std::string& content) {
    // Length-prefixed fields, so no two different inputs give the same bytes.
    std::string buf = "berth-build-cache-v1\n";
    auto field = [&](std::string_view s) {
        buf += std::to_string(s.size());
        buf += ':';
        buf += s;
        buf += '\n';
    };
    field(parent);
    field(text);
    for (auto& [k, v] : args) field(k), field(v);
    field("--");
    field(content);
    return sys::sha256_hex(buf);
}

std::optional<std::string> Cache::get(const std::string& key) const {
    if (!valid_key(key)) return std::nullopt;
    auto v = sys::read_file_if_exists(dir_ / key);
    if (!v) return std::nullopt;
    auto id = std::string(str::trim(*v));
    if (!images::is_full_id(id)) return std::nullopt;
    return id;
}

void Cache::put(const std::string& key, const std::string& image_id) const {
    sys::mkdirs(dir_, 0700);
    sys::write_file_atomic(dir_ / key, image_id + "\n", 0600);
}

std::vector<std::pair<std::string, std::string>> Cache::entries() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& k : sys::list_dir(dir_))
        if (auto id = get(k)) out.emplace_back(k, *id);
    return out;
}

void Cache::clear() const {
    for (auto& k : sys::list_dir(dir_))
        ::unlink((dir_ / k).c_str());  // entries and any temp file a killed writer left
}

PruneReport prune_cache(container::Engine& engine) {
    Cache cache(engine.paths().builder() / "cache");
    auto& store = engine.images();
    PruneReport rep;
    auto entries = cache.entries();
    rep.entries = static_cast<int>(sys::list_dir(cache.dir()).size());
    cache.clear();
    // Containers of RUN steps whose build was interrupted (berth killed while a step ran): the
    // build removes its containers itself otherwise. Running ones may belong to a build now.
    for (auto& c : engine.records().list()) {
        auto l = c.config.labels.find("berth.build");
        if (l == c.config.labels.end() || engine.state(c).status == "running") continue;
        try {
            engine.remove(c.id, true, true);
            rep.containers.push_back(c.id);
        } catch (const Error&) {
        }
    }
    // Secret files of builds that were killed mid-RUN (named s-<pid>-...): the build removes
    // them itself otherwise.
    auto secrets = engine.paths().run / "build-secrets";
    for (auto& d : sys::list_dir(secrets)) {
        auto parts = str::split(d, '-');
        auto pid = parts.size() >= 3 ? str::parse_int(parts[1]) : std::nullopt;
        if (!pid || *pid <= 0 || (::kill(static_cast<pid_t>(*pid), 0) == 0 || errno != ESRCH)) continue;
        sys::remove_tree(secrets / d);
    }
    images::RemoveOptions ro;
    ro.prune_parents = true;
    for (auto& c : engine.records().list()) ro.in_use.emplace(c.image_id, c.id);
    // Leaves first: an image the cache kept goes when nothing else refers to it.
    for (auto& [key, id] : entries) {
        auto img = store.find(id);
        if (!img || !img->tags.empty() || !store.children(id).empty() || ro.in_use.count(id)) continue;
        try {
            for (auto& r : store.remove(id, ro))
                if (!r.deleted.empty()) rep.deleted.push_back(r.deleted);
        } catch (const Error&) {
            // Another image or container took it meanwhile: it stays.
        }
    }
    return rep;
}

}  // namespace berth::build
