#include "images/manifest.hpp"

#include "images/config.hpp"
#include "images/digest.hpp"
#include "images/media_types.hpp"
#include "sys/error.hpp"
#include "sys/json.hpp"

namespace berth::images {

namespace {

[[noreturn]] void malformed(std::string_view what, const std::string& why) {
    throw_error(Errc::corrupt, "malformed " + std::string(what) + ": " + why);
}

json parse_object(std::string_view text, std::string_view what) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception&) {
        malformed(what, "not valid JSON");
    }
    if (!j.is_object()) malformed(what, "not a JSON object");
    return j;
}

std::string str_field(const json& o, const char* key, std::string_view what, bool required) {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) {
        if (required) malformed(what, std::string("\"") + key + "\" is missing");
        return {};
    }
    if (!it->is_string()) malformed(what, std::string("\"") + key + "\" must be a string");
    return it->get<std::string>();
}

Descriptor descriptor(const json& d, std::string_view what) {
    if (!d.is_object()) malformed(what, "a descriptor is not an object");
    Descriptor out;
    out.media_type = str_field(d, "mediaType", what, true);
    out.digest = str_field(d, "digest", what, true);
    if (!valid_digest(out.digest)) malformed(what, "descriptor digest \"" + out.digest + "\" is not a valid digest");
    require_sha256(out.digest, std::string(what) + " descriptor");
    auto size = d.find("size");
    if (size == d.end() || !size->is_number_integer() || size->get<std::int64_t>() < 0)
        malformed(what, "descriptor " + out.digest + " has no valid size");
    out.size = size->get<std::int64_t>();
    if (auto a = d.find("annotations"); a != d.end() && a->is_object())
        for (auto& [k, v] : a->items())
            if (v.is_string()) out.annotations[k] = v.get<std::string>();
    if (auto p = d.find("platform"); p != d.end() && p->is_object()) {
        out.has_platform = true;
        out.platform.architecture = str_field(*p, "architecture", what, false);
        out.platform.os = str_field(*p, "os", what, false);
        out.platform.variant = str_field(*p, "variant", what, false);
        out.platform.os_version = str_field(*p, "os.version", what, false);
    }
    return out;
}

void check_schema(const json& j, std::string_view what) {
    auto v = j.find("schemaVersion");
    if (v == j.end() || !v->is_number_integer()) malformed(what, "\"schemaVersion\" is missing");
    if (v->get<int>() != 2)
        throw_error(Errc::unsupported, std::string(what) + " has schemaVersion " + std::to_string(v->get<int>()) +
                                           "; berth reads schema 2 (OCI and Docker v2) only");
}

// The type the document declares must agree with the descriptor that pointed at it.
std::string media_type_of(const json& j, std::string_view expected, std::string_view what) {
    std::string declared = str_field(j, "mediaType", what, false);
    if (!declared.empty() && !expected.empty() && declared != expected)
        throw_error(Errc::corrupt, std::string(what) + " declares media type " + declared +
                                       " but its descriptor says " + std::string(expected));
    return declared.empty() ? std::string(expected) : declared;
}

}  // namespace

Manifest parse_manifest(std::string_view text, std::string_view expected, std::string_view what) {
    auto j = parse_object(text, what);
    check_schema(j, what);
    Manifest m;
    m.media_type = media_type_of(j, expected, what);
    if (media::is_index(m.media_type) || (m.media_type.empty() && j.contains("manifests")))
        throw_error(Errc::corrupt, std::string(what) + " is an image index, not a manifest");
    if (!m.media_type.empty() && !media::is_manifest(m.media_type))
        throw_error(Errc::unsupported, std::string(what) + " has unknown media type " + m.media_type);
    auto cfg = j.find("config");
    if (cfg == j.end()) malformed(what, "\"config\" is missing");
    m.config = descriptor(*cfg, what);
    if (!media::is_config(m.config.media_type))
        throw_error(Errc::unsupported, std::string(what) + ": config has unknown media type " + m.config.media_type +
                                           " (not a container image)");
    auto layers = j.find("layers");
    if (layers == j.end() || !layers->is_array()) malformed(what, "\"layers\" is missing");
    for (auto& l : *layers) {
        auto d = descriptor(l, what);
        if (!media::is_layer(d.media_type))
            throw_error(Errc::unsupported, std::string(what) + ": layer " + d.digest + " has unknown media type " + d.media_type);
        m.layers.push_back(std::move(d));
    }
    return m;
}

Index parse_index(std::string_view text, std::string_view expected, std::string_view what) {
    auto j = parse_object(text, what);
    check_schema(j, what);
    Index idx;
    idx.media_type = media_type_of(j, expected, what);
    if (!idx.media_type.empty() && !media::is_index(idx.media_type))
        throw_error(Errc::unsupported, std::string(what) + " has media type " + idx.media_type + ", not an image index");
    auto ms = j.find("manifests");
    if (ms == j.end() || !ms->is_array()) malformed(what, "\"manifests\" is missing");
    for (auto& m : *ms) idx.manifests.push_back(descriptor(m, what));
    return idx;
}

std::string declared_media_type(std::string_view text) {
    try {
        auto j = json::parse(text);
        if (j.is_object())
            if (auto it = j.find("mediaType"); it != j.end() && it->is_string()) return it->get<std::string>();
    } catch (const json::exception&) {
    }
    return {};
}

std::string make_manifest(const Descriptor& config, const std::vector<Descriptor>& layers) {
    auto desc = [](const Descriptor& d) {
        ojson o = ojson::object();
        o["mediaType"] = d.media_type;
        o["digest"] = d.digest;
        o["size"] = d.size;
        if (!d.annotations.empty()) o["annotations"] = d.annotations;
        return o;
    };
    ojson m = ojson::object();
    m["schemaVersion"] = 2;
    m["mediaType"] = media::kOciManifest;
    m["config"] = desc(config);
    m["layers"] = ojson::array();
    for (auto& l : layers) m["layers"].push_back(desc(l));
    return m.dump();
}

bool platform_matches_host(const Platform& p) {
    if (p.os != "linux") return false;
    if (p.architecture != host_architecture()) return false;
    std::string hv = host_variant();
    if (p.architecture == "arm64") return p.variant.empty() || p.variant == "v8" || p.variant == hv;
    if (p.architecture == "arm") {
        // A v7 host runs v7, v6 and v5 images.
        if (p.variant.empty()) return true;
        return !hv.empty() && p.variant <= hv;
    }
    return true;
}

}  // namespace berth::images
