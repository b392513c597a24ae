#!/usr/bin/env bash
# berth network create/ls/inspect/rm/prune end to end: Docker's output and errors, the kernel
# objects behind a network (bridge, nftables table), and nothing left after rm/prune.
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip
require_cmd nft
# A shared test host: leave its global net.ipv4.ip_forward alone (berth sets it, as Docker does).
export BERTH_IP_FORWARD=0

oct=$(( $$ % 200 + 20 ))
net=scn-net-$$
on_exit b network rm -f "$net" "$net-i" "$net-2"

id=$(b network create --subnet "10.241.$oct.0/24" --label team=web -o com.docker.network.driver.mtu=1400 "$net")
assert_eq "${#id}" 64 "create prints the full id"
bridge="br-${id:0:12}"
ip link show "$bridge" >/dev/null 2>&1 || fail "bridge $bridge not created"
assert_contains "$(ip link show "$bridge")" "mtu 1400" "bridge MTU from -o com.docker.network.driver.mtu"
assert_contains "$(ip -4 addr show "$bridge")" "10.241.$oct.1/24" "gateway address on the bridge"
# The root's prefix names its nftables table (store::Paths: berth-<8 hex of sha256(root)>).
prefix="berth-$(printf %s "$ROOT" | sha256sum | cut -c1-8)"
nft list table ip "$prefix" >/dev/null 2>&1 || fail "nft table $prefix not created"

# ls: Docker's columns, sorted by name, predefined networks included.
out=$(b network ls)
assert_eq "$(echo "$out" | head -1 | tr -s ' ')" "NETWORK ID NAME DRIVER SCOPE" "ls header"
assert_contains "$out" "${id:0:12}   $net" "ls row"
assert_contains "$out" "bridge" "default bridge listed"
assert_contains "$(b network ls -q --filter name="$net")" "${id:0:12}" "ls -q --filter name"
assert_eq "$(b network ls --no-trunc -q --filter label=team=web)" "$id" "ls --no-trunc --filter label=k=v"
assert_eq "$(b network ls -q --filter label=team=db)" "" "label filter excludes"
assert_eq "$(b network ls --filter driver=null --format '{{.Name}}')" "none" "driver filter + --format"

# inspect: Docker's shape.
assert_eq "$(b network inspect -f '{{.Name}} {{.Scope}} {{.Driver}} {{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}}' "$net")" \
  "$net local bridge 10.241.$oct.0/24 10.241.$oct.1" "inspect fields"
assert_eq "$(b network inspect -f '{{.Labels.team}}' "${id:0:12}")" "web" "inspect by short id"

# Errors in Docker's words, and nothing created by a refused create.
expect_fail b network create "$net"
assert_contains "$ERR" "network with name $net already exists" "duplicate name"
expect_fail b network create --subnet "10.241.$oct.128/25" "$net-2"
assert_contains "$ERR" "Pool overlaps with other one on this address space" "overlapping subnet"
expect_fail b network create --subnet "10.242.$oct.5/24" "$net-2"
assert_contains "$ERR" "it should be 10.242.$oct.0/24" "non-canonical subnet"
expect_fail b network create --gateway 10.9.9.9 "$net-2"
assert_contains "$ERR" "every ip-range or gateway must have a corresponding subnet" "gateway without subnet"
assert_eq "$(b network ls -q --filter name="$net-2")" "" "refused creates leave nothing"
expect_fail b network rm bridge
assert_contains "$ERR" "pre-defined network and cannot be removed" "rm bridge"
expect_fail b network inspect "nope-$$"
assert_contains "$ERR" "No such network: nope-$$" "inspect missing"

# --internal and prune.
b network create --internal --subnet "10.243.$oct.0/24" "$net-i" >/dev/null
assert_eq "$(b network inspect -f '{{.Internal}}' "$net-i")" "true" "internal recorded"
out=$(b network prune -f --filter label=team=web)
assert_contains "$out" "Deleted Networks:" "prune output"
assert_contains "$out" "$net" "prune removed the labelled network"
assert_not_contains "$out" "$net-i" "prune honours the label filter"
! ip link show "$bridge" >/dev/null 2>&1 || fail "bridge $bridge left after prune"

assert_eq "$(b network rm "$net-i")" "$net-i" "rm prints the name"
b network rm -f "$net-i"  # -f: missing is not an error
! nft list table ip "$prefix" >/dev/null 2>&1 || fail "nft table $prefix left after the last network"
echo "ok: $SCENARIO"
