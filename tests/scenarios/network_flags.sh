#!/usr/bin/env bash
# The rest of issue 4's flags, end to end: `network create -o com.docker.network.bridge.name`,
# `--ip-range`; `run --mac-address`, `--dns-option`, `--add-host NAME:host-gateway`; `port`;
# and every `network ls --filter` form (driver, id, label, name, scope, type, dangling).
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip
export BERTH_IP_FORWARD=0

b import "$(busybox_tar)" busybox >/dev/null
N=fl$$
oct=$(( $$ % 200 + 20 ))
brname="bf$$"

id=$(b network create -o "com.docker.network.bridge.name=$brname" --label "kind=$N" \
  --subnet "10.246.$oct.0/24" --ip-range "10.246.$oct.128/25" "net-$N")
ip link show "$brname" >/dev/null 2>&1 || fail "-o com.docker.network.bridge.name names the bridge"
id2=$(b network create --subnet "10.247.$oct.0/24" "idle-$N")

b run -d --name "c-$N" --network "net-$N" --mac-address 02:42:0a:bb:cc:dd --dns-option timeout:2 \
  --add-host "hgw:host-gateway" -p 127.0.0.1::80 busybox sleep 120 >/dev/null
ipaddr=$(b inspect -f "{{(index .NetworkSettings.Networks \"net-$N\").IPAddress}}" "c-$N")
[ "${ipaddr##*.}" -ge 128 ] || fail "--ip-range confines dynamic addresses: got $ipaddr"
assert_eq "$(b exec "c-$N" cat /sys/class/net/eth0/address)" "02:42:0a:bb:cc:dd" "--mac-address"
assert_eq "$(b inspect -f "{{(index .NetworkSettings.Networks \"net-$N\").MacAddress}}" "c-$N")" "02:42:0a:bb:cc:dd" \
  "inspect shows the MAC address"
assert_contains "$(b exec "c-$N" cat /etc/resolv.conf)" "timeout:2" "--dns-option in resolv.conf"
assert_contains "$(b exec "c-$N" cat /etc/hosts)" "10.246.$oct.1	hgw" "host-gateway is the host's address on the network"
ip link show master "$brname" | grep -q veth || fail "the container's veth is on the named bridge"
out=$(b port "c-$N")
[[ "$out" =~ ^80/tcp\ -\>\ 127\.0\.0\.1:[0-9]+$ ]] || fail "port lists the ephemeral mapping: [$out]"
assert_eq "$(b port "c-$N" 80)" "${out#80/tcp -> }" "port CONTAINER PRIVATE_PORT"
expect_fail b port "c-$N" 81
assert_contains "$ERR" "No public port '81/tcp' published" "port for an unpublished port"

# network ls --filter: same key ORed, different keys ANDed.
ls_names() { b network ls --format '{{.Name}}' "$@" | sort | tr '\n' ' '; }
assert_contains "$(ls_names --filter type=custom)" "net-$N" "type=custom lists user networks"
assert_not_contains "$(ls_names --filter type=custom)" "bridge " "type=custom leaves out the predefined ones"
assert_eq "$(ls_names --filter type=builtin)" "bridge host none " "type=builtin"
assert_eq "$(ls_names --filter dangling=true --filter label=kind=$N)" "" "a network with a container is not dangling"
assert_contains "$(ls_names --filter dangling=true)" "idle-$N" "dangling=true: no container attached"
assert_not_contains "$(ls_names --filter dangling=true)" "net-$N" "dangling=true leaves out used networks"
assert_contains "$(ls_names --filter dangling=false)" "net-$N" "dangling=false"
assert_eq "$(ls_names --filter "id=${id:0:10}")" "net-$N " "id= prefix"
assert_eq "$(ls_names --filter "id=$id2")" "idle-$N " "id= full id"
assert_eq "$(ls_names --filter "name=net-$N" --filter "name=idle-$N")" "idle-$N net-$N " "two name filters OR"
assert_eq "$(ls_names --filter "name=-$N" --filter driver=bridge --filter scope=local --filter "label=kind=$N")" \
  "net-$N " "different keys AND"
assert_eq "$(ls_names --filter scope=swarm --filter "name=-$N")" "" "scope=swarm: none"
expect_fail b network ls --filter type=other
assert_contains "$ERR" "invalid filter" "bad type value"
expect_fail b network ls --filter colour=red
assert_contains "$ERR" "invalid filter 'colour'" "unknown filter key"

b rm -f "c-$N" >/dev/null
b network rm "net-$N" "idle-$N" >/dev/null
! ip link show "$brname" >/dev/null 2>&1 || fail "named bridge left after network rm"
echo "ok: $SCENARIO"
