// `rmi` and `image prune`, following the rules of Docker's image_delete.go: untag first, delete
// an image once nothing refers to it, never delete an image with children or one a container
// uses, and prune untagged parents quietly.
#include <unistd.h>

#include <algorithm>
#include <set>

#include "images/digest.hpp"
#include "images/store.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/lock.hpp"

namespace berth::images {

namespace {

struct Conflict {
    bool hard;
    bool used;  // by a container
    std::string message;
};

// Everything a removal looks at, read once under the locks and written back at the end.
class Session {
public:
    Session(Store& s, const InUse& in_use) : store_(s), in_use_(in_use), refs_(s.read_refs()) {
        for (auto& f : sys::list_dir(s.dir() / "records")) {
            auto text = sys::read_file_if_exists(s.dir() / "records" / f);
            if (!text) continue;
            auto j = json::parse(*text, nullptr, false);
            if (!j.is_object()) continue;
            parents_[j.value("id", "")] = j.value("parent", "");
        }
    }

    std::vector<DeleteRecord> records;

    std::vector<Reference> refs_of(const std::string& id) const {
        std::vector<Reference> out;
        for (auto& [r, target] : refs_)
            if (target == id) out.push_back(parse_reference(r, false));
        return out;
    }

    bool has_children(const std::string& id) const {
        for (auto& [child, parent] : parents_)
            if (parent == id) return true;
        return false;
    }

    std::optional<std::string> used_by(const std::string& id) const {
        auto it = in_use_.find(id);
        if (it == in_use_.end()) return std::nullopt;
        return it->second;
    }

    void untag(const Reference& r) {
        if (auto it = refs_.find(r.str()); it != refs_.end()) store_.emit_event("untag", it->second, it->second);
        refs_.erase(r.str());
        records.push_back({r.familiar(), ""});
    }

    // Docker's isSingleReference: at most one tag, and every reference in one repository.
    static bool single_reference(const std::vector<Reference>& refs) {
        if (refs.size() <= 1) return refs.size() == 1;
        const Reference* single = nullptr;
        std::set<std::string> names;
        for (auto& r : refs) {
            if (r.has_digest()) {
                names.insert(r.repository());
            } else if (!single) {
                names.insert(r.repository());
                single = &r;
            } else {
                return false;
            }
        }
        if (!single) single = &refs[0];
        return names.size() == 1 && names.count(single->repository());
    }

    std::optional<Conflict> conflict(const std::string& id, bool force, bool check_refs) const {
        std::string sid = short_id(id);
        if (has_children(id))
            return Conflict{true, false, "conflict: unable to delete " + sid + " (cannot be forced) - image has dependent child images"};
        if (auto c = used_by(id); c && !force)
            return Conflict{false, true, "conflict: unable to delete " + sid + " (must be forced) - image is being used by container " +
                                       short_id(*c)};
        if (check_refs && !force && !refs_of(id).empty())
            return Conflict{false, false, "conflict: unable to delete " + sid + " (must be forced) - image is referenced in multiple repositories"};
        return std::nullopt;
    }

    // Deletes the image (its references too) unless something forbids it. quiet (after its last
    // tag was removed, or pruning a parent): a conflict ends the removal silently unless the
    // image is dangling and not in use, as in Docker's imageDeleteHelper.
    void delete_image(const std::string& id, bool force, bool prune, bool quiet) {
        if (auto c = conflict(id, force, true)) {
            bool dangling = refs_of(id).empty() && !has_children(id);
            if (quiet && (!dangling || c->used)) return;
            throw_error(Errc::conflict, c->message);
        }
        for (auto& r : refs_of(id)) untag(r);
        if (used_by(id)) return;  // forced: the tags are gone, the image stays for its container
        std::string parent = parents_[id];
        if (::unlink(store_.record_path(id).c_str()) < 0 && errno != ENOENT)
            sys::throw_errno("unlink", store_.record_path(id).string());
        parents_.erase(id);
        records.push_back({"", id});
        store_.emit_event("delete", id, id);
        if (prune && !parent.empty() && parents_.count(parent)) delete_image(parent, false, true, true);
    }

    void remove(std::string_view name, const RemoveOptions& opts) {
        Image img = store_.resolve(name);
        auto refs = refs_of(img.id);
        std::string hex(digest_hex(img.id));
        std::string_view n = name.substr(0, 7) == "sha256:" ? name.substr(7) : name;
        bool by_id = !n.empty() && hex.compare(0, n.size(), n) == 0 && !refs_.count(parse_ref_or_empty(name));
        if (!by_id) {
            Reference ref = parse_reference(name);
            if (!opts.force && single_reference(refs))
                if (auto c = used_by(img.id))
                    throw_error(Errc::conflict, "conflict: unable to remove repository reference \"" + std::string(name) +
                                                    "\" (must force) - container " + short_id(*c) +
                                                    " is using its referenced image " + short_id(img.id));
            untag(ref);
            if (!ref.has_digest()) {
                // The last tag of a repository takes that repository's digest references along.
                bool tag_left = false;
                for (auto& r : refs_of(img.id))
                    if (!r.has_digest() && r.repository() == ref.repository()) tag_left = true;
                if (!tag_left)
                    for (auto& r : refs_of(img.id))
                        if (r.has_digest() && r.repository() == ref.repository()) untag(r);
            }
            if (!refs_of(img.id).empty()) return;
            delete_image(img.id, opts.force, opts.prune_parents, true);
            return;
        }
        if (single_reference(refs)) {
            if (auto c = conflict(img.id, opts.force, false)) throw_error(Errc::conflict, c->message);
            for (auto& r : refs) untag(r);
        }
        delete_image(img.id, opts.force, opts.prune_parents, false);
    }

    void save() { store_.write_refs(refs_); }

private:
    Store& store_;
    const InUse& in_use_;
    std::map<std::string, std::string> refs_;
    std::map<std::string, std::string> parents_;  // id -> parent id

    std::string parse_ref_or_empty(std::string_view name) const {
        try {
            return parse_reference(name).str();
        } catch (const berth::Error&) {
            return {};
        }
    }
};

std::map<std::string, std::uint64_t> layer_sizes(Store& s) {
    std::map<std::string, std::uint64_t> out;
    for (auto& hex : sys::list_dir(s.dir() / "layers")) {
        auto meta = sys::read_file_if_exists(s.dir() / "layers" / hex / "layer.json");
        if (!meta) continue;
        auto j = json::parse(*meta, nullptr, false);
        if (j.is_object() && j.contains("size") && j["size"].is_number_unsigned())
            out["sha256:" + hex] = j["size"].get<std::uint64_t>();
    }
    return out;
}

}  // namespace

std::vector<DeleteRecord> Store::remove(std::string_view name, const RemoveOptions& opts) {
    sys::mkdirs(dir_);
    sys::FileLock gc(gc_lock());
    sys::FileLock lock(index_lock());
    Session s(*this, opts.in_use);
    // Changes are written back even when a later step fails, so what was untagged stays
    // untagged (Docker reports the records it managed before the error too).
    try {
        s.remove(name, opts);
    } catch (...) {
        s.save();
        throw;
    }
    s.save();
    auto [layers, bytes] = collect_garbage();
    for (auto& l : layers) s.records.push_back({"", l});
    return s.records;
}

PruneResult Store::prune(const PruneOptions& opts) {
    sys::mkdirs(dir_);
    sys::FileLock gc(gc_lock());
    sys::FileLock lock(index_lock());
    auto images = list();
    auto sizes = layer_sizes(*this);
    Session s(*this, opts.in_use);
    // Newest first, so a child goes before its parent and the parent is free to go after it.
    for (auto& img : images) {
        if (opts.in_use.count(img.id) || !sys::exists(record_path(img.id)) || s.has_children(img.id)) continue;
        if (!opts.all && !img.tags.empty()) continue;  // dangling: no tag (digest references may remain)
        if (opts.filter && !opts.filter(img)) continue;
        for (auto& r : s.refs_of(img.id)) s.untag(r);
        s.delete_image(img.id, false, true, true);
    }
    s.save();
    auto [layers, bytes] = collect_garbage();
    PruneResult r;
    r.records = std::move(s.records);
    for (auto& l : layers) {
        r.records.push_back({"", l});
        if (auto it = sizes.find(l); it != sizes.end()) r.reclaimed += it->second;
    }
    return r;
}

}  // namespace berth::images
