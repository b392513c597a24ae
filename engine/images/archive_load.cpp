// `load`: image archives from docker save (classic and 25+), podman save and skopeo
// (docker-archive: and oci-archive:). The archive is unpacked (safely, in-root) into a private
// staging dir; every image's config and manifest is checked before any layer is read; layers
// are verified (blob digest, size, DiffID) while they are unpacked; then everything is
// registered at once.
#include <fcntl.h>
#include <sys/stat.h>

#include <set>

#include "images/digest.hpp"
#include "images/ingest.hpp"
#include "images/manifest.hpp"
#include "images/media_types.hpp"
#include "images/store.hpp"
#include "images/unpack.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/in_root.hpp"
#include "sys/json.hpp"
#include "sys/sha256.hpp"

namespace berth::images {

namespace {

constexpr std::int64_t kMaxJson = 16 << 20;

struct Pending {
    std::string config;  // raw bytes
    std::string id;      // its digest
    ImageConfig cfg;
    std::vector<std::string> layer_paths;  // inside the archive
    std::vector<Descriptor> layer_descs;   // OCI: what the manifest promises; docker-archive: empty
    std::string manifest;                  // OCI: the manifest's bytes; docker-archive: ""
    Descriptor manifest_desc;
    std::vector<Reference> tags;
    std::string parent;  // docker-archive "Parent"
};

class Loader {
public:
    Loader(Store& store, int xfd) : store_(store), xfd_(xfd) {}

    std::vector<Pending> images;

    void find_images() {
        if (member_exists("manifest.json"))
            docker_archive();
        else if (member_exists("index.json"))
            oci_layout();
        else
            throw_error(Errc::invalid,
                        "the archive has neither manifest.json nor index.json: it is not an image archive "
                        "(docker save, podman save, skopeo docker-archive: or oci-archive:)");
        if (images.empty()) throw_error(Errc::invalid, "the archive contains no image for linux/" + host_architecture());
    }

private:
    Store& store_;
    int xfd_;

    bool member_exists(const std::string& path) {
        return bool(sys::open_in_root_if_exists(xfd_, path, O_PATH));
    }

    // A file of the archive, opened in the archive's root (a symlink inside it, as skopeo writes
    // for <id>/layer.tar, is followed but cannot leave it).
    sys::unique_fd open_member(const std::string& path, const std::string& why) {
        sys::unique_fd fd;
        try {
            fd = sys::open_in_root_if_exists(xfd_, path, O_RDONLY | O_NONBLOCK);  // never wait on a fifo
        } catch (const sys::Error&) {
        }
        if (!fd) throw_error(Errc::invalid, why + " \"" + path + "\" is not in the archive");
        struct stat st;
        if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode))
            throw_error(Errc::invalid, why + " \"" + path + "\" in the archive is not a regular file");
        return fd;
    }

    std::string read_member(const std::string& path, const std::string& why) {
        auto fd = open_member(path, why);
        struct stat st;
        ::fstat(fd.get(), &st);
        if (st.st_size > kMaxJson) throw_error(Errc::invalid, why + " \"" + path + "\" is too large to be JSON metadata");
        return sys::read_fd(fd.get());
    }

    std::string blob_path(const std::string& digest) {
        require_sha256(digest, "descriptor");
        return "blobs/sha256/" + std::string(digest_hex(digest));
    }

    // A blob of an OCI layout, verified against its descriptor.
    std::string read_blob(const Descriptor& d, const std::string& what) {
        auto data = read_member(blob_path(d.digest), what);
        if (sys::sha256_digest(data) != d.digest)
            throw_error(Errc::corrupt, what + " " + d.digest + " is corrupt: its content has digest " + sys::sha256_digest(data));
        if (d.size >= 0 && static_cast<std::int64_t>(data.size()) != d.size)
            throw_error(Errc::corrupt, what + " " + d.digest + " is " + std::to_string(data.size()) + " bytes, not " +
                                           std::to_string(d.size) + " as its descriptor says");
        return data;
    }

    void check_config(Pending& p, const std::string& where) {
        p.id = sys::sha256_digest(p.config);
        p.cfg = with_context(where, [&] { return parse_config(p.config); });
        if (!p.cfg.os.empty() && p.cfg.os != "linux")
            throw_error(Errc::unsupported, "cannot load " + p.cfg.os + " image on linux");
    }

    void docker_archive() {
        json m;
        try {
            m = json::parse(read_member("manifest.json", "manifest"));
        } catch (const json::exception&) {
            throw_error(Errc::corrupt, "malformed manifest.json in the archive: not valid JSON");
        }
        if (m.is_null()) throw_error(Errc::corrupt, "invalid manifest, manifest cannot be null (but can be [])");
        if (!m.is_array()) throw_error(Errc::corrupt, "malformed manifest.json in the archive: not a JSON array");
        for (size_t i = 0; i < m.size(); ++i) {
            const auto& item = m[i];
            std::string where = "manifest.json entry " + std::to_string(i);
            if (!item.is_object() || !item.contains("Config") || !item["Config"].is_string())
                throw_error(Errc::corrupt, "malformed manifest.json in the archive: " + where + " has no \"Config\"");
            Pending p;
            p.config = read_member(item["Config"].get<std::string>(), "image config");
            check_config(p, "image config " + item["Config"].get<std::string>());
            if (auto l = item.find("Layers"); l != item.end() && !l->is_null()) {
                if (!l->is_array()) throw_error(Errc::corrupt, "malformed manifest.json: " + where + " \"Layers\" is not an array");
                for (auto& path : *l) {
                    if (!path.is_string()) throw_error(Errc::corrupt, "malformed manifest.json: " + where + " has a non-string layer");
                    p.layer_paths.push_back(path.get<std::string>());
                }
            }
            if (p.layer_paths.size() != p.cfg.diff_ids.size())
                throw_error(Errc::corrupt, "invalid manifest, layers length mismatch: expected " +
                                               std::to_string(p.layer_paths.size()) + ", got " +
                                               std::to_string(p.cfg.diff_ids.size()));
            if (auto t = item.find("RepoTags"); t != item.end() && !t->is_null()) {
                if (!t->is_array()) throw_error(Errc::corrupt, "malformed manifest.json: " + where + " \"RepoTags\" is not an array");
                for (auto& tag : *t) {
                    if (!tag.is_string()) throw_error(Errc::corrupt, "malformed manifest.json: " + where + " has a non-string tag");
                    auto ref = parse_reference(tag.get<std::string>(), false);
                    if (!ref.has_tag() || ref.has_digest()) throw_error(Errc::invalid, "invalid tag \"" + tag.get<std::string>() + "\"");
                    p.tags.push_back(ref);
                }
            }
            if (auto par = item.find("Parent"); par != item.end() && par->is_string()) p.parent = par->get<std::string>();
            for (auto& path : p.layer_paths) open_member(path, "layer");  // all present before anything is read
            images.push_back(std::move(p));
        }
    }

    void oci_layout() {
        if (member_exists("oci-layout")) {
            auto j = json::parse(read_member("oci-layout", "oci-layout"), nullptr, false);
            if (!j.is_object() || !j.contains("imageLayoutVersion"))
                throw_error(Errc::corrupt, "malformed oci-layout in the archive");
            if (j["imageLayoutVersion"] != "1.0.0")
                throw_error(Errc::unsupported, "OCI image layout version " + j["imageLayoutVersion"].dump() + " is not supported (1.0.0 is)");
        }
        auto index = parse_index(read_member("index.json", "index"), "", "index.json");
        std::map<std::string, size_t> by_id;
        for (auto& d : index.manifests) {
            if (d.has_platform && !platform_matches_host(d.platform)) continue;
            std::optional<Pending> p = resolve(d, "index.json entry " + d.digest, 0);
            if (!p) continue;
            for (auto& r : names(d)) p->tags.push_back(r);
            auto it = by_id.find(p->id);
            if (it != by_id.end()) {
                for (auto& t : p->tags) images[it->second].tags.push_back(t);
                continue;
            }
            by_id[p->id] = images.size();
            images.push_back(std::move(*p));
        }
    }

    // io.containerd.image.name holds a full reference; org.opencontainers.image.ref.name may
    // hold one (podman, skopeo with a name) or just a tag (Docker 25+, with the former).
    std::vector<Reference> names(const Descriptor& d) {
        std::vector<Reference> out;
        auto add = [&](const std::string& s) {
            auto r = parse_reference(s);
            if (r.has_digest()) return;
            out.push_back(r);
        };
        if (auto it = d.annotations.find("io.containerd.image.name"); it != d.annotations.end()) {
            add(it->second);
        } else if (auto rn = d.annotations.find("org.opencontainers.image.ref.name"); rn != d.annotations.end()) {
            if (rn->second.find_first_of("/:") != std::string::npos) add(rn->second);
        }
        return out;
    }

    std::optional<Pending> resolve(const Descriptor& d, const std::string& what, int depth) {
        if (depth > 4) throw_error(Errc::corrupt, what + ": image indexes nested too deeply");
        if (media::is_index(d.media_type)) {
            auto idx = parse_index(read_blob(d, "image index"), d.media_type, "image index " + d.digest);
            for (auto& m : idx.manifests) {
                auto type = m.annotations.find("vnd.docker.reference.type");
                if (type != m.annotations.end() && type->second == "attestation-manifest") continue;
                if (m.has_platform && !platform_matches_host(m.platform)) continue;
                if (auto p = resolve(m, "image index " + d.digest + " entry " + m.digest, depth + 1)) return p;
            }
            return std::nullopt;
        }
        if (!media::is_manifest(d.media_type))
            throw_error(Errc::unsupported, what + " has unknown media type " + d.media_type);
        Pending p;
        p.manifest = read_blob(d, "manifest");
        p.manifest_desc = Descriptor{d.media_type, d.digest, static_cast<std::int64_t>(p.manifest.size())};
        auto m = parse_manifest(p.manifest, d.media_type, "manifest " + d.digest);
        p.config = read_blob(m.config, "image config");
        check_config(p, "image config " + m.config.digest);
        if (m.layers.size() != p.cfg.diff_ids.size())
            throw_error(Errc::corrupt, "manifest " + d.digest + " lists " + std::to_string(m.layers.size()) +
                                           " layers but its config has " + std::to_string(p.cfg.diff_ids.size()) + " DiffIDs");
        for (auto& l : m.layers) {
            p.layer_paths.push_back(blob_path(l.digest));
            open_member(p.layer_paths.back(), "layer blob");
        }
        p.layer_descs = m.layers;
        return p;
    }
};

}  // namespace

std::vector<LoadedImage> Store::load(Source& archive) {
    sys::mkdirs(dir_);
    Ingest ingest(*this);
    sys::TempDir x(tmp_dir(), "load-");
    auto xfd = sys::open_path(x.path(), O_RDONLY | O_DIRECTORY);
    {
        DecompressingSource ds(archive, "the archive");
        UnpackOptions o;
        o.layer = false;
        o.restore_owner = false;
        auto stats = unpack_tar(ds, xfd.get(), o, "the archive");
        ds.drain();
        if (stats.entries == 0) throw_error(Errc::invalid, "the archive is empty");
    }
    Loader loader(*this, xfd.get());
    loader.find_images();

    std::vector<Ingest::Record> records;
    std::map<std::pair<std::string, std::string>, Layer> done;  // (path, parent chain) -> layer
    std::set<std::string> ids;
    for (auto& p : loader.images) ids.insert(p.id);
    for (auto& p : loader.images) {
        std::vector<Layer> layers;
        std::string parent_chain;
        for (size_t i = 0; i < p.layer_paths.size(); ++i) {
            const auto& path = p.layer_paths[i];
            auto key = std::make_pair(path, parent_chain);
            if (auto it = done.find(key); it != done.end() && it->second.diff_id == p.cfg.diff_ids[i]) {
                layers.push_back(it->second);
                parent_chain = layers.back().chain_id;
                continue;
            }
            auto fd = sys::open_in_root(xfd.get(), path, O_RDONLY);
            FdSource src(fd.get(), path);
            Ingest::LayerSpec spec;
            spec.adopt_fd = fd.get();  // the unpacked archive is in the store's tmp/: link, don't copy
            spec.expected_diff_id = p.cfg.diff_ids[i];
            spec.parent_chain = parent_chain;
            if (!p.layer_descs.empty()) {
                spec.expected_blob = p.layer_descs[i].digest;
                spec.expected_size = p.layer_descs[i].size;
                spec.media_type = p.layer_descs[i].media_type;
            }
            std::string what = "image " + short_id(p.id) + " layer " + std::to_string(i) + " (" + path + ")";
            layers.push_back(ingest.add_layer(src, spec, what));
            done[key] = layers.back();
            parent_chain = layers.back().chain_id;
        }
        ingest.add_blob(p.config);
        Ingest::Record rec;
        rec.id = p.id;
        if (!p.manifest.empty()) {
            ingest.add_blob(p.manifest);
            rec.manifest = p.manifest_desc;
        } else {
            Descriptor cd{std::string(media::kDockerConfig), p.id, static_cast<std::int64_t>(p.config.size())};
            cd.media_type = std::string(media::kOciConfig);
            std::vector<Descriptor> lds;
            for (auto& l : layers) lds.push_back(Descriptor{l.media_type, l.blob_digest, l.blob_size});
            auto manifest = make_manifest(cd, lds);
            rec.manifest = Descriptor{std::string(media::kOciManifest), ingest.add_blob(manifest),
                                      static_cast<std::int64_t>(manifest.size())};
        }
        // A parent link only to an image of the same archive whose layers this one extends.
        if (!p.parent.empty() && ids.count(p.parent)) {
            for (auto& q : loader.images)
                if (q.id == p.parent && q.cfg.diff_ids.size() <= p.cfg.diff_ids.size() &&
                    std::equal(q.cfg.diff_ids.begin(), q.cfg.diff_ids.end(), p.cfg.diff_ids.begin()))
                    rec.parent = p.parent;
        }
        rec.tags = p.tags;
        records.push_back(std::move(rec));
    }
    auto replaced = ingest.commit(records);

    std::vector<LoadedImage> out;
    for (auto& r : records) {
        LoadedImage li;
        li.id = r.id;
        for (auto& t : r.tags) {
            li.tags.push_back(t.familiar());
            for (auto& [tag, old] : replaced)
                if (tag == t.familiar() && old != r.id) li.replaced.emplace_back(tag, old);
        }
        emit_event("load", li.id, li.id);
        out.push_back(std::move(li));
    }
    return out;
}

}  // namespace berth::images
