// The runtime spec the client writes and berth-shim reads (here: the only unit test that links
// berth_runtime).
#include <catch2/catch.hpp>

#include "runtime/spec.hpp"

using namespace berth;

TEST_CASE("spec: the supervision fields survive the trip through spec.json") {
    runtime::Spec s;
    s.id = "c1";
    s.exit_command = {"/usr/bin/berth", "container", "cleanup", "c1"};
    s.auto_remove = true;
    s.stop_timeout = 3;
    auto back = runtime::spec_from_json(runtime::to_json(s));
    CHECK(back.auto_remove);
    CHECK(back.exit_command == s.exit_command);
    CHECK(back.stop_timeout == 3);
    s.auto_remove = false;
    CHECK_FALSE(runtime::spec_from_json(runtime::to_json(s)).auto_remove);
}
