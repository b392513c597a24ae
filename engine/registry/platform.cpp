#include "registry/platform.hpp"

#include <set>

#include "images/config.hpp"
#include "sys/error.hpp"
#include "sys/strings.hpp"

namespace berth::registry {

namespace {

// containerd's normalizeArch: aliases to GOARCH names, and the variant spelled as it is stored.
void normalise(images::Platform& p) {
    auto& a = p.architecture;
    auto& v = p.variant;
    a = str::to_lower(a);
    v = str::to_lower(v);
    p.os = str::to_lower(p.os);
    if (a == "i386") a = "386";
    if (a == "x86_64" || a == "x86-64") {
        a = "amd64";
        if (v == "v1") v.clear();
    } else if (a == "amd64") {
        if (v == "v1") v.clear();
    } else if (a == "aarch64" || a == "arm64") {
        a = "arm64";
        if (v == "8" || v == "v8") v.clear();
    } else if (a == "armhf") {
        a = "arm";
        v = "v7";
    } else if (a == "armel") {
        a = "arm";
        v = "v6";
    } else if (a == "arm") {
        if (v.empty() || v == "7") v = "v7";
        else if (v == "5" || v == "6" || v == "8") v = "v" + v;
    }
}

// The rank of a compatible variant (higher = closer to want), or -1 when not compatible.
int variant_rank(const images::Platform& have, const images::Platform& want) {
    if (have.variant == want.variant) return 100;
    auto num = [](const std::string& v) -> int {
        if (v.empty()) return 1;
        if (v.size() >= 2 && v[0] == 'v') {
            auto n = str::parse_int(v.substr(1));
            if (n) return int(*n);
        }
        return -1;
    };
    if (want.architecture == "amd64" || want.architecture == "arm") {
        int h = num(have.variant), w = num(want.variant);
        if (h < 0 || w < 0) return -1;
        return h <= w ? h : -1;
    }
    if (want.architecture == "arm64") {
        // arm64 without a variant is v8; v8.x and v9 hosts run v8 images.
        if (have.variant.empty()) return 1;
        return -1;
    }
    return -1;
}

bool is_attestation(const images::Descriptor& d) {
    auto t = d.annotations.find("vnd.docker.reference.type");
    if (t != d.annotations.end() && t->second == "attestation-manifest") return true;
    return d.has_platform && d.platform.os == "unknown" && d.platform.architecture == "unknown";
}

}  // namespace

images::Platform parse_platform(std::string_view s) {
    auto parts = str::split(str::trim(s), '/');
    images::Platform p;
    bool ok = !parts.empty() && parts.size() <= 3;
    for (auto& x : parts) ok = ok && !x.empty();
    if (!ok)
        throw_error(Errc::invalid, "\"" + std::string(s) + "\": invalid platform: expected os/arch[/variant]");
    if (parts.size() == 1) {
        p.os = "linux";
        p.architecture = parts[0];
    } else {
        p.os = parts[0];
        p.architecture = parts[1];
        if (parts.size() == 3) p.variant = parts[2];
    }
    normalise(p);
    return p;
}

images::Platform host_platform() {
    images::Platform p;
    p.os = "linux";
    p.architecture = images::host_architecture();
    p.variant = images::host_variant();
    normalise(p);
    return p;
}

std::string platform_string(const images::Platform& p) {
    std::string s = p.os + "/" + p.architecture;
    if (!p.variant.empty()) s += "/" + p.variant;
    return s;
}

bool platform_matches(const images::Platform& have_in, const images::Platform& want_in) {
    auto have = have_in, want = want_in;
    normalise(have);
    normalise(want);
    if (have.os != want.os || have.architecture != want.architecture) return false;
    return variant_rank(have, want) >= 0;
}

const images::Descriptor& select_manifest(const images::Index& index, const images::Platform& want_in,
                                          std::string_view what) {
    auto want = want_in;
    normalise(want);
    const images::Descriptor* best = nullptr;
    int best_rank = -1;
    std::vector<std::string> have;
    std::set<std::string> seen;
    for (auto& d : index.manifests) {
        if (is_attestation(d)) continue;
        if (!d.has_platform) {
            // A manifest without a platform in an index: containerd treats it as matching any
            // platform only when nothing better is there.
            if (best_rank < 0 && !best) best = &d;
            continue;
        }
        auto p = d.platform;
        normalise(p);
        if (seen.insert(platform_string(p)).second) have.push_back(platform_string(p));
        if (p.os != want.os || p.architecture != want.architecture) continue;
        int r = variant_rank(p, want);
        if (r > best_rank) {
            best_rank = r;
            best = &d;
        }
    }
    if (!best) {
        std::string msg = "no matching manifest for " + platform_string(want) + " in the manifest list entries of " +
                          std::string(what);
        msg += have.empty() ? " (it lists no platforms)" : " (it has " + str::join(have, ", ") + ")";
        throw_error(Errc::not_found, msg);
    }
    return *best;
}

}  // namespace berth::registry
