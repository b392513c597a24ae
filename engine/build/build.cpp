#include "build/build.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <set>

#include "build/context.hpp"
#include "build/dockerfile.hpp"
#include "build/fsop.hpp"
#include "build/run_mount.hpp"
#include "build/shell_lex.hpp"
#include "container/engine.hpp"
#include "images/changeset.hpp"
#include "images/config.hpp"
#include "images/digest.hpp"
#include "images/ingest.hpp"
#include "images/manifest.hpp"
#include "images/media_types.hpp"
#include "images/source.hpp"
#include "images/store.hpp"
#include "sys/error.hpp"
#include "sys/copy_tree.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"

namespace berth::build {

namespace {

using images::ImageConfig;

std::string clean_abs(const std::string& p) { return "/" + clean_rel(p); }

std::string fmt_secs(std::int64_t ns) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1fs", static_cast<double>(ns) / 1e9);
    return b;
}

std::string one_line(const std::string& s) {
    std::string out;
    for (char c : s) out += (c == '\n') ? ' ' : c;
    return out;
}

bool is_url(std::string_view s) {
    return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0 || s.rfind("git@", 0) == 0 || s.rfind("git://", 0) == 0;
}

// A tar (possibly gzip or zstd) by its first bytes: the ustar magic at offset 257.
bool looks_like_tar(const std::filesystem::path& p) {
    try {
        auto fd = sys::open_path(p, O_RDONLY | O_NOFOLLOW);
        images::FdSource src(fd.get(), p.string());
        images::DecompressingSource dec(src, p.string());
        char buf[512];
        size_t got = 0;
        while (got < sizeof buf) {
            size_t n = dec.read(buf + got, sizeof buf - got);
            if (n == 0) break;
            got += n;
        }
        return got == sizeof buf && std::string_view(buf + 257, 5) == "ustar";
    } catch (const std::exception&) {
        return false;
    }
}

// The runtime's mount-target stubs (images::runtime_stubs) are removed from a RUN's changes, as
// BuildKit does: deepest first, so an /etc that only held stubs goes last.
void remove_stubs(const std::filesystem::path& upper, const std::vector<std::filesystem::path>& layers) {
    auto stubs = images::runtime_stubs(upper, layers);
    for (auto it = stubs.rbegin(); it != stubs.rend(); ++it) {
        auto p = upper / *it;
        if (::rmdir(p.c_str()) < 0 && (errno != ENOTDIR || ::unlink(p.c_str()) < 0)) sys::throw_errno("remove", p.string());
    }
}

// A RUN's mount targets that the runtime had to create (the target itself, and the parents the
// image lacked) are removed from its changes when they are still empty, so nothing of a mount
// reaches the layer: deepest first; a parent the image has goes only when it is an empty,
// non-opaque copy-up with the lower's owner and mode (only its mtime moved).
void remove_mount_stubs(const std::filesystem::path& upper, const std::vector<std::filesystem::path>& layers,
                        std::vector<std::string> targets) {
    std::sort(targets.begin(), targets.end(), [](auto& a, auto& b) { return a.size() > b.size(); });
    auto fd = sys::open_path(upper, O_RDONLY | O_DIRECTORY);
    for (auto rel : targets) {
        while (!rel.empty()) {
            struct stat st;
            if (::fstatat(fd.get(), rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) break;
            bool dir = S_ISDIR(st.st_mode);
            if (!(S_ISREG(st.st_mode) && st.st_size == 0) && !(dir && sys::list_dir(upper / rel).empty())) break;
            if (dir) {
                char v[2] = {};
                if (::getxattr((upper / rel).c_str(), "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y') break;
            }
            if (images::in_layers(layers, rel)) {
                struct stat low{};
                for (auto& l : layers)
                    if (::lstat((l / rel).c_str(), &low) == 0) break;
                if (!dir || !S_ISDIR(low.st_mode) || low.st_mode != st.st_mode || low.st_uid != st.st_uid || low.st_gid != st.st_gid)
                    break;
            }
            if (::unlinkat(fd.get(), rel.c_str(), dir ? AT_REMOVEDIR : 0) < 0) sys::throw_errno("unlinkat", (upper / rel).string());
            auto slash = rel.rfind('/');
            rel = slash == std::string::npos ? "" : rel.substr(0, slash);
        }
    }
}

class Builder {
public:
    Builder(container::Engine& e, const BuildOptions& o)
        : eng_(e), store_(e.images()), opts_(o), cache_(e.paths().builder() / "cache") {}

    BuildResult run();

private:
    struct State {
        std::string image_id;  // "" = scratch before any step
        ImageConfig config;
        std::vector<images::Layer> layers;
        Vars args;                          // ARGs in scope that have a value
        bool cmd_set = false;
        std::string label;                  // "stage-0", the stage's name, or "" for one stage
        int fs_total = 0, fs_index = 0;
    };

    container::Engine& eng_;
    images::Store& store_;
    const BuildOptions& opts_;
    Cache cache_;
    std::map<std::string, std::string> fetched_;  // reference -> image ID pulled by this build

    // An image named outside the Dockerfile's stages: from the store, fetched when the store
    // lacks it (or always, once per build, when always is set) and opts_.fetch can.
    images::Image external_image(const std::string& ref, bool always);
    Dockerfile df_;
    Stages stages_;
    Vars meta_;                             // global ARGs with values
    std::set<std::string> meta_declared;
    std::set<std::string> used_args_;
    std::map<int, std::string> results_;    // stage index -> image ID
    std::optional<std::vector<Entry>> listing_;
    IgnoreRules rules_;
    std::int64_t epoch_ = 0;
    std::string created_;
    int step_no_ = 0;
    BuildResult res_;

    void say(const std::string& s) {
        if (opts_.progress) opts_.progress(s);
    }
    int begin(const std::string& title) {
        ++step_no_;
        say("#" + std::to_string(step_no_) + " " + title);
        return step_no_;
    }
    [[noreturn]] void fail(const Instruction& ins, const std::string& msg) { fail_at(df_, ins.line, msg); }
    std::string where(const Instruction& ins) const { return df_.name + ":" + std::to_string(ins.line); }

    const std::vector<Entry>& listing() {
        if (!listing_) listing_ = list_tree(opts_.context, rules_);
        return *listing_;
    }

    Vars scope(const State& st) const {
        Vars v = st.args;
        for (auto& e : st.config.env) {
            auto [k, val] = str::split_once(e, '=');
            v[k] = val.value_or("");
        }
        return v;
    }

    std::string word(const State& st, const Instruction& ins, std::string_view w) {
        try {
            return process_word(w, scope(st), df_.escape);
        } catch (const Error& e) {
            fail(ins, e.what());
        }
    }

    std::vector<std::string> shell_of(const State& st) const {
        return st.config.shell.empty() ? std::vector<std::string>{"/bin/sh", "-c"} : st.config.shell;
    }

    // ---- images ---------------------------------------------------------------------------
    void write_image(State& st, images::Source* tar, const std::string& created_by) {
        images::Ingest ingest(store_);
        ImageConfig cfg = st.config;
        std::vector<images::Layer> layers = st.layers;
        if (cfg.os.empty()) cfg.os = "linux";
        if (cfg.architecture.empty()) cfg.architecture = images::host_architecture(), cfg.variant = images::host_variant();
        if (tar) {
            images::Ingest::LayerSpec spec;
            spec.store_uncompressed = true;
            spec.parent_chain = layers.empty() ? "" : layers.back().chain_id;
            layers.push_back(ingest.add_layer(*tar, spec, "the new layer"));
            cfg.diff_ids.push_back(layers.back().diff_id);
        }
        images::HistoryEntry h;
        h.created = created_;
        h.created_by = created_by;
        h.comment = "buildkit.dockerfile.v0";
        h.empty_layer = tar == nullptr;
        cfg.history.push_back(h);
        cfg.created = created_;
        std::string config_json = images::serialize_config(cfg);
        std::string id = ingest.add_blob(config_json);
        images::Descriptor cd{std::string(images::media::kOciConfig), id, static_cast<std::int64_t>(config_json.size())};
        std::vector<images::Descriptor> lds;
        for (auto& l : layers) lds.push_back(images::Descriptor{l.media_type, l.blob_digest, l.blob_size});
        std::string manifest = images::make_manifest(cd, lds);
        std::string mdig = ingest.add_blob(manifest);
        images::Ingest::Record rec;
        rec.id = id;
        rec.manifest = images::Descriptor{std::string(images::media::kOciManifest), mdig, static_cast<std::int64_t>(manifest.size())};
        rec.parent = st.image_id;
        ingest.commit({rec});
        adopt(st, id);
    }

    void adopt(State& st, const std::string& id) {
        auto img = store_.get(id);
        st.image_id = img.id;
        st.config = img.config;
        st.layers = img.layers;
    }

    void commit_meta(State& st, const std::string& created_by) { write_image(st, nullptr, created_by); }

    void commit_upper(State& st, const std::filesystem::path& upper, const std::string& created_by) {
        if (dir_empty(upper)) return commit_meta(st, created_by);
        clamp_times(upper, epoch_);
        sys::mkdirs(store_.tmp_dir(), 0700);
        sys::TempDir tmp(store_.tmp_dir(), "build-");
        auto tarpath = tmp.path() / "layer.tar";
        {
            auto out = sys::open_path(tarpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            images::write_changeset(upper, out.get());
        }
        auto in = sys::open_path(tarpath, O_RDONLY);
        images::FdSource src(in.get(), tarpath.string());
        write_image(st, &src, created_by);
    }

    std::vector<std::filesystem::path> layer_dirs(const State& st) {
        if (st.image_id.empty()) return {};
        return store_.layer_dirs(store_.get(st.image_id));
    }

    // Build args in scope (for cache keys and RUN's environment).
    std::map<std::string, std::string> arg_env(const State& st) const {
        std::map<std::string, std::string> out;
        std::set<std::string> env_keys;
        for (auto& e : st.config.env) env_keys.insert(str::split_once(e, '=').first);
        for (auto& [k, v] : st.args)
            if (!env_keys.count(k)) out[k] = v;
        return out;
    }

    std::string step_title(State& st, const std::string& text) {
        std::string pos = std::to_string(++st.fs_index) + "/" + std::to_string(st.fs_total);
        return "[" + (st.label.empty() ? "" : st.label + " ") + pos + "] " + one_line(text);
    }

    bool try_cache(State& st, const std::string& key, int n) {
        if (opts_.no_cache) return false;
        auto id = cache_.get(key);
        if (!id || !store_.find(*id)) return false;
        adopt(st, *id);
        say("#" + std::to_string(n) + " CACHED");
        ++res_.cached;
        return true;
    }

    // ---- stages ---------------------------------------------------------------------------
    void resolve_meta();
    std::vector<int> needed(int target);
    int stage_ref(const std::string& name, int before) const;
    void run_stage(const Stage& s, bool several);
    void dispatch(State& st, const Instruction& ins);
    void do_run(State& st, const Instruction& ins);
    struct PreparedMount {
        RunMount m;
        std::string target;                   // absolute in the container
        std::optional<images::Image> image;   // from= an image or stage
        std::vector<CopyItem> items;          // from the context
        bool multiple = false;
    };
    std::vector<PreparedMount> run_mounts(State& st, const Instruction& ins, std::string& key_part);
    std::filesystem::path materialise(const PreparedMount& pm, const Instruction& ins, const std::filesystem::path& scratch);
    std::optional<std::string> secret_value(const std::string& id);
    void do_copy(State& st, const Instruction& ins, bool add);
    void do_workdir(State& st, const Instruction& ins);
    void do_arg(State& st, const Instruction& ins);
    std::vector<std::pair<std::string, std::string>> name_values(State& st, const Instruction& ins);
};

void Builder::resolve_meta() {
    auto arch = images::host_architecture();
    auto plat = "linux/" + arch + (images::host_variant().empty() || arch != "arm" ? "" : "/" + images::host_variant());
    for (auto k : {"TARGETPLATFORM", "BUILDPLATFORM"}) meta_[k] = plat;
    for (auto k : {"TARGETOS", "BUILDOS"}) meta_[k] = "linux";
    for (auto k : {"TARGETARCH", "BUILDARCH"}) meta_[k] = arch;
    for (auto& ins : stages_.global_args) {
        for (auto& w : split_words(ins.args, df_.escape)) {
            auto [k, v] = str::split_once(w, '=');
            meta_declared.insert(k);
            if (auto it = opts_.args.find(k); it != opts_.args.end()) {
                meta_[k] = it->second;
                used_args_.insert(k);
            } else if (v) {
                try {
                    meta_[k] = process_word(*v, meta_, df_.escape);
                } catch (const Error& e) {
                    fail(ins, e.what());
                }
            }
        }
    }
}

int Builder::stage_ref(const std::string& name, int before) const {
    auto lower = str::to_lower(name);
    for (auto& s : stages_.stages)
        if (s.index < before && !s.name.empty() && s.name == lower) return s.index;
    if (auto n = str::parse_uint(name); n && static_cast<int>(*n) < before) return static_cast<int>(*n);
    return -1;
}

std::vector<int> Builder::needed(int target) {
    std::set<int> need;
    std::vector<int> todo{target};
    while (!todo.empty()) {
        int i = todo.back();
        todo.pop_back();
        if (!need.insert(i).second) continue;
        auto& s = stages_.stages[static_cast<size_t>(i)];
        std::string base;
        try {
            base = process_word(s.base, meta_, df_.escape);
        } catch (const Error& e) {
            fail(s.from, e.what());
        }
        // FROM refers to an earlier stage by name only (a number is an image tag's business).
        auto lower = str::to_lower(base);
        for (auto& o : stages_.stages)
            if (o.index < i && !o.name.empty() && o.name == lower) todo.push_back(o.index);
        for (auto& ins : s.steps) {
            if (ins.keyword == "RUN") {
                for (auto& f : ins.flags) {
                    if (f.name != "mount") continue;
                    // Only the global args are known here: a mount that needs the stage's own
                    // is checked when its step runs (run_mounts).
                    RunMount m;
                    try {
                        m = parse_run_mount(process_word(f.value, meta_, df_.escape));
                    } catch (const Error&) {
                        continue;
                    }
                    if (m.from.empty()) continue;
                    int r = stage_ref(m.from, i);
                    if (r >= 0) todo.push_back(r);
                    else if (stage_ref(m.from, static_cast<int>(stages_.stages.size())) >= 0)
                        fail(ins, "RUN --mount from=" + m.from + ": a stage can only mount an earlier stage");
                }
                continue;
            }
            auto from = ins.flag("from");
            if (ins.keyword != "COPY" || !from) continue;
            std::string f;
            try {
                f = process_word(*from, meta_, df_.escape);
            } catch (const Error& e) {
                fail(ins, e.what());
            }
            int r = stage_ref(f, i);
            if (r >= 0) todo.push_back(r);
            else if (stage_ref(f, static_cast<int>(stages_.stages.size())) >= 0)
                fail(ins, "COPY --from=" + f + ": a stage can only copy from an earlier stage");
        }
    }
    return {need.begin(), need.end()};
}

images::Image Builder::external_image(const std::string& ref, bool always) {
    if (auto it = fetched_.find(ref); it != fetched_.end()) return store_.get(it->second);
    bool by_id = images::is_full_id(ref);
    if (!(always && opts_.fetch && !by_id)) {
        try {
            return store_.resolve(ref);
        } catch (const Error& e) {
            if (e.kind() != Errc::not_found || !opts_.fetch || by_id) {
                if (!opts_.fetch && e.kind() == Errc::not_found)
                    throw_error(Errc::not_found, std::string(e.what()) + " (load, import or pull the image first)");
                throw;
            }
        }
    }
    auto id = opts_.fetch(ref);
    fetched_[ref] = id;
    return store_.get(id);
}

BuildResult Builder::run() {
    // Validate everything the user gave before any side effect.
    std::vector<images::Reference> tags;
    for (auto& t : opts_.tags) {
        try {
            auto r = images::parse_reference(t);
            if (r.has_digest() || !r.has_tag()) throw_error(Errc::invalid, "refusing to create a tag with a digest reference");
            tags.push_back(r);
        } catch (const Error& e) {
            throw_error(Errc::invalid, "invalid tag \"" + t + "\": " + e.what());
        }
    }
    if (opts_.network != "bridge" && opts_.network != "host" && opts_.network != "none" && opts_.network != "default")
        throw_error(Errc::invalid, "network mode \"" + opts_.network + "\" not supported by berth build (bridge, host or none)");
    if (!sys::is_dir(opts_.context)) throw_error(Errc::invalid, "unable to prepare context: path \"" + opts_.context.string() + "\" not found");
    for (auto& sec : opts_.secrets)
        if (!sec.file.empty() && ::access(sec.file.c_str(), R_OK) < 0)
            throw_error(Errc::invalid, "secret " + sec.id + ": cannot read " + sec.file + ": " + std::strerror(errno));

    auto t0 = sys::monotonic_ns();
    std::string text;
    std::filesystem::path dfpath;
    if (opts_.dockerfile_inline) {
        text = *opts_.dockerfile_inline;
    } else {
        dfpath = opts_.dockerfile.empty() ? opts_.context / "Dockerfile" : opts_.dockerfile;
        // A relative -f is taken from the current directory (docker's CLI), else from the context
        // (compose's `dockerfile:`).
        if (!opts_.dockerfile.empty() && dfpath.is_relative() && !sys::exists(dfpath) && sys::exists(opts_.context / dfpath))
            dfpath = opts_.context / dfpath;
        auto t = sys::read_file_if_exists(dfpath);
        if (!t) throw_error(Errc::invalid, "failed to read dockerfile: open " + dfpath.string() + ": no such file or directory");
        text = *t;
        if (!opts_.dockerfile.empty()) df_.name = dfpath.filename().string();
    }
    int n = begin("[internal] load build definition from " + (dfpath.empty() ? std::string("Dockerfile") : dfpath.filename().string()));
    say("#" + std::to_string(n) + " transferring dockerfile: " + std::to_string(text.size()) + "B done");
    df_ = parse_dockerfile(text, dfpath.empty() || opts_.dockerfile.empty() ? "Dockerfile" : dfpath.filename().string());
    for (auto& w : df_.warnings) res_.warnings.push_back(w);
    stages_ = split_stages(df_);
    say("#" + std::to_string(n) + " DONE " + fmt_secs(sys::monotonic_ns() - t0));

    // .dockerignore: <Dockerfile>.dockerignore beside the Dockerfile first, as BuildKit.
    std::optional<std::string> ign;
    if (!dfpath.empty()) ign = sys::read_file_if_exists(dfpath.string() + ".dockerignore");
    if (!ign) ign = sys::read_file_if_exists(opts_.context / ".dockerignore");
    if (ign) rules_ = IgnoreRules(*ign);

    // SOURCE_DATE_EPOCH: option, build arg, environment; else 0.
    std::optional<std::string> sde;
    if (opts_.source_date_epoch) sde = std::to_string(*opts_.source_date_epoch);
    else if (auto it = opts_.args.find("SOURCE_DATE_EPOCH"); it != opts_.args.end()) sde = it->second, used_args_.insert("SOURCE_DATE_EPOCH");
    else if (const char* e = std::getenv("SOURCE_DATE_EPOCH"); e && *e) sde = e;
    if (sde) {
        auto v = str::parse_int(*sde);
        if (!v || *v < 0) throw_error(Errc::invalid, "invalid SOURCE_DATE_EPOCH \"" + *sde + "\": a number of seconds is expected");
        epoch_ = *v;
    }
    {
        // Whole seconds, as BuildKit writes them ("2023-11-14T22:13:20Z").
        std::time_t t = static_cast<std::time_t>(epoch_);
        std::tm tm{};
        ::gmtime_r(&t, &tm);
        char b[40];
        std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
        created_ = b;
    }

    resolve_meta();
    int target = static_cast<int>(stages_.stages.size()) - 1;
    if (!opts_.target.empty()) {
        target = -1;
        for (auto& s : stages_.stages)
            if (s.name == str::to_lower(opts_.target)) target = s.index;
        if (target < 0) throw_error(Errc::invalid, "failed to solve: target stage \"" + opts_.target + "\" could not be found");
    }
    auto need = needed(target);
    for (int i : need) run_stage(stages_.stages[static_cast<size_t>(i)], stages_.stages.size() > 1);

    // The result: the target stage's image (+ --label), tagged.
    State fin;
    fin.image_id = results_[target];
    if (fin.image_id.empty()) throw_error(Errc::invalid, df_.name + ": the target stage is FROM scratch with no steps: nothing to export");
    adopt(fin, fin.image_id);
    n = begin("exporting to image");
    if (!opts_.labels.empty()) {
        std::string desc = "LABEL";
        for (auto& [k, v] : opts_.labels) {
            fin.config.labels[k] = v;
            desc += " " + k + "=" + v;
        }
        commit_meta(fin, desc);
    }
    say("#" + std::to_string(n) + " writing image " + fin.image_id + " done");
    for (auto& r : tags) {
        store_.tag(fin.image_id, r);
        say("#" + std::to_string(n) + " naming to " + r.str() + " done");
    }
    say("#" + std::to_string(n) + " DONE 0.0s");
    for (auto& [k, v] : opts_.args)
        if (!used_args_.count(k))
            res_.warnings.push_back("[Warning] One or more build-args [" + k + "] were not consumed");
    res_.image_id = fin.image_id;
    return res_;
}

void Builder::run_stage(const Stage& s, bool several) {
    State st;
    st.label = several ? (s.name.empty() ? "stage-" + std::to_string(s.index) : s.name) : "";
    std::vector<Instruction> steps = s.steps;
    std::string base;
    try {
        base = process_word(s.base, meta_, df_.escape);
    } catch (const Error& e) {
        fail(s.from, e.what());
    }
    if (base.empty()) fail(s.from, "base name (" + s.base + ") should not be blank");
    st.fs_total = 1;

    std::string base_title;
    std::optional<images::Image> base_img;
    if (str::to_lower(base) == "scratch") {
        base_title = "scratch";
    } else if (int r = stage_ref(base, s.index); r >= 0 && !stages_.stages[static_cast<size_t>(r)].name.empty() &&
                                                  stages_.stages[static_cast<size_t>(r)].name == str::to_lower(base)) {
        base_title = stages_.stages[static_cast<size_t>(r)].name;
        if (!results_[r].empty()) base_img = store_.get(results_[r]);
        else base_title = "scratch";
    } else {
        try {
            base_img = external_image(base, opts_.pull);
            base_title = images::is_full_id(base) ? base : images::parse_reference(base).str();
        } catch (const Error& e) {
            fail(s.from, "failed to resolve source metadata for " + base + ": " + e.what());
        }
    }
    // The base's ONBUILD triggers run first, as Docker's.
    if (base_img && !base_img->config.on_build.empty()) {
        Dockerfile trig;
        try {
            trig = parse_dockerfile(str::join(base_img->config.on_build, "\n"), df_.name + " (ONBUILD of " + base + ")");
        } catch (const Error& e) {
            fail(s.from, e.what());
        }
        steps.insert(steps.begin(), trig.instructions.begin(), trig.instructions.end());
    }
    for (auto& i : steps)
        if (i.keyword == "RUN" || i.keyword == "COPY" || i.keyword == "ADD" || i.keyword == "WORKDIR") ++st.fs_total;

    auto t0 = sys::monotonic_ns();
    int n = begin(step_title(st, "FROM " + base_title + (s.name.empty() ? "" : " AS " + s.name)));
    if (base_img) {
        adopt(st, base_img->id);
        if (!st.config.on_build.empty()) {
            st.config.on_build.clear();
        }
    } else {
        st.config.os = "linux";
        st.config.architecture = images::host_architecture();
        st.config.variant = images::host_variant();
    }
    say("#" + std::to_string(n) + " DONE " + fmt_secs(sys::monotonic_ns() - t0));

    for (auto& ins : steps) dispatch(st, ins);
    results_[s.index] = st.image_id;
}

void Builder::do_arg(State& st, const Instruction& ins) {
    for (auto& w : split_words(ins.args, df_.escape)) {
        auto [k, v] = str::split_once(w, '=');
        if (k.empty()) fail(ins, "ARG names can not be blank");
        if (auto it = opts_.args.find(k); it != opts_.args.end()) {
            st.args[k] = it->second;
            used_args_.insert(k);
        } else if (v) {
            st.args[k] = word(st, ins, *v);
        } else if (auto m = meta_.find(k); m != meta_.end() && (meta_declared.count(k) || k.rfind("TARGET", 0) == 0 || k.rfind("BUILD", 0) == 0)) {
            st.args[k] = m->second;
        }
    }
}

std::vector<std::pair<std::string, std::string>> Builder::name_values(State& st, const Instruction& ins) {
    std::vector<std::pair<std::string, std::string>> out;
    auto words = split_words(ins.args, df_.escape);
    if (!words.empty() && words[0].find('=') == std::string::npos) {
        // Legacy form "ENV KEY value with spaces".
        auto rest = str::trim(std::string_view(ins.args).substr(ins.args.find(words[0]) + words[0].size()));
        out.emplace_back(words[0], word(st, ins, rest));
        return out;
    }
    for (auto& w : words) {
        auto eq = w.find('=');
        if (eq == std::string::npos) fail(ins, "Syntax error - can't find = in \"" + w + "\". Must be of the form: name=value");
        std::string k = word(st, ins, w.substr(0, eq));
        if (k.empty()) fail(ins, ins.keyword + " names can not be blank");
        out.emplace_back(k, word(st, ins, w.substr(eq + 1)));
    }
    return out;
}

void Builder::dispatch(State& st, const Instruction& ins) {
    const auto& k = ins.keyword;
    std::string text = k + " " + one_line(ins.args);
    if (k == "RUN") return do_run(st, ins);
    if (k == "COPY") return do_copy(st, ins, false);
    if (k == "ADD") return do_copy(st, ins, true);
    if (k == "WORKDIR") return do_workdir(st, ins);
    if (k == "ARG") {
        do_arg(st, ins);
        return;  // only changes the scope (and the keys of the steps after it)
    }
    auto cmd_form = [&]() {
        if (ins.json) return *ins.json;
        auto v = shell_of(st);
        v.push_back(ins.args);
        return v;
    };
    if (k == "ENV") {
        auto kvs = name_values(st, ins);
        for (auto& [key, val] : kvs) {
            auto& env = st.config.env;
            env.erase(std::remove_if(env.begin(), env.end(), [&](const std::string& e) { return str::split_once(e, '=').first == key; }), env.end());
            env.push_back(key + "=" + val);
        }
        std::string d = "ENV";
        for (auto& [key, val] : kvs) d += " " + key + "=" + val;
        return commit_meta(st, d);
    }
    if (k == "LABEL") {
        auto kvs = name_values(st, ins);
        std::string d = "LABEL";
        for (auto& [key, val] : kvs) st.config.labels[key] = val, d += " " + key + "=" + val;
        return commit_meta(st, d);
    }
    if (k == "MAINTAINER") {
        st.config.author = word(st, ins, ins.args);
        return commit_meta(st, text);
    }
    if (k == "CMD") {
        st.config.cmd = cmd_form();
        st.cmd_set = true;
        return commit_meta(st, "CMD " + json(*st.config.cmd).dump());
    }
    if (k == "ENTRYPOINT") {
        st.config.entrypoint = cmd_form();
        if (!st.cmd_set) st.config.cmd.reset();
        return commit_meta(st, "ENTRYPOINT " + json(*st.config.entrypoint).dump());
    }
    if (k == "SHELL") {
        st.config.shell = *ins.json;
        return commit_meta(st, "SHELL " + json(st.config.shell).dump());
    }
    if (k == "USER") {
        st.config.user = word(st, ins, ins.args);
        return commit_meta(st, "USER " + st.config.user);
    }
    if (k == "STOPSIGNAL") {
        st.config.stop_signal = word(st, ins, ins.args);
        return commit_meta(st, "STOPSIGNAL " + st.config.stop_signal);
    }
    if (k == "ONBUILD") {
        st.config.on_build.push_back(ins.args);
        return commit_meta(st, "ONBUILD " + ins.args);
    }
    if (k == "EXPOSE") {
        std::vector<std::string> words;
        try {
            words = process_words(ins.args, scope(st), df_.escape);
        } catch (const Error& e) {
            fail(ins, e.what());
        }
        std::set<std::string> ports(st.config.exposed_ports.begin(), st.config.exposed_ports.end());
        for (auto& w : words) {
            auto [p, proto] = str::split_once(w, '/');
            std::string pr = str::to_lower(proto.value_or("tcp"));
            if (pr != "tcp" && pr != "udp" && pr != "sctp") fail(ins, "invalid proto: " + pr);
            auto [lo, hi] = str::split_once(p, '-');
            auto l = str::parse_uint(lo);
            auto h = hi ? str::parse_uint(*hi) : l;
            if (!l || !h || *l < 1 || *h > 65535 || *h < *l) fail(ins, "invalid containerPort: " + p);
            for (auto x = *l; x <= *h; ++x) ports.insert(std::to_string(x) + "/" + pr);
        }
        st.config.exposed_ports.assign(ports.begin(), ports.end());
        return commit_meta(st, "EXPOSE " + str::join(words, " "));
    }
    if (k == "VOLUME") {
        std::vector<std::string> vols;
        if (ins.json) {
            for (auto& v : *ins.json) vols.push_back(word(st, ins, v));
        } else {
            try {
                vols = process_words(ins.args, scope(st), df_.escape);
            } catch (const Error& e) {
                fail(ins, e.what());
            }
        }
        std::set<std::string> set(st.config.volumes.begin(), st.config.volumes.end());
        for (auto& v : vols) {
            if (str::trim(v).empty()) fail(ins, "VOLUME specified can not be an empty string");
            set.insert(v);
        }
        st.config.volumes.assign(set.begin(), set.end());
        return commit_meta(st, "VOLUME " + json(vols).dump());
    }
    if (k == "HEALTHCHECK") {
        auto words = split_words(ins.args, df_.escape);
        if (str::to_lower(words[0]) == "none") {
            images::Healthcheck hc;
            hc.test = {"NONE"};
            st.config.healthcheck = hc;
            return commit_meta(st, "HEALTHCHECK NONE");
        }
        images::Healthcheck hc;
        auto rest = str::trim(std::string_view(ins.args).substr(ins.args.find(words[0]) + words[0].size()));
        if (!rest.empty() && rest[0] == '[') {
            auto j = json::parse(rest, nullptr, false);
            if (!j.is_array() || !std::all_of(j.begin(), j.end(), [](auto& e) { return e.is_string(); }))
                fail(ins, "HEALTHCHECK CMD: invalid JSON form");
            hc.test = {"CMD"};
            for (auto& e : j) hc.test.push_back(e.get<std::string>());
        } else {
            hc.test = {"CMD-SHELL", std::string(rest)};
        }
        for (auto& f : ins.flags) {
            if (f.name == "retries") {
                auto r = str::parse_int(f.value);
                if (!r || *r < 0) fail(ins, "--retries must be a non-negative number");
                hc.retries = static_cast<int>(*r);
                continue;
            }
            auto d = str::parse_duration_ns(f.value);
            if (!d || *d < 0) fail(ins, "invalid --" + f.name + " duration \"" + f.value + "\"");
            if (*d != 0 && *d < 1000000) fail(ins, "--" + f.name + " cannot be less than 1ms");
            if (f.name == "interval") hc.interval_ns = *d;
            else if (f.name == "timeout") hc.timeout_ns = *d;
            else if (f.name == "start-period") hc.start_period_ns = *d;
            else hc.start_interval_ns = *d;
        }
        st.config.healthcheck = hc;
        return commit_meta(st, "HEALTHCHECK " + json(hc.test).dump());
    }
    fail(ins, "unknown instruction: " + k);
}

void Builder::do_workdir(State& st, const Instruction& ins) {
    std::string p = word(st, ins, ins.args);
    if (p.empty() || p[0] != '/') p = (st.config.working_dir.empty() ? "/" : st.config.working_dir) + "/" + p;
    p = clean_abs(p);
    st.config.working_dir = p;
    int n = begin(step_title(st, "WORKDIR " + p));
    auto t0 = sys::monotonic_ns();
    auto key = cache_key(st.image_id, "WORKDIR " + p, arg_env(st), st.config.user);
    ImageConfig want = st.config;
    if (try_cache(st, key, n)) return;
    ++res_.steps;
    sys::mkdirs(eng_.paths().tmp(), 0700);
    sys::TempDir scratch(eng_.paths().tmp(), "build-");
    FsJob job;
    job.lowers = layer_dirs(st);
    job.scratch = scratch.path();
    job.mkdir = p;
    job.where = where(ins);
    auto upper = run_fs_job(job);
    st.config = want;
    commit_upper(st, upper, "WORKDIR " + p);
    cache_.put(key, st.image_id);
    say("#" + std::to_string(n) + " DONE " + fmt_secs(sys::monotonic_ns() - t0));
}

void Builder::do_copy(State& st, const Instruction& ins, bool add) {
    std::string name = add ? "ADD" : "COPY";
    std::vector<std::string> words;
    try {
        if (ins.json) {
            for (auto& w : *ins.json) words.push_back(process_word(w, scope(st), df_.escape));
        } else {
            // Heredoc markers are kept as written; the rest is expanded.
            for (auto& w : split_words(ins.args, df_.escape))
                words.push_back(w.rfind("<<", 0) == 0 ? w : process_word(w, scope(st), df_.escape));
        }
    } catch (const Error& e) {
        fail(ins, e.what());
    }
    if (words.size() < 2) fail(ins, name + " requires at least two arguments");
    std::string dest = words.back();
    words.pop_back();
    bool dest_slash = dest.back() == '/';
    if (dest[0] != '/') dest = (st.config.working_dir.empty() ? "/" : st.config.working_dir) + "/" + dest;
    dest = clean_abs(dest) + (dest_slash && clean_abs(dest) != "/" ? "/" : "");

    FsJob job;
    job.where = where(ins);
    job.dest = dest;
    if (auto c = ins.flag("chown")) job.chown = word(st, ins, *c);
    if (auto c = ins.flag("chmod")) {
        std::string m = word(st, ins, *c);
        char* end = nullptr;
        unsigned long v = std::strtoul(m.c_str(), &end, 8);
        if (m.empty() || *end || v > 07777) fail(ins, "invalid --chmod value \"" + m + "\": an octal mode is expected (symbolic modes are not supported)");
        job.chmod = static_cast<unsigned>(v);
    }
    // --link gives the same files (a layer of its own is what every COPY makes here).
    bool parents = false;
    std::vector<std::string> excludes;
    for (auto& f : ins.flags) {
        if (f.name == "keep-git-dir") fail(ins, name + " --keep-git-dir needs a git source, which berth build does not fetch");
        if (f.name == "parents") {
            std::string v = str::to_lower(f.value);
            if (f.has_value && v != "true" && v != "false") fail(ins, "--parents takes true or false, not \"" + f.value + "\"");
            parents = !f.has_value || v == "true";
        }
        if (f.name == "exclude") {
            if (!f.has_value || f.value.empty()) fail(ins, "--exclude needs a pattern");
            excludes.push_back(word(st, ins, f.value));
        }
    }
    if ((parents || !excludes.empty()) && ins.flag("from"))
        fail(ins, name + " --from with --parents or --exclude is not supported by berth build yet");
    if (add && ins.flag("checksum")) fail(ins, "ADD --checksum needs a URL source, which berth build does not fetch");

    std::string content;  // what the step reads, for its key
    std::vector<std::string> srcs;
    for (auto& w : words) {
        if (w.rfind("<<", 0) == 0) {
            std::string hname = w.substr(2);
            if (!hname.empty() && hname[0] == '-') hname.erase(0, 1);
            if (!hname.empty() && (hname[0] == '"' || hname[0] == '\'')) hname = hname.substr(1, hname.size() - 2);
            auto it = std::find_if(ins.heredocs.begin(), ins.heredocs.end(), [&](auto& h) { return h.name == hname; });
            if (it == ins.heredocs.end()) fail(ins, "heredoc " + w + " has no body");
            std::string body = it->content;
            if (it->expand) body = word(st, ins, "\"" + str::replace_all(body, "\"", "\\\"") + "\"");
            job.files.emplace_back(hname, body);
            content += "heredoc:" + hname + ":" + sys::sha256_hex(body) + "\n";
        } else {
            srcs.push_back(w);
        }
    }

    std::string text = name;
    for (auto& f : ins.flags) text += " --" + f.name + (f.has_value ? "=" + f.value : "");
    for (auto& w : words) text += " " + w;
    text += " " + dest;

    std::optional<images::Image> src_img;
    if (auto from = ins.flag("from")) {
        if (add) fail(ins, "ADD does not take --from (use COPY --from)");
        std::string f = word(st, ins, *from);
        int r = stage_ref(f, static_cast<int>(stages_.stages.size()));
        if (r >= 0) {
            if (results_[r].empty()) fail(ins, "COPY --from=" + f + ": the stage is FROM scratch with no steps: nothing to copy");
            src_img = store_.get(results_[r]);
        } else {
            try {
                src_img = external_image(f, false);
            } catch (const Error& e) {
                fail(ins, "COPY --from=" + f + ": " + e.what());
            }
        }
        job.from_image = true;
        job.keep_owner = true;
        job.src_lowers = store_.layer_dirs(*src_img);
        job.src_patterns = srcs;
        job.multiple = srcs.size() > 1;
        content += "image:" + src_img->id + "\n";
    } else if (!srcs.empty()) {
        job.context_dir = opts_.context;
        bool glob = false;
        for (auto& s : srcs) {
            if (is_url(s)) {
                if (add) fail(ins, "ADD " + s + ": remote URLs are not supported by berth build (no network fetches at build time); download it into the context and ADD the file");
                fail(ins, "COPY " + s + ": source can't be a URL for COPY");
            }
            auto ex = expand_source(listing(), s);
            if (ex.items.empty())
                fail(ins, name + " failed: file not found in build context or excluded by .dockerignore: stat " + s + ": file does not exist");
            if (parents) keep_parents(ex.items, s), ex.multiple = true;
            exclude_items(ex.items, excludes);
            glob = glob || has_glob(s);
            if (add && ex.items.size() == 1 && ex.items[0].type == Entry::file && !has_glob(s) && looks_like_tar(opts_.context / ex.items[0].src)) {
                job.tars.push_back(ex.items[0].src);
                continue;
            }
            job.multiple = job.multiple || ex.multiple;
            job.items.insert(job.items.end(), ex.items.begin(), ex.items.end());
        }
        size_t total = job.items.size() + job.tars.size() + job.files.size();
        if ((srcs.size() + job.files.size() > 1 || (glob && total > 1)) && !dest_slash)
            fail(ins, "When using " + name + " with more than one source file, the destination must be a directory and end with a /");
        if (srcs.size() > 1) job.multiple = true;
        auto cfd = sys::open_path(opts_.context, O_RDONLY | O_DIRECTORY);
        std::vector<CopyItem> hashed = job.items;
        for (auto& t : job.tars) hashed.push_back({t, "<tar>", Entry::file});
        content += "context:" + hash_items(cfd.get(), hashed) + "\n";
    }

    std::string shown = name;
    for (auto& f : ins.flags) shown += " --" + f.name + (f.has_value ? "=" + f.value : "");
    shown += " " + ins.args;
    int n = begin(step_title(st, shown));
    auto t0 = sys::monotonic_ns();
    auto key = cache_key(st.image_id, text, arg_env(st), content);
    if (try_cache(st, key, n)) return;
    ++res_.steps;
    sys::mkdirs(eng_.paths().tmp(), 0700);
    sys::TempDir scratch(eng_.paths().tmp(), "build-");
    job.lowers = layer_dirs(st);
    job.scratch = scratch.path();
    auto upper = run_fs_job(job);
    commit_upper(st, upper, text + " # buildkit");
    cache_.put(key, st.image_id);
    say("#" + std::to_string(n) + " DONE " + fmt_secs(sys::monotonic_ns() - t0));
}

void Builder::do_run(State& st, const Instruction& ins) {
    std::vector<std::string> cmd;
    if (ins.json) {
        cmd = *ins.json;
    } else {
        cmd = shell_of(st);
        // Heredocs are the shell's own syntax: the command goes to the shell with its bodies.
        std::string script = ins.args;
        for (auto& h : ins.heredocs) script += "\n" + h.content + h.name;
        cmd.push_back(script);
    }
    std::string net = opts_.network == "default" ? "bridge" : opts_.network;
    for (auto& f : ins.flags) {
        if (f.name == "network") {
            if (f.value == "none" || f.value == "host") net = f.value;
            else if (f.value != "default") fail(ins, "RUN --network=" + f.value + ": expected default, none or host");
        } else if (f.name == "security") {
            if (f.value != "sandbox") fail(ins, "RUN --security=" + f.value + " is not supported by berth build");
        } else if (f.name != "mount") {
            fail(ins, "RUN --" + f.name + ": unknown flag (mount, network or security)");
        }
    }
    if (st.image_id.empty()) fail(ins, "RUN in a stage FROM scratch with nothing in it: there is no shell to run it");
    std::string mounts_key;
    auto mounts = run_mounts(st, ins, mounts_key);
    std::string shown = "RUN";
    for (auto& f : ins.flags)
        if (f.name == "mount" || f.name == "network") shown += " --" + f.name + "=" + f.value;
    shown += " " + (ins.json ? json(*ins.json).dump() : one_line(ins.args));
    std::string created_by = "RUN " + str::join(cmd, " ") + " # buildkit";
    auto args = arg_env(st);
    int n = begin(step_title(st, shown));
    auto t0 = sys::monotonic_ns();
    // The network is not in the key (as BuildKit); the mounts' specs and, for binds, what they
    // show are; a secret's value and a cache mount's content never are.
    auto key = cache_key(st.image_id, "RUN\n" + json(cmd).dump() + mounts_key, args, "");
    if (try_cache(st, key, n)) return;
    ++res_.steps;

    // RUN sees no volumes (as BuildKit: VOLUME only declares them for containers of the
    // result), so a container is made from a twin of the image without them, removed after.
    std::string run_image = st.image_id;
    struct DropImage {
        images::Store& s;
        std::string id;
        ~DropImage() {
            if (id.empty()) return;
            try {
                images::RemoveOptions ro;
                ro.force = true;
                ro.prune_parents = false;
                s.remove(id, ro);
            } catch (...) {
            }
        }
    } drop_guard{store_, ""};
    if (!st.config.volumes.empty()) {
        State twin = st;
        twin.config.volumes.clear();
        write_image(twin, nullptr, "berth build: the image a RUN step runs in (no volumes)");
        run_image = drop_guard.id = twin.image_id;
    }

    container::CreateRequest req;
    req.image = run_image;
    req.cmd = cmd;
    req.entrypoint = std::vector<std::string>{};
    for (auto& [k, v] : args) req.env.push_back(k + "=" + v);

    // Mounts: binds are copies of what they show (in scratch, dropped after, so rw writes are
    // discarded and .dockerignore holds); caches are leased dirs under <root>/builder/mounts;
    // secrets are files on the run dir (tmpfs), removed after the step.
    std::optional<sys::TempDir> scratch, secret_dir;
    std::vector<CacheMountLease> leases;
    std::vector<std::string> stub_targets;
    for (size_t i = 0; i < mounts.size(); ++i) {
        auto& pm = mounts[i];
        container::MountSpec ms;
        ms.target = pm.target;
        ms.readonly = pm.m.readonly;
        using T = RunMount::Type;
        if (pm.m.type == T::bind || (pm.m.type == T::cache && !pm.m.from.empty())) {
            if (!scratch) {
                sys::mkdirs(eng_.paths().tmp(), 0700);
                scratch.emplace(eng_.paths().tmp(), "build-mnt-");
            }
        }
        if (pm.m.type == T::bind) {
            ms.type = "bind";
            ms.source = materialise(pm, ins, scratch->path() / std::to_string(i)).string();
        } else if (pm.m.type == T::cache) {
            leases.emplace_back(eng_.paths().builder(), pm.m, eng_.paths().tmp());
            if (leases.back().fresh() && !pm.m.from.empty()) {
                // A new cache starts as a copy of its `from` (BuildKit's base of the cache mount).
                auto src = materialise(pm, ins, scratch->path() / std::to_string(i));
                auto sfd = sys::open_path(src, O_RDONLY | O_DIRECTORY);
                auto dfd = sys::open_path(leases.back().dir(), O_RDONLY | O_DIRECTORY);
                sys::copy_tree(sfd.get(), dfd.get());
            }
            ms.type = "bind";
            ms.source = leases.back().dir().string();
        } else if (pm.m.type == T::tmpfs) {
            ms.type = "tmpfs";
            ms.tmpfs_size = pm.m.size;
            ms.tmpfs_options = "exec";
        } else {
            auto value = secret_value(pm.m.id);
            if (!value) continue;  // optional and not given: BuildKit leaves it out
            if (!secret_dir) {
                // Named for this process, so builder prune can sweep what a killed build left.
                sys::mkdirs(eng_.paths().run / "build-secrets", 0700);
                secret_dir.emplace(eng_.paths().run / "build-secrets", "s-" + std::to_string(::getpid()) + "-");
            }
            auto file = secret_dir->path() / std::to_string(i);
            sys::write_file_atomic(file, *value, pm.m.mode.value_or(0400));
            if (::chown(file.c_str(), pm.m.uid.value_or(0), pm.m.gid.value_or(0)) < 0) sys::throw_errno("chown", file.string());
            if (::chmod(file.c_str(), pm.m.mode.value_or(0400)) < 0) sys::throw_errno("chmod", file.string());
            ms.type = "bind";
            ms.source = file.string();
            ms.readonly = true;
        }
        req.host.mounts.push_back(ms);
        stub_targets.push_back(pm.target.substr(1));
    }
    req.attach_stdout = req.attach_stderr = true;
    req.no_healthcheck = true;
    req.labels["berth.build"] = "1";
    req.host.network_mode = net;
    auto c = eng_.create(req);
    struct Remove {
        container::Engine& e;
        std::string id;
        ~Remove() {
            try {
                e.remove(id, true, true);
            } catch (...) {
            }
        }
    } remove_guard{eng_, c.id};
    for (auto& w : eng_.take_warnings()) res_.warnings.push_back(w);

    std::deque<std::string> last;
    std::string partial[3];
    auto emit = [&](const std::string& line) {
        char ts[32];
        std::snprintf(ts, sizeof ts, "%.3f", static_cast<double>(sys::monotonic_ns() - t0) / 1e9);
        say("#" + std::to_string(n) + " " + ts + " " + line);
        last.push_back(line);
        if (last.size() > 10) last.pop_front();
    };
    container::StartOptions so;
    so.attach = true;
    so.on_output = [&](int stream, std::string_view data) {
        auto& buf = partial[stream == 2 ? 2 : 1];
        buf.append(data);
        size_t nl;
        while ((nl = buf.find('\n')) != std::string::npos) {
            emit(buf.substr(0, nl));
            buf.erase(0, nl + 1);
        }
    };
    int code = eng_.start(c.id, so);
    for (auto& b : partial)
        if (!b.empty()) emit(b);
    if (code != 0) {
        std::string msg = where(ins) + ": " + shown + ": process \"" + one_line(str::join(cmd, " ")) +
                          "\" did not complete successfully: exit code: " + std::to_string(code);
        if (!last.empty()) {
            msg += "\nlast output:";
            for (auto& l : last) msg += "\n  " + l;
        }
        throw_error(Errc::failed, msg);
    }
    auto upper = eng_.records().dir(c.id) / "upper";
    remove_mount_stubs(upper, layer_dirs(st), stub_targets);
    remove_stubs(upper, layer_dirs(st));
    commit_upper(st, upper, created_by);
    cache_.put(key, st.image_id);
    say("#" + std::to_string(n) + " DONE " + fmt_secs(sys::monotonic_ns() - t0));
}

std::vector<Builder::PreparedMount> Builder::run_mounts(State& st, const Instruction& ins, std::string& key_part) {
    std::vector<PreparedMount> out;
    std::set<std::string> targets;
    for (auto& f : ins.flags) {
        if (f.name != "mount") continue;
        PreparedMount pm;
        try {
            pm.m = parse_run_mount(word(st, ins, f.value));
        } catch (const Error& e) {
            fail(ins, e.what());
        }
        auto& m = pm.m;
        if (!m.target.empty()) {
            std::string t = m.target;
            if (t[0] != '/') t = (st.config.working_dir.empty() ? "/" : st.config.working_dir) + "/" + t;
            pm.target = clean_abs(t);
            if (pm.target == "/") fail(ins, "--mount=" + f.value + ": cannot mount over /");
            if (!targets.insert(pm.target).second) fail(ins, "--mount=" + f.value + ": " + pm.target + " is mounted twice");
        }
        std::string spec = "\nmount:" + m.type_name() + ":" + pm.target + ":" + (m.readonly ? "ro" : "rw");
        using T = RunMount::Type;
        auto owner = [&] {
            return ":" + std::to_string(m.mode.value_or(0)) + ":" + std::to_string(m.uid.value_or(0)) + ":" + std::to_string(m.gid.value_or(0));
        };
        if (m.type == T::secret) {
            // The container's environment is written into its record on disk: a secret there
            // would outlive the step, so only the file form is offered.
            if (!m.env.empty())
                fail(ins, "--mount=" + f.value + ": env= is not supported by berth build (the value would be stored in the "
                          "build container's record on disk); read the secret from its file instead");
            if (!secret_value(m.id) && m.required)
                fail(ins, "secret " + m.id + ": not provided (required=true; give it with --secret id=" + m.id + ",src=PATH)");
            spec += ":" + m.id + owner();
        } else if (m.type == T::tmpfs) {
            spec += ":" + std::to_string(m.size);
        } else if (m.type == T::cache) {
            spec += ":" + m.id + ":" + m.sharing + owner();
        }
        if ((m.type == T::bind || m.type == T::cache) && !m.from.empty()) {
            int r = stage_ref(m.from, static_cast<int>(stages_.stages.size()));
            if (r >= 0) {
                if (results_[r].empty()) fail(ins, "--mount from=" + m.from + ": the stage is FROM scratch with no steps: nothing to mount");
                pm.image = store_.get(results_[r]);
            } else {
                try {
                    pm.image = external_image(m.from, false);
                } catch (const Error& e) {
                    fail(ins, "--mount from=" + m.from + ": " + e.what());
                }
            }
            spec += ":image:" + pm.image->id + ":" + clean_rel(m.source);
        } else if (m.type == T::bind) {
            std::string src = clean_rel(m.source);
            auto ex = expand_source(listing(), src.empty() ? "." : src);
            if (ex.items.empty() && !src.empty())
                fail(ins, "--mount=" + f.value + ": " + src + " not found in the build context (or excluded by .dockerignore)");
            pm.items = ex.items;
            pm.multiple = ex.multiple;
            auto cfd = sys::open_path(opts_.context, O_RDONLY | O_DIRECTORY);
            spec += ":context:" + src + ":" + hash_items(cfd.get(), pm.items);
        }
        key_part += spec;
        out.push_back(std::move(pm));
    }
    return out;
}

std::filesystem::path Builder::materialise(const PreparedMount& pm, const Instruction& ins, const std::filesystem::path& scratch) {
    sys::mkdirs(scratch, 0700);
    FsJob job;
    job.where = where(ins);
    job.scratch = scratch;
    job.dest = "/m";
    if (pm.image) {
        job.from_image = true;
        job.keep_owner = true;
        job.src_lowers = store_.layer_dirs(*pm.image);
        std::string src = clean_rel(pm.m.source);
        job.src_patterns = {src.empty() ? "/" : "/" + src};
    } else {
        job.context_dir = opts_.context;
        job.items = pm.items;
        job.multiple = pm.multiple;
        job.keep_owner = true;
    }
    auto upper = run_fs_job(job);
    auto out = upper / "m";
    if (!sys::exists(out)) sys::mkdirs(out, 0755);  // an empty source: an empty directory
    return out;
}

std::optional<std::string> Builder::secret_value(const std::string& id) {
    for (auto& s : opts_.secrets) {
        if (s.id != id) continue;
        if (!s.env.empty()) {
            const char* v = std::getenv(s.env.c_str());
            if (!v) return std::nullopt;
            return std::string(v);
        }
        auto v = sys::read_file_if_exists(s.file);
        if (!v) throw_error(Errc::invalid, "secret " + id + ": cannot read " + s.file);
        return v;
    }
    return std::nullopt;
}

}  // namespace

BuildResult build(container::Engine& engine, const BuildOptions& opts) {
    Builder b(engine, opts);
    return b.run();
}

}  // namespace berth::build
