#include <catch2/catch.hpp>

#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <memory>
#include <thread>

#include "sys/event_log.hpp"
#include "sys/fs.hpp"
#include "sys/time.hpp"

using namespace berth;

namespace {

sys::Event container_die() {
    sys::Event e;
    e.type = "container";
    e.action = "die";
    e.id = "abc";
    e.attrs = {{"name", "web"}, {"image", "busybox"}, {"exitCode", "3"}};
    e.time_ns = 1795326600123456789LL;
    return e;
}

std::vector<sys::Event> replay(const std::filesystem::path& root) {
    std::vector<sys::Event> out;
    sys::read_events(root, true, false, 0, [&](const sys::Event& e) {
        out.push_back(e);
        return true;
    });
    return out;
}

}  // namespace

TEST_CASE("an event is Docker's JSON message") {
    CHECK(sys::encode_event(container_die()) ==
          R"({"status":"die","id":"abc","from":"busybox","Type":"container","Action":"die",)"
          R"("Actor":{"ID":"abc","Attributes":{"exitCode":"3","image":"busybox","name":"web"}},)"
          R"("scope":"local","time":1795326600,"timeNano":1795326600123456789})");
    sys::Event n{"network", "connect", "n1", {{"container", "abc"}, {"name", "front"}, {"type", "bridge"}}, 5};
    CHECK(sys::encode_event(n) ==
          R"({"Type":"network","Action":"connect","Actor":{"ID":"n1","Attributes":{"container":"abc","name":"front",)"
          R"("type":"bridge"}},"scope":"local","time":0,"timeNano":5})");
}

TEST_CASE("events decode back, and torn lines are not events") {
    auto e = container_die();
    auto d = sys::decode_event(sys::encode_event(e));
    REQUIRE(d);
    CHECK(d->type == e.type);
    CHECK(d->action == e.action);
    CHECK(d->id == e.id);
    CHECK(d->attrs == e.attrs);
    CHECK(d->time_ns == e.time_ns);
    CHECK_FALSE(sys::decode_event(R"({"status":"die","id":"abc","from":"busyb)"));
    CHECK_FALSE(sys::decode_event(R"({"Type":"container"})"));
    CHECK_FALSE(sys::decode_event("garbage"));
}

TEST_CASE("the log keeps every event in order, and stays bounded") {
    sys::TempDir tmp(std::filesystem::temp_directory_path(), "events-");
    auto root = tmp.path();
    CHECK(replay(root).empty());  // no log yet: nothing, and nothing created
    CHECK_FALSE(sys::exists(sys::event_log_dir(root)));

    ::setenv("BERTH_EVENTS_MAX_SIZE", "4k", 1);
    REQUIRE(sys::event_log_limit() == 4096);
    for (int i = 0; i < 200; ++i) sys::emit_event(root, "volume", "create", "v" + std::to_string(i), {{"driver", "local"}});
    ::unsetenv("BERTH_EVENTS_MAX_SIZE");
    CHECK(sys::event_log_limit() == 1 << 20);

    auto dir = sys::event_log_dir(root);
    struct stat a, b;
    REQUIRE(::stat((dir / "log").c_str(), &a) == 0);
    REQUIRE(::stat((dir / "log.1").c_str(), &b) == 0);
    // A line starts a new file once the old one reached the limit: one line over at most.
    CHECK(a.st_size <= 4096 + 200);
    CHECK(b.st_size <= 4096 + 200);
    CHECK((a.st_mode & 0777) == 0600);

    auto all = replay(root);
    REQUIRE(all.size() > 20);
    CHECK(all.size() < 200);  // the oldest went with the rotations
    CHECK(all.back().id == "v199");
    for (size_t i = 1; i < all.size(); ++i) {
        CHECK(std::stoi(all[i].id.substr(1)) == std::stoi(all[i - 1].id.substr(1)) + 1);
        CHECK(all[i].time_ns >= all[i - 1].time_ns);
    }
}

TEST_CASE("following sees new events, across a rotation, until told to stop") {
    sys::TempDir tmp(std::filesystem::temp_directory_path(), "events-");
    auto root = tmp.path();
    sys::emit_event(root, "volume", "create", "before");
    std::vector<std::string> seen;
    std::thread reader([&] {
        sys::read_events(root, true, true, sys::now_ns() + 20'000'000'000LL, [&](const sys::Event& e) {
            seen.push_back(e.id);
            return e.id != "last";
        });
    });
    ::setenv("BERTH_EVENTS_MAX_SIZE", "1", 1);  // every write rotates
    sys::emit_event(root, "volume", "create", "second");
    ::unsetenv("BERTH_EVENTS_MAX_SIZE");
    sys::emit_event(root, "volume", "destroy", "last");
    reader.join();
    REQUIRE(seen.size() >= 2);
    CHECK(seen.front() == "before");
    CHECK(seen.back() == "last");
}

TEST_CASE("a stopped follow returns at its deadline") {
    sys::TempDir tmp(std::filesystem::temp_directory_path(), "events-");
    int calls = 0;
    sys::read_events(tmp.path(), false, true, sys::now_ns() + 50'000'000, [&](const sys::Event&) {
        ++calls;
        return true;
    });
    CHECK(calls == 0);
    CHECK(sys::is_dir(sys::event_log_dir(tmp.path())));
}

TEST_CASE("a follower ends when its root goes away") {
    auto tmp = std::make_unique<sys::TempDir>(std::filesystem::temp_directory_path(), "events-");
    auto root = tmp->path();
    sys::emit_event(root, "volume", "create", "x");
    auto deadline = sys::now_ns() + 60'000'000'000LL;
    std::atomic<bool> watching{false};
    // The replayed event comes after the watch is set up: from then on, removal is seen.
    std::thread reader([&] {
        sys::read_events(root, true, true, deadline, [&](const sys::Event&) {
            watching = true;
            return true;
        });
    });
    while (!watching) std::this_thread::yield();
    tmp.reset();
    reader.join();
    CHECK(sys::now_ns() < deadline);
}
