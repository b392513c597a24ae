#!/usr/bin/env bash
# commit/export/top/stats/update, health checks, log rotation, OOM kill, --init, pause.
source "$(dirname "$0")/lib.sh"
require_root
b import "$(busybox_tar)" busybox >/dev/null
R="--network none"

# commit: the container's changes (a new file, a deleted one) and --change become an image.
b run -d $R --name src busybox sh -c 'echo data > /hello; rm /bin/vi; sleep 60' >/dev/null
eventually 5 sh -c "$BERTH --root $ROOT --run-dir $RUN exec src cat /hello"
id=$(b commit -c 'CMD ["cat","/hello"]' src snap:1)
assert_contains "$id" "sha256:" "commit prints the image ID"
assert_eq "$(b run --rm $R snap:1)" data "the new file and the CMD change are in the image"
expect_fail b run --rm $R snap:1 ls /bin/vi
assert_contains "$ERR" "No such file" "the deleted file is gone (whiteout)"
# The mount targets the runtime made (the image has no /etc/hostname or /etc/resolv.conf) are
# not the container's changes: a container of the new image that never ran has neither.
b create --name fresh $R snap:1 >/dev/null
list=$(b export fresh | tar -t)
assert_not_contains "$list" "etc/hostname" "commit leaves out the runtime's /etc/hostname stub"
assert_not_contains "$list" "etc/resolv.conf" "commit leaves out the runtime's /etc/resolv.conf stub"
b rm fresh >/dev/null
# export: a tar of the whole filesystem.
list=$(b export src | tar -t)
assert_contains "$list" "hello" "export holds the new file"
assert_not_contains "$list" "bin/vi" "export does not hold the deleted file"
# top and stats.
assert_contains "$(b top src)" "sleep 60" "top lists the container's processes"
stats=$(b stats --no-stream --format '{{.Name}} {{.PIDs}}' src)
assert_eq "$stats" "src 1" "stats: name and pids (sh execs its last command)"
# update changes the live cgroup.
b update -m 32m src >/dev/null
assert_eq "$(b inspect -f '{{.HostConfig.Memory}}' src)" 33554432 "update recorded"
# pause/unpause: a paused container does not run.
b pause src >/dev/null
assert_eq "$(b inspect -f '{{.State.Status}}' src)" paused "paused"
b unpause src >/dev/null
assert_eq "$(b inspect -f '{{.State.Status}}' src)" running "unpaused"
b rm -f src >/dev/null

# Health checks: starting -> healthy; a failing check -> unhealthy after its retries.
b run -d $R --name hc --health-cmd 'test -f /ready' --health-interval 200ms --health-retries 2 busybox sh -c 'sleep 1; touch /ready; sleep 60' >/dev/null
assert_eq "$(b inspect -f '{{.State.Health.Status}}' hc)" starting "health starts as starting"
eventually 10 sh -c "[ \"\$($BERTH --root $ROOT --run-dir $RUN inspect -f '{{.State.Health.Status}}' hc)\" = healthy ]"
assert_contains "$(b ps --format '{{.Status}}' --filter name=hc)" "(healthy)" "ps shows (healthy)"
b exec hc rm /ready
eventually 10 sh -c "[ \"\$($BERTH --root $ROOT --run-dir $RUN inspect -f '{{.State.Health.Status}}' hc)\" = unhealthy ]"
[ "$(b inspect -f '{{.State.Health.FailingStreak}}' hc)" -ge 2 ] || fail "failing streak counted"
b rm -f hc >/dev/null

# json-file log rotation: max-size/max-file keep the log bounded.
b run -d $R --name chatty --log-opt max-size=2k --log-opt max-file=2 busybox sh -c 'i=0; while [ $i -lt 200 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done' >/dev/null
b wait chatty >/dev/null
logdir=$(dirname "$(b inspect -f '{{.LogPath}}' chatty)")
n=$(ls "$logdir" | grep -c -- '-json.log')
assert_eq "$n" 2 "two log files (max-file=2)"
for f in "$logdir"/*-json.log*; do [ "$(stat -c %s "$f")" -le 2300 ] || fail "log file $f over max-size"; done
assert_contains "$(b logs chatty | tail -1)" "line-199" "the newest lines are kept"
b rm chatty >/dev/null

# An OOM kill: exit 137 and OOMKilled true.
if [ -d /sys/fs/cgroup/memory ]; then
  b run $R --name hog -m 16m --memory-swap 16m busybox sh -c 'x=a; while true; do x="$x$x"; done' 2>/dev/null && rc=0 || rc=$?
  assert_eq "$rc" 137 "a memory hog exits 137"
  assert_eq "$(b inspect -f '{{.State.OOMKilled}}' hog)" true "OOMKilled is recorded"
  b rm hog >/dev/null
fi

# --init: PID 1 is docker-init, which reaps zombies and forwards signals.
out=$(b run --rm $R --init busybox sh -c 'cat /proc/1/cmdline | tr "\0" " "')
assert_contains "$out" "/sbin/docker-init" "--init runs docker-init as PID 1"
b run -d $R --init --name sig busybox sleep 60 >/dev/null
b stop -t 5 sig >/dev/null
assert_eq "$(b inspect -f '{{.State.ExitCode}}' sig)" 143 "SIGTERM reached sleep through the init (128+15)"
b rm sig >/dev/null
echo ok
