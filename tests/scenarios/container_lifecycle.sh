#!/usr/bin/env bash
# The container lifecycle from the CLI: run (attached, detached, --rm), exit codes, logs, ps,
# inspect, exec, stop, restart, rm, and that nothing is left in the kernel afterwards.
source "$(dirname "$0")/lib.sh"
require_root

b import "$(busybox_tar)" busybox >/dev/null

# Attached run: output, exit code, and --rm leaves nothing.
out=$(b run --rm --network none busybox sh -c 'echo hello; echo oops >&2; exit 3' 2>"$WORK/err") && rc=0 || rc=$?
assert_eq "$rc" 3 "run returns the container's exit code"
assert_eq "$out" "hello" "stdout reaches stdout"
assert_eq "$(cat "$WORK/err")" "oops" "stderr reaches stderr"
assert_eq "$(b ps -aq | wc -l)" 0 "--rm removed the container"

# Isolation seen from inside: PID 1, hostname = short id, Docker's capabilities, /proc masked.
out=$(b run --rm --network none --name iso busybox sh -c 'echo pid=$$; hostname; grep CapEff /proc/self/status; cat /proc/kcore 2>&1 | wc -c; touch /proc/sys/x 2>&1 || echo ro')
assert_contains "$out" "pid=1" "the command is PID 1"
assert_contains "$out" "CapEff:	00000000a80425fb" "Docker's 14 default capabilities"
assert_contains "$out" "ro" "/proc/sys is read-only"

# Exit codes for a missing and a non-executable command (Docker: 127 and 126).
expect_fail b run --rm --network none busybox /nonexistent
assert_eq "$RC" 127 "missing command exits 127"
assert_contains "$ERR" "no such file or directory" "missing command explained"
expect_fail b run --rm --network none busybox /etc/passwd
assert_eq "$RC" 126 "non-executable command exits 126"
expect_fail b run --rm --network none busybox nosuchcmd
assert_eq "$RC" 127 "command not in PATH exits 127"
assert_contains "$ERR" 'executable file not found in $PATH' "PATH lookup failure explained"

# Bad input is refused before anything is created.
expect_fail b run --network none --memory 1k busybox true
assert_eq "$RC" 125 "invalid flag value exits 125"
assert_eq "$(b ps -aq | wc -l)" 0 "a refused run creates nothing"
expect_fail b run --rm nosuchimage true
assert_eq "$RC" 125 "unknown image exits 125"

# Detached: ps, logs, exec, inspect, stop, start, rm.
id=$(b run -d --network none --name web -e GREETING=hi busybox sh -c 'echo started; trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done')
assert_eq "${#id}" 64 "run -d prints the full ID"
eventually 5 sh -c "$BERTH --root $ROOT --run-dir $RUN logs web | grep -q started"
assert_contains "$(b ps --format '{{.Names}} {{.State}}')" "web running" "ps shows it running"
assert_eq "$(b exec web sh -c 'echo $GREETING')" "hi" "exec sees the container's env"
assert_eq "$(b exec -e GREETING=yo web sh -c 'echo $GREETING')" "yo" "exec -e overrides"
expect_fail b exec web false
assert_eq "$RC" 1 "exec returns the command's exit code"
assert_eq "$(b inspect -f '{{.State.Running}} {{.Name}}' web)" "true /web" "inspect State.Running"
pid=$(b inspect -f '{{.State.Pid}}' web)
[ -d "/proc/$pid" ] || fail "State.Pid is a live process"
expect_fail b run -d --network none --name web busybox true
assert_contains "$ERR" 'is already in use' "name conflict refused"
expect_fail b rm web
assert_contains "$ERR" "stop the container before removing" "rm of a running container refused"
b stop -t 5 web >/dev/null
assert_eq "$(b inspect -f '{{.State.Status}} {{.State.ExitCode}}' web)" "exited 0" "stop delivered SIGTERM, trap ran"
assert_contains "$(b logs web)" "bye" "the trap's output is in the log"
[ -d "/proc/$pid" ] && fail "the container's process is gone after stop"
b start web >/dev/null
eventually 5 sh -c "[ \"\$($BERTH --root $ROOT --run-dir $RUN inspect -f '{{.State.Running}}' web)\" = true ]"
b restart -t 1 web >/dev/null
assert_eq "$(b inspect -f '{{.State.Running}}' web)" "true" "running after restart"
b rm -f web >/dev/null
assert_eq "$(b ps -aq | wc -l)" 0 "rm -f removed it"

# Restart policy: on-failure:2 restarts twice then stays exited.
b run -d --network none --name flaky --restart on-failure:2 busybox sh -c 'exit 7' >/dev/null
eventually 10 sh -c "[ \"\$($BERTH --root $ROOT --run-dir $RUN inspect -f '{{.State.Status}} {{.RestartCount}}' flaky)\" = 'exited 2' ]"
assert_eq "$(b inspect -f '{{.State.ExitCode}}' flaky)" 7 "exit code kept"
b rm flaky >/dev/null

# run --rm: the client renames the record and run dir away and the shim deletes them once the
# client has its answer; a trash left by a cleanup killed in between goes with system teardown.
b run --rm --network none busybox true
eventually 5 sh -c "! ls -A $ROOT/containers $RUN/containers 2>/dev/null | grep -q '^\.rm-'"
stale="$ROOT/containers/.rm-$(printf '%064d' 0)"
mkdir -p "$stale/sub" && touch "$stale/sub/config.json"
b system teardown
[ -e "$stale" ] && fail "system teardown left the stale $stale"

# Nothing of ours is left in the kernel.
assert_eq "$(grep -c "$ROOT" /proc/self/mountinfo || true)" 0 "no mounts left"
# This root's kernel objects carry its prefix (store::Paths: berth-<8 hex of sha256(root)>);
# other roots (tests running beside this one) are not ours to judge.
prefix="berth-$(printf '%s' "$ROOT" | sha256sum | cut -c1-8)"
for c in /sys/fs/cgroup/*/; do
  d="$c$prefix"
  [ -z "$(ls -A "$d" 2>/dev/null | grep -E '^[0-9a-f]{64}$')" ] || fail "container cgroup left in $d"
done
pgrep -f "berth-shim $RUN" >/dev/null && fail "a shim is still running"
echo "ok"
