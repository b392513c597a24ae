// Capability names and Docker's --cap-add/--cap-drop/--privileged rules.
#include <catch2/catch.hpp>
#include <linux/capability.h>

#include "runtime/security_caps.hpp"
#include "sys/error.hpp"

using berth::Errc;
using namespace berth::runtime;

TEST_CASE("caps: names as Docker accepts them") {
    CHECK(cap_from_name("CAP_NET_ADMIN") == CAP_NET_ADMIN);
    CHECK(cap_from_name("NET_ADMIN") == CAP_NET_ADMIN);
    CHECK(cap_from_name("net_admin") == CAP_NET_ADMIN);
    CHECK(cap_from_name("Cap_Sys_Admin") == CAP_SYS_ADMIN);
    CHECK(cap_from_name("chown") == CAP_CHOWN);
    CHECK(cap_from_name("CAP_CHECKPOINT_RESTORE") == 40);
    CHECK_FALSE(cap_from_name("CAP_FOO"));
    CHECK_FALSE(cap_from_name("ALL"));
    CHECK_FALSE(cap_from_name(""));
    CHECK(cap_name(CAP_SYS_ADMIN) == "CAP_SYS_ADMIN");
    CHECK(cap_name(CAP_BPF) == "CAP_BPF");
    CHECK(cap_name(63).empty());
    // every number up to the last one has a name that maps back to it
    for (int c = 0; c <= last_known_cap(); ++c) {
        INFO(c);
        REQUIRE_FALSE(cap_name(c).empty());
        CHECK(cap_from_name(cap_name(c)) == c);
    }
    CHECK(kernel_last_cap() >= CAP_AUDIT_READ);
    CHECK(kernel_last_cap() <= last_known_cap());
}

TEST_CASE("caps: CapSet") {
    CapSet s{CAP_KILL, CAP_CHOWN, CAP_SYS_ADMIN};
    CHECK(s.has(CAP_KILL));
    CHECK_FALSE(s.has(CAP_NET_RAW));
    CHECK_FALSE(s.has(-1));
    CHECK_FALSE(s.has(64));
    CHECK(s.numbers() == std::vector<int>{0, 5, 21});
    CHECK(s.names() == std::vector<std::string>{"CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"});
    s.remove(CAP_KILL);
    s.add(99);  // out of range: ignored
    CHECK(s.numbers() == std::vector<int>{0, 21});
    CHECK(CapSet{}.empty());
    CHECK(all_caps(40).numbers().size() == 41);
    CHECK(all_caps(38).has(38));
    CHECK_FALSE(all_caps(38).has(39));
}

TEST_CASE("caps: Docker's 14 defaults") {
    CHECK(default_caps().names() ==
          std::vector<std::string>{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
                                   "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT",
                                   "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"});
}

TEST_CASE("caps: resolve_caps follows moby's TweakCapabilities") {
    const CapSet def = default_caps();
    CHECK(resolve_caps({}, {}, false, 40) == def);

    CapSet plus = def;
    plus.add(CAP_NET_ADMIN);
    CHECK(resolve_caps({"NET_ADMIN"}, {}, false, 40) == plus);
    CHECK(resolve_caps({"cap_net_admin"}, {}, false, 40) == plus);

    CapSet minus = def;
    minus.remove(CAP_CHOWN);
    minus.remove(CAP_NET_RAW);
    CHECK(resolve_caps({}, {"CHOWN", "net_raw"}, false, 40) == minus);

    // ALL in add: everything but the drops
    CapSet all_but = all_caps(40);
    all_but.remove(CAP_NET_ADMIN);
    CHECK(resolve_caps({"ALL"}, {"NET_ADMIN"}, false, 40) == all_but);
    CHECK(resolve_caps({"all"}, {}, false, 38) == all_caps(38));
    // ALL in drop: only the adds
    CHECK(resolve_caps({"CHOWN", "KILL"}, {"ALL"}, false, 40) == (CapSet{CAP_CHOWN, CAP_KILL}));
    CHECK(resolve_caps({}, {"ALL"}, false, 40).empty());
    // a cap both added and dropped is kept (drop is applied to the defaults, then add)
    CHECK(resolve_caps({"NET_RAW"}, {"NET_RAW"}, false, 40) == def);
    CapSet admin_only_drop = def;
    admin_only_drop.add(CAP_SYS_ADMIN);
    admin_only_drop.remove(CAP_MKNOD);
    CHECK(resolve_caps({"SYS_ADMIN"}, {"MKNOD"}, false, 40) == admin_only_drop);

    // privileged: everything, whatever else was asked
    CHECK(resolve_caps({}, {}, true, 40) == all_caps(40));
    CHECK(resolve_caps({"CAP_NOT_A_CAP"}, {"ALL"}, true, 40) == all_caps(40));
}

TEST_CASE("caps: unknown names are one error naming each, as Docker words it") {
    try {
        resolve_caps({"CAP_FOO"}, {}, false, 40);
        FAIL("no error");
    } catch (const berth::Error& e) {
        CHECK(e.kind() == Errc::invalid);
        CHECK(std::string(e.what()) == "unknown capability: \"CAP_FOO\"");
    }
    try {
        resolve_caps({"NET_ADMIN", "bogus"}, {"also_bad"}, false, 40);
        FAIL("no error");
    } catch (const berth::Error& e) {
        CHECK(std::string(e.what()) == "unknown capability: \"CAP_BOGUS\"\nunknown capability: \"CAP_ALSO_BAD\"");
    }
}

TEST_CASE("caps: Docker's rule for root and other users") {
    CapSet caps{CAP_CHOWN, CAP_NET_BIND_SERVICE};
    auto root = process_caps(caps, true);
    CHECK(root.bounding == caps);
    CHECK(root.permitted == caps);
    CHECK(root.effective == caps);
    CHECK(root.inheritable.empty());
    CHECK(root.ambient.empty());
    auto user = process_caps(caps, false);
    CHECK(user.bounding == caps);
    CHECK(user.permitted.empty());
    CHECK(user.effective.empty());
    CHECK(user.inheritable.empty());
    CHECK(user.ambient.empty());
}
