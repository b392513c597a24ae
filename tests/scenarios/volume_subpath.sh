#!/usr/bin/env bash
# --mount type=volume,volume-subpath=P (Docker 26+): only P of the volume is mounted; P must
# exist in the volume and is resolved without leaving it.
source "$(dirname "$0")/lib.sh"
require_root
b import "$(busybox_tar)" busybox >/dev/null
R="--network none"

b volume create data >/dev/null
b run --rm $R -v data:/d busybox sh -c 'mkdir -p /d/sub/inner && echo in-sub > /d/sub/f && echo top > /d/top && ln -s /etc /d/escape'
sub() { echo "type=volume,src=data,dst=$1,volume-subpath=$2"; }
assert_eq "$(b run --rm $R --mount "$(sub /m sub)" busybox cat /m/f)" in-sub "a directory subpath is mounted"
assert_eq "$(b run --rm $R --mount "$(sub /m sub)" busybox ls /m | tr '\n' ' ')" "f inner " "only the subpath is visible"
assert_eq "$(b run --rm $R --mount "$(sub /etc/top.txt top)" busybox cat /etc/top.txt)" top "a file subpath is mounted on a file"
b run --rm $R --mount "$(sub /m sub/inner)" busybox sh -c 'echo written > /m/new'
assert_eq "$(b run --rm $R -v data:/d busybox cat /d/sub/inner/new)" written "writes land in the volume"

expect_fail b run --rm $R --mount "$(sub /m nope)" busybox true
assert_contains "$ERR" "nope: no such file or directory" "a missing subpath is named"
expect_fail b run --rm $R --mount "$(sub /m ../x)" busybox true
assert_contains "$ERR" "subpath must be a relative path within the volume" "a subpath above the volume is refused"
# A symlink in the volume is resolved inside it: /etc here is the volume's, which has none.
expect_fail b run --rm $R --mount "$(sub /m escape)" busybox true
assert_contains "$ERR" "no such file or directory" "a symlink cannot lead out of the volume"
expect_fail b run --rm $R --mount "type=bind,src=/tmp,dst=/m,volume-subpath=x" busybox true
assert_contains "$ERR" "volume-subpath is for volumes" "subpath only on volumes"

b create $R --name sp --mount "$(sub /m sub)" busybox true >/dev/null
assert_eq "$(b inspect -f '{{range .HostConfig.Mounts}}{{.VolumeOptions.Subpath}}{{end}}' sp)" sub "inspect shows the subpath"
b rm sp >/dev/null
assert_eq "$(b ps -aq | wc -l)" 0 "failed runs left no container"
echo "ok: $SCENARIO"
