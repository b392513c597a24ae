#!/usr/bin/env bash
# berth cp both ways (issue 3): Docker's placement rules (into a directory, as a new name, "/."
# for contents), running and stopped containers, volumes of a running one, tar streams with "-",
# symlinks in the container that must not redirect a copy to the host, clear errors.
source "$(dirname "$0")/lib.sh"
require_root

b import "$(busybox_tar)" busybox >/dev/null
N=cp$$
H="$WORK/host"
mkdir -p "$H/d/sub"
echo hi >"$H/f"
echo deep >"$H/d/sub/y"

b run -d --name "c-$N" -v "v-$N:/vol" busybox sh -c "mkdir -p $H; ln -s $H /escape; sleep 120" >/dev/null
eventually 5 b exec "c-$N" test -L /escape

# host -> container
b cp "$H/f" "c-$N:/tmp/"
assert_eq "$(b exec "c-$N" cat /tmp/f)" "hi" "a file into an existing directory keeps its name"
b cp "$H/f" "c-$N:/tmp/renamed"
assert_eq "$(b exec "c-$N" cat /tmp/renamed)" "hi" "a file to a new name"
b cp "$H/d" "c-$N:/vol/newd"
assert_eq "$(b exec "c-$N" cat /vol/newd/sub/y)" "deep" "a directory to a new name, into the container's volume"
assert_eq "$(cat "$ROOT/volumes/v-$N/_data/newd/sub/y")" "deep" "the copy is in the volume itself"
b cp "$H/d/." "c-$N:/tmp/"
assert_eq "$(b exec "c-$N" cat /tmp/sub/y)" "deep" "dir/. copies the contents"

# container -> host
b cp "c-$N:/etc/passwd" "$H/pw"
assert_eq "$(head -1 "$H/pw" | cut -d: -f1)" "root" "a file out of the container"
b cp "c-$N:/vol/newd" "$H/out"
assert_eq "$(cat "$H/out/sub/y")" "deep" "a directory out of the container"
assert_eq "$(b cp "c-$N:/etc/passwd" - | tar t)" "passwd" "DEST - writes a tar"
tar -C "$H" -cf - f | b cp - "c-$N:/vol"
assert_eq "$(b exec "c-$N" cat /vol/f)" "hi" "SRC - extracts a tar into a directory"

# a symlink in the container points at a host path: the copy stays in the container
b cp "$H/f" "c-$N:/escape/planted"
[ ! -e "$H/planted" ] || fail "a copy followed a container symlink onto the host"
assert_eq "$(b exec "c-$N" cat "$H/planted")" "hi" "the copy landed inside the container"

# errors
expect_fail b cp "c-$N:/nope" "$H/"
assert_contains "$ERR" "Could not find the file /nope" "missing source"
expect_fail b cp "$H/d" "c-$N:/etc/passwd"
assert_contains "$ERR" "cannot copy a directory to a file" "dir onto a file"
expect_fail b cp "$H/f" "c-$N:/no/such/dir/x"
assert_contains "$ERR" "no such directory" "missing parent"
expect_fail b cp "$H/f" "$H/g"
assert_contains "$ERR" "must specify at least one container" "no container named"

# a stopped container: its own layers
b stop -t 0 "c-$N" >/dev/null
b cp "$H/f" "c-$N:/stopped.txt"
assert_eq "$(b cp "c-$N:/stopped.txt" - | tar xO)" "hi" "copy into and out of a stopped container"
b start "c-$N" >/dev/null
assert_eq "$(b exec "c-$N" cat /stopped.txt)" "hi" "the copy is in the container's layer"
b rm -f "c-$N" >/dev/null
assert_eq "$(grep -c " $ROOT" /proc/self/mountinfo || true)" 0 "nothing stays mounted"
echo "ok: $SCENARIO"
