#include <catch2/catch.hpp>

#include <stdlib.h>
#include <time.h>

#include "container/events.hpp"
#include "sys/error.hpp"

using namespace berth;
using container::EventFilter;

namespace {

sys::Event ev(std::string type, std::string action, std::string id, std::map<std::string, std::string> attrs) {
    return sys::Event{std::move(type), std::move(action), std::move(id), std::move(attrs), 1795326600123456789LL};
}

const auto web_start = ev("container", "start", "4f1e2d3c", {{"name", "web"}, {"image", "busybox:1.36"}, {"tier", "front"}});
const auto web_health = ev("container", "health_status: healthy", "4f1e2d3c", {{"name", "web"}, {"image", "busybox"}});
const auto pull = ev("image", "pull", "docker.io/library/busybox:latest", {{"name", "busybox"}});
const auto net = ev("network", "connect", "9a8b7c", {{"name", "front"}, {"type", "bridge"}, {"container", "4f1e2d3c"}});
const auto vol = ev("volume", "create", "data", {{"driver", "local"}});

bool match(const std::vector<std::string>& f, const sys::Event& e) { return EventFilter::parse(f).match(e); }

}  // namespace

TEST_CASE("event filters follow the daemon's rules") {
    CHECK(match({}, web_start));
    // type and event: exact; alternatives of one key are ORed, keys ANDed.
    CHECK(match({"type=container"}, web_start));
    CHECK_FALSE(match({"type=container"}, net));
    CHECK(match({"type=network", "type=volume"}, vol));
    CHECK(match({"event=start"}, web_start));
    CHECK_FALSE(match({"event=star"}, web_start));
    CHECK_FALSE(match({"type=container", "event=die"}, web_start));
    // health_status/exec_create/exec_start also match their longer actions.
    CHECK(match({"event=health_status"}, web_health));
    CHECK(match({"event=health_status: healthy"}, web_health));
    CHECK_FALSE(match({"event=health_status"}, web_start));
    // container/network/volume: the ID or the name, by prefix.
    CHECK(match({"container=web"}, web_start));
    CHECK(match({"container=4f1e"}, web_start));
    CHECK_FALSE(match({"container=db"}, web_start));
    CHECK(match({"network=front"}, net));
    CHECK(match({"network=9a8b"}, net));
    CHECK(match({"volume=data"}, vol));
    CHECK_FALSE(match({"volume=other"}, vol));
    // image: a container's image or an image event's ID/name, with or without the tag.
    CHECK(match({"image=busybox"}, web_start));
    CHECK(match({"image=busybox:1.36"}, web_start));
    CHECK_FALSE(match({"image=alpine"}, web_start));
    CHECK(match({"image=busybox"}, pull));
    CHECK(match({"image=docker.io/library/busybox:latest"}, pull));
    // label: every one given must be among the attributes.
    CHECK(match({"label=tier"}, web_start));
    CHECK(match({"label=tier=front"}, web_start));
    CHECK_FALSE(match({"label=tier=back"}, web_start));
    CHECK_FALSE(match({"label=tier=front", "label=other"}, web_start));
    CHECK(match({"scope=local"}, vol));
    CHECK_FALSE(match({"scope=swarm"}, vol));
}

TEST_CASE("bad filters are rejected, all at once") {
    try {
        EventFilter::parse({"colour=red", "type"});
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.kind() == Errc::invalid);
        CHECK(std::string(e.what()).find("invalid filter 'colour'") != std::string::npos);
        CHECK(std::string(e.what()).find("bad format of filter (expected name=value): type") != std::string::npos);
    }
}

TEST_CASE("lines as docker events and docker compose events print them") {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    CHECK(container::event_line(web_start) ==
          "2026-11-22T05:50:00.123456789Z container start 4f1e2d3c (image=busybox:1.36, name=web, tier=front)");
    CHECK(container::event_line(ev("volume", "destroy", "data", {})) == "2026-11-22T05:50:00.123456789Z volume destroy data");
    auto c = ev("container", "die", "4f1e2d3c",
                {{"name", "p-web-1"}, {"image", "busybox"}, {"exitCode", "0"}, {"com.docker.compose.service", "web"},
                 {"com.docker.compose.project", "p"}});
    CHECK(container::compose_event_line(c, false) ==
          "2026-11-22 05:50:00.123456 container die 4f1e2d3c (exitCode=0, image=busybox, name=p-web-1)");
    CHECK(container::compose_event_line(c, true) ==
          R"({"action":"die","attributes":{"exitCode":"0","image":"busybox","name":"p-web-1"},"id":"4f1e2d3c",)"
          R"("service":"web","time":"2026-11-22T05:50:00.123456789Z","type":"container"})");
    ::setenv("TZ", "UTC-2", 1);
    ::tzset();
    CHECK(container::event_line(vol).substr(0, 35) == "2026-11-22T07:50:00.123456789+02:00");
    ::setenv("TZ", "UTC", 1);
    ::tzset();
}

TEST_CASE("a container's event attributes are its labels, image and name") {
    container::Container c;
    c.id = "x";
    c.name = "web";
    c.config.image = "busybox";
    c.config.labels = {{"a", "1"}, {"name", "label-loses"}};
    auto a = container::event_attributes(c);
    CHECK(a == std::map<std::string, std::string>{{"a", "1"}, {"image", "busybox"}, {"name", "web"}});
}
