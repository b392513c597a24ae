// Several berth processes on one store: index updates are serialised by flock, content is staged
// and renamed in, and garbage collection never removes what a concurrent import relies on.
#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include "images/digest.hpp"
#include "sys/error.hpp"
#include "unit/images/store_fixture.hpp"

using namespace berth;
using namespace berth::images;
using namespace berth_test;

namespace {

// Runs f in a child process; returns its pid. The child never returns into Catch.
template <typename F>
pid_t spawn(F&& f) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int rc = 0;
        try {
            f();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "child %d: %s\n", ::getpid(), e.what());
            rc = 1;
        }
        ::_exit(rc);
    }
    return pid;
}

int wait_ok(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST_CASE("concurrent imports, tags and prunes lose nothing") {
    StoreFixture f;
    const auto dir = f.store.dir();
    constexpr int kWriters = 3, kEach = 6;
    std::vector<pid_t> pids;
    for (int w = 0; w < kWriters; ++w)
        pids.push_back(spawn([&, w] {
            Store s(dir);
            for (int i = 0; i < kEach; ++i) {
                // Each writer shares its first layer with the others and adds its own images.
                auto tar = rootfs_tar(i == 0 ? "shared" : "w" + std::to_string(w) + "-" + std::to_string(i));
                MemorySource src(tar);
                NewImageOptions o;
                o.tag = parse_reference("w" + std::to_string(w) + ":" + std::to_string(i));
                auto img = s.import_rootfs(src, o);
                s.tag(img.id, parse_reference("all:w" + std::to_string(w) + "-" + std::to_string(i)));
                // Leave a dangling image behind for the pruner.
                auto junk = rootfs_tar("junk" + std::to_string(w) + "-" + std::to_string(i));
                MemorySource jsrc(junk);
                s.import_rootfs(jsrc, {});
            }
        }));
    pids.push_back(spawn([&] {
        Store s(dir);
        for (int i = 0; i < 10; ++i) s.prune({});
    }));
    for (auto pid : pids) CHECK(wait_ok(pid) == 0);

    for (int w = 0; w < kWriters; ++w)
        for (int i = 0; i < kEach; ++i) {
            auto tag = "w" + std::to_string(w) + ":" + std::to_string(i);
            INFO(tag);
            auto img = f.store.resolve(tag);
            CHECK(f.store.resolve("all:w" + std::to_string(w) + "-" + std::to_string(i)).id == img.id);
            // Every blob and layer is there and intact.
            for (auto& l : img.layers) CHECK(sys::exists(f.store.blob_path(l.blob_digest)));
            CHECK(sys::exists(f.store.layer_dir(img.layers.at(0).chain_id) / "diff/etc/marker"));
            CHECK(f.store.read_blob(img.manifest_digest).size() > 0);
        }
    // After a final prune only the tagged images remain, and no staging is left behind.
    f.store.prune({});
    CHECK(f.store.list().size() == static_cast<size_t>(kWriters * kEach));
    CHECK(sys::list_dir(f.store.tmp_dir()).empty());
}
