#!/usr/bin/env bash
# Isolation checked from inside a container, not assumed (issue 3): namespaces, PID 1, the
# rootfs, /proc /sys /dev, masked and read-only paths, capabilities, seccomp, no_new_privs,
# no leaked fds, resource flags, users, and --read-only / --tmpfs / --privileged.
source "$(dirname "$0")/lib.sh"
require_root
b import "$(busybox_tar)" busybox >/dev/null
r() { b run --rm --network none "$@"; }

# New pid, mount, uts, ipc and net namespaces: every one differs from the host's.
for ns in pid mnt uts ipc net; do
  host=$(readlink /proc/self/ns/$ns)
  inside=$(r busybox readlink /proc/self/ns/$ns)
  [ -n "$inside" ] || fail "read /proc/self/ns/$ns inside"
  [ "$host" != "$inside" ] || fail "the container shares the host's $ns namespace"
done
assert_eq "$(r busybox sh -c 'echo $$')" 1 "the command is PID 1"
# The shell's own glob: no second process whose start could race the listing.
assert_eq "$(r busybox sh -c 'echo /proc/[0-9]*')" "/proc/1" "only the container's process is visible (sh as PID 1)"
assert_eq "$(r --hostname box busybox hostname)" box "--hostname"

# pivot_root: the host's filesystem is not reachable; / is the image.
out=$(r busybox sh -c 'cat /proc/self/mountinfo | head -1')
assert_contains "$out" " / / " "the rootfs is mounted at /"
assert_contains "$out" "overlay" "the rootfs is the overlay of the image"
out=$(r busybox ls /)
assert_contains "$out" "bin" "/ is the image's root"
[ -d /work ] && assert_not_contains "$out" "work" "the host's directories are not visible"

# /dev: the minimal set, devpts, and a 64 MiB /dev/shm by default.
out=$(r busybox sh -c 'ls /dev | tr "\n" " "')
for d in null zero full random urandom tty console ptmx pts shm mqueue fd stdin stdout stderr; do
  [ "$d" = console ] && continue  # only with -t
  assert_contains "$out" "$d" "/dev/$d exists"
done
assert_not_contains "$out" "sda" "no host block devices"
assert_eq "$(r busybox sh -c 'df -k /dev/shm | tail -1 | awk "{print \$2}"')" 65536 "/dev/shm is 64 MiB"
assert_eq "$(r --shm-size 8m busybox sh -c 'df -k /dev/shm | tail -1 | awk "{print \$2}"')" 8192 "--shm-size"
assert_eq "$(b run --rm --network none -t busybox sh -c 'tty' | tr -d '\r')" /dev/pts/0 "-t gives the container's own /dev/pts/0"

# Masked and read-only paths; /sys read-only.
assert_eq "$(r busybox sh -c 'cat /proc/kcore | wc -c')" 0 "/proc/kcore is masked"
assert_contains "$(r busybox sh -c 'echo 1 > /proc/sysrq-trigger 2>&1; echo rc=$?')" "rc=1" "/proc/sysrq-trigger is read-only"
assert_contains "$(r busybox sh -c 'touch /sys/x 2>&1; mkdir /sys/kernel/y 2>&1; echo rc=$?')" "Read-only file system" "/sys is read-only"

# Capabilities: Docker's 14; --cap-drop/--cap-add change them; a non-root user has none.
assert_eq "$(r busybox sh -c 'grep CapEff /proc/self/status | cut -f2')" 00000000a80425fb "the 14 default capabilities"
assert_eq "$(r --cap-drop NET_RAW --cap-add SYS_TIME busybox sh -c 'grep CapEff /proc/self/status | cut -f2')" 00000000aa0405fb "--cap-drop NET_RAW --cap-add SYS_TIME"
assert_eq "$(r --user 1000 busybox sh -c 'grep CapEff /proc/self/status | cut -f2')" 0000000000000000 "a non-root user has no effective capabilities"
assert_eq "$(r --user 1000:1000 busybox id -u)" 1000 "--user uid"
expect_fail r --user nosuchuser busybox true
assert_contains "$ERR" "unable to find user nosuchuser" "unknown user refused with a reason"

# seccomp: mount/unshare/keyctl refused even with CAP_SYS_ADMIN dropped? They are refused by the
# filter (EPERM) for a default container; with seccomp=unconfined unshare then fails on caps.
out=$(r busybox sh -c 'mkdir /m; mount -t tmpfs none /m 2>&1; echo rc=$?; unshare -m true 2>&1; echo rc=$?')
assert_contains "$out" "Operation not permitted" "mount is refused"
assert_eq "$(r busybox sh -c 'grep Seccomp: /proc/self/status | cut -f2')" 2 "a seccomp filter is installed"
assert_eq "$(r --security-opt seccomp=unconfined busybox sh -c 'grep Seccomp: /proc/self/status | cut -f2')" 0 "seccomp=unconfined"
assert_eq "$(r --security-opt no-new-privileges busybox sh -c 'grep NoNewPrivs /proc/self/status | cut -f2')" 1 "no-new-privileges"
assert_eq "$(r busybox sh -c 'grep NoNewPrivs /proc/self/status | cut -f2')" 0 "no_new_privs off by default"

# No fd of berth's reaches the container: only 0, 1, 2 (and the one ls opens).
assert_eq "$(r busybox sh -c 'ls /proc/self/fd | tr "\n" " "')" "0 1 2 3 " "no leaked fds"

# --read-only, --tmpfs, -w creates the directory, env.
assert_contains "$(r --read-only busybox sh -c 'touch /x 2>&1')" "Read-only file system" "--read-only"
assert_eq "$(r --read-only --tmpfs /scratch busybox sh -c 'echo ok > /scratch/f && cat /scratch/f')" ok "--tmpfs is writable on a read-only rootfs"
assert_eq "$(r -w /new/dir busybox pwd)" /new/dir "-w creates the working directory"
assert_eq "$(r -e A=1 busybox sh -c 'echo $A $HOSTNAME' | cut -d' ' -f1)" 1 "-e"

# Resource flags reach the cgroup (v1 here).
prefix="berth-$(printf %s "$ROOT" | sha256sum | cut -c1-8)"
id=$(b run -d --network none -m 64m --cpus 0.5 busybox sleep 30)
if [ -d /sys/fs/cgroup/memory ]; then
  assert_eq "$(cat /sys/fs/cgroup/memory/$prefix/$id/memory.limit_in_bytes)" 67108864 "-m 64m is the cgroup's limit"
  assert_eq "$(cat /sys/fs/cgroup/cpu/$prefix/$id/cpu.cfs_quota_us)" 50000 "--cpus 0.5 is a 50 ms quota"
  pid=$(b inspect -f '{{.State.Pid}}' "$id")
  grep -q "$prefix/$id" "/proc/$pid/cgroup" || fail "the container's process is in its cgroup"
fi
b rm -f "$id" >/dev/null
[ -d "/sys/fs/cgroup/memory/$prefix/$id" ] && fail "rm removed the cgroup"
out=$(r --pids-limit 10 busybox sh -c 'for i in $(seq 1 20); do sleep 2 & done 2>&1; wait' 2>&1 || true)
assert_contains "$out" "can't fork" "--pids-limit stops forks"

# --privileged: all capabilities, no seccomp, /sys writable.
assert_eq "$(r --privileged busybox sh -c 'grep Seccomp: /proc/self/status | cut -f2')" 0 "privileged has no seccomp filter"
[ "$(r --privileged busybox sh -c 'grep CapEff /proc/self/status | cut -f2')" != 00000000a80425fb ] || fail "privileged has more capabilities"
echo ok
