#!/usr/bin/env bash
# Dual-stack networks (`network create --ipv6`, issue 4): a container gets an IPv6 address next
# to its IPv4 one, the bridge the IPv6 gateway, the container a default IPv6 route; published
# ports answer over IPv6 through the ip6 nftables table, and on [::1] through the shim's proxy
# (kernel NAT cannot deliver to ::1 through a bridge); names answer AAAA; frames a neighbour on
# the bridge addresses to the host's loopback are dropped; nothing is left after rm and
# network rm.
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip
require_cmd nft
require_cmd curl
require_cmd python3
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
assert_eq "$(fetch "[::1]:$port")" "hello-v6" "[::1] through a plain -p (it publishes on ::)"
# -p [::1]:P:80 answers on ::1 only, and holds the port while the container runs.
lo_port=$((port + 3))
web_lo6() {
  b run -d --name "$1" --network "$2" -p "[::1]:$lo_port:80" busybox \
    sh -c 'mkdir -p /www && echo hello-lo6 > /www/index.html && dd if=/dev/urandom of=/www/big bs=1k count=2048 2>/dev/null &&
           exec httpd -f -p 80 -h /www' >/dev/null
}
web_lo6 "lo6-$N" "net-$N"
eventually 10 fetch "[::1]:$lo_port"
assert_eq "$(fetch "[::1]:$lo_port")" "hello-lo6" "-p [::1]:P:80 answers on [::1]"
assert_eq "$(b port "lo6-$N")" "80/tcp -> [::1]:$lo_port" "port shows the [::1] binding"
set +e; curl -sS -g -m 3 "http://[$GW6]:$lo_port/" >/dev/null 2>&1; rc=$?; set -e
assert_eq "$rc" "7" "-p [::1]:P:80 does not answer on the host's other addresses"
big=$(curl -sS -g -m 20 "http://[::1]:$lo_port/big" | sha256sum | cut -d' ' -f1)
assert_eq "$big" "$(b exec "lo6-$N" sha256sum /www/big | cut -d' ' -f1)" "the proxy relays 2 MiB intact"
expect_fail b run -d --name "lo6dup-$N" --network "net-$N" -p "[::1]:$lo_port:80" busybox sleep 60
assert_contains "$ERR" "Bind for [::1]:$lo_port failed: port is already allocated" "[::1] port taken"
# The port is free again as soon as the container is gone; an IPv4-only container is relayed
# to its IPv4 address, as Docker's proxy does.
b rm -f "lo6-$N" >/dev/null
b network create --subnet "10.245.$oct.0/24" "v4-$N" >/dev/null
web_lo6 "lo6-$N" "v4-$N"
eventually 10 fetch "[::1]:$lo_port"
assert_eq "$(fetch "[::1]:$lo_port")" "hello-lo6" "-p [::1]:P:80 on an IPv4-only container"
# UDP both ways through [::1]: an echo server in the container's network namespace.
b run -d --name "udp6-$N" --network "net-$N" -p "[::1]:$((port + 5)):5353/udp" busybox sleep 120 >/dev/null
require_cmd nsenter
nsenter --net="/proc/$(b inspect -f '{{.State.Pid}}' "udp6-$N")/ns/net" python3 -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::", 5353))
s.settimeout(30)
for _ in range(50):
    data, peer = s.recvfrom(100)
    s.sendto(b"echo:" + data, peer)
' 2>/dev/null &
echo_pid=$!
on_exit "kill $echo_pid"
udp_echo() {
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(1)
s.sendto(b"udp-via-lo6", ("::1", int(sys.argv[1])))
print(s.recv(100).decode())' "$((port + 5))" 2>/dev/null
}
eventually 10 udp_echo
assert_eq "$(udp_echo)" "echo:udp-via-lo6" "UDP through [::1] both ways"
kill "$echo_pid" 2>/dev/null || true

# A neighbour on the bridge that addresses frames to the host's loopback (127.0.0.1, ::1) must
# not reach loopback services (CVE-2020-8558): the bridge has route_localnet for the NAT replies
# of 127.0.0.1 publishing, so berth's guard chain drops such packets before routing.
ns="g$N"
ip netns add "$ns"
on_exit "ip netns del $ns 2>/dev/null; ip link del gh$N 2>/dev/null"
ip link add "gh$N" type veth peer name "gc$N" netns "$ns"
ip link set "gh$N" master "$bridge" up
ip -n "$ns" link set "gc$N" up
bmac=$(cat "/sys/class/net/$bridge/address")
uport=$(( port + 4 ))
listen() {  # prints what the host's loopback received on UDP $uport within 2 s
  python3 - "$1" "$uport" <<'PY'
import socket, sys
fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind(("::1" if fam == socket.AF_INET6 else "127.0.0.1", int(sys.argv[2])))
s.settimeout(2)
try:
    print(s.recv(100).decode())
except socket.timeout:
    print("nothing")
PY
}
craft() {  # sends UDP frames to loopback:$uport from the neighbour, to the bridge's MAC
  sleep 0.3
  ip netns exec "$ns" python3 - "gc$N" "$bmac" "$1" "$uport" "$2" <<'PY'
import socket, struct, sys
ifname, mac, fam, port, src = sys.argv[1:6]
def csum(b):
    b += b"\0" * (len(b) % 2)
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((ifname, 0))
head = bytes.fromhex(mac.replace(":", "")) + sock.getsockname()[4]
data = b"crafted"
udp = struct.pack("!HHHH", 40000, int(port), 8 + len(data), 0) + data
if fam == "4":
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton("127.0.0.1"))
    frame = head + b"\x08\x00" + ip[:10] + struct.pack("!H", csum(ip)) + ip[12:] + udp
else:
    s6, d6 = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, "::1")
    c = csum(s6 + d6 + struct.pack("!I3xB", len(udp), 17) + udp) or 0xffff
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    frame = head + b"\x86\xdd" + struct.pack("!IHBB", 0x60000000, len(udp), 17, 64) + s6 + d6 + udp
for _ in range(3): sock.send(frame)
PY
}
craft 4 "10.244.$oct.250" & got=$(listen 4); wait
assert_eq "$got" "nothing" "a frame to 127.0.0.1 from the bridge is dropped"
craft 6 "fd42:b5:$hex::250" & got=$(listen 6); wait
assert_eq "$got" "nothing" "a frame to ::1 from the bridge is dropped"
ip link del "gh$N"; ip netns del "$ns"

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

# Publishing on another IPv6 address of an IPv4-only container is a clear error at start.
expect_fail b run -d --name "v4ip6-$N" --network "v4-$N" --ip6 "fd42:b5:$hex::98" busybox sleep 60
assert_contains "$ERR" "does not have IPv6 enabled" "--ip6 on an IPv4-only network"
expect_fail b run -d --name "v4c-$N" --network "v4-$N" -p "[::]:$((port + 2)):80" busybox sleep 60
assert_contains "$ERR" "the container has no IPv6 address" "IPv6 publish on an IPv4-only container"

# Nothing left: veths, nft elements, the ip6 table once the last dual-stack network goes.
veths=$(ip -o link show master "$bridge" | awk -F': ' '{print $2}' | cut -d@ -f1)
[ -n "$veths" ] || fail "the containers' veths are on the bridge"
b rm -f "web-$N" "cli-$N" "fix-$N" "lo6-$N" "lo6dup-$N" "udp6-$N" "dup6-$N" "v4c-$N" "v4ip6-$N" >/dev/null 2>&1 || true
for v in $veths; do ! ip link show "$v" >/dev/null 2>&1 || fail "veth $v left after rm"; done
assert_not_contains "$(nft list table ip6 "$prefix")" "$port" "published IPv6 ports removed with the container"
python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as a listener would: TIME_WAIT is no holder
s.bind(("::1", int(sys.argv[1])))
s.listen()' "$lo_port" ||
  fail "[::1]:$lo_port still held after rm"
b network rm "net-$N" "v4-$N" >/dev/null
! ip link show "$bridge" >/dev/null 2>&1 || fail "bridge $bridge left after network rm"
! nft list table ip6 "$prefix" >/dev/null 2>&1 || fail "nft table ip6 $prefix left after the last IPv6 network"
assert_eq "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" "$fwd_before" "BERTH_IP_FORWARD=0 leaves IPv6 forwarding alone"
echo "ok: $SCENARIO"
