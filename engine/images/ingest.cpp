#include "images/ingest.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/digest.hpp"
#include "images/media_types.hpp"
#include "images/unpack.hpp"
#include "sys/error.hpp"
#include "sys/json.hpp"
#include "sys/random.hpp"
#include "sys/sha256.hpp"
#include "sys/time.hpp"

namespace berth::images {

UnpackOptions layer_unpack_options() {
    UnpackOptions o;
    o.layer = true;
    o.restore_owner = ::geteuid() == 0;
    o.opaque_xattr = o.restore_owner ? "trusted.overlay.opaque" : "user.overlay.opaque";
    return o;
}

namespace {

void fsync_fd(int fd, const std::string& what) {
    if (::fsync(fd) < 0) sys::throw_errno("fsync", what);
}

// rename that leaves an existing target alone (content-addressed: same name, same content).
bool rename_noreplace(const fs::path& from, const fs::path& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
    if (errno == EEXIST || errno == ENOTEMPTY) return false;
    sys::throw_errno("rename", from.string() + " -> " + to.string());
}

}  // namespace

Ingest::Ingest(Store& store)
    : store_(store),
      gc_((sys::mkdirs(store.dir()), store.gc_lock()), /*shared=*/true),
      tmp_(store.tmp_dir(), "ingest-") {
    sys::mkdirs(tmp_.path() / "blobs");
    sys::mkdirs(tmp_.path() / "layers");
}

bool Ingest::has_blob(const std::string& digest) const {
    std::lock_guard lock(mu_);
    return blobs_.count(std::string(digest_hex(digest))) || sys::exists(store_.blob_path(digest));
}

bool Ingest::has_layer(const std::string& chain_id) const {
    std::lock_guard lock(mu_);
    return layers_.count(std::string(digest_hex(chain_id))) || sys::exists(store_.layer_dir(chain_id) / "layer.json");
}

std::string Ingest::add_blob(std::string_view data) {
    std::string digest = sys::sha256_digest(data);
    if (has_blob(digest)) return digest;
    std::string hex(digest_hex(digest));
    auto partial = tmp_.path() / "blobs" / ("partial-" + sys::random_hex(12));
    {
        auto fd = sys::open_path(partial, O_WRONLY | O_CREAT | O_EXCL, 0644);
        sys::write_all(fd.get(), data, partial.string());
        fsync_fd(fd.get(), partial.string());
    }
    std::lock_guard lock(mu_);
    if (blobs_.count(hex)) {
        ::unlink(partial.c_str());
        return digest;
    }
    if (::rename(partial.c_str(), (tmp_.path() / "blobs" / hex).c_str()) < 0) sys::throw_errno("rename", partial.string());
    blobs_.insert(hex);
    return digest;
}

std::optional<Layer> Ingest::existing_layer(const LayerSpec& spec) const {
    if (spec.expected_blob.empty() || spec.expected_diff_id.empty()) return std::nullopt;
    std::string chain = spec.parent_chain.empty() ? spec.expected_diff_id
                                                  : sys::sha256_digest(spec.parent_chain + " " + spec.expected_diff_id);
    if (!has_blob(spec.expected_blob) || !has_layer(chain)) return std::nullopt;
    Layer l;
    l.diff_id = spec.expected_diff_id;
    l.chain_id = chain;
    l.blob_digest = spec.expected_blob;
    l.media_type = spec.media_type;
    l.blob_size = spec.expected_size;
    return l;
}

Layer Ingest::add_layer(Source& in, const LayerSpec& spec, std::string_view what) {
    std::string w(what);
    // Nothing to read when the store already has both the blob and the unpacked layer.
    if (auto l = existing_layer(spec)) return *l;

    auto blob_tmp = tmp_.path() / "blobs" / ("partial-" + sys::random_hex(12));
    bool adopt = spec.adopt_fd >= 0 && !spec.store_uncompressed;
    // Adopting: the blob is read from the file and linked in afterwards; /dev/null takes the tee.
    auto blob_fd = adopt ? sys::open_path("/dev/null", O_WRONLY) : sys::open_path(blob_tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    auto unpack_dir = tmp_.path() / "layers" / ("partial-" + sys::random_hex(12));
    sys::mkdirs(unpack_dir / "diff", 0755);
    auto diff_fd = sys::open_path(unpack_dir / "diff", O_RDONLY | O_DIRECTORY);

    // raw:    in -> tee(blob) -> hash(blob) -> decompress -> hash(diff) -> tar
    // import: in -> decompress -> tee(blob) -> hash(diff) -> tar      (blob = uncompressed tar)
    std::unique_ptr<Source> tee, decompress;
    std::unique_ptr<HashingSource> blob_hash, diff_hash;
    if (spec.store_uncompressed) {
        decompress = std::make_unique<DecompressingSource>(in, w);
        tee = std::make_unique<TeeSource>(*decompress, blob_fd.get(), blob_tmp.string());
        diff_hash = std::make_unique<HashingSource>(*tee);
    } else {
        tee = std::make_unique<TeeSource>(in, blob_fd.get(), blob_tmp.string());
        blob_hash = std::make_unique<HashingSource>(*tee);
        decompress = std::make_unique<DecompressingSource>(*blob_hash, w);
        diff_hash = std::make_unique<HashingSource>(*decompress);
    }
    auto comp = static_cast<DecompressingSource*>(decompress.get())->compression();

    UnpackStats stats = unpack_tar(*diff_hash, diff_fd.get(), layer_unpack_options(), w);
    diff_hash->drain();  // tar padding after the end-of-archive marker is part of the DiffID
    if (blob_hash) blob_hash->drain();
    if (adopt) {
        if (::fchmod(spec.adopt_fd, 0644) < 0) sys::throw_errno("fchmod", blob_tmp.string());  // blobs are 0644
        fsync_fd(spec.adopt_fd, blob_tmp.string());
        // linkat through /proc/self/fd (AT_SYMLINK_FOLLOW) needs no CAP_DAC_READ_SEARCH.
        std::string self = "/proc/self/fd/" + std::to_string(spec.adopt_fd);
        if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, blob_tmp.c_str(), AT_SYMLINK_FOLLOW) < 0)
            sys::throw_errno("link", blob_tmp.string());
    } else {
        fsync_fd(blob_fd.get(), blob_tmp.string());
    }
    blob_fd.reset();
    diff_fd.reset();

    Layer l;
    l.diff_id = diff_hash->digest();
    l.blob_digest = spec.store_uncompressed ? l.diff_id : blob_hash->digest();
    l.blob_size = static_cast<std::int64_t>(spec.store_uncompressed ? diff_hash->count() : blob_hash->count());
    l.size = stats.size;
    if (!spec.expected_blob.empty() && l.blob_digest != spec.expected_blob)
        throw_error(Errc::corrupt, w + ": content digest is " + l.blob_digest + " but " + spec.expected_blob + " was expected");
    if (spec.expected_size >= 0 && l.blob_size != spec.expected_size)
        throw_error(Errc::corrupt, w + ": size is " + std::to_string(l.blob_size) + " bytes but " +
                                       std::to_string(spec.expected_size) + " were expected");
    if (!spec.expected_diff_id.empty() && l.diff_id != spec.expected_diff_id)
        throw_error(Errc::corrupt, w + ": uncompressed content has DiffID " + l.diff_id + " but the image config says " +
                                       spec.expected_diff_id);
    l.chain_id = spec.parent_chain.empty() ? l.diff_id : sys::sha256_digest(spec.parent_chain + " " + l.diff_id);
    if (!spec.media_type.empty() && !spec.store_uncompressed)
        l.media_type = spec.media_type;
    else
        l.media_type = comp == Compression::gzip   ? std::string(media::kOciLayerGzip)
                       : comp == Compression::zstd ? std::string(media::kOciLayerZstd)
                                                   : std::string(media::kOciLayer);
    if (spec.store_uncompressed) l.media_type = std::string(media::kOciLayer);

    // Another thread may stage the same blob or layer meanwhile: check and move under the lock.
    std::lock_guard lock(mu_);
    auto has_blob_locked = [&](const std::string& d) {
        return blobs_.count(std::string(digest_hex(d))) || sys::exists(store_.blob_path(d));
    };
    auto has_layer_locked = [&](const std::string& c) {
        return layers_.count(std::string(digest_hex(c))) || sys::exists(store_.layer_dir(c) / "layer.json");
    };
    std::string bhex(digest_hex(l.blob_digest));
    if (!has_blob_locked(l.blob_digest)) {
        if (::rename(blob_tmp.c_str(), (tmp_.path() / "blobs" / bhex).c_str()) < 0)
            sys::throw_errno("rename", blob_tmp.string());
        blobs_.insert(bhex);
    } else {
        ::unlink(blob_tmp.c_str());
    }
    std::string chex(digest_hex(l.chain_id));
    if (!has_layer_locked(l.chain_id)) {
        json meta = {{"diff_id", l.diff_id}, {"chain_id", l.chain_id}, {"size", l.size}};
        sys::write_file_atomic(unpack_dir / "layer.json", meta.dump());
        auto final_dir = tmp_.path() / "layers" / chex;
        if (::rename(unpack_dir.c_str(), final_dir.c_str()) < 0) sys::throw_errno("rename", unpack_dir.string());
        layers_.insert(chex);
    } else {
        sys::remove_tree(unpack_dir);
        if (auto meta = sys::read_file_if_exists(store_.layer_dir(l.chain_id) / "layer.json")) {
            auto j = json::parse(*meta, nullptr, false);
            if (j.is_object() && j.contains("size") && j["size"].is_number_unsigned()) l.size = j["size"].get<std::uint64_t>();
        }
    }
    return l;
}

std::vector<std::pair<std::string, std::string>> Ingest::commit(const std::vector<Record>& records) {
    sys::FileLock lock(store_.index_lock());
    sys::mkdirs(store_.dir() / "blobs" / "sha256");
    sys::mkdirs(store_.dir() / "layers");
    sys::mkdirs(store_.dir() / "records");
    for (auto& hex : blobs_) rename_noreplace(tmp_.path() / "blobs" / hex, store_.dir() / "blobs" / "sha256" / hex);
    for (auto& hex : layers_) rename_noreplace(tmp_.path() / "layers" / hex, store_.dir() / "layers" / hex);

    auto refs = store_.read_refs();
    std::vector<std::pair<std::string, std::string>> replaced;
    auto now = sys::now_ns();
    for (auto& r : records) {
        json rec = json::object();
        if (auto old = sys::read_file_if_exists(store_.record_path(r.id))) {
            rec = json::parse(*old, nullptr, false);
            if (!rec.is_object()) rec = json::object();
        }
        rec["id"] = r.id;
        rec["manifest"] = {{"mediaType", r.manifest.media_type}, {"digest", r.manifest.digest}, {"size", r.manifest.size}};
        if (!r.parent.empty() || !rec.contains("parent")) rec["parent"] = r.parent;
        if (!rec.contains("added")) rec["added"] = now;
        if (!r.tags.empty()) rec["last_tag_time"] = now;
        sys::write_file_atomic(store_.record_path(r.id), rec.dump());
        for (auto& t : r.tags) {
            auto it = refs.find(t.str());
            if (it != refs.end() && it->second != r.id) replaced.emplace_back(t.familiar(), it->second);
            refs[t.str()] = r.id;
        }
    }
    store_.write_refs(refs);
    return replaced;
}

}  // namespace berth::images
