#!/usr/bin/env bash
# Dual-stack networks (`network create --ipv6`, issue 4): a container gets an IPv6 address next
# to its IPv4 one, the bridge the IPv6 gateway, the container a default IPv6 route; published
# ports answer over IPv6 through the ip6 nftables table; names answer AAAA; [::1] is refused
# (the kernel cannot NAT IPv6 loopback traffic and berth has no userland proxy); nothing is left
# after rm and network rm.
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip
require_cmd nft
require_cmd curl
[ -e /proc/sys/net/ipv6/conf/all/disable_ipv6 ] || skip "IPv6 is disabled in this kernel"
# A shared test host: leave its global forwarding switches alone.
export BERTH_IP_FORWARD=0

b import "$(busybox_tar)" busybox >/dev/null
N=v6$$
oct=$(( $$ % 200 + 20 ))
hex=$(printf '%x' $(( $$ % 60000 + 256 )))
SUB6="fd42:b5:$hex::/64"
GW6="fd42:b5:$hex::1"
prefix="berth-$(printf %s "$ROOT" | sha256sum | cut -c1-8)"
fwd_before=$(cat /proc/sys/net/ipv6/conf/all/forwarding)
port=$(( 20000 + $$ % 20000 ))

# Bad input changes nothing.
expect_fail b network create --subnet "$SUB6" "bad-$N"
assert_contains "$ERR" "needs --ipv6" "an IPv6 subnet without --ipv6"
expect_fail b network create --ipv6 --subnet "fd42:b5:$hex::5/64" "bad-$N"
assert_contains "$ERR" "it should be fd42:b5:$hex::/64" "non-canonical IPv6 subnet"
expect_fail b network create --ipv6 --subnet "$SUB6" --subnet "fd43::/64" "bad-$N"
assert_contains "$ERR" "more than one IPv6 --subnet" "two IPv6 subnets"
assert_eq "$(b network ls -q --filter name="bad-$N")" "" "refused creates leave nothing"

id=$(b network create --ipv6 --subnet "10.244.$oct.0/24" --subnet "$SUB6" "net-$N")
bridge="br-${id:0:12}"
assert_eq "$(b network inspect -f '{{.EnableIPv6}}' "net-$N")" "true" "EnableIPv6"
assert_eq "$(b network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}};{{end}}' "net-$N")" \
  "10.244.$oct.0/24 10.244.$oct.1;$SUB6 $GW6;" "IPAM config has both families"
assert_contains "$(ip -6 addr show dev "$bridge")" "$GW6/64" "the bridge has the IPv6 gateway"
nft list table ip6 "$prefix" >/dev/null 2>&1 || fail "nft table ip6 $prefix not created"

# --ipv6 without a subnet: a ULA /64 (fdXX:XXXX:XXXX::/64), as Docker 27+.
b network create --ipv6 "ula-$N" >/dev/null
ula=$(b network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' "ula-$N")
[[ "$ula" =~ fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::/64 ]] || fail "a ULA /64 without --subnet: [$ula]"
b network rm "ula-$N" >/dev/null

b run -d --name "web-$N" --network "net-$N" -p "$port:80" -p "[::]:$((port + 1)):80" busybox \
  sh -c 'mkdir -p /www && echo hello-v6 > /www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
b run -d --name "cli-$N" --network "net-$N" busybox sleep 120 >/dev/null
WEB6=$(b inspect -f "{{(index .NetworkSettings.Networks \"net-$N\").GlobalIPv6Address}}" "web-$N")
assert_eq "$WEB6" "fd42:b5:$hex::2" "the first container gets the first address after the gateway"
assert_eq "$(b inspect -f "{{(index .NetworkSettings.Networks \"net-$N\").GlobalIPv6PrefixLen}} {{(index .NetworkSettings.Networks \"net-$N\").IPv6Gateway}}" "web-$N")" \
  "64 $GW6" "inspect: prefix length and IPv6 gateway"
assert_contains "$(b network inspect -f '{{range .Containers}}{{.IPv6Address}} {{end}}' "net-$N")" "$WEB6/64" \
  "network inspect lists the endpoint's IPv6 address"
assert_contains "$(b exec "web-$N" ip -6 route)" "default via $GW6" "the container's default IPv6 route"
hosts=$(b exec "web-$N" cat /etc/hosts)
assert_contains "$hosts" "$WEB6	" "/etc/hosts has the container's IPv6 address"
assert_contains "$(b port "web-$N")" "[::]:$port" "ps/port show the IPv6 binding of a plain -p"

# Traffic: straight to the container, and through the published ports on the host's own IPv6
# address on this bridge (the gateway), for the plain -p and for -p [::]:...
fetch() { curl -sS -g -m 3 "http://$1/"; }
eventually 10 fetch "[$WEB6]:80"
assert_eq "$(fetch "[$WEB6]:80")" "hello-v6" "straight to the container's IPv6 address"
assert_eq "$(fetch "[$GW6]:$port")" "hello-v6" "published port over IPv6 (plain -p publishes on :: too)"
assert_eq "$(fetch "[$GW6]:$((port + 1))")" "hello-v6" "published port from -p [::]:..."
assert_eq "$(fetch "127.0.0.1:$port")" "hello-v6" "the IPv4 side of the same -p still answers"
# [::1] is not DNAT'ed: refused at once instead of hanging on replies the kernel drops.
set +e; curl -sS -g -m 3 "http://[::1]:$port/" >/dev/null 2>&1; rc=$?; set -e
assert_eq "$rc" "7" "[::1] is refused (connection refused), not a hang"

# Names: AAAA from the embedded DNS, and ping6 between the containers by name.
aaaa=$(b exec "cli-$N" nslookup -type=AAAA "web-$N")
assert_contains "$aaaa" "$WEB6" "AAAA answer for a dual-stack container"
b exec "cli-$N" ping -6 -c 1 -W 3 "web-$N" >/dev/null || fail "ping -6 by name"
CLI6=$(b inspect -f "{{(index .NetworkSettings.Networks \"net-$N\").GlobalIPv6Address}}" "cli-$N")
assert_contains "$(b exec "web-$N" ping -6 -c 1 -W 3 "cli-$N")" "$CLI6" "ping -6 the other way"

# --ip6: a fixed address on a network with a user IPv6 subnet, recorded in IPAMConfig.
b run -d --name "fix-$N" --network "net-$N" --ip6 "fd42:b5:$hex::99" busybox sleep 120 >/dev/null
assert_eq "$(b inspect -f "{{(index .NetworkSettings.Networks \"net-$N\").GlobalIPv6Address}} {{(index .NetworkSettings.Networks \"net-$N\").IPAMConfig.IPv6Address}}" "fix-$N")" \
  "fd42:b5:$hex::99 fd42:b5:$hex::99" "--ip6"
expect_fail b run -d --name "dup6-$N" --network "net-$N" --ip6 "fd42:b5:$hex::99" busybox sleep 60
assert_contains "$ERR" "Address already in use" "--ip6 taken"

# Publishing IPv6 on an IPv4-only container, and [::1], are clear errors that start nothing.
b network create --subnet "10.245.$oct.0/24" "v4-$N" >/dev/null
expect_fail b run -d --name "v4ip6-$N" --network "v4-$N" --ip6 "fd42:b5:$hex::98" busybox sleep 60
assert_contains "$ERR" "does not have IPv6 enabled" "--ip6 on an IPv4-only network"
expect_fail b run -d --name "v4c-$N" --network "v4-$N" -p "[::]:$((port + 2)):80" busybox sleep 60
assert_contains "$ERR" "the container has no IPv6 address" "IPv6 publish on an IPv4-only container"
expect_fail b run -d --name "lo6-$N" --network "net-$N" -p "[::1]:$((port + 3)):80" busybox sleep 60
assert_contains "$ERR" "publishing on [::1] is not supported" "[::1] refused"
assert_eq "$(b ps -aq --filter name="lo6-$N")" "" "a refused [::1] publish creates no container"

# Nothing left: veths, nft elements, the ip6 table once the last dual-stack network goes.
veths=$(ip -o link show master "$bridge" | awk -F': ' '{print $2}' | cut -d@ -f1)
[ -n "$veths" ] || fail "the containers' veths are on the bridge"
b rm -f "web-$N" "cli-$N" "fix-$N" "dup6-$N" "v4c-$N" "v4ip6-$N" >/dev/null 2>&1 || true
for v in $veths; do ! ip link show "$v" >/dev/null 2>&1 || fail "veth $v left after rm"; done
assert_not_contains "$(nft list table ip6 "$prefix")" "$port" "published IPv6 ports removed with the container"
b network rm "net-$N" "v4-$N" >/dev/null
! ip link show "$bridge" >/dev/null 2>&1 || fail "bridge $bridge left after network rm"
! nft list table ip6 "$prefix" >/dev/null 2>&1 || fail "nft table ip6 $prefix left after the last IPv6 network"
assert_eq "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" "$fwd_before" "BERTH_IP_FORWARD=0 leaves IPv6 forwarding alone"
echo "ok: $SCENARIO"
