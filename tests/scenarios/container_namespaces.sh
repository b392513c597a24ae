#!/usr/bin/env bash
# --pid, --ipc, --uts, --userns and --cgroup-parent: namespaces shared with the host or with
# another container, checked from inside (ns links, processes, /dev/shm) and through inspect.
source "$(dirname "$0")/lib.sh"
require_root
b import "$(busybox_tar)" busybox >/dev/null
R="--network none"
inspect() { b inspect -f "$1" "$2"; }

# Defaults: private IPC (Docker's daemon default), own PID and UTS namespaces.
b create $R --name plain busybox true >/dev/null
assert_eq "$(inspect '{{.HostConfig.IpcMode}}|{{.HostConfig.PidMode}}|{{.HostConfig.UTSMode}}|{{.HostConfig.UsernsMode}}|{{.HostConfig.CgroupParent}}' plain)" \
  "private||||" "inspect shows Docker's defaults"
assert_not_contains "$(b run --rm $R busybox readlink /proc/self/ns/pid)" "$(readlink /proc/self/ns/pid)" "own pid namespace by default"

# --pid host: the host's namespace, its pid 1.
assert_eq "$(b run --rm $R --pid host busybox readlink /proc/self/ns/pid)" "$(readlink /proc/self/ns/pid)" "--pid host: the host's pid namespace"
assert_eq "$(b run --rm $R --pid host busybox cat /proc/1/comm)" "$(cat /proc/1/comm)" "--pid host sees the host's pid 1"

# --pid container:X: X's namespace and processes.
b run -d $R --name pdonor busybox sleep 1234 >/dev/null
dpid=$(inspect '{{.State.Pid}}' pdonor)
did=$(inspect '{{.Id}}' pdonor)
assert_eq "$(b run --rm $R --pid container:pdonor busybox readlink /proc/self/ns/pid)" "$(readlink /proc/$dpid/ns/pid)" "--pid container: the donor's pid namespace"
assert_contains "$(b run --rm $R --pid container:pdonor busybox ps)" "sleep 1234" "--pid container: the donor's processes are visible"
b create $R --name pjoin --pid container:pdonor busybox ps >/dev/null
assert_eq "$(inspect '{{.HostConfig.PidMode}}' pjoin)" "container:$did" "inspect: PidMode names the donor"

# --ipc shareable + container:X: one IPC namespace and one /dev/shm.
b run -d $R --name idonor --ipc shareable busybox sh -c 'echo shared > /dev/shm/marker; sleep 1000' >/dev/null
eventually 5 b exec idonor test -f /dev/shm/marker
ipid=$(inspect '{{.State.Pid}}' idonor)
assert_eq "$(b run --rm $R --ipc container:idonor busybox cat /dev/shm/marker)" shared "--ipc container: the donor's /dev/shm"
assert_eq "$(b run --rm $R --ipc container:idonor busybox readlink /proc/self/ns/ipc)" "$(readlink /proc/$ipid/ns/ipc)" "--ipc container: the donor's IPC namespace"
b run --rm $R --ipc container:idonor busybox sh -c 'echo back > /dev/shm/reply'
assert_eq "$(b exec idonor cat /dev/shm/reply)" back "writes go both ways"
assert_eq "$(inspect '{{.HostConfig.IpcMode}}' idonor)" shareable "inspect: IpcMode shareable"
# A private donor cannot be joined; --ipc none has no /dev/shm; --ipc host is the host's.
b run -d $R --name ipriv busybox sleep 1000 >/dev/null
expect_fail b run --rm $R --ipc container:ipriv busybox true
assert_contains "$ERR" "non-shareable IPC (hint: use IpcMode:shareable for the donor container)" "private IPC is not joinable"
expect_fail b run --rm $R --ipc none busybox ls /dev/shm
assert_contains "$ERR" "No such file" "--ipc none: no /dev/shm"
assert_eq "$(b run --rm $R --ipc host busybox readlink /proc/self/ns/ipc)" "$(readlink /proc/self/ns/ipc)" "--ipc host: the host's IPC namespace"
marker="berth-scn-$$"
echo host > "/dev/shm/$marker"
on_exit rm -f "/dev/shm/$marker"
assert_eq "$(b run --rm $R --ipc host busybox cat /dev/shm/$marker)" host "--ipc host: the host's /dev/shm"
# Privileged containers get the host's /dev, but not its /dev/shm.
assert_eq "$(b run --rm $R --privileged busybox sh -c "test -e /dev/shm/$marker && echo seen || echo hidden")" hidden "--privileged: own /dev/shm"
assert_eq "$(b run --rm $R --privileged --ipc container:idonor busybox cat /dev/shm/marker)" shared "--privileged --ipc container: the donor's /dev/shm"
expect_fail b create $R --ipc host --sysctl kernel.shmmax=1024 busybox true
assert_contains "$ERR" "not allowed in host IPC namespace" "IPC sysctls refused with --ipc host"
# The donor's /dev/shm mount goes with it.
b rm -f idonor >/dev/null
assert_not_contains "$(cat /proc/self/mountinfo)" "$RUN/containers/" "no shm mount left on the host"

# Joining a container that does not run fails, names it, and leaves nothing behind.
b create $R --name stopped busybox true >/dev/null
sid=$(inspect '{{.Id}}' stopped)
expect_fail b run --rm $R --pid container:stopped busybox true
assert_contains "$ERR" "cannot join PID namespace of a non running container: $sid" "not running: PID"
expect_fail b run --rm $R --ipc container:stopped busybox true
assert_contains "$ERR" "cannot join IPC namespace of a non running container: $sid" "not running: IPC"
expect_fail b run --rm $R --pid container:nosuch busybox true
assert_contains "$ERR" "nosuch" "a missing donor is named"
assert_eq "$(b ps -aq | wc -l)" 5 "failed runs left no container (plain pjoin pdonor ipriv stopped)"

# --uts host: the host's name and namespace; a hostname conflicts with it.
assert_eq "$(b run --rm $R --uts host busybox hostname)" "$(hostname)" "--uts host: the host's hostname"
assert_eq "$(b run --rm $R --uts host busybox readlink /proc/self/ns/uts)" "$(readlink /proc/self/ns/uts)" "--uts host: the host's UTS namespace"
expect_fail b run --rm $R --uts host -h other busybox true
assert_contains "$ERR" "Conflicting options: hostname and the UTS mode" "--uts host with -h"
expect_fail b run --rm $R --uts private busybox true
assert_contains "$ERR" "--uts: invalid UTS mode" "bad --uts"
expect_fail b run --rm $R --ipc bogus busybox true
assert_contains "$ERR" "--ipc: invalid IPC mode" "bad --ipc"

# --userns: berth maps no user namespaces, so "host" is the only mode.
assert_eq "$(b run --rm $R --userns host busybox echo ok)" ok "--userns host runs"
expect_fail b run --rm $R --userns remap busybox true
assert_contains "$ERR" "--userns: invalid USER mode" "other --userns modes refused"

# --cgroup-parent: the container's cgroup is made below it; the parent is the user's and stays.
cgp="berth-scn-$$/apps"
on_exit "for d in /sys/fs/cgroup/*/berth-scn-$$; do [ -d \$d/apps ] && rmdir \$d/apps; rmdir \$d; done"
b run -d $R --name cg --cgroup-parent "/$cgp" busybox sleep 1000 >/dev/null
cid=$(inspect '{{.Id}}' cg)
cpid=$(inspect '{{.State.Pid}}' cg)
assert_contains "$(cat /proc/$cpid/cgroup)" ":/$cgp/$cid" "the container's cgroup is below --cgroup-parent"
assert_eq "$(inspect '{{.HostConfig.CgroupParent}}' cg)" "/$cgp" "inspect: CgroupParent as given"
assert_contains "$(b top cg)" "sleep 1000" "top finds the container's cgroup"
b rm -f cg >/dev/null
for d in /sys/fs/cgroup/*/"$cgp"; do
  [ ! -d "$d/$cid" ] || fail "cgroup $d/$cid left behind"
done
[ -d "/sys/fs/cgroup/pids/$cgp" ] || fail "the user's cgroup parent was removed"
expect_fail b create $R --cgroup-parent "a/../b" busybox true
assert_contains "$ERR" "invalid --cgroup-parent" "a parent with .. is refused"

b rm -f pdonor pjoin ipriv stopped plain >/dev/null
echo "ok: $SCENARIO"
