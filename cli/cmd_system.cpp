// berth system df / system prune: disk usage of images, containers, local volumes and build
// cache, and removal of what nothing uses, worded and laid out as docker prints them.
#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include "cli/cli.hpp"
#include "cli/cmd_image.hpp"
#include "cli/output.hpp"
#include "container/engine.hpp"
#include "container/records.hpp"
#include "images/digest.hpp"
#include "network/network.hpp"
#include "store/state.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/strings.hpp"
#include "sys/time.hpp"
#include "volumes/volumes.hpp"

namespace berth::cli {
namespace {

namespace fs = std::filesystem;

// ---- what exists -------------------------------------------------------------------------------

// One container as df and prune see it: the engine's record and its state as the kernel says
// (a state that claims running without a live shim reads as exited).
struct ContainerInfo {
    std::string id, name, image, image_id, command;
    std::int64_t created_ns = 0;
    std::map<std::string, std::string> labels;
    int local_volumes = 0;
    store::State state;
    bool running = false;
    std::uint64_t size = 0;  // the writable layer (upper dir)
};

ContainerInfo container_info(const container::Records& records, const container::Container& c) {
    ContainerInfo i;
    i.id = c.id;
    i.name = c.name;
    i.image = c.config.image;
    i.image_id = c.image_id;
    i.command = str::join(c.command(), " ");
    i.created_ns = c.created;
    i.labels = c.config.labels;
    for (auto& m : c.host_config.mounts)
        if (m.type == "volume") ++i.local_volumes;
    i.state = records.state(c.id);
    i.running = i.state.running();
    i.size = sys::disk_usage(records.dir(c.id) / "upper");
    return i;
}

std::vector<ContainerInfo> read_containers(const container::Records& records) {
    std::vector<ContainerInfo> out;
    for (auto& c : records.list()) out.push_back(container_info(records, c));
    return out;
}

// Docker's formatter.Ellipsis: at most max characters, the last one "…" when cut.
std::string ellipsis(const std::string& s, size_t max) {
    std::vector<size_t> starts;
    for (size_t i = 0; i < s.size(); ++i)
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
    if (starts.size() <= max) return s;
    return s.substr(0, starts[max - 1]) + "…";
}

std::string percent_of(std::uint64_t part, std::uint64_t total) {
    // docker/cli: "%s (%v%%)" with integer division, only when there is a total.
    if (total == 0) return str::human_size(static_cast<double>(part));
    return str::human_size(static_cast<double>(part)) + " (" + std::to_string(part * 100 / total) + "%)";
}

// ---- system df -----------------------------------------------------------------------------------

struct Usage {
    std::vector<images::Image> images;
    std::map<std::string, int> image_containers;     // image ID -> containers using it
    std::map<std::string, std::uint64_t> layer_size;  // chain ID -> bytes
    std::map<std::string, int> layer_images;          // chain ID -> images having it
    std::vector<ContainerInfo> containers;
    std::vector<volumes::Volume> volumes;
    std::map<std::string, std::uint64_t> volume_size;
    volumes::InUse volume_users;
};

Usage gather(Context& ctx) {
    Usage u;
    const auto& paths = ctx.paths();
    u.containers = read_containers(container::Records(paths));
    for (auto& c : u.containers)
        if (!c.image_id.empty()) ++u.image_containers[c.image_id];
    u.images = open_image_store(ctx).list();
    for (auto& img : u.images)
        for (auto& l : img.layers) {
            u.layer_size[l.chain_id] = l.size;
            ++u.layer_images[l.chain_id];
        }
    volumes::Manager vm(paths);
    u.volume_users = volumes::volumes_in_use(paths);
    // As Docker's LocalVolumesSize: volumes with options keep their data elsewhere (a device, a
    // host dir, memory) and are not counted.
    for (auto& v : vm.list()) {
        if (v.driver != volumes::kLocalDriver || !v.options.empty()) continue;
        u.volume_size[v.name] = vm.size(v);
        u.volumes.push_back(v);
    }
    return u;
}

ojson summary_row(const std::string& type, std::size_t total, std::size_t active, std::uint64_t size,
                  const std::string& reclaimable) {
    // Keys in Go's marshalled order (sorted), as `--format json` prints them.
    ojson o = ojson::object();
    o["Active"] = std::to_string(active);
    o["Reclaimable"] = reclaimable;
    o["Size"] = str::human_size(static_cast<double>(size));
    o["TotalCount"] = std::to_string(total);
    o["Type"] = type;
    return o;
}

std::vector<ojson> summary(const Usage& u) {
    std::vector<ojson> rows;
    // Images: every unpacked layer once; the layers of images containers use are not
    // reclaimable, whichever image they are shared with.
    std::uint64_t total = 0, used = 0;
    for (auto& [chain, size] : u.layer_size) total += size;
    std::set<std::string> used_layers;
    std::size_t active_images = 0;
    for (auto& img : u.images) {
        if (!u.image_containers.count(img.id)) continue;
        ++active_images;
        for (auto& l : img.layers) used_layers.insert(l.chain_id);
    }
    for (auto& chain : used_layers) used += u.layer_size.at(chain);
    rows.push_back(summary_row("Images", u.images.size(), active_images, total, percent_of(total - used, total)));

    std::uint64_t csize = 0, creclaim = 0;
    std::size_t running = 0;
    for (auto& c : u.containers) {
        csize += c.size;
        if (c.running)
            ++running;
        else
            creclaim += c.size;
    }
    rows.push_back(summary_row("Containers", u.containers.size(), running, csize, percent_of(creclaim, csize)));

    std::uint64_t vsize = 0, vreclaim = 0;
    std::size_t vactive = 0;
    for (auto& v : u.volumes) {
        auto s = u.volume_size.at(v.name);
        vsize += s;
        auto it = u.volume_users.find(v.name);
        if (it != u.volume_users.end() && !it->second.empty())
            ++vactive;
        else
            vreclaim += s;
    }
    rows.push_back(summary_row("Local Volumes", u.volumes.size(), vactive, vsize, percent_of(vreclaim, vsize)));

    // berth keeps no build cache yet (the builder writes none), so there is nothing to count.
    rows.push_back(summary_row("Build Cache", 0, 0, 0, str::human_size(0)));
    return rows;
}

std::vector<ojson> image_rows(const Usage& u) {
    std::vector<ojson> rows;
    for (auto& img : u.images) {
        std::uint64_t shared = 0;
        for (auto& l : img.layers)
            if (u.layer_images.at(l.chain_id) > 1) shared += l.size;
        std::string repo = "<none>", tag = "<none>";
        if (!img.tags.empty()) {
            repo = img.tags.front().familiar_repository();
            tag = img.tags.front().tag;
        }
        auto it = u.image_containers.find(img.id);
        int containers = it == u.image_containers.end() ? 0 : it->second;
        ojson o = ojson::object();
        o["Containers"] = std::to_string(containers);
        o["CreatedAt"] = img.created_ns() ? go_time_string(img.created_ns()) : "";
        o["CreatedSince"] = created_since(img.created_ns());
        o["Digest"] = "<none>";
        o["ID"] = images::short_id(img.id);
        o["Repository"] = repo;
        o["SharedSize"] = str::human_size(static_cast<double>(shared));
        o["Size"] = human_size(static_cast<double>(img.size), 3);
        o["Tag"] = tag;
        o["UniqueSize"] = str::human_size(static_cast<double>(img.size - shared));
        o["VirtualSize"] = human_size(static_cast<double>(img.size), 3);
        rows.push_back(o);
    }
    return rows;
}

std::vector<ojson> container_rows(const Usage& u) {
    std::vector<ojson> rows;
    for (auto& c : u.containers) {
        ojson o = ojson::object();
        o["Command"] = "\"" + ellipsis(c.command, 20) + "\"";
        o["CreatedAt"] = c.created_ns ? go_time_string(c.created_ns) : "";
        o["ID"] = c.id.substr(0, 12);
        o["Image"] = c.image.empty() ? images::short_id(c.image_id) : c.image;
        o["Labels"] = [&] {
            std::vector<std::string> l;
            for (auto& [k, v] : c.labels) l.push_back(k + "=" + v);
            return str::join(l, ",");
        }();
        o["LocalVolumes"] = std::to_string(c.local_volumes);
        o["Names"] = c.name;
        o["RunningFor"] = created_since(c.created_ns);
        o["Size"] = human_size(static_cast<double>(c.size), 3);
        o["State"] = c.state.status;
        o["Status"] = container::status_text(c.state, sys::now_ns());
        rows.push_back(o);
    }
    return rows;
}

std::vector<ojson> volume_rows(const Usage& u) {
    std::vector<ojson> rows;
    for (auto& v : u.volumes) {
        auto it = u.volume_users.find(v.name);
        std::vector<std::string> labels;
        for (auto& [k, val] : v.labels) labels.push_back(k + "=" + val);
        ojson o = ojson::object();
        o["Driver"] = v.driver;
        o["Labels"] = str::join(labels, ",");
        o["Links"] = std::to_string(it == u.volume_users.end() ? 0 : it->second.size());
        o["Mountpoint"] = v.mountpoint;
        o["Name"] = v.name;
        o["Scope"] = v.scope;
        o["Size"] = str::human_size(static_cast<double>(u.volume_size.at(v.name)));
        rows.push_back(o);
    }
    return rows;
}

void print_verbose_tables(const Usage& u) {
    ListFormat images_spec;
    images_spec.default_table =
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}";
    images_spec.headers = ojson{{"Containers", "CONTAINERS"}, {"CreatedSince", "CREATED"}, {"ID", "IMAGE ID"},
                                {"Repository", "REPOSITORY"}, {"SharedSize", "SHARED SIZE"}, {"Size", "SIZE"},
                                {"Tag", "TAG"},               {"UniqueSize", "UNIQUE SIZE"}};
    ListFormat containers_spec;
    containers_spec.default_table =
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}";
    containers_spec.headers = ojson{{"Command", "COMMAND"}, {"ID", "CONTAINER ID"}, {"Image", "IMAGE"},
                                    {"LocalVolumes", "LOCAL VOLUMES"}, {"Names", "NAMES"}, {"RunningFor", "CREATED"},
                                    {"Size", "SIZE"}, {"Status", "STATUS"}};
    ListFormat volumes_spec;
    volumes_spec.default_table = "table {{.Name}}\t{{.Links}}\t{{.Size}}";
    volumes_spec.headers = ojson{{"Links", "LINKS"}, {"Name", "VOLUME NAME"}, {"Size", "SIZE"}};
    ListFormat cache_spec;
    cache_spec.default_table =
        "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}";
    cache_spec.headers = ojson{{"CacheType", "CACHE TYPE"},    {"CreatedSince", "CREATED"}, {"ID", "CACHE ID"},
                               {"LastUsedSince", "LAST USED"}, {"Shared", "SHARED"},        {"Size", "SIZE"},
                               {"UsageCount", "USAGE"}};

    std::cout << "Images space usage:\n\n" << format_list(image_rows(u), "", images_spec);
    std::cout << "\nContainers space usage:\n\n" << format_list(container_rows(u), "", containers_spec);
    std::cout << "\nLocal Volumes space usage:\n\n" << format_list(volume_rows(u), "", volumes_spec);
    std::cout << "\nBuild cache usage: " << str::human_size(0) << "\n\n" << format_list({}, "", cache_spec);
}

void add_df(CLI::App* group, Context& ctx) {
    struct Opts {
        bool verbose = false;
        std::string format;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = group->add_subcommand("df", "Show docker disk usage");
    cmd->add_flag("-v,--verbose", o->verbose, "Show detailed information on space usage");
    add_format_flag(cmd, o->format);
    cmd->callback([o, &ctx] {
        if (!o->format.empty() && o->format != "table" && o->format != "json" && o->format.rfind("table ", 0) != 0)
            Template check(o->format);  // a bad template is an error before anything is read
        auto u = gather(ctx);
        if (!o->verbose) {
            ListFormat spec;
            spec.default_table = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
            spec.headers = ojson{{"Active", "ACTIVE"}, {"Reclaimable", "RECLAIMABLE"}, {"Size", "SIZE"},
                                 {"TotalCount", "TOTAL"}, {"Type", "TYPE"}};
            print_list(summary(u), o->format, spec);
            return;
        }
        if (o->format.empty() || o->format == "table") return print_verbose_tables(u);
        // -v with json or a template: one object holding every section, as docker renders it.
        ojson all = ojson::object();
        all["Images"] = image_rows(u);
        all["Containers"] = container_rows(u);
        all["Volumes"] = volume_rows(u);
        all["BuildCache"] = ojson::array();
        if (o->format == "json") {
            std::cout << go_json(all) << "\n";
            return;
        }
        auto format = o->format.rfind("table ", 0) == 0 ? o->format.substr(6) : o->format;
        std::cout << Template(format).render(all) << "\n";
    });
}

// ---- system prune --------------------------------------------------------------------------------

// `system prune --filter`: label=, label!= and until=, applied to every kind it prunes.
struct PruneFilter {
    std::vector<std::pair<std::string, std::optional<std::string>>> labels, not_labels;
    std::optional<std::int64_t> until;
    std::vector<std::string> shown;  // as given, for the confirmation

    bool match(const std::map<std::string, std::string>& l, std::int64_t created_ns) const {
        auto has = [&](const std::string& k, const std::optional<std::string>& v) {
            auto it = l.find(k);
            return it != l.end() && (!v || it->second == *v);
        };
        for (auto& [k, v] : labels)
            if (!has(k, v)) return false;
        for (auto& [k, v] : not_labels)
            if (has(k, v)) return false;
        if (until && created_ns > *until) return false;
        return true;
    }
};

PruneFilter parse_prune_filter(const std::vector<std::string>& args) {
    PruneFilter f;
    for (auto& raw : args) {
        auto [key, value] = str::split_once(raw, '=');
        if (!value) throw_error(Errc::invalid, "bad format of filter (expected name=value)");
        std::string k = str::to_lower(key);
        if (k == "label" || k == "label!") {
            auto [lk, lv] = str::split_once(*value, '=');
            (k == "label" ? f.labels : f.not_labels).emplace_back(lk, lv);
        } else if (k == "until") {
            auto t = sys::parse_time_or_duration(*value, sys::now_ns());
            if (!t) throw_error(Errc::invalid, "invalid filter 'until=" + *value + "'");
            f.until = *t;
        } else {
            throw_error(Errc::invalid, "invalid filter '" + std::string(key) + "'");
        }
        f.shown.push_back(k + "=" + *value);
    }
    std::sort(f.shown.begin(), f.shown.end());
    return f;
}

struct PruneReport {
    std::vector<std::string> removed;
    std::uint64_t reclaimed = 0;
    std::vector<std::string> errors;
};

// Removes stopped containers with the engine's own rm (which releases what a run left and
// takes the container's lock), as `container prune` does.
PruneReport prune_containers(const store::Paths& paths, const PruneFilter& f) {
    PruneReport r;
    container::Engine engine(paths);
    for (auto& c : engine.records().list()) {
        auto info = container_info(engine.records(), c);
        if (info.running || !f.match(info.labels, info.created_ns)) continue;
        try {
            engine.remove(c.id, /*force=*/false, /*volumes=*/false);
            r.removed.push_back(c.id);
            r.reclaimed += info.size;
        } catch (const berth::Error& e) {
            // Started or removed meanwhile: not a failure of the prune.
            if (e.kind() == Errc::not_found || e.kind() == Errc::conflict) continue;
            r.errors.push_back("container " + c.short_id() + ": " + e.what());
        } catch (const std::exception& e) {
            r.errors.push_back("container " + c.short_id() + ": " + e.what());
        }
    }
    return r;
}

std::string prune_warning(bool all, bool with_volumes, const PruneFilter& f) {
    std::vector<std::string> w = {"all stopped containers", "all networks not used by at least one container"};
    if (with_volumes) w.push_back("all anonymous volumes not used by at least one container");
    w.push_back(all ? "all images without at least one container associated to them" : "all dangling images");
    w.push_back(all ? "all build cache" : "unused build cache");
    std::string out = "WARNING! This will remove:";
    for (auto& s : w) out += "\n  - " + s;
    out += "\n";
    if (!f.shown.empty()) {
        out += "\n  Items to be pruned will be filtered with:";
        for (auto& s : f.shown) out += "\n  - " + s;
        out += "\n";
    }
    return out + "\nAre you sure you want to continue?";
}

void add_prune(CLI::App* group, Context& ctx) {
    struct Opts {
        bool all = false, force = false, with_volumes = false;
        std::vector<std::string> filters;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = group->add_subcommand("prune", "Remove unused data");
    cmd->add_flag("-a,--all", o->all, "Remove all unused images not just dangling ones");
    cmd->add_flag("-f,--force", o->force, "Do not prompt for confirmation");
    cmd->add_flag("--volumes", o->with_volumes, "Prune anonymous volumes");
    cmd->add_option("--filter", o->filters, "Provide filter values (e.g. \"label=<key>=<value>\")")->allow_extra_args(false);
    cmd->callback([o, &ctx] {
        auto f = parse_prune_filter(o->filters);
        if (o->with_volumes && f.until) throw_error(Errc::invalid, "ERROR: The \"until\" filter is not supported with \"--volumes\"");
        if (!o->force) {
            std::cout << prune_warning(o->all, o->with_volumes, f) << " [y/N] " << std::flush;
            std::string answer;
            std::getline(std::cin, answer);
            answer = str::to_lower(str::trim(answer));
            if (answer != "y" && answer != "yes") return;
        }
        const auto& paths = ctx.paths();
        std::uint64_t reclaimed = 0;
        std::vector<std::string> errors;

        auto containers = prune_containers(paths, f);
        reclaimed += containers.reclaimed;
        errors.insert(errors.end(), containers.errors.begin(), containers.errors.end());
        if (!containers.removed.empty()) {
            std::cout << "Deleted Containers:\n";
            for (auto& id : containers.removed) std::cout << id << "\n";
            std::cout << "\n";
        }

        network::Manager nets(paths);
        auto removed_nets = nets.prune([&](const network::Network& n) {
            auto created = sys::parse_rfc3339(n.created).value_or(0);
            return !f.match(n.labels, created);  // keep what the filter does not select
        });
        if (!removed_nets.empty()) {
            std::cout << "Deleted Networks:\n";
            for (auto& n : removed_nets) std::cout << n << "\n";
            std::cout << "\n";
        }

        if (o->with_volumes) {
            auto in_use = volumes::volumes_in_use(paths);
            // Anonymous volumes only, even with -a (Docker's system prune never passes all).
            auto r = volumes::Manager(paths).prune(
                in_use, [&](const volumes::Volume& v) { return f.match(v.labels, v.created_ns); }, false);
            reclaimed += r.reclaimed;
            for (auto& e : r.errors) errors.push_back("volume " + e);
            if (!r.removed.empty()) {
                std::cout << "Deleted Volumes:\n";
                for (auto& n : r.removed) std::cout << n << "\n";
                std::cout << "\n";
            }
        }

        auto store = open_image_store(ctx);
        images::PruneOptions po;
        po.all = o->all;
        po.in_use = images_in_use(paths);
        po.filter = [&](const images::Image& img) { return f.match(img.config.labels, img.created_ns()); };
        auto ir = store.prune(po);
        reclaimed += ir.reclaimed;
        if (!ir.records.empty()) {
            std::cout << "Deleted Images:\n";
            for (auto& rec : ir.records)
                std::cout << (rec.untagged.empty() ? "deleted: " + rec.deleted : "untagged: " + rec.untagged) << "\n";
            std::cout << "\n";
        }

        std::cout << "Total reclaimed space: " << str::human_size(static_cast<double>(reclaimed)) << "\n";
        std::cout.flush();
        for (auto& e : errors) std::cerr << "Error: could not remove " << e << "\n";
        if (!errors.empty()) throw Exit{1};
    });
}

Registrar reg(90, {"system"}, [](CLI::App& app, Context& ctx) {
    auto* group = system_group(app);
    add_df(group, ctx);
    add_prune(group, ctx);
});

}  // namespace
}  // namespace berth::cli
