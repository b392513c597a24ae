#pragma once
// Builds tar archives in memory with libarchive's writer, including the malformed and malicious
// ones the extraction tests feed in. Header-only; shared by unit and privileged image tests.
#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>
#include <zstd.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace berth_test {

class TarBuilder {
public:
    TarBuilder() : a_(archive_write_new()) {
        archive_write_set_format_pax_restricted(a_);
        archive_write_set_bytes_in_last_block(a_, 1);
        archive_write_open(a_, &out_, nullptr, &TarBuilder::write_cb, nullptr);
    }
    ~TarBuilder() {
        if (a_) archive_write_free(a_);
    }
    TarBuilder(const TarBuilder&) = delete;

    TarBuilder& file(const std::string& name, const std::string& data, unsigned mode = 0644, long uid = 0, long gid = 0,
                     std::vector<std::pair<std::string, std::string>> xattrs = {}, long mtime = 1000000000) {
        auto* e = entry(name, AE_IFREG, mode, uid, gid, mtime);
        archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
        for (auto& [k, v] : xattrs) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
        header(e);
        if (!data.empty()) archive_write_data(a_, data.data(), data.size());
        return *this;
    }
    TarBuilder& dir(const std::string& name, unsigned mode = 0755, long mtime = 1000000000) {
        header(entry(name, AE_IFDIR, mode, 0, 0, mtime));
        return *this;
    }
    TarBuilder& symlink(const std::string& name, const std::string& target) {
        auto* e = entry(name, AE_IFLNK, 0777, 0, 0, 1000000000);
        archive_entry_set_symlink(e, target.c_str());
        header(e);
        return *this;
    }
    TarBuilder& hardlink(const std::string& name, const std::string& target) {
        auto* e = entry(name, AE_IFREG, 0644, 0, 0, 1000000000);
        archive_entry_set_hardlink(e, target.c_str());
        archive_entry_set_size(e, 0);
        header(e);
        return *this;
    }
    TarBuilder& device(const std::string& name, bool block, unsigned major, unsigned minor) {
        auto* e = entry(name, block ? AE_IFBLK : AE_IFCHR, 0666, 0, 0, 1000000000);
        archive_entry_set_rdevmajor(e, major);
        archive_entry_set_rdevminor(e, minor);
        header(e);
        return *this;
    }
    TarBuilder& fifo(const std::string& name) {
        header(entry(name, AE_IFIFO, 0644, 0, 0, 1000000000));
        return *this;
    }
    std::string finish() {
        archive_write_close(a_);
        archive_write_free(a_);
        a_ = nullptr;
        return out_;
    }

private:
    struct archive* a_;
    std::string out_;
    std::vector<archive_entry*> entries_;

    static la_ssize_t write_cb(struct archive*, void* client, const void* buf, size_t n) {
        static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
    }
    archive_entry* entry(const std::string& name, unsigned type, unsigned mode, long uid, long gid, long mtime) {
        auto* e = archive_entry_new();
        archive_entry_set_pathname(e, name.c_str());
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, mode);
        archive_entry_set_uid(e, uid);
        archive_entry_set_gid(e, gid);
        archive_entry_set_mtime(e, mtime, 0);
        return e;
    }
    void header(archive_entry* e) {
        if (archive_write_header(a_, e) != ARCHIVE_OK) {
            std::string m = archive_error_string(a_) ? archive_error_string(a_) : "?";
            archive_entry_free(e);
            throw std::runtime_error("TarBuilder: " + m);
        }
        archive_entry_free(e);
    }
};

inline std::string gzip(const std::string& data) {
    z_stream zs{};
    deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&zs, data.size()) + 64, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

inline std::string zstd(const std::string& data) {
    std::string out(ZSTD_compressBound(data.size()), '\0');
    out.resize(ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3));
    return out;
}

}  // namespace berth_test
