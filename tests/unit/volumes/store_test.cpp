#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>

#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/time.hpp"
#include "volumes/volumes.hpp"

using namespace berth;
using namespace berth::volumes;
namespace fs = std::filesystem;

namespace {

struct Root {
    sys::TempDir tmp{fs::temp_directory_path(), "berth-vol-unit-"};
    store::Paths paths;
    Root() {
        paths.root = tmp.path() / "root";
        paths.run = tmp.path() / "run";
        paths.prefix = "berth-test";
    }
    Manager manager() const { return Manager(paths); }
    // A container record as the engine writes it (only the fields volumes_in_use reads).
    void container(const std::string& id, const std::vector<std::pair<std::string, std::string>>& mounts) const {
        json ms = json::array();
        for (auto& [type, source] : mounts) ms.push_back({{"Type", type}, {"Source", source}, {"Target", "/data"}});
        json j = {{"Id", id}, {"HostConfig", {{"Mounts", ms}}}};
        sys::mkdirs(paths.container(id));
        sys::write_file(paths.container(id) / "config.json", j.dump());
    }
    std::vector<std::string> entries() const { return sys::list_dir(paths.volumes()); }
};

template <typename F>
Errc kind_of(F&& f) {
    try {
        f();
    } catch (const berth::Error& e) {
        return e.kind();
    }
    FAIL("no berth::Error thrown");
    return Errc::failed;
}

template <typename F>
std::string message_of(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    FAIL("nothing thrown");
    return {};
}

}  // namespace

TEST_CASE("create, get, list and the stored record") {
    Root r;
    auto m = r.manager();
    CHECK(m.list().empty());
    auto before = sys::now_ns();
    CreateOptions o;
    o.labels = {{"env", "dev"}};
    auto v = m.create("data", o);
    CHECK(v.name == "data");
    CHECK(v.driver == "local");
    CHECK(v.scope == "local");
    CHECK(v.labels == std::map<std::string, std::string>{{"env", "dev"}});
    CHECK(v.options.empty());
    CHECK(v.mountpoint == (r.paths.volumes() / "data" / "_data").string());
    CHECK(v.created_ns >= before);
    CHECK_FALSE(v.anonymous());
    CHECK_FALSE(v.needs_mount());
    CHECK(sys::is_dir(v.mountpoint));

    struct stat st;
    REQUIRE(::stat((r.paths.volumes() / "data").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0701);
    REQUIRE(::stat(v.mountpoint.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);

    auto meta = json::parse(sys::read_file(r.paths.volumes() / "data" / "volume.json"));
    CHECK(meta["Name"] == "data");
    CHECK(meta["Driver"] == "local");
    CHECK(meta["Scope"] == "local");
    CHECK(meta["Labels"]["env"] == "dev");
    CHECK(meta["Options"].empty());
    CHECK(sys::parse_rfc3339(meta["CreatedAt"].get<std::string>()) == std::optional<std::int64_t>(v.created_ns));

    auto g = m.get("data");
    CHECK(g.name == "data");
    CHECK(g.created_ns == v.created_ns);
    CHECK(g.labels == v.labels);
    CHECK(m.find("data"));
    CHECK_FALSE(m.find("nope"));
    CHECK(kind_of([&] { m.get("nope"); }) == Errc::not_found);
    CHECK(message_of([&] { m.get("nope"); }) == "No such volume: nope");
    // A path in place of a name is never looked up on disk.
    CHECK_FALSE(m.find("../root"));
    CHECK_FALSE(m.find("."));

    // Existing name: the existing volume, unchanged (Docker's create is idempotent).
    CreateOptions other;
    other.labels = {{"env", "prod"}};
    auto again = m.create("data", other);
    CHECK(again.labels == std::map<std::string, std::string>{{"env", "dev"}});
    CHECK(again.created_ns == v.created_ns);

    m.create("b-vol", {});
    m.create("a-vol", {});
    std::vector<std::string> names;
    for (auto& x : m.list()) names.push_back(x.name);
    CHECK(names == std::vector<std::string>{"a-vol", "b-vol", "data"});
    // Nothing but volumes and the lock in the store's dir.
    CHECK(r.entries() == std::vector<std::string>{".lock", "a-vol", "b-vol", "data"});
}

TEST_CASE("anonymous volumes: 64 hex names with Docker's label") {
    Root r;
    auto m = r.manager();
    auto v = m.create("", {});
    CHECK(std::regex_match(v.name, std::regex("[0-9a-f]{64}")));
    CHECK(v.anonymous());
    CHECK(v.labels.at(kAnonymousLabel).empty());
    auto e = m.ensure("", {{"com.example", "x"}});
    CHECK(e.anonymous());
    CHECK(e.labels.at("com.example") == "x");
    CHECK(e.name != v.name);
    CHECK(m.list().size() == 2);
}

TEST_CASE("ensure gets or creates a named volume") {
    Root r;
    auto m = r.manager();
    auto a = m.ensure("cache", {{"com.docker.compose.project", "demo"}});
    CHECK(a.labels.at("com.docker.compose.project") == "demo");
    CHECK_FALSE(a.anonymous());
    auto b = m.ensure("cache", {{"other", "1"}});
    CHECK(b.created_ns == a.created_ns);
    CHECK(b.labels == a.labels);
    CHECK(kind_of([&] { m.ensure("x", {}); }) == Errc::invalid);
}

TEST_CASE("bad create requests change nothing") {
    Root r;
    auto m = r.manager();
    CHECK(kind_of([&] { m.create("a", {}); }) == Errc::invalid);
    CHECK(kind_of([&] { m.create("bad name", {}); }) == Errc::invalid);
    CreateOptions bad_driver;
    bad_driver.driver = "nfs-plugin";
    CHECK(kind_of([&] { m.create("v1", bad_driver); }) == Errc::not_found);
    CreateOptions bad_opt;
    bad_opt.driver_opts = {{"colour", "red"}, {"o", "size=1m"}};
    auto msg = message_of([&] { m.create("v1", bad_opt); });
    CHECK(msg == "create v1: invalid option: \"colour\"\ncreate v1: missing required option: \"device\"\n"
                 "create v1: missing required option: \"type\"");
    CreateOptions quota;
    quota.driver_opts = {{"size", "1g"}};
    CHECK(kind_of([&] { m.create("v1", quota); }) == Errc::unsupported);
    // Nothing was created: no volume dir, no staging dir.
    for (auto& e : r.entries()) CHECK(e == ".lock");
    CHECK(m.list().empty());
}

TEST_CASE("volumes with options are recorded but not mounted at create") {
    Root r;
    auto m = r.manager();
    CreateOptions o;
    o.driver_opts = {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=16m,uid=1000"}};
    auto v = m.create("scratch", o);
    CHECK(v.needs_mount());
    CHECK(m.get("scratch").options == o.driver_opts);
    CHECK_FALSE(m.mounted(v));
}

TEST_CASE("volumes_in_use reads the containers' records") {
    Root r;
    r.container("c2", {{"volume", "data"}, {"bind", "/srv"}, {"volume", "cache"}});
    r.container("c1", {{"volume", "data"}, {"tmpfs", ""}, {"volume", "data"}});
    r.container("c3", {});
    sys::mkdirs(r.paths.container("broken"));
    sys::write_file(r.paths.container("broken") / "config.json", "{not json");
    sys::mkdirs(r.paths.container("empty"));
    auto u = volumes_in_use(r.paths);
    CHECK(u.size() == 2);
    CHECK(u["data"] == std::vector<std::string>{"c1", "c2"});
    CHECK(u["cache"] == std::vector<std::string>{"c2"});
    CHECK(u.count("/srv") == 0);
    Root none;
    CHECK(volumes_in_use(none.paths).empty());
}

TEST_CASE("rm: not found, -f, in-use refusal even with -f, then removal") {
    Root r;
    auto m = r.manager();
    CHECK(kind_of([&] { m.remove("ghost", false, {}); }) == Errc::not_found);
    CHECK(message_of([&] { m.remove("ghost", false, {}); }) == "No such volume: ghost");
    m.remove("ghost", true, {});  // -f: a missing volume is not an error

    auto v = m.create("data", {});
    sys::write_file(fs::path(v.mountpoint) / "file", "payload");
    r.container(std::string(64, 'b'), {{"volume", "data"}});
    r.container(std::string(64, 'a'), {{"volume", "data"}});
    auto used = volumes_in_use(r.paths);
    auto msg = message_of([&] { m.remove("data", false, used); });
    CHECK(msg == "remove data: volume is in use - [" + std::string(64, 'a') + ", " + std::string(64, 'b') + "]");
    CHECK(kind_of([&] { m.remove("data", true, used); }) == Errc::in_use);
    CHECK(sys::read_file(fs::path(v.mountpoint) / "file") == "payload");

    m.remove("data", false, {});
    CHECK_FALSE(m.find("data"));
    CHECK_FALSE(sys::exists(r.paths.volumes() / "data"));
    CHECK(r.entries() == std::vector<std::string>{".lock"});
}

TEST_CASE("rm never follows a symlink out of the volume") {
    Root r;
    auto m = r.manager();
    auto outside = r.tmp.path() / "outside";
    sys::mkdirs(outside);
    sys::write_file(outside / "keep", "x");
    auto v = m.create("data", {});
    REQUIRE(::symlink(outside.c_str(), (fs::path(v.mountpoint) / "link").c_str()) == 0);
    m.remove("data", false, {});
    CHECK(sys::read_file(outside / "keep") == "x");
}

TEST_CASE("prune: anonymous unused volumes by default, all with all, never in-use or with options") {
    Root r;
    auto m = r.manager();
    auto anon_unused = m.create("", {});
    auto anon_used = m.create("", {});
    m.create("named", {});
    CreateOptions labelled;
    labelled.labels = {{"keep", "yes"}};
    m.create("named-keep", labelled);
    CreateOptions tmpfs;
    tmpfs.driver_opts = {{"type", "tmpfs"}, {"device", "tmpfs"}};
    m.create("with-opts", tmpfs);
    sys::write_file(fs::path(anon_unused.mountpoint) / "blob", std::string(20000, 'z'));
    r.container("c1", {{"volume", anon_used.name}});
    auto used = volumes_in_use(r.paths);

    auto res = m.prune(used, {}, false);
    CHECK(res.removed == std::vector<std::string>{anon_unused.name});
    CHECK(res.reclaimed >= 20000);
    CHECK(res.errors.empty());
    CHECK(m.find(anon_used.name));
    CHECK(m.find("named"));

    auto f = parse_filters({"label!=keep"}, FilterFor::prune);
    res = m.prune(used, [&](const Volume& v) { return f.match(v, used); }, true);
    CHECK(res.removed == std::vector<std::string>{"named"});
    CHECK(m.find("named-keep"));
    CHECK(m.find("with-opts"));  // options: data lives elsewhere, Docker never prunes it

    res = m.prune(used, {}, true);
    CHECK(res.removed == std::vector<std::string>{"named-keep"});
    std::vector<std::string> left;
    for (auto& v : m.list()) left.push_back(v.name);
    std::sort(left.begin(), left.end());
    std::vector<std::string> want{anon_used.name, "with-opts"};
    std::sort(want.begin(), want.end());
    CHECK(left == want);

    Root empty;
    CHECK(empty.manager().prune({}, {}, true).removed.empty());
}

TEST_CASE("leftovers of a crash are swept and never listed") {
    Root r;
    auto m = r.manager();
    m.create("data", {});
    sys::mkdirs(r.paths.volumes() / ".new-abc" / "_data");
    sys::mkdirs(r.paths.volumes() / ".trash-def" / "_data");
    CHECK(m.list().size() == 1);
    m.create("more", {});
    CHECK(r.entries() == std::vector<std::string>{".lock", "data", "more"});
}

TEST_CASE("a volume dir without metadata is a plain volume; corrupt metadata is an error") {
    Root r;
    sys::mkdirs(r.paths.volumes() / "legacy" / "_data");
    auto m = r.manager();
    auto v = m.get("legacy");
    CHECK(v.driver == "local");
    CHECK(v.created_ns > 0);
    CHECK(v.options.empty());
    sys::mkdirs(r.paths.volumes() / "broken" / "_data");
    sys::write_file(r.paths.volumes() / "broken" / "volume.json", "{");
    CHECK(kind_of([&] { m.get("broken"); }) == Errc::corrupt);
    // Neither a file nor a dir without _data is a volume.
    sys::mkdirs(r.paths.volumes() / "nodata");
    sys::write_file(r.paths.volumes() / "afile", "");
    CHECK_FALSE(m.find("nodata"));
    CHECK_FALSE(m.find("afile"));
}

TEST_CASE("acquire/release of a plain volume: its _data, nothing mounted or recorded") {
    Root r;
    auto m = r.manager();
    auto v = m.create("data", {});
    CHECK(m.acquire("data", "c1") == v.mountpoint);
    CHECK(m.users("data").empty());
    m.release("data", "c1");
    m.release("gone", "c1");  // a volume that is gone: nothing to do
    CHECK(kind_of([&] { m.acquire("gone", "c1"); }) == Errc::not_found);
    CHECK(kind_of([&] { m.acquire("data", "../x"); }) == Errc::invalid);
    CHECK(kind_of([&] { m.acquire("data", ""); }) == Errc::invalid);
}

TEST_CASE("concurrent creates, removes and prunes from several processes stay consistent") {
    Root r;
    constexpr int kProcs = 4, kRounds = 15;
    std::vector<pid_t> pids;
    for (int p = 0; p < kProcs; ++p) {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            int rc = 0;
            try {
                Manager m(r.paths);
                for (int i = 0; i < kRounds; ++i) {
                    // Everyone creates the same shared name: exactly one record, never an error.
                    auto s = m.create("shared", {});
                    if (s.name != "shared") rc = 2;
                    auto mine = "p" + std::to_string(p) + "-" + std::to_string(i);
                    m.create(mine, {});
                    m.create("", {});  // an anonymous one for the pruners
                    if (i % 3 == 0) m.prune({}, {}, false);
                    m.remove(mine, false, {});
                }
            } catch (...) {
                rc = 3;
            }
            ::_exit(rc);
        }
        pids.push_back(pid);
    }
    for (auto pid : pids) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    auto m = r.manager();
    m.prune({}, {}, false);
    std::vector<std::string> names;
    for (auto& v : m.list()) names.push_back(v.name);
    CHECK(names == std::vector<std::string>{"shared"});
    CHECK(r.entries() == std::vector<std::string>{".lock", "shared"});
}
