#include "registry/push.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "images/digest.hpp"
#include "images/ingest.hpp"
#include "registry/client.hpp"
#include "sys/fs.hpp"
#include "sys/parallel.hpp"
#include "sys/sha256.hpp"
#include "sys/strings.hpp"

namespace berth::registry {

namespace {

std::uint64_t chunk_size_of(const PushOptions& o) {
    if (o.chunk_size) return o.chunk_size;
    if (const char* e = std::getenv("BERTH_PUSH_CHUNK_SIZE"); e && *e)
        if (auto v = str::parse_uint(e); v && *v > 0) return *v;
    return 64ull << 20;
}

std::string with_query(const std::string& location, const std::string& q) {
    return location + (location.find('?') == std::string::npos ? "?" : "&") + q;
}

struct Blob {
    std::string digest;
    std::string label;  // short ID shown in progress, "" for the config
};

class Pusher {
public:
    Pusher(images::Store& store, Client& client, const images::Reference& ref, std::vector<std::string> mount_from,
           std::uint64_t chunk, std::function<void(const std::string&, const std::string&)> emit)
        : store_(store), client_(client), ref_(ref), mount_from_(std::move(mount_from)), chunk_(chunk), emit_(std::move(emit)) {}

    void push_blob(const Blob& b) {
        std::string base = "/v2/" + ref_.path + "/blobs/";
        Request head;
        head.method = "HEAD";
        head.target = base + b.digest;
        auto r = client_.request(head);
        if (r.status == 200) {
            if (!b.label.empty()) emit_(b.label, "Layer already exists");
            return;
        }
        if (r.status != 404) check_denied(r, "checking blob " + b.digest);

        std::string location;
        for (auto& from : mount_from_) {
            Request post;
            post.method = "POST";
            post.target = base + "uploads/?mount=" + b.digest + "&from=" + from;
            auto m = client_.request(post);
            if (m.status == 201) {
                if (!b.label.empty()) emit_(b.label, "Mounted from " + from);
                return;
            }
            if (m.status == 202) {  // the registry opened an upload instead
                location = m.header("Location");
                break;
            }
        }
        if (location.empty()) {
            Request post;
            post.method = "POST";
            post.target = base + "uploads/";
            auto s = client_.request(post);
            if (s.status != 202) check_denied(s, "starting the upload of " + b.digest);
            location = s.header("Location");
            if (location.empty()) throw_error(Errc::failed, "the registry started an upload of " + b.digest + " without a Location");
        }
        if (!b.label.empty()) emit_(b.label, "Pushing");
        upload(b, location);
        if (!b.label.empty()) emit_(b.label, "Pushed");
    }

private:
    images::Store& store_;
    Client& client_;
    const images::Reference& ref_;
    std::vector<std::string> mount_from_;
    std::uint64_t chunk_;
    std::function<void(const std::string&, const std::string&)> emit_;

    void check_denied(const Response& r, const std::string& doing) {
        if (r.status == 401 || r.status == 403)
            throw RegistryError(Errc::failed, "push to " + ref_.familiar_repository() + " denied (log in with 'berth login " +
                                                  ref_.domain + "'?): " + describe_error(r),
                                r.status, "");
        throw_response(r, doing);
    }

    void upload(const Blob& b, std::string location) {
        auto path = store_.blob_path(b.digest);
        auto fd = sys::open_path(path, O_RDONLY);
        struct stat st;
        if (::fstat(fd.get(), &st) < 0) sys::throw_errno("stat", path.string());
        std::uint64_t size = std::uint64_t(st.st_size);
        if (size > chunk_) {
            for (std::uint64_t off = 0; off < size; off += chunk_) {
                std::uint64_t n = std::min(chunk_, size - off);
                Request patch;
                patch.method = "PATCH";
                patch.target = location;
                patch.headers.push_back(Header{"Content-Type", "application/octet-stream"});
                patch.headers.push_back(Header{"Content-Range", std::to_string(off) + "-" + std::to_string(off + n - 1)});
                patch.body_fd = fd.get();
                patch.body_offset = off;
                patch.body_size = n;
                auto r = client_.request(patch);
                if (r.status != 202) check_denied(r, "uploading blob " + b.digest + " (bytes " + std::to_string(off) + "-)");
                if (auto l = r.header("Location"); !l.empty()) location = l;
            }
            Request put;
            put.method = "PUT";
            put.target = with_query(location, "digest=" + b.digest);
            auto r = client_.request(put);
            if (r.status != 201) check_denied(r, "finishing the upload of blob " + b.digest);
            return;
        }
        Request put;
        put.method = "PUT";
        put.target = with_query(location, "digest=" + b.digest);
        put.headers.push_back(Header{"Content-Type", "application/octet-stream"});
        put.body_fd = fd.get();
        put.body_size = size;
        auto r = client_.request(put);
        if (r.status != 201) check_denied(r, "uploading blob " + b.digest);
    }
};

}  // namespace

PushResult push(images::Store& store, const images::Reference& ref, const PushOptions& opts) {
    if (!ref.has_tag() || ref.has_digest())
        throw_error(Errc::invalid, "push needs a tag: " + ref.familiar());
    auto found = store.find(ref.str());
    if (!found) throw_error(Errc::not_found, "An image does not exist locally with the tag: " + ref.familiar_repository());
    const auto& img = *found;

    std::mutex mu;
    auto emit = [&](const std::string& id, const std::string& status) {
        if (!opts.progress) return;
        std::lock_guard lock(mu);
        opts.progress(Progress{id, status, 0, 0});
    };
    emit("", "The push refers to repository [" + ref.repository() + "]");

    // Other repositories of the same registry this image is known under: blobs can be mounted
    // from there instead of uploaded.
    std::vector<std::string> mount_from;
    std::vector<std::string> scopes{"repository:" + ref.path + ":pull,push"};
    auto consider = [&](const images::Reference& r) {
        if (r.domain != ref.domain || r.path == ref.path) return;
        if (std::find(mount_from.begin(), mount_from.end(), r.path) != mount_from.end()) return;
        mount_from.push_back(r.path);
        scopes.push_back("repository:" + r.path + ":pull");
    };
    for (auto& t : img.tags) consider(t);
    for (auto& d : img.digests) consider(d);

    Client client(endpoint_for(ref.domain), scopes);
    Pusher p(store, client, ref, mount_from, chunk_size_of(opts), emit);

    std::vector<Blob> blobs;
    for (auto it = img.layers.rbegin(); it != img.layers.rend(); ++it) {
        bool dup = false;
        for (auto& b : blobs) dup = dup || b.digest == it->blob_digest;
        if (!dup) blobs.push_back(Blob{it->blob_digest, images::short_id(it->blob_digest)});
    }
    for (auto& b : blobs) emit(b.label, "Preparing");

    sys::parallel_for(blobs.size(), size_t(std::max(1, opts.max_concurrent)), [&](size_t k) { p.push_blob(blobs[k]); });
    p.push_blob(Blob{img.id, ""});  // the config

    std::string manifest = store.read_blob(img.manifest_digest);
    Request put;
    put.method = "PUT";
    put.target = "/v2/" + ref.path + "/manifests/" + ref.tag;
    put.headers.push_back(Header{"Content-Type", img.manifest_media_type});
    put.body = manifest;
    auto r = client.request(put);
    if (r.status != 201) {
        if (r.status == 401 || r.status == 403)
            throw RegistryError(Errc::failed, "push to " + ref.familiar_repository() + " denied: " + describe_error(r), r.status, "");
        throw_response(r, "uploading the manifest of " + ref.familiar());
    }
    PushResult res;
    res.digest = sys::sha256_digest(manifest);
    res.size = std::int64_t(manifest.size());
    if (auto h = r.header("Docker-Content-Digest"); !h.empty() && h != res.digest)
        throw_error(Errc::corrupt, "the registry stored the manifest of " + ref.familiar() + " as " + h + " but it is " + res.digest);

    // The image is now known by its digest in this repository, as Docker records it.
    images::Ingest ingest(store);
    images::Ingest::Record rec;
    rec.id = img.id;
    rec.manifest = images::Descriptor{img.manifest_media_type, img.manifest_digest, res.size};
    rec.parent = img.parent;
    images::Reference d = ref;
    d.tag.clear();
    d.digest = res.digest;
    rec.tags.push_back(d);
    ingest.commit({rec});
    emit("", ref.tag + ": digest: " + res.digest + " size: " + std::to_string(res.size));
    store.emit_event("push", ref.familiar(), ref.familiar_repository());
    return res;
}

}  // namespace berth::registry
