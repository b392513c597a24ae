// berth images / image ls, rmi / image rm, tag, image inspect, image prune, history: the image
// store as Docker's CLI shows it (tables, headers and messages as docker prints them).
#include "cli/cmd_image.hpp"

#include <dirent.h>
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <set>

#include "cli/output.hpp"
#include "images/digest.hpp"
#include "images/inspect.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"

namespace berth::cli {

CLI::App* image_group(CLI::App& app) {
    static CLI::App* group = nullptr;
    static CLI::App* owner = nullptr;
    if (group && owner == &app) return group;
    owner = &app;
    group = app.add_subcommand("image", "Manage images");
    group->require_subcommand(1);
    return group;
}

images::Store open_image_store(Context& ctx) { return images::Store(ctx.paths().images()); }

images::InUse images_in_use(const store::Paths& paths) {
    images::InUse out;
    for (auto& id : sys::list_dir(paths.containers())) {
        auto text = sys::read_file_if_exists(paths.containers() / id / "config.json");
        if (!text) continue;
        auto j = json::parse(*text, nullptr, false);
        if (!j.is_object()) continue;
        auto it = j.find("Image");
        if (it != j.end() && it->is_string() && !it->get<std::string>().empty()) out.emplace(it->get<std::string>(), id);
    }
    return out;
}

std::string created_since(std::int64_t ns) {
    if (ns <= 0) return "N/A";
    return str::human_duration_ns(std::max<std::int64_t>(0, sys::now_ns() - ns)) + " ago";
}

namespace {
std::tm local_tm(std::int64_t ns) {
    std::time_t t = static_cast<std::time_t>(ns / 1000000000);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    return tm;
}
}  // namespace

std::string go_time_string(std::int64_t ns) {
    auto tm = local_tm(ns);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
    return buf;
}

std::string rfc3339_local(std::int64_t ns) {
    auto tm = local_tm(ns);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string out = buf;
    long off = tm.tm_gmtoff;
    if (off == 0) return out + "Z";
    char z[48];
    std::snprintf(z, sizeof z, "%c%02ld:%02ld", off < 0 ? '-' : '+', std::labs(off) / 3600, (std::labs(off) % 3600) / 60);
    return out + z;
}

std::string human_size(double size, int precision) {
    static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
    int i = 0;
    while (size >= 1000.0 && i < 8) {
        size /= 1000.0;
        ++i;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g%s", precision, size, units[i]);
    return buf;
}

namespace {

// Docker's formatter.Ellipsis: at most max characters, the last one "…" when cut.
std::string ellipsis(const std::string& s, size_t max) {
    std::vector<size_t> starts;  // byte offset of each UTF-8 character
    for (size_t i = 0; i < s.size(); ++i)
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
    if (starts.size() <= max) return s;
    return s.substr(0, starts[max - 1]) + "…";
}

std::string trunc_id(const std::string& id, bool no_trunc) {
    if (id == "<missing>" || no_trunc) return id;
    return images::short_id(id);
}

// ---- images / image ls ---------------------------------------------------------------------

struct ImageFilters {
    std::optional<bool> dangling;
    std::vector<std::string> references;  // patterns
    std::vector<std::pair<std::string, std::optional<std::string>>> labels;
    std::optional<std::int64_t> before, since, until;
};

[[noreturn]] void bad_filter(const std::string& f) { throw_error(Errc::invalid, "invalid filter '" + f + "'"); }

ImageFilters parse_image_filters(const std::vector<std::string>& raw, const images::Store& store, bool allow_list) {
    ImageFilters f;
    for (auto& r : raw) {
        auto [key, value] = str::split_once(r, '=');
        if (!value) throw_error(Errc::invalid, "bad format of filter (expected name=value)");
        std::string k = str::to_lower(key);
        if (k == "dangling" && allow_list) {
            auto v = str::to_lower(*value);
            if (v == "true" || v == "1")
                f.dangling = true;
            else if (v == "false" || v == "0")
                f.dangling = false;
            else
                throw_error(Errc::invalid, "invalid filter 'dangling=" + *value + "'");
        } else if (k == "reference" && allow_list) {
            f.references.push_back(*value);
        } else if (k == "label") {
            auto [lk, lv] = str::split_once(*value, '=');
            f.labels.emplace_back(lk, lv);
        } else if ((k == "before" || k == "since") && allow_list) {
            auto created = store.resolve(*value).created_ns();
            (k == "before" ? f.before : f.since) = created;
        } else if (k == "until") {
            auto t = sys::parse_time_or_duration(*value, sys::now_ns());
            if (!t) throw_error(Errc::invalid, "invalid filter 'until=" + *value + "'");
            f.until = *t;
        } else {
            bad_filter(key);
        }
    }
    return f;
}

bool labels_match(const ImageFilters& f, const images::Image& img) {
    for (auto& [k, v] : f.labels) {
        auto it = img.config.labels.find(k);
        if (it == img.config.labels.end()) return false;
        if (v && it->second != *v) return false;
    }
    return true;
}

// distribution/reference FamiliarMatch: the pattern against "name:tag", then against "name".
bool reference_matches(const std::string& pattern, const images::Reference& r) {
    auto m = [&](const std::string& s) { return ::fnmatch(pattern.c_str(), s.c_str(), FNM_PATHNAME) == 0; };
    return m(r.familiar()) || m(r.familiar_repository());
}

// Reproducible builds set created to the epoch: Docker shows those as "56 years ago".
std::string image_created_since(const images::Image& img) {
    if (!img.has_created()) return "N/A";
    return str::human_duration_ns(std::max<std::int64_t>(0, sys::now_ns() - img.created_ns())) + " ago";
}

ojson image_row(const images::Image& img, const std::string& repo, const std::string& tag, const std::string& digest,
                bool no_trunc) {
    ojson o = ojson::object();
    std::string size = human_size(static_cast<double>(img.size), 3);
    o["Containers"] = "N/A";
    o["CreatedAt"] = img.has_created() ? go_time_string(img.created_ns()) : "";
    o["CreatedSince"] = image_created_since(img);
    o["Digest"] = digest;
    o["ID"] = no_trunc ? img.id : images::short_id(img.id);
    o["Repository"] = repo;
    o["SharedSize"] = "N/A";
    o["Size"] = size;
    o["Tag"] = tag;
    o["UniqueSize"] = "N/A";
    o["VirtualSize"] = size;
    return o;
}

struct ListOpts {
    bool all = false, quiet = false, digests = false, no_trunc = false;
    std::string format;
    std::vector<std::string> filters;
    std::string repository;
};

void list_images(Context& ctx, ListOpts& o) {
    auto store = open_image_store(ctx);
    auto filters = o.filters;
    if (!o.repository.empty()) filters.push_back("reference=" + o.repository);
    auto f = parse_image_filters(filters, store, true);
    auto all = store.list();
    std::set<std::string> parents;
    for (auto& img : all)
        if (!img.parent.empty()) parents.insert(img.parent);

    std::vector<ojson> rows;
    for (auto& img : all) {
        if (!labels_match(f, img)) continue;
        auto created = img.created_ns();
        if (f.before && created >= *f.before) continue;
        if (f.since && created <= *f.since) continue;
        if (f.until && created > *f.until) continue;
        std::vector<images::Reference> tags, digests;
        for (auto& t : img.tags)
            if (f.references.empty() || std::any_of(f.references.begin(), f.references.end(),
                                                    [&](auto& p) { return reference_matches(p, t); }))
                tags.push_back(t);
        for (auto& d : img.digests)
            if (f.references.empty() || std::any_of(f.references.begin(), f.references.end(),
                                                    [&](auto& p) { return reference_matches(p, d); }))
                digests.push_back(d);
        if (tags.empty() && digests.empty()) {
            // Untagged: shown as <none> when dangling (or with -a); intermediate images need -a.
            if (!f.references.empty()) continue;
            if (f.dangling && !*f.dangling) continue;
            if (!o.all && parents.count(img.id)) continue;
            rows.push_back(image_row(img, "<none>", "<none>", "<none>", o.no_trunc));
            continue;
        }
        if (f.dangling && *f.dangling && !img.tags.empty()) continue;
        // docker/cli imageFormatTaggedAndDigest: a row per tag (per tag and digest with
        // --digests), then rows for repositories that only have digests.
        std::map<std::string, std::vector<std::string>> repo_tags, repo_digests;
        for (auto& t : tags) repo_tags[t.familiar_repository()].push_back(t.tag);
        for (auto& d : digests) repo_digests[d.familiar_repository()].push_back(d.digest);
        for (auto& [repo, ts] : repo_tags) {
            auto ds = repo_digests[repo];
            repo_digests.erase(repo);
            if (!o.digests) ds.clear();
            for (auto& t : ts) {
                if (ds.empty()) rows.push_back(image_row(img, repo, t, "<none>", o.no_trunc));
                for (auto& d : ds) rows.push_back(image_row(img, repo, t, d, o.no_trunc));
            }
        }
        for (auto& [repo, ds] : repo_digests) {
            if (o.digests)
                for (auto& d : ds) rows.push_back(image_row(img, repo, "<none>", d, o.no_trunc));
            else
                rows.push_back(image_row(img, repo, "<none>", "", o.no_trunc));
        }
    }
    ListFormat spec;
    spec.default_table = o.digests ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                                   : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
    spec.headers = ojson{{"Containers", "CONTAINERS"}, {"CreatedAt", "CREATED AT"}, {"CreatedSince", "CREATED"},
                         {"Digest", "DIGEST"},         {"ID", "IMAGE ID"},          {"Repository", "REPOSITORY"},
                         {"SharedSize", "SHARED SIZE"}, {"Size", "SIZE"},           {"Tag", "TAG"},
                         {"UniqueSize", "UNIQUE SIZE"}, {"VirtualSize", "VIRTUAL SIZE"}};
    std::string format = o.format;
    if (o.quiet && (format.empty() || format == "table")) format = "{{.ID}}";
    print_list(rows, format, spec);
}

void add_list_command(CLI::App* parent, const std::string& name, Context& ctx, bool with_alias) {
    auto o = std::make_shared<ListOpts>();
    auto* cmd = parent->add_subcommand(name, "List images");
    if (with_alias) cmd->alias("list");
    cmd->add_flag("-a,--all", o->all, "Show all images (default hides intermediate images)");
    cmd->add_flag("-q,--quiet", o->quiet, "Only show image IDs");
    cmd->add_flag("--digests", o->digests, "Show digests");
    cmd->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
    cmd->add_option("-f,--filter", o->filters, "Filter output based on conditions provided")->allow_extra_args(false);
    add_format_flag(cmd, o->format);
    cmd->add_option("repository", o->repository, "REPOSITORY[:TAG]");
    cmd->callback([o, &ctx] { list_images(ctx, *o); });
}

// ---- rmi / image rm --------------------------------------------------------------------------

struct RmOpts {
    bool force = false, no_prune = false;
    std::vector<std::string> names;
};

void remove_images(Context& ctx, RmOpts& o) {
    auto store = open_image_store(ctx);
    images::RemoveOptions ro;
    ro.force = o.force;
    ro.prune_parents = !o.no_prune;
    ro.in_use = images_in_use(ctx.paths());
    bool failed = false;
    for (auto& name : o.names) {
        try {
            for (auto& r : store.remove(name, ro))
                std::cout << (r.untagged.empty() ? "Deleted: " + r.deleted : "Untagged: " + r.untagged) << "\n";
        } catch (const std::exception& e) {
            std::cout.flush();
            std::cerr << "Error: " << e.what() << "\n";
            failed = true;
        }
    }
    if (failed) throw Exit{1};
}

void add_rm_command(CLI::App* parent, const std::string& name, Context& ctx, bool with_alias) {
    auto o = std::make_shared<RmOpts>();
    auto* cmd = parent->add_subcommand(name, "Remove one or more images");
    if (with_alias) cmd->alias("remove");
    cmd->add_flag("-f,--force", o->force, "Force removal of the image");
    cmd->add_flag("--no-prune", o->no_prune, "Do not delete untagged parents");
    cmd->add_option("images", o->names, "IMAGE")->required();
    cmd->callback([o, &ctx] { remove_images(ctx, *o); });
}

// ---- tag ---------------------------------------------------------------------------------------

void add_tag_command(CLI::App* parent, Context& ctx) {
    auto args = std::make_shared<std::vector<std::string>>();
    auto* cmd = parent->add_subcommand("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE");
    cmd->add_option("images", *args, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")->required()->expected(2);
    cmd->callback([args, &ctx] {
        auto store = open_image_store(ctx);
        auto target = images::parse_reference((*args)[1]);
        auto img = store.resolve((*args)[0]);
        store.tag(img.id, target);
    });
}

// ---- image inspect -----------------------------------------------------------------------------

void add_inspect_command(CLI::App* parent, Context& ctx) {
    struct Opts {
        std::string format;
        std::vector<std::string> names;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = parent->add_subcommand("inspect", "Display detailed information on one or more images");
    cmd->add_option("-f,--format", o->format, "Format output using a custom template");
    cmd->add_option("images", o->names, "IMAGE")->required();
    cmd->callback([o, &ctx] {
        auto store = open_image_store(ctx);
        std::vector<ojson> items;
        std::vector<std::string> errors;
        for (auto& n : o->names) {
            try {
                items.push_back(images::inspect(store, store.resolve(n)));
            } catch (const berth::Error& e) {
                errors.push_back(e.what());
            }
        }
        if (!items.empty() || o->format.empty()) print_inspect(items, o->format);
        for (auto& e : errors) std::cerr << "Error: " << e << "\n";
        if (!errors.empty()) throw Exit{1};
    });
}

// ---- image prune -------------------------------------------------------------------------------

void add_prune_command(CLI::App* parent, Context& ctx) {
    struct Opts {
        bool all = false, force = false;
        std::vector<std::string> filters;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = parent->add_subcommand("prune", "Remove unused images");
    cmd->add_flag("-a,--all", o->all, "Remove all unused images, not just dangling ones");
    cmd->add_flag("-f,--force", o->force, "Do not prompt for confirmation");
    cmd->add_option("--filter", o->filters, "Provide filter values (e.g. \"until=<timestamp>\")")->allow_extra_args(false);
    cmd->callback([o, &ctx] {
        auto store = open_image_store(ctx);
        auto f = parse_image_filters(o->filters, store, false);
        if (!o->force) {
            std::cout << (o->all ? "WARNING! This will remove all images without at least one container associated to them.\n"
                                 : "WARNING! This will remove all dangling images.\n")
                      << "Are you sure you want to continue? [y/N] " << std::flush;
            std::string answer;
            std::getline(std::cin, answer);
            answer = str::to_lower(str::trim(answer));
            if (answer != "y" && answer != "yes") return;
        }
        images::PruneOptions po;
        po.all = o->all;
        po.in_use = images_in_use(ctx.paths());
        po.filter = [f](const images::Image& img) {
            if (!labels_match(f, img)) return false;
            if (f.until && img.created_ns() > *f.until) return false;
            return true;
        };
        auto r = store.prune(po);
        if (!r.records.empty()) {
            std::cout << "Deleted Images:\n";
            for (auto& rec : r.records)
                std::cout << (rec.untagged.empty() ? "deleted: " + rec.deleted : "untagged: " + rec.untagged) << "\n";
            std::cout << "\n";
        }
        std::cout << "Total reclaimed space: " << human_size(static_cast<double>(r.reclaimed), 4) << "\n";
    });
}

// ---- history -----------------------------------------------------------------------------------

void add_history_command(CLI::App* parent, Context& ctx) {
    struct Opts {
        bool human = true, no_trunc = false, quiet = false;
        std::string format, name;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = parent->add_subcommand("history", "Show the history of an image");
    cmd->add_flag("-H,--human", o->human, "Print sizes and dates in human readable format (default true)");
    cmd->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
    cmd->add_flag("-q,--quiet", o->quiet, "Only show image IDs");
    add_format_flag(cmd, o->format);
    cmd->add_option("image", o->name, "IMAGE")->required();
    cmd->callback([o, &ctx] {
        auto store = open_image_store(ctx);
        auto img = store.resolve(o->name);
        std::vector<ojson> rows;
        for (auto& h : store.history(img)) {
            ojson r = ojson::object();
            std::string by = str::replace_all(h.created_by, "\t", " ");
            if (!o->no_trunc) by = ellipsis(by, 45);
            r["Comment"] = h.comment;
            r["CreatedAt"] = h.created_ns ? rfc3339_local(h.created_ns) : "";
            r["CreatedBy"] = by;
            r["CreatedSince"] = o->human ? created_since(h.created_ns) : (h.created_ns ? rfc3339_local(h.created_ns) : "");
            r["ID"] = trunc_id(h.id, o->no_trunc);
            r["Size"] = o->human ? human_size(static_cast<double>(h.size), 3) : std::to_string(h.size);
            rows.push_back(r);
        }
        ListFormat spec;
        spec.default_table = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
        spec.headers = ojson{{"Comment", "COMMENT"}, {"CreatedAt", "CREATED AT"}, {"CreatedBy", "CREATED BY"},
                             {"CreatedSince", "CREATED"}, {"ID", "IMAGE"},       {"Size", "SIZE"}};
        std::string format = o->format;
        if (o->quiet && (format.empty() || format == "table")) format = "{{.ID}}";
        print_list(rows, format, spec);
    });
}

Registrar reg(30, {"images", "rmi", "tag", "history", "image"}, [](CLI::App& app, Context& ctx) {
    auto* image = image_group(app);
    add_list_command(&app, "images", ctx, false);
    add_list_command(image, "ls", ctx, true);
    add_rm_command(&app, "rmi", ctx, false);
    add_rm_command(image, "rm", ctx, true);
    add_tag_command(&app, ctx);
    add_tag_command(image, ctx);
    add_inspect_command(image, ctx);
    add_prune_command(image, ctx);
    add_history_command(&app, ctx);
    add_history_command(image, ctx);
});

}  // namespace
}  // namespace berth::cli
