#!/usr/bin/env bash
# berth compose's progress display as Docker Compose's: on a terminal (under `script`, which
# gives a pty) a block redrawn in place with the "[+] Running n/m" header and ✔ lines; plain,
# json and quiet on request (flag or COMPOSE_PROGRESS); tty with --ansi never refused. Then
# post_start hook output: shown under "<container> ->" when attached, not with -d, and a
# failing hook's last line in the error. Then the config hash over service:x resolved to x's
# container: a dependent left on a replaced parent's namespace is recreated by the next up.
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip
require_cmd nft
require_cmd jq
require_cmd script
export BERTH_IP_FORWARD=0

b import "$(busybox_tar)" busybox >/dev/null

oct=$(( $$ % 200 + 20 ))
proj="prg$$"
app="$WORK/app"
mkdir -p "$app"
cat >"$app/compose.yaml" <<EOF
name: $proj
services:
  db:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
  web:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    depends_on: [db]
networks:
  default:
    ipam:
      config:
        - subnet: 10.246.$oct.0/24
EOF
c() { (cd "$app" && b compose "$@"); }
on_exit "cd '$app' && '$BERTH' --root '$ROOT' --run-dir '$RUN' compose down -t 1 --remove-orphans"
strip_ansi() { sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\r//g'; }

# --- tty: auto on a terminal -------------------------------------------------------------------
raw=$(cd "$app" && script -qec "$BERTH --root $ROOT --run-dir $RUN compose up -d" /dev/null) || fail "up -d under a pty: $raw"
assert_contains "$raw" $'\e[?25l' "the tty display hides the cursor while drawing"
out=$(printf '%s' "$raw" | strip_ansi)
assert_contains "$out" "[+] Running 3/3" "final header: every resource done"
assert_contains "$out" "✔ Network ${proj}_default" "✔ line for the network"
assert_contains "$out" "✔ Container $proj-db-1" "✔ line for db"
last=$(printf '%s\n' "$out" | grep -F "Container $proj-web-1" | tail -1)
assert_contains "$last" "Started" "web's final state"
[[ "$last" =~ [0-9]+\.[0-9]s\ *$ ]] || fail "elapsed time at the end of the line: [$last]"
assert_not_contains "$out" " Container $proj-web-1  Started
" "no plain lines on a terminal"
assert_eq "$(b ps --format '{{.Names}}' | grep -c "^$proj-")" "2" "both containers up"

# --- plain: no terminal, or asked for --------------------------------------------------------
out=$(c stop 2>&1 >/dev/null) || fail "stop: $out"
assert_contains "$out" " Container $proj-web-1  Stopping" "plain lines when stderr is not a terminal"
assert_not_contains "$out" $'\e[' "no escapes in plain mode"
raw=$(cd "$app" && script -qec "$BERTH --root $ROOT --run-dir $RUN compose --progress plain start" /dev/null) || fail "start: $raw"
out=$(printf '%s' "$raw" | tr -d '\r')
assert_contains "$out" " Container $proj-db-1  Started" "--progress plain on a terminal"
assert_not_contains "$out" "[+]" "--progress plain draws no block"

# --- json ---------------------------------------------------------------------------------------
out=$(c --progress json restart web 2>&1 >/dev/null) || fail "restart: $out"
printf '%s\n' "$out" | jq -e . >/dev/null || fail "every line is JSON: $out"
assert_eq "$(printf '%s\n' "$out" | jq -r 'select(.id == "Container '$proj'-web-1") | .status' | tr '\n' ' ')" \
  "Restarting Started " "json events of web"
out=$(cd "$app" && COMPOSE_PROGRESS=json "$BERTH" --root "$ROOT" --run-dir "$RUN" compose pause db 2>&1 >/dev/null) || fail "pause: $out"
assert_eq "$(printf '%s\n' "$out" | jq -r .status | tail -1)" "Paused" "COMPOSE_PROGRESS=json"
c unpause db 2>/dev/null

# --- quiet, and bad combinations -----------------------------------------------------------------
out=$(c --progress quiet stop 2>&1 >/dev/null) || fail "quiet stop: $out"
assert_eq "$out" "" "--progress quiet prints nothing"
expect_fail c --progress tty --ansi never up -d
assert_contains "$ERR" "can't use --progress tty while ANSI support is disabled" "tty without ANSI refused"
assert_eq "$(b ps --format '{{.Names}}' | grep -c "^$proj-" || true)" "0" "the refused up started nothing"
c down -t 1 >/dev/null 2>&1

# --- hook output --------------------------------------------------------------------------------
hk="hk$$"
mkdir -p "$WORK/hooks"
cat >"$WORK/hooks/compose.yaml" <<EOF
name: $hk
services:
  job:
    image: busybox
    command: ["sh", "-c", "sleep 2; echo main-done"]
    post_start:
      - command: ["sh", "-c", "echo hook-says-hi; echo hook-on-stderr >&2"]
networks:
  default:
    ipam:
      config:
        - subnet: 10.247.$oct.0/24
EOF
h() { (cd "$WORK/hooks" && b compose "$@"); }
on_exit "cd '$WORK/hooks' && '$BERTH' --root '$ROOT' --run-dir '$RUN' compose down -t 1"
out=$(h up 2>/dev/null) || fail "attached up: $out"
assert_contains "$out" "job-1 ->  | hook-says-hi" "hook stdout under the container's name with ->"
assert_contains "$out" "job-1 ->  | hook-on-stderr" "hook stderr too"
assert_contains "$out" "job-1     | main-done" "the logs padded to the hook prefix's width"
[[ "$out" == *"Attaching to job-1"*"job-1 ->  | hook-says-hi"* ]] || fail "hook output comes with the logs: $out"
h down -t 1 >/dev/null 2>&1
out=$(h up -d 2>&1) || fail "up -d: $out"
assert_not_contains "$out" "hook-says-hi" "detached: hook output not shown (as Compose)"
h down -t 1 >/dev/null 2>&1
sed -i 's/echo hook-on-stderr >&2/echo why-it-failed >\&2; exit 3/' "$WORK/hooks/compose.yaml"
expect_fail h up -d
assert_contains "$ERR" "post_start hook exited with status 3: why-it-failed" "the hook's last line in the error"
h down -t 1 >/dev/null 2>&1

# --- config hash over service:x ------------------------------------------------------------------
ns="ns$$"
mkdir -p "$WORK/ns"
cat >"$WORK/ns/compose.yaml" <<EOF
name: $ns
services:
  vpn:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
  app:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    network_mode: service:vpn
networks:
  default:
    ipam:
      config:
        - subnet: 10.248.$oct.0/24
EOF
n() { (cd "$WORK/ns" && b compose "$@"); }
on_exit "cd '$WORK/ns' && '$BERTH' --root '$ROOT' --run-dir '$RUN' compose down -t 1"
netns() { readlink "/proc/$(b inspect -f '{{.State.Pid}}' "$1")/ns/net"; }
n up -d >/dev/null 2>&1 || fail "ns up"
assert_eq "$(netns "$ns-app-1")" "$(netns "$ns-vpn-1")" "app in vpn's network namespace"
app_id=$(b inspect -f '{{.Id}}' "$ns-app-1")
out=$(n up -d 2>&1) || fail "second up: $out"
assert_eq "$(b inspect -f '{{.Id}}' "$ns-app-1")" "$app_id" "unchanged: app kept"
# vpn replaced behind app's back: removed and made again for itself alone
b rm -f "$ns-vpn-1" >/dev/null
n up -d --no-deps vpn >/dev/null 2>&1 || fail "up vpn alone"
out=$(n up -d 2>&1) || fail "third up: $out"
[ "$(b inspect -f '{{.Id}}' "$ns-app-1")" != "$app_id" ] || fail "app left on the old vpn's namespace: $out"
assert_eq "$(netns "$ns-app-1")" "$(netns "$ns-vpn-1")" "app rejoined vpn's new network namespace"
n down -t 1 >/dev/null 2>&1
echo "ok"
