#!/usr/bin/env bash
# Names between containers on a user-defined network (issue 4): the container's resolv.conf
# points at the root's DNS server on the network's gateway; names, aliases and short IDs answer
# with the container's address; other networks' containers and removed containers do not; the
# default bridge keeps the host's resolvers. The server stops with `system teardown`.
source "$(dirname "$0")/lib.sh"
require_root

b import "$(busybox_tar)" busybox >/dev/null
N=dns$$
b network create "front-$N" >/dev/null
b network create "back-$N" >/dev/null
GW=$(b network inspect -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}' "front-$N")
[ -n "$GW" ] || fail "the network has a gateway"

b run -d --name "web-$N" --network "front-$N" --network-alias www busybox sleep 120 >/dev/null
b run -d --name "db-$N" --network "back-$N" busybox sleep 120 >/dev/null
WEB_IP=$(b inspect -f "{{(index .NetworkSettings.Networks \"front-$N\").IPAddress}}" "web-$N")
WEB_ID=$(b inspect -f '{{.Id}}' "web-$N" | cut -c1-12)

resolv=$(b run --rm --network "front-$N" busybox cat /etc/resolv.conf)
assert_contains "$resolv" "nameserver $GW" "a user network's containers ask its gateway"
assert_contains "$resolv" "options ndots:0" "ndots:0 as Docker writes it"

lookup() { b run --rm --network "front-$N" busybox nslookup "$1" "$GW"; }
lookup_err() { lookup "$1" >&2; }  # nslookup reports a missing name on stdout
for name in "web-$N" www "$WEB_ID"; do
  out=$(lookup "$name")
  assert_contains "$out" "$WEB_IP" "$name resolves to the container's address"
done
expect_fail lookup_err "db-$N"
assert_contains "$ERR" "can't find" "a container on another network is not resolvable"

# The default bridge has no embedded DNS: the host's resolvers (loopback ones filtered out).
bridge_resolv=$(b run --rm busybox cat /etc/resolv.conf)
assert_not_contains "$bridge_resolv" "nameserver $GW" "the default bridge does not use the embedded server"

# A container publishing port 53 on the gateway's address (one of the host's, as -p 53:53 would
# cover) does not take the network's DNS away: berth's own DNS sockets do not make the port
# busy, containers' queries to the gateway stay berth's, the host's connections go to the
# publisher.
b run -d --name "pub53-$N" --network "front-$N" -p "$GW:53:53/udp" -p "$GW:53:53" busybox \
  nc -ll -p 53 -e echo published-53 >/dev/null
assert_contains "$(b port "pub53-$N")" "53/udp -> $GW:53" "53/udp published next to berth's DNS"
out=$(lookup "web-$N")
assert_contains "$out" "$WEB_IP" "names still resolve while a container publishes 53"
eventually 10 bash -c "busybox nc -w 2 $GW 53 </dev/null | grep -q published-53"
b rm -f "pub53-$N" >/dev/null

# A removed container's name stops answering.
b rm -f "web-$N" >/dev/null
expect_fail lookup_err "web-$N"
assert_contains "$ERR" "can't find" "a removed container's name is gone"

b rm -f "db-$N" >/dev/null
DNS_PID=$(cat "$RUN/dns/pid")
kill -0 "$DNS_PID" || fail "the DNS server runs while networks exist"
b system teardown
eventually 5 bash -c "! kill -0 $DNS_PID"
echo "ok: $SCENARIO"
