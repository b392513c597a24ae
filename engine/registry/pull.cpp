#include "registry/pull.hpp"

#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>

#include "images/config.hpp"
#include "images/digest.hpp"
#include "images/ingest.hpp"
#include "images/media_types.hpp"
#include "registry/client.hpp"
#include "registry/platform.hpp"
#include "sys/json.hpp"
#include "sys/parallel.hpp"
#include "sys/sha256.hpp"
#include "sys/strings.hpp"

namespace berth::registry {

namespace media = images::media;

std::string manifest_accept() {
    return std::string(media::kOciIndex) + ", " + std::string(media::kOciManifest) + ", " +
           std::string(media::kDockerManifestList) + ", " + std::string(media::kDockerManifest);
}

namespace {

constexpr std::size_t kMaxManifest = 4 << 20;  // Docker's limit for manifests
constexpr std::size_t kMaxConfig = 8 << 20;

struct Fetched {
    std::string bytes, media_type, digest;
};

std::string strip_params(std::string_view ct) {
    return std::string(str::trim(ct.substr(0, ct.find(';'))));
}

[[noreturn]] void access_denied(const images::Reference& ref, const Response& r) {
    throw RegistryError(Errc::failed,
                        "pull access denied for " + ref.familiar_repository() +
                            ", repository does not exist or may require 'berth login': " + describe_error(r),
                        r.status, "");
}

// A manifest or index by tag or digest, its digest checked (against the one asked for, or the
// Docker-Content-Digest the registry sent), its media type known.
Fetched fetch_manifest(Client& client, const images::Reference& ref, const std::string& reference,
                       const std::string& expected_type, const std::string& what) {
    Request r;
    r.target = "/v2/" + ref.path + "/manifests/" + reference;
    r.headers.push_back(Header{"Accept", manifest_accept()});
    Response resp;
    try {
        resp = client.request(r, kMaxManifest);
    } catch (const RegistryError& e) {
        if (e.status() == 401) access_denied(ref, Response{401, {}, std::string()});
        throw;
    }
    if (resp.status == 401 || resp.status == 403) access_denied(ref, resp);
    if (resp.status == 404) {
        auto d = describe_error(resp);
        if (d.rfind("name unknown", 0) == 0) access_denied(ref, resp);
        throw RegistryError(Errc::not_found, "manifest for " + what + " not found: " + d, 404, "");
    }
    if (resp.status != 200) throw_response(resp, "fetching the manifest of " + what);
    Fetched f;
    f.bytes = std::move(resp.body);
    f.digest = sys::sha256_digest(f.bytes);
    if (images::valid_digest(reference)) {
        if (f.digest != reference)
            throw_error(Errc::corrupt, what + ": manifest " + reference + " has content digest " + f.digest +
                                           " (the registry sent something else)");
    } else if (auto h = resp.header("Docker-Content-Digest"); !h.empty() && h.rfind("sha256:", 0) == 0 && h != f.digest) {
        throw_error(Errc::corrupt, what + ": the manifest's content digest is " + f.digest + " but the registry says " + h);
    }
    std::string ct = strip_params(resp.header("Content-Type"));
    std::string declared = images::declared_media_type(f.bytes);
    auto known = [](const std::string& m) { return media::is_index(m) || media::is_manifest(m); };
    if (known(ct))
        f.media_type = ct;
    else if (known(declared))
        f.media_type = declared;
    else if (!expected_type.empty() && known(expected_type))
        f.media_type = expected_type;
    else {
        std::string m = !declared.empty() ? declared : ct;
        if (m.find("prettyjws") != std::string::npos || m.find("manifest.v1") != std::string::npos)
            throw_error(Errc::unsupported, what + ": manifest " + f.digest + " is a schema 1 manifest, which berth does not support");
        throw_error(Errc::unsupported, what + ": manifest " + f.digest + " has unknown media type \"" + m + "\"");
    }
    if (!expected_type.empty() && f.media_type != expected_type)
        throw_error(Errc::corrupt, what + ": manifest " + f.digest + " is " + f.media_type + " but its index says " + expected_type);
    return f;
}

// A small blob (the config), verified.
std::string fetch_small_blob(Client& client, const images::Reference& ref, const images::Descriptor& d,
                             const std::string& what) {
    images::require_sha256(d.digest, what);
    Request r;
    r.target = "/v2/" + ref.path + "/blobs/" + d.digest;
    auto resp = client.request(r, kMaxConfig);
    if (resp.status != 200) throw_response(resp, "fetching " + what + " " + d.digest);
    auto got = sys::sha256_digest(resp.body);
    if (got != d.digest)
        throw_error(Errc::corrupt, what + " " + d.digest + " is corrupt: the registry sent content with digest " + got);
    if (d.size >= 0 && std::int64_t(resp.body.size()) != d.size)
        throw_error(Errc::corrupt, what + " " + d.digest + " is " + std::to_string(resp.body.size()) + " bytes, not " +
                                       std::to_string(d.size));
    return resp.body;
}

// A layer's bytes as they arrive, counted for the progress display; stops when another layer
// of the same pull failed.
class CountingSource : public images::Source {
public:
    CountingSource(images::Source& in, std::function<void(std::uint64_t)> on_progress, const std::atomic<bool>& abort,
                   const std::atomic<bool>* cancel)
        : in_(in), on_progress_(std::move(on_progress)), abort_(abort), cancel_(cancel) {}
    size_t read(void* buf, size_t n) override {
        if (cancel_ && *cancel_) throw_error(Errc::failed, "pull cancelled");
        if (abort_) throw_error(Errc::failed, "cancelled");
        size_t got = in_.read(buf, n);
        count_ += got;
        auto now = std::chrono::steady_clock::now();
        if (got && now - last_ >= std::chrono::milliseconds(100)) {
            last_ = now;
            on_progress_(count_);
        }
        return got;
    }

private:
    images::Source& in_;
    std::function<void(std::uint64_t)> on_progress_;
    const std::atomic<bool>& abort_;
    const std::atomic<bool>* cancel_;
    std::uint64_t count_ = 0;
    std::chrono::steady_clock::time_point last_{};
};

}  // namespace

PullResult pull(images::Store& store, const images::Reference& ref, const PullOptions& opts) {
    std::mutex progress_mu;
    auto emit = [&](const std::string& id, const std::string& status, std::uint64_t cur = 0, std::uint64_t total = 0) {
        if (!opts.progress) return;
        std::lock_guard lock(progress_mu);
        opts.progress(Progress{id, status, cur, total});
    };
    std::string what = ref.familiar();
    std::string reference = ref.has_digest() ? ref.digest : ref.tag;
    auto want = opts.platform ? *opts.platform : host_platform();

    Client client(endpoint_for(ref.domain), {"repository:" + ref.path + ":pull"});
    emit("", reference + ": Pulling from " + ref.path);

    Fetched top = fetch_manifest(client, ref, reference, "", what);
    Fetched man = top;
    if (media::is_index(top.media_type)) {
        auto idx = images::parse_index(top.bytes, top.media_type, what + " image index " + top.digest);
        const auto& d = select_manifest(idx, want, what);
        if (!media::is_manifest(d.media_type))
            throw_error(Errc::unsupported, what + ": image index " + top.digest + " entry " + d.digest +
                                               " has unknown media type \"" + d.media_type + "\"");
        man = fetch_manifest(client, ref, d.digest, d.media_type, what);
        if (d.size >= 0 && std::int64_t(man.bytes.size()) != d.size)
            throw_error(Errc::corrupt, what + ": manifest " + d.digest + " is " + std::to_string(man.bytes.size()) +
                                           " bytes but its index says " + std::to_string(d.size));
    }
    auto m = images::parse_manifest(man.bytes, man.media_type, what + " manifest " + man.digest);
    if (!media::is_config(m.config.media_type))
        throw_error(Errc::unsupported, what + ": manifest " + man.digest + " has a config of unknown media type \"" +
                                           m.config.media_type + "\" (not a container image)");
    for (size_t i = 0; i < m.layers.size(); ++i)
        if (!media::is_layer(m.layers[i].media_type))
            throw_error(Errc::unsupported, what + ": manifest " + man.digest + " layer " + m.layers[i].digest +
                                               " has unknown media type \"" + m.layers[i].media_type + "\"");
        else
            images::require_sha256(m.layers[i].digest, what + " layer");

    std::string config = fetch_small_blob(client, ref, m.config, what + " image config");
    auto cfg = with_context(what + " image config " + m.config.digest, [&] { return images::parse_config(config); });
    if (!cfg.os.empty() && cfg.os != "linux")
        throw_error(Errc::unsupported, what + " is a " + cfg.os + " image; berth runs linux images");
    if (cfg.diff_ids.size() != m.layers.size())
        throw_error(Errc::corrupt, what + ": manifest " + man.digest + " lists " + std::to_string(m.layers.size()) +
                                       " layers but its config has " + std::to_string(cfg.diff_ids.size()) + " DiffIDs");
    if (opts.platform && !cfg.architecture.empty()) {
        images::Platform have{cfg.architecture, cfg.os.empty() ? "linux" : cfg.os, cfg.variant, ""};
        if (!platform_matches(have, want))
            throw_error(Errc::not_found, "image with reference " + what + " was found but does not match the specified platform: wanted " +
                                             platform_string(want) + ", actual: " + platform_string(have));
    }

    // An image the store already has is "up to date": no line per layer, as Docker.
    const std::string config_id = sys::sha256_digest(config);
    bool have_image = store.find(config_id).has_value();
    images::Ingest ingest(store);
    auto chains = images::chain_ids(cfg.diff_ids);
    std::vector<images::Ingest::LayerSpec> specs(m.layers.size());
    std::vector<images::Layer> layers(m.layers.size());
    std::vector<size_t> todo;
    for (size_t i = 0; i < m.layers.size(); ++i) {
        auto& s = specs[i];
        s.expected_blob = m.layers[i].digest;
        s.expected_size = m.layers[i].size;
        s.media_type = m.layers[i].media_type;
        s.expected_diff_id = cfg.diff_ids[i];
        s.parent_chain = i ? chains[i - 1] : "";
        if (auto l = ingest.existing_layer(s)) {
            layers[i] = *l;
            if (!have_image) emit(images::short_id(s.expected_blob), "Already exists");
        } else {
            todo.push_back(i);
            emit(images::short_id(s.expected_blob), "Pulling fs layer");
        }
    }

    std::atomic<bool> abort{false};
    sys::parallel_for(
        todo.size(), size_t(std::max(1, opts.max_concurrent)),
        [&](size_t k) {
            size_t i = todo[k];
            const auto& d = m.layers[i];
            std::string id = images::short_id(d.digest);
            Request r;
            r.target = "/v2/" + ref.path + "/blobs/" + d.digest;
            auto body = client.open(r);
            if (body->head().status != 200) {
                Response resp = body->head();
                char buf[4096];
                size_t n;
                while ((n = body->read(buf, sizeof buf)) > 0 && resp.body.size() < 65536) resp.body.append(buf, n);
                throw_response(resp, "fetching layer " + d.digest);
            }
            std::uint64_t total = d.size > 0 ? std::uint64_t(d.size) : 0;
            CountingSource src(*body, [&](std::uint64_t n) { emit(id, "Downloading", n, total); }, abort, opts.cancel);
            layers[i] = ingest.add_layer(src, specs[i], what + " layer " + d.digest);
            emit(id, "Pull complete", total, total);
        },
        &abort);
    if (opts.cancel && *opts.cancel) throw_error(Errc::failed, "pull cancelled");

    ingest.add_blob(config);
    ingest.add_blob(man.bytes);
    images::Ingest::Record rec;
    rec.id = config_id;
    rec.manifest = images::Descriptor{man.media_type, man.digest, std::int64_t(man.bytes.size())};
    images::Reference by_digest = ref;
    by_digest.tag.clear();
    by_digest.digest = top.digest;
    if (ref.has_tag() && !ref.has_digest()) rec.tags.push_back(ref);
    rec.tags.push_back(by_digest);

    PullResult res;
    res.id = rec.id;
    res.digest = top.digest;
    auto before = store.find(ref.str());
    res.changed = !todo.empty() || !before || before->id != rec.id;
    // Up to date: every reference already points here, so nothing is written (as Docker).
    auto refs = store.read_refs();
    bool all_there = !res.changed;
    for (auto& t : rec.tags) {
        auto it = refs.find(t.str());
        all_there = all_there && it != refs.end() && it->second == rec.id;
    }
    if (!all_there) ingest.commit({rec});
    emit("", "Digest: " + top.digest);
    store.emit_event("pull", ref.familiar(), ref.familiar_repository());
    return res;
}

std::vector<std::string> list_tags(const images::Reference& ref) {
    Client client(endpoint_for(ref.domain), {"repository:" + ref.path + ":pull"});
    std::vector<std::string> tags;
    std::string target = "/v2/" + ref.path + "/tags/list";
    for (int page = 0; page < 1000 && !target.empty(); ++page) {
        Request r;
        r.target = target;
        auto resp = client.request(r);
        if (resp.status == 401 || resp.status == 403 || resp.status == 404) access_denied(ref, resp);
        if (resp.status != 200) throw_response(resp, "listing the tags of " + ref.familiar_repository());
        auto j = json::parse(resp.body, nullptr, false);
        if (!j.is_object()) throw_error(Errc::corrupt, "the tag list of " + ref.familiar_repository() + " is not valid JSON");
        if (j.contains("tags") && j["tags"].is_array())
            for (auto& t : j["tags"])
                if (t.is_string()) tags.push_back(t.get<std::string>());
        // Link: </v2/x/tags/list?last=a&n=100>; rel="next"
        target.clear();
        auto link = resp.header("Link");
        if (auto a = link.find('<'), b = link.find('>'); a != std::string::npos && b != std::string::npos && b > a &&
                                                          link.find("rel=\"next\"") != std::string::npos)
            target = link.substr(a + 1, b - a - 1);
    }
    std::sort(tags.begin(), tags.end());
    return tags;
}

}  // namespace berth::registry
