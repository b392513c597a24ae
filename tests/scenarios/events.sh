#!/usr/bin/env bash
# berth events: what a container's life, a network and a volume write to the root's event log,
# seen live by a follower (`events --format json`), replayed with --since/--until, filtered and
# formatted as Docker's; `compose events --json` for a small project; the log stays bounded.
source "$(dirname "$0")/lib.sh"
require_root
require_cmd python3
export BERTH_IP_FORWARD=0  # a shared test host: leave its global ip_forward alone

b import "$(busybox_tar)" busybox >/dev/null

oct=$(( $$ % 200 + 20 ))
net="evnet$$"
vol="evvol$$"
ctr="evctr$$"
# Type Action name-or-ID for each JSON event line, one per line.
summary() {
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    a = e["Actor"]["Attributes"]
    print(e["Type"], e["Action"], a.get("name") or e["Actor"]["ID"])' "$1"
}
seen() { grep -q "$2" "$1"; }

# ---- live: a follower started before the actions sees each one, in order ------------------------
LIVE="$WORK/live.json"
"$BERTH" --root "$ROOT" --run-dir "$RUN" events --format json >"$LIVE" &
EV=$!
on_exit "kill $EV"
# The follower only shows what comes after it started: wait until it sees a first marker.
eventually 10 bash -c "'$BERTH' --root '$ROOT' --run-dir '$RUN' volume rm -f ready$$ >/dev/null; '$BERTH' --root '$ROOT' --run-dir '$RUN' volume create ready$$ >/dev/null; grep -q '\"ready$$\"' '$LIVE'"
b volume rm ready$$ >/dev/null
T0=$(date +%s.%N)

b volume create "$vol" >/dev/null
b network create --subnet "10.246.$oct.0/24" "$net" >/dev/null
on_exit "'$BERTH' --root '$ROOT' --run-dir '$RUN' network rm $net"
b run -d --name "$ctr" --label team=events --network "$net" -v "$vol:/data" busybox \
  sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done' >/dev/null
on_exit "'$BERTH' --root '$ROOT' --run-dir '$RUN' rm -f $ctr"
b stop -t 5 "$ctr" >/dev/null
b rm "$ctr" >/dev/null
b network rm "$net" >/dev/null
b volume rm "$vol" >/dev/null
b tag busybox "busybox:ev$$"
b rmi "busybox:ev$$" >/dev/null
T1=$(date +%s.%N)
b volume create "done$$" >/dev/null
eventually 10 grep -q "\"done$$\"" "$LIVE"
kill "$EV"; wait "$EV" 2>/dev/null || true

EXPECTED="volume create $vol
network create $net
container create $ctr
network connect $net
volume mount $vol
container start $ctr
container kill $ctr
container die $ctr
network disconnect $net
volume unmount $vol
container stop $ctr
container destroy $ctr
network destroy $net
volume destroy $vol
image tag busybox:ev$$
image untag"
got=$(summary "$LIVE" | grep -v -e "ready$$" -e "done$$" | sed 's/^image untag .*/image untag/')
assert_eq "$got" "$EXPECTED" "the live sequence of actions"

# The JSON is Docker's message: legacy fields, Actor attributes, scope, time and timeNano.
die=$(grep '"Action":"die"' "$LIVE")
python3 - "$die" "$ctr" <<'EOF' || fail "die event JSON: $die"
import json, sys, re
e = json.loads(sys.argv[1])
assert list(e)[:5] == ["status", "id", "from", "Type", "Action"], list(e)
assert e["status"] == "die" and e["from"] == "busybox" and e["scope"] == "local"
a = e["Actor"]["Attributes"]
assert a == {"exitCode": "0", "image": "busybox", "name": sys.argv[2], "team": "events"}, a
assert re.fullmatch("[0-9a-f]{64}", e["id"]) and e["Actor"]["ID"] == e["id"]
assert e["time"] == e["timeNano"] // 10**9
EOF
assert_contains "$(grep '"Action":"kill"' "$LIVE")" '"signal":"15"' "stop sends the stop signal, recorded by kill"
assert_contains "$(grep '"Action":"connect"' "$LIVE")" '"container":"' "connect names the container"
# Docker's volume mount/unmount attributes: the container, where and how it is mounted.
python3 - "$(grep '"Action":"mount"' "$LIVE")" "$(grep '"Action":"unmount"' "$LIVE")" "$vol" <<'EOF' || fail "volume mount/unmount events"
import json, sys, re
m, u = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert m["Type"] == "volume" and m["Actor"]["ID"] == sys.argv[3], m
a = m["Actor"]["Attributes"]
assert re.fullmatch("[0-9a-f]{64}", a.pop("container")), a
assert a == {"destination": "/data", "driver": "local", "propagation": "", "read/write": "true"}, a
a = u["Actor"]["Attributes"]
assert re.fullmatch("[0-9a-f]{64}", a.pop("container")) and a == {"driver": "local"}, a
EOF

# ---- replay: --since/--until give the same events, and return at once ---------------------------
replayed=$(timeout 10 "$BERTH" --root "$ROOT" --run-dir "$RUN" events --since "$T0" --until "$T1" --format json) ||
  fail "a past window returns by itself"
printf '%s\n' "$replayed" >"$WORK/replay.json"
assert_eq "$(summary "$WORK/replay.json" | sed 's/^image untag .*/image untag/')" "$EXPECTED" "--since/--until replay"
assert_eq "$(b events --since "$T0" --until "$T1" --format '{{json .}}')" "$replayed" "{{json .}} is --format json"
# Go durations count back from now: the last hour holds everything, the markers too.
assert_contains "$(b events --since 1h --until 0s --format '{{.Actor.ID}}')" "ready$$" "--since as a duration"
assert_eq "$(b events --since "$T1" --until "$T1" --format json)" "" "an empty window"

# Docker's default line: RFC 3339 with nanoseconds, type, action, ID, sorted attributes.
line=$(b events --since "$T0" --until "$T1" --filter event=die)
[[ $line =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}(Z|[+-][0-9]{2}:[0-9]{2})\ container\ die\ [0-9a-f]{64}\ \(exitCode=0,\ image=busybox,\ name=$ctr,\ team=events\)$ ]] ||
  fail "default line: [$line]"

# ---- filters and templates ---------------------------------------------------------------------
w() { b events --since "$T0" --until "$T1" "$@"; }
assert_eq "$(w --filter type=network --format '{{.Action}}' | tr '\n' ' ')" "create connect disconnect destroy " "type=network"
assert_eq "$(w --filter type=volume --filter type=network --format '{{.Type}}' | sort -u | tr '\n' ' ')" "network volume " "two types: either"
assert_eq "$(w --filter container="$ctr" --filter event=die --filter event=stop --format '{{.Action}}' | tr '\n' ' ')" "die stop " "container and events"
assert_eq "$(w --filter label=team=events --format '{{.Status}}' | wc -l)" "6" "label=k=v: the container's six events"
assert_eq "$(w --filter label=team=other --format x)" "" "label with another value"
assert_eq "$(w --filter image=busybox --filter type=container --format '{{.From}}' | sort -u)" "busybox" "image= for containers"
assert_eq "$(w --filter network="$net" --filter event=connect --format '{{.Actor.Attributes.type}}')" "bridge" "network= and attributes"
assert_eq "$(w --filter volume="$vol" --format '{{.Action}}' | tr '\n' ' ')" "create mount unmount destroy " "volume="
expect_fail b events --filter colour=red
assert_eq "$ERR" "Error: invalid filter 'colour'" "unknown filter key"
expect_fail b events --since soon
assert_contains "$ERR" 'failed to parse value as time or duration: "soon"' "bad --since"
expect_fail b events --format '{{.Type'
assert_contains "$ERR" "template" "bad template"
# system events is the same command.
assert_eq "$(b system events --since "$T0" --until "$T1" --filter type=volume --format '{{.Action}}' | tr '\n' ' ')" "create mount unmount destroy " "system events"

# A follower with --until in the near future stops by itself.
start=$(date +%s)
timeout 20 "$BERTH" --root "$ROOT" --run-dir "$RUN" events --until "$(( start + 2 ))" >/dev/null || fail "--until ends a follower"

# ---- the rest of a container's life: health, pause, exec, rename, restart, kill ---------------
H0=$(date +%s.%N)
hc=$(b run -d --health-cmd true --health-interval 200ms busybox sleep 60)
on_exit "'$BERTH' --root '$ROOT' --run-dir '$RUN' rm -f $hc"
healthy() { b events --since "$H0" --until 0s --filter container="$hc" --filter event=health_status --format '{{.Action}}' | grep -qx 'health_status: healthy'; }
eventually 20 healthy
b rm -f "$hc" >/dev/null
hid=$(b run -d --name "h$ctr" busybox sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done')
on_exit "'$BERTH' --root '$ROOT' --run-dir '$RUN' rm -f $hid"
b pause "h$ctr" >/dev/null
b unpause "h$ctr" >/dev/null
b exec "h$ctr" true
b rename "h$ctr" "r$ctr"
b restart -t 5 "r$ctr" >/dev/null
b kill "r$ctr" >/dev/null
b wait "r$ctr" >/dev/null || true
b rm "r$ctr" >/dev/null
H1=$(date +%s.%N)
got=$(b events --since "$H0" --until "$H1" --filter container="$hid" --format '{{.Action}}{{with .Actor.Attributes.signal}} {{.}}{{end}}{{with .Actor.Attributes.exitCode}} {{.}}{{end}}' |
  tr '\n' ',')
assert_eq "$got" "create,start,pause,unpause,exec_create: true,exec_start: true,exec_die 0,rename,kill 15,die 0,stop,start,restart,kill 9,die 137,destroy," \
  "pause, exec, rename, restart and kill"
assert_eq "$(b events --since "$H0" --until "$H1" --filter event=rename --format '{{.Actor.Attributes.oldName}} {{.Actor.Attributes.name}}')" \
  "/h$ctr r$ctr" "rename names the old and the new name"

# ---- compose events ----------------------------------------------------------------------------
proj="evp$$"
app="$WORK/app"
mkdir -p "$app"
cat >"$app/compose.yaml" <<EOF
name: $proj
services:
  web:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
  job:
    image: busybox
    network_mode: none
    command: ["true"]
EOF
c() { (cd "$app" && b compose "$@"); }
on_exit "cd '$app' && '$BERTH' --root '$ROOT' --run-dir '$RUN' compose down -t 1"
CLIVE="$WORK/compose.json"
# Started after C0 with --since C0: it replays what came before it was ready, then follows.
C0=$(date +%s.%N)
(cd "$app" && exec "$BERTH" --root "$ROOT" --run-dir "$RUN" compose events --json --since "$C0" web >"$CLIVE") &
CEV=$!
on_exit "kill $CEV"
c up -d >/dev/null 2>&1
c run --rm web true >/dev/null 2>&1  # a one-off: not in compose events
c stop -t 5 >/dev/null 2>&1
C1=$(date +%s.%N)
c rm -f >/dev/null 2>&1
eventually 10 grep -q '"action":"destroy"' "$CLIVE"
kill "$CEV"; wait "$CEV" 2>/dev/null || true
python3 - "$CLIVE" "$proj" <<'EOF2' || fail "compose events --json: $(cat "$CLIVE")"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
acts = [e["action"] for e in evs]
assert acts == ["create", "start", "kill", "die", "stop", "destroy"], acts
for e in evs:
    assert sorted(e) == ["action", "attributes", "id", "service", "time", "type"], e
    assert e["type"] == "container" and e["service"] == "web", e
    assert e["attributes"]["name"] == sys.argv[2] + "-web-1", e
    assert not any(k.startswith("com.docker.compose.") for k in e["attributes"]), e
EOF2
# Replayed as plain lines, every service, one-offs left out.
plain=$(cd "$app" && b compose events --since "$C0" --until "$C1")
start_line=$(printf '%s\n' "$plain" | grep " container start " | grep "name=$proj-web-1")
[[ $start_line =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9:]{8}\.[0-9]{6}\ container\ start\ [0-9a-f]{64}\ \(image=busybox,\ name=$proj-web-1\)$ ]] ||
  fail "compose plain line: [$plain]"
assert_contains "$plain" "name=$proj-job-1" "every service without SERVICE arguments"
assert_not_contains "$plain" "run-" "one-off runs are not the project's events"

# ---- bounded ------------------------------------------------------------------------------------
export BERTH_EVENTS_MAX_SIZE=4k
for i in $(seq 1 40); do b volume create "fill$i" >/dev/null; b volume rm "fill$i" >/dev/null; done
unset BERTH_EVENTS_MAX_SIZE
size() { stat -c %s "$ROOT/events/$1"; }
[ "$(size log)" -le 5000 ] || fail "log past its limit: $(size log)"
[ "$(size log.1)" -le 5000 ] || fail "log.1 past its limit: $(size log.1)"
assert_eq "$(ls "$ROOT/events" | sort | tr '\n' ' ')" "lock log log.1 " "one rotated file kept"
assert_eq "$(b events --since 1h --until 0s --filter volume=fill40 --format '{{.Action}}' | tr '\n' ' ')" "create destroy " "newest events kept"
assert_eq "$(b events --since 1h --until 0s --filter volume="$vol" --format x)" "" "oldest events dropped"
echo "ok: $SCENARIO"
