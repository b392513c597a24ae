// `save`: images as one tar that is both a docker-archive (manifest.json, repositories) and an
// OCI image layout (oci-layout, index.json, blobs/sha256/...), as Docker 25+ writes it, so
// docker load, podman load and skopeo (docker-archive: or oci-archive:) all read it. Blobs are
// written as stored and verified while they are copied; timestamps are zero, so saving the
// same images twice gives the same bytes.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <set>

#include "images/digest.hpp"
#include "images/media_types.hpp"
#include "images/store.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/sha256.hpp"

namespace berth::images {

namespace {

struct WriterCloser {
    void operator()(struct archive* a) const { archive_write_free(a); }
};

class TarWriter {
public:
    explicit TarWriter(int fd) : a_(archive_write_new()) {
        if (!a_) throw_error(Errc::failed, "libarchive: out of memory");
        archive_write_set_format_pax_restricted(a_.get());
        archive_write_set_bytes_in_last_block(a_.get(), 1);
        if (archive_write_open_fd(a_.get(), fd) != ARCHIVE_OK) fail("open");
    }

    void dir(const std::string& name) {
        if (!dirs_.insert(name).second) return;
        header(name, AE_IFDIR, 0755, 0);
    }

    void file(const std::string& name, std::string_view data) {
        header(name, AE_IFREG, 0644, static_cast<std::int64_t>(data.size()));
        write(data.data(), data.size());
    }

    // A blob copied from the store, hashed on the way: a blob that no longer matches its
    // digest is not passed off as the image.
    void blob(const fs::path& path, const std::string& digest) {
        std::string name = "blobs/sha256/" + std::string(digest_hex(digest));
        if (!files_.insert(name).second) return;
        auto fd = sys::open_path(path, O_RDONLY);
        struct stat st;
        if (::fstat(fd.get(), &st) < 0) sys::throw_errno("fstat", path.string());
        header(name, AE_IFREG, 0644, st.st_size);
        sys::Sha256 h;
        std::vector<char> buf(256 * 1024);
        std::int64_t total = 0;
        for (;;) {
            ssize_t n = sys::retry_eintr([&] { return ::read(fd.get(), buf.data(), buf.size()); });
            if (n < 0) sys::throw_errno("read", path.string());
            if (n == 0) break;
            h.update(buf.data(), static_cast<size_t>(n));
            write(buf.data(), static_cast<size_t>(n));
            total += n;
        }
        if (total != st.st_size || "sha256:" + h.hex_digest() != digest)
            throw_error(Errc::corrupt, "blob " + digest + " in the image store is corrupt; the saved archive is incomplete");
    }

    void close() {
        if (archive_write_close(a_.get()) != ARCHIVE_OK) fail("close");
    }

private:
    std::unique_ptr<struct archive, WriterCloser> a_;
    std::set<std::string> dirs_, files_;

    [[noreturn]] void fail(const char* what) {
        const char* m = archive_error_string(a_.get());
        int err = archive_errno(a_.get());
        if (err > 0) sys::throw_errno(std::string("writing the archive (") + what + ")", m ? m : "", err);
        throw_error(Errc::failed, std::string("writing the archive: ") + (m ? m : what));
    }

    void header(const std::string& name, unsigned type, unsigned mode, std::int64_t size) {
        std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
        archive_entry_set_pathname(e.get(), name.c_str());
        archive_entry_set_filetype(e.get(), type);
        archive_entry_set_perm(e.get(), mode);
        archive_entry_set_size(e.get(), size);
        archive_entry_set_mtime(e.get(), 0, 0);
        archive_entry_set_uid(e.get(), 0);
        archive_entry_set_gid(e.get(), 0);
        if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK) fail("header");
    }

    void write(const void* data, size_t n) {
        const char* p = static_cast<const char*>(data);
        while (n > 0) {
            la_ssize_t w = archive_write_data(a_.get(), p, n);
            if (w < 0) fail("data");
            p += w;
            n -= static_cast<size_t>(w);
        }
    }
};

struct Selected {
    Image image;
    std::vector<Reference> tags;
};

}  // namespace

void Store::save(const std::vector<std::string>& names, int fd, SaveFormat format) {
    // Resolve every name first: a typo fails before a byte is written. A bare repository name
    // ("busybox") means every tag of that repository, as in Docker.
    std::vector<Selected> selected;
    auto refs = read_refs();
    auto add = [&](const std::string& id, const std::optional<Reference>& tag) {
        for (auto& s : selected)
            if (s.image.id == id) {
                if (tag && std::find(s.tags.begin(), s.tags.end(), *tag) == s.tags.end()) s.tags.push_back(*tag);
                return;
            }
        selected.push_back({get(id), {}});
        if (tag) selected.back().tags.push_back(*tag);
    };
    for (auto& name : names) {
        std::optional<Reference> ref;
        if (!is_full_id(name)) {
            try {
                ref = parse_reference(name, false);
            } catch (const berth::Error&) {
            }
        }
        if (ref && !ref->has_tag() && !ref->has_digest()) {
            bool any = false;
            for (auto& [r, id] : refs) {
                auto rr = parse_reference(r, false);
                if (rr.repository() == ref->repository() && rr.has_tag()) {
                    add(id, rr);
                    any = true;
                }
            }
            if (any) continue;
        }
        Image img = resolve(name);
        std::optional<Reference> tag;
        if (ref && !ref->has_digest() && refs.count(parse_reference(name).str())) tag = parse_reference(name);
        add(img.id, tag);
    }

    TarWriter w(fd);
    w.dir("blobs");
    w.dir("blobs/sha256");
    ojson manifest_json = ojson::array();
    ojson index = ojson::object();
    index["schemaVersion"] = 2;
    index["mediaType"] = media::kOciIndex;
    index["manifests"] = ojson::array();
    ojson repositories = ojson::object();
    for (auto& s : selected) {
        const Image& img = s.image;
        w.blob(blob_path(img.id), img.id);
        for (auto& l : img.layers) w.blob(blob_path(l.blob_digest), l.blob_digest);
        if (format != SaveFormat::docker) {
            w.blob(blob_path(img.manifest_digest), img.manifest_digest);
            auto size = static_cast<std::int64_t>(sys::read_file(blob_path(img.manifest_digest)).size());
            auto desc = [&] {
                ojson d = ojson::object();
                d["mediaType"] = img.manifest_media_type;
                d["digest"] = img.manifest_digest;
                d["size"] = size;
                return d;
            };
            if (s.tags.empty()) index["manifests"].push_back(desc());
            for (auto& t : s.tags) {
                auto d = desc();
                d["annotations"] = ojson{{"io.containerd.image.name", t.str()}, {"org.opencontainers.image.ref.name", t.tag}};
                index["manifests"].push_back(d);
            }
        }
        if (format != SaveFormat::oci) {
            ojson item = ojson::object();
            item["Config"] = "blobs/sha256/" + std::string(digest_hex(img.id));
            if (s.tags.empty()) {
                item["RepoTags"] = nullptr;
            } else {
                item["RepoTags"] = ojson::array();
                for (auto& t : s.tags) item["RepoTags"].push_back(t.familiar());
            }
            item["Layers"] = ojson::array();
            for (auto& l : img.layers) item["Layers"].push_back("blobs/sha256/" + std::string(digest_hex(l.blob_digest)));
            manifest_json.push_back(item);
            if (!img.layers.empty())
                for (auto& t : s.tags)
                    repositories[t.familiar_repository()][t.tag] = std::string(digest_hex(img.layers.back().diff_id));
        }
    }
    if (format != SaveFormat::docker) w.file("index.json", index.dump() + "\n");
    if (format != SaveFormat::oci) w.file("manifest.json", manifest_json.dump() + "\n");
    if (format != SaveFormat::docker) w.file("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
    if (format != SaveFormat::oci && !repositories.empty()) w.file("repositories", repositories.dump() + "\n");
    w.close();
    for (auto& sel : selected) emit_event("save", sel.image.id, sel.image.id);
}

}  // namespace berth::images
