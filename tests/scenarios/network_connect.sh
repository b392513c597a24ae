#!/usr/bin/env bash
# network connect / disconnect (issue 4): a running container gains and loses an interface on a
# second network at once, reachable there by name and alias; a stopped one gets it at its next
# start; a restart keeps its name resolvable; errors as Docker's.
source "$(dirname "$0")/lib.sh"
require_root

b import "$(busybox_tar)" busybox >/dev/null
N=nc$$
# The host-side veths on this test's bridges (br-<12 hex of the network's ID>, as Docker's), by
# name: other tests' containers may come and go on the host meanwhile.
our_veths() {
  local n
  for n in "one-$N" "two-$N"; do
    ip -o link show master "br-$(b network inspect -f '{{.Id}}' "$n" | cut -c1-12)" | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'
  done
}
b network create "one-$N" >/dev/null
b network create "two-$N" >/dev/null
GW2=$(b network inspect -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}' "two-$N")

b run -d --name "a-$N" --network "one-$N" busybox sleep 120 >/dev/null
b run -d --name "b-$N" --network "two-$N" busybox sleep 120 >/dev/null
assert_eq "$(b exec "a-$N" ls /sys/class/net | sort | tr '\n' ' ')" "eth0 lo " "one interface before connect"

b network connect --alias extra "two-$N" "a-$N"
assert_eq "$(b exec "a-$N" ls /sys/class/net | sort | tr '\n' ' ')" "eth0 eth1 lo " "connect adds eth1 at once"
IP2=$(b inspect -f "{{(index .NetworkSettings.Networks \"two-$N\").IPAddress}}" "a-$N")
[ -n "$IP2" ] || fail "inspect shows the new network's address"
for name in "a-$N" extra; do
  assert_contains "$(b exec "b-$N" nslookup "$name" "$GW2")" "$IP2" "$name resolves on the connected network"
done
b exec "b-$N" ping -c1 -W2 "$IP2" >/dev/null || fail "traffic reaches the new interface"

expect_fail b network connect "two-$N" "a-$N"
assert_contains "$ERR" "already exists in network" "connecting twice"
expect_fail b network connect "nowhere-$N" "a-$N"
assert_contains "$ERR" "not found" "an unknown network"

b network disconnect "two-$N" "a-$N"
assert_eq "$(b exec "a-$N" ls /sys/class/net | sort | tr '\n' ' ')" "eth0 lo " "disconnect removes it at once"
expect_fail b exec "b-$N" nslookup "a-$N" "$GW2"
expect_fail b network disconnect "two-$N" "a-$N"
assert_contains "$ERR" "is not connected to network" "disconnecting twice"
b network disconnect -f "two-$N" "a-$N"

# A stopped container: the record changes, the next start attaches.
b stop -t 0 "a-$N" >/dev/null
b network connect "two-$N" "a-$N"
b start "a-$N" >/dev/null
assert_eq "$(b exec "a-$N" ls /sys/class/net | sort | tr '\n' ' ')" "eth0 eth1 lo " "a stopped container gets the network at start"
# A restart keeps the name resolvable.
b restart -t 0 "a-$N" >/dev/null
IP2=$(b inspect -f "{{(index .NetworkSettings.Networks \"two-$N\").IPAddress}}" "a-$N")
assert_contains "$(b exec "b-$N" nslookup "a-$N" "$GW2")" "$IP2" "the name resolves after a restart"

OURS=$(our_veths)
[ "$(echo "$OURS" | grep -c .)" = 3 ] || fail "expected 3 veths on this test's bridges, got: $OURS"
b rm -f "a-$N" "b-$N" >/dev/null
b network rm "one-$N" "two-$N" >/dev/null
for v in $OURS; do [ ! -e "/sys/class/net/$v" ] || fail "veth $v left behind"; done
echo "ok: $SCENARIO"
