// New images from a tarball: `import` (a rootfs) and `commit` (a layer on top of a parent).
#include "images/digest.hpp"
#include "images/ingest.hpp"
#include "images/media_types.hpp"
#include "images/store.hpp"
#include "sys/error.hpp"
#include "sys/time.hpp"

namespace berth::images {

Image Store::new_image(const ImageConfig& base, const std::vector<Layer>& parent_layers, const std::string& parent_id,
                       Source* layer_tar, const NewImageOptions& opts, bool import) {
    ImageConfig cfg = base;
    apply_changes(cfg, opts.changes);  // bad --change fails before anything is read or written
    if (import) {
        cfg.os = opts.platform_os.empty() ? "linux" : opts.platform_os;
        cfg.architecture = opts.platform_arch.empty() ? host_architecture() : opts.platform_arch;
        if (opts.platform_arch.empty()) cfg.variant = host_variant();
    }
    std::string now = sys::format_rfc3339_nano(sys::now_ns());
    std::string comment = opts.comment;
    if (import && comment.empty()) comment = "Imported from -";

    Ingest ingest(*this);
    std::vector<Layer> layers = parent_layers;
    if (layer_tar) {
        Ingest::LayerSpec spec;
        spec.store_uncompressed = true;
        spec.parent_chain = layers.empty() ? "" : layers.back().chain_id;
        layers.push_back(ingest.add_layer(*layer_tar, spec, import ? "the imported tarball" : "the new layer"));
        cfg.diff_ids.push_back(layers.back().diff_id);
    }
    cfg.created = now;
    cfg.comment = comment;
    if (!opts.author.empty()) cfg.author = opts.author;
    HistoryEntry h;
    h.created = now;
    h.created_by = opts.created_by;
    h.author = opts.author;
    h.comment = comment;
    h.empty_layer = layer_tar == nullptr;
    cfg.history.push_back(h);

    std::string config_json = serialize_config(cfg);
    std::string id = ingest.add_blob(config_json);
    Descriptor config_desc{std::string(media::kOciConfig), id, static_cast<std::int64_t>(config_json.size())};
    std::vector<Descriptor> layer_descs;
    for (auto& l : layers) layer_descs.push_back(Descriptor{l.media_type, l.blob_digest, l.blob_size});
    std::string manifest = make_manifest(config_desc, layer_descs);
    std::string mdig = ingest.add_blob(manifest);

    Ingest::Record rec;
    rec.id = id;
    rec.manifest = Descriptor{std::string(media::kOciManifest), mdig, static_cast<std::int64_t>(manifest.size())};
    rec.parent = parent_id;
    if (opts.tag) rec.tags.push_back(*opts.tag);
    ingest.commit({rec});
    return get(id);
}

Image Store::import_rootfs(Source& tarball, const NewImageOptions& opts) {
    if (opts.tag && (opts.tag->has_digest() || !opts.tag->has_tag()))
        throw_error(Errc::invalid, "refusing to create a tag with a digest reference");
    auto img = new_image(ImageConfig{}, {}, "", &tarball, opts, true);
    emit_event("import", img.id, img.id);
    return img;
}

Image Store::commit(const std::string& parent_id, Source* layer_tar, const NewImageOptions& opts) {
    if (opts.tag && (opts.tag->has_digest() || !opts.tag->has_tag()))
        throw_error(Errc::invalid, "refusing to create a tag with a digest reference");
    if (parent_id.empty()) {
        ImageConfig base;
        base.os = opts.platform_os.empty() ? "linux" : opts.platform_os;
        base.architecture = opts.platform_arch.empty() ? host_architecture() : opts.platform_arch;
        if (opts.platform_arch.empty()) base.variant = host_variant();
        return new_image(base, {}, "", layer_tar, opts, false);
    }
    Image parent = resolve(parent_id);
    return new_image(parent.config, parent.layers, parent.id, layer_tar, opts, false);
}

}  // namespace berth::images
