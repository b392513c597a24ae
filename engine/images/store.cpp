// The image store: lookups, tags, layer dirs, history and garbage collection (store.hpp).
#include "images/store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "images/digest.hpp"
#include "images/ingest.hpp"
#include "images/manifest.hpp"
#include "images/unpack.hpp"
#include "sys/error.hpp"
#include "sys/event_log.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/lock.hpp"
#include "sys/sha256.hpp"
#include "sys/time.hpp"

namespace berth::images {

std::int64_t Image::created_ns() const {
    if (config.created.empty()) return 0;
    return sys::parse_rfc3339(config.created).value_or(0);
}

bool Image::has_created() const { return !config.created.empty() && sys::parse_rfc3339(config.created).has_value(); }

Store::Store(fs::path dir) : dir_(std::move(dir)) {}

fs::path Store::blob_path(std::string_view digest) const {
    return dir_ / "blobs" / "sha256" / std::string(digest_hex(digest));
}

fs::path Store::layer_dir(std::string_view chain_id) const { return dir_ / "layers" / std::string(digest_hex(chain_id)); }

fs::path Store::record_path(std::string_view id) const {
    return dir_ / "records" / (std::string(digest_hex(id)) + ".json");
}

std::string Store::read_blob(std::string_view digest) const {
    require_sha256(digest, "blob");
    auto data = sys::read_file_if_exists(blob_path(digest));
    if (!data) throw_error(Errc::not_found, "blob " + std::string(digest) + " is missing from the image store");
    if (sys::sha256_digest(*data) != digest)
        throw_error(Errc::corrupt, "blob " + std::string(digest) + " in the image store is corrupt (its content has another digest)");
    return *data;
}

std::map<std::string, std::string> Store::read_refs() const {
    std::map<std::string, std::string> out;
    auto text = sys::read_file_if_exists(dir_ / "repositories.json");
    if (!text) return out;
    auto j = json::parse(*text, nullptr, false);
    if (!j.is_object() || !j.contains("refs") || !j["refs"].is_object())
        throw_error(Errc::corrupt, (dir_ / "repositories.json").string() + " is corrupt");
    for (auto& [k, v] : j["refs"].items())
        if (v.is_string()) out[k] = v.get<std::string>();
    return out;
}

void Store::write_refs(const std::map<std::string, std::string>& refs) const {
    json j = {{"refs", refs}};
    sys::write_file_atomic(dir_ / "repositories.json", j.dump(1));
}

Image Store::build_image(const std::string& id, const std::map<std::string, std::string>& refs) const {
    auto text = sys::read_file_if_exists(record_path(id));
    if (!text) throw_error(Errc::not_found, "No such image: " + id);
    auto rec = json::parse(*text, nullptr, false);
    if (!rec.is_object() || !rec.contains("manifest") || !rec["manifest"].is_object())
        throw_error(Errc::corrupt, "image record " + record_path(id).string() + " is corrupt");
    Image img;
    img.id = id;
    const auto& md = rec["manifest"];
    img.manifest_digest = md.value("digest", "");
    img.manifest_media_type = md.value("mediaType", "");
    img.parent = rec.value("parent", "");
    img.last_tag_time_ns = rec.value("last_tag_time", std::int64_t{0});

    auto manifest = parse_manifest(read_blob(img.manifest_digest), img.manifest_media_type, "manifest " + img.manifest_digest);
    if (manifest.config.digest != id)
        throw_error(Errc::corrupt, "manifest " + img.manifest_digest + " does not describe image " + id);
    img.config_json = read_blob(id);
    img.config = parse_config(img.config_json);
    if (manifest.layers.size() != img.config.diff_ids.size())
        throw_error(Errc::corrupt, "image " + short_id(id) + ": manifest has " + std::to_string(manifest.layers.size()) +
                                       " layers but the config lists " + std::to_string(img.config.diff_ids.size()));
    auto chains = chain_ids(img.config.diff_ids);
    for (size_t i = 0; i < manifest.layers.size(); ++i) {
        Layer l;
        l.diff_id = img.config.diff_ids[i];
        l.chain_id = chains[i];
        l.blob_digest = manifest.layers[i].digest;
        l.media_type = manifest.layers[i].media_type;
        l.blob_size = manifest.layers[i].size;
        if (auto meta = sys::read_file_if_exists(layer_dir(l.chain_id) / "layer.json")) {
            auto j = json::parse(*meta, nullptr, false);
            if (j.is_object() && j.contains("size") && j["size"].is_number_unsigned()) l.size = j["size"].get<std::uint64_t>();
        }
        img.size += l.size;
        img.layers.push_back(std::move(l));
    }
    for (auto& [ref, target] : refs) {
        if (target != id) continue;
        auto r = parse_reference(ref, false);
        (r.has_digest() ? img.digests : img.tags).push_back(r);
    }
    auto by_str = [](const Reference& a, const Reference& b) { return a.str() < b.str(); };
    std::sort(img.tags.begin(), img.tags.end(), by_str);
    std::sort(img.digests.begin(), img.digests.end(), by_str);
    return img;
}

Image Store::get(const std::string& id) const { return build_image(id, read_refs()); }

std::optional<Image> Store::find(std::string_view s) const {
    auto refs = read_refs();
    auto by_id = [&](const std::string& id) -> std::optional<Image> {
        if (!sys::exists(record_path(id))) return std::nullopt;
        return build_image(id, refs);
    };
    if (is_full_id(s)) return by_id(s.substr(0, 7) == "sha256:" ? std::string(s) : "sha256:" + std::string(s));
    std::optional<Reference> ref;
    try {
        ref = parse_reference(s);
    } catch (const berth::Error&) {
    }
    if (ref) {
        if (auto it = refs.find(ref->str()); it != refs.end()) return by_id(it->second);
    }
    // A unique prefix of an image ID's hex, as Docker accepts.
    std::string_view prefix = s.substr(0, 7) == "sha256:" ? s.substr(7) : s;
    bool hex = !prefix.empty() && prefix.find_first_not_of("0123456789abcdef") == std::string_view::npos;
    if (!hex) {
        if (!ref) parse_reference(s);  // rethrow the reference error: the name is malformed
        return std::nullopt;
    }
    std::string match;
    for (auto& f : sys::list_dir(dir_ / "records")) {
        if (f.size() != 64 + 5 || f.compare(0, prefix.size(), prefix) != 0) continue;
        if (!match.empty())
            throw_error(Errc::invalid, "short image ID " + std::string(s) + " is ambiguous: it matches more than one image");
        match = "sha256:" + f.substr(0, 64);
    }
    if (match.empty()) return std::nullopt;
    return by_id(match);
}

Image Store::resolve(std::string_view s) const {
    if (auto img = find(s)) return std::move(*img);
    std::string name(s);
    if (!is_full_id(s)) {
        try {
            name = parse_reference(s).familiar();
        } catch (const berth::Error&) {
        }
    }
    throw_error(Errc::not_found, "No such image: " + name);
}

std::vector<Image> Store::list() const {
    auto refs = read_refs();
    std::vector<Image> out;
    for (auto& f : sys::list_dir(dir_ / "records")) {
        if (f.size() != 64 + 5 || f.substr(64) != ".json") continue;
        try {
            std::string id = "sha256:" + f.substr(0, 64);
            out.push_back(with_context("image " + short_id(id), [&] { return build_image(id, refs); }));
        } catch (const berth::Error& e) {
            if (e.kind() != Errc::not_found) throw;  // removed while we listed
        }
    }
    std::stable_sort(out.begin(), out.end(), [](const Image& a, const Image& b) {
        if (a.created_ns() != b.created_ns()) return a.created_ns() > b.created_ns();
        return a.id < b.id;
    });
    return out;
}

std::vector<std::string> Store::children(const std::string& id) const {
    std::vector<std::string> out;
    for (auto& f : sys::list_dir(dir_ / "records")) {
        auto text = sys::read_file_if_exists(dir_ / "records" / f);
        if (!text) continue;
        auto j = json::parse(*text, nullptr, false);
        if (j.is_object() && j.value("parent", "") == id) out.push_back(j.value("id", ""));
    }
    return out;
}

std::optional<std::string> Store::tag(const std::string& id, const Reference& ref) {
    if (ref.has_digest()) throw_error(Errc::invalid, "refusing to create a tag with a digest reference");
    if (!ref.has_tag()) throw_error(Errc::invalid, "a tag needs a name and a tag (" + ref.str() + ")");
    sys::mkdirs(dir_);
    sys::FileLock lock(index_lock());
    if (!sys::exists(record_path(id))) throw_error(Errc::not_found, "No such image: " + id);
    auto refs = read_refs();
    std::optional<std::string> previous;
    if (auto it = refs.find(ref.str()); it != refs.end() && it->second != id) previous = it->second;
    refs[ref.str()] = id;
    write_refs(refs);
    auto text = sys::read_file(record_path(id));
    auto rec = json::parse(text);
    rec["last_tag_time"] = sys::now_ns();
    sys::write_file_atomic(record_path(id), rec.dump());
    emit_event("tag", id, ref.familiar());
    return previous;
}

// The store is <root>/images (store::Paths::images()).
void Store::emit_event(std::string_view action, const std::string& id, const std::string& name) const {
    sys::emit_event(dir_.parent_path(), "image", action, id, {{"name", name}});
}

std::vector<fs::path> Store::layer_dirs(const Image& img) {
    std::vector<fs::path> out;
    bool missing = false;
    for (auto& l : img.layers)
        if (!sys::exists(layer_dir(l.chain_id) / "layer.json")) missing = true;
    if (missing) {
        // Re-unpack from the stored blobs (verified again on the way), then move in.
        Ingest ingest(*this);
        if (!sys::exists(record_path(img.id))) throw_error(Errc::not_found, "No such image: " + img.id);
        std::string parent_chain;
        for (auto& l : img.layers) {
            auto fd = sys::open_path(blob_path(l.blob_digest), O_RDONLY);
            FdSource src(fd.get(), "layer " + l.blob_digest);
            Ingest::LayerSpec spec;
            spec.expected_blob = l.blob_digest;
            spec.expected_size = l.blob_size;
            spec.media_type = l.media_type;
            spec.expected_diff_id = l.diff_id;
            spec.parent_chain = parent_chain;
            if (!sys::exists(layer_dir(l.chain_id) / "layer.json")) ingest.add_layer(src, spec, "layer " + l.blob_digest);
            parent_chain = l.chain_id;
        }
        ingest.commit({});
    }
    for (auto it = img.layers.rbegin(); it != img.layers.rend(); ++it) out.push_back(layer_dir(it->chain_id) / "diff");
    return out;
}

std::vector<HistoryItem> Store::history(const Image& img) const {
    std::vector<HistoryItem> items;
    size_t layer = 0;
    for (auto& h : img.config.history) {
        HistoryItem it;
        it.id = "<missing>";
        it.created_ns = h.created.empty() ? 0 : sys::parse_rfc3339(h.created).value_or(0);
        it.created_by = h.created_by;
        it.comment = h.comment;
        if (!h.empty_layer && layer < img.layers.size()) it.size = img.layers[layer++].size;
        items.push_back(std::move(it));
    }
    std::reverse(items.begin(), items.end());
    // The newest entry is this image; older ones are its local parents, as far as they exist.
    std::optional<Image> cur = img;
    for (auto& it : items) {
        if (!cur) break;
        it.id = cur->id;
        for (auto& t : cur->tags) it.tags.push_back(t.familiar());
        if (cur->parent.empty()) break;
        cur = find(cur->parent);
    }
    return items;
}

std::pair<std::vector<std::string>, std::uint64_t> Store::collect_garbage() {
    std::set<std::string> blobs, chains;
    for (auto& f : sys::list_dir(dir_ / "records")) {
        auto text = sys::read_file_if_exists(dir_ / "records" / f);
        if (!text) continue;
        auto rec = json::parse(*text, nullptr, false);
        if (!rec.is_object() || !rec.contains("manifest")) continue;
        std::string mdig = rec["manifest"].value("digest", "");
        std::string id = rec.value("id", "");
        blobs.insert(std::string(digest_hex(mdig)));
        blobs.insert(std::string(digest_hex(id)));
        // Keep what the manifest and config name even if they are unreadable: GC must never
        // turn a corrupt store into a smaller corrupt store.
        try {
            auto m = parse_manifest(read_blob(mdig), rec["manifest"].value("mediaType", ""), "manifest");
            for (auto& l : m.layers) blobs.insert(std::string(digest_hex(l.digest)));
            auto cfg = parse_config(read_blob(id));
            for (auto& c : chain_ids(cfg.diff_ids)) chains.insert(std::string(digest_hex(c)));
        } catch (const berth::Error&) {
            return {{}, 0};
        }
    }
    std::vector<std::string> removed_layers;
    std::uint64_t reclaimed = 0;
    for (auto& hex : sys::list_dir(dir_ / "layers")) {
        if (chains.count(hex)) continue;
        auto d = dir_ / "layers" / hex;
        reclaimed += sys::disk_usage(d);
        sys::remove_tree(d);
        removed_layers.push_back("sha256:" + hex);
    }
    for (auto& hex : sys::list_dir(dir_ / "blobs" / "sha256")) {
        if (blobs.count(hex)) continue;
        auto p = dir_ / "blobs" / "sha256" / hex;
        struct stat st;
        if (::lstat(p.c_str(), &st) == 0) reclaimed += static_cast<std::uint64_t>(st.st_size);
        if (::unlink(p.c_str()) < 0 && errno != ENOENT) sys::throw_errno("unlink", p.string());
    }
    // No ingest runs while gc.lock is held exclusively: whatever is staged was abandoned.
    for (auto& t : sys::list_dir(tmp_dir())) sys::remove_tree(tmp_dir() / t);
    return {removed_layers, reclaimed};
}

}  // namespace berth::images
