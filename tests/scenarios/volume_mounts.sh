#!/usr/bin/env bash
# Volumes and mounts through run/create (issue 5): named volumes shared between containers,
# copy-up from the image (and nocopy), anonymous volumes and rm -v, image VOLUMEs, binds live and
# read-only, tmpfs limits, --volumes-from, symlinked targets that must stay inside the rootfs,
# bad input refused with nothing created, and nothing left mounted afterwards.
source "$(dirname "$0")/lib.sh"
require_root

b import "$(busybox_tar)" busybox >/dev/null
N=vm$$

mounted_under() { grep -c " $1" /proc/self/mountinfo || true; }

# ---- named volume: written by one container, read by the next -----------------------------
b run --rm -v "data-$N:/data" busybox sh -c 'echo hello > /data/f' >/dev/null
assert_eq "$(b run --rm -v "data-$N:/data" busybox cat /data/f)" "hello" "a named volume outlives its container"
assert_eq "$(b volume ls -q | grep -c "^data-$N$")" 1 "run -v NAME creates the volume"
assert_eq "$(cat "$ROOT/volumes/data-$N/_data/f")" "hello" "the data is in the volume's directory"

# ---- copy-up: a new volume over image content gets that content, owner and mode kept --------
b run --name "src-$N" busybox sh -c 'mkdir -p /seed && echo seeded > /seed/a && chown 1234:5678 /seed/a && chmod 640 /seed/a' >/dev/null
b commit --change 'VOLUME /anon' "src-$N" "seeded-$N" >/dev/null
b rm "src-$N" >/dev/null
assert_eq "$(b run --rm -v "seed-$N:/seed" "seeded-$N" cat /seed/a)" "seeded" "copy-up fills a new named volume"
assert_eq "$(stat -c '%u:%g %a' "$ROOT/volumes/seed-$N/_data/a")" "1234:5678 640" "copy-up keeps owner and mode"
b run --rm -v "seed-$N:/seed" "seeded-$N" sh -c 'echo changed > /seed/a' >/dev/null
assert_eq "$(b run --rm -v "seed-$N:/seed" "seeded-$N" cat /seed/a)" "changed" "a volume with content is not filled again"
assert_eq "$(b run --rm --mount "type=volume,source=empty-$N,target=/seed,volume-nocopy" "seeded-$N" ls -A /seed)" "" "volume-nocopy leaves the volume empty"

# ---- anonymous volumes: -v /path and the image's VOLUME; rm -v removes them -------------------
before=$(b volume ls -q | wc -l)
b create --name "anon-$N" -v /scratch "seeded-$N" true >/dev/null
assert_eq "$(b volume ls -q | wc -l)" "$((before + 2))" "-v /path and the image VOLUME each make an anonymous volume"
anon=$(b inspect -f '{{range .Mounts}}{{if eq .Destination "/scratch"}}{{.Name}}{{end}}{{end}}' "anon-$N")
[[ $anon =~ ^[0-9a-f]{64}$ ]] || fail "anonymous volume name in inspect: [$anon]"
assert_contains "$(b volume inspect "$anon")" '"com.docker.volume.anonymous"' "anonymous volumes are labelled as Docker labels them"
expect_fail b volume rm "$anon"
assert_contains "$ERR" "volume is in use" "a volume in use cannot be removed"
b rm -v "anon-$N" >/dev/null
assert_eq "$(b volume ls -q | wc -l)" "$before" "rm -v removes the container's anonymous volumes"
b create --name "keep-$N" -v /scratch -v "named-$N:/n" busybox true >/dev/null
b rm "keep-$N" >/dev/null
assert_eq "$(b volume ls -q | wc -l)" "$((before + 2))" "rm without -v keeps them"
b volume prune -f >/dev/null
assert_eq "$(b volume ls -q | grep -c "^named-$N$")" 1 "prune without --all keeps named volumes"

# ---- binds: live, read-only, created when missing with -v, an error with --mount -------------
HOST="$WORK/host"
mkdir -p "$HOST"
echo one >"$HOST/f"
b run -d --name "bind-$N" -v "$HOST:/h" -v "$HOST:/ro:ro" busybox sleep 60 >/dev/null
echo two >"$HOST/f"
assert_eq "$(b exec "bind-$N" cat /h/f)" "two" "a bind mount shows host edits live"
b exec "bind-$N" sh -c 'echo three > /h/f'
assert_eq "$(cat "$HOST/f")" "three" "writes through a rw bind reach the host"
expect_fail b exec "bind-$N" sh -c 'echo x > /ro/f'
assert_contains "$ERR" "Read-only file system" "a :ro bind refuses writes"
b rm -f "bind-$N" >/dev/null
b run --rm -v "$WORK/made/by/run:/m" busybox true
[ -d "$WORK/made/by/run" ] || fail "-v creates a missing host directory"
expect_fail b run --rm --mount "type=bind,source=$WORK/absent,target=/m" busybox true
assert_contains "$ERR" "bind source path does not exist" "--mount refuses a missing host path"

# ---- tmpfs size is enforced ---------------------------------------------------------------
expect_fail b run --rm --tmpfs /t:size=1m busybox dd if=/dev/zero of=/t/big bs=1k count=2048
assert_contains "$ERR" "No space left on device" "tmpfs size limit"

# ---- --volumes-from ---------------------------------------------------------------------------
b create --name "owner-$N" -v "shared-$N:/shared" -v "$HOST:/h" busybox true >/dev/null
b run --rm --volumes-from "owner-$N" busybox sh -c 'echo via-from > /shared/x'
assert_eq "$(cat "$ROOT/volumes/shared-$N/_data/x")" "via-from" "--volumes-from mounts the other container's volume"
expect_fail b run --rm --volumes-from "owner-$N:ro" busybox sh -c 'echo x > /h/y'
assert_contains "$ERR" "Read-only file system" "--volumes-from :ro makes them read-only"
b rm "owner-$N" >/dev/null

# ---- a symlinked target in the image cannot move a mount onto the host -------------------------
ESC="$WORK/escape-target"
mkdir -p "$ESC"
b run --name "sym-$N" busybox ln -s "$ESC" /escape >/dev/null
b commit "sym-$N" "sym-$N" >/dev/null
b rm "sym-$N" >/dev/null
b run -d --name "symrun-$N" -v "$HOST:/escape" "sym-$N" sleep 60 >/dev/null
assert_eq "$(mounted_under "$ESC")" 0 "the host path the symlink names is not mounted over"
assert_eq "$(ls -A "$ESC")" "" "nothing reached the host path"
assert_eq "$(b exec "symrun-$N" cat "$ESC/f")" "three" "the mount landed inside the rootfs"
b rm -f "symrun-$N" >/dev/null

# ---- bad input: a clear error, nothing created ----------------------------------------------
vols=$(b volume ls -q | sort)
ctrs=$(b ps -aq | sort)
for bad in "--mount type=bind,source=relative,target=/x" "--mount type=volume,source=v1,target=relative" \
            "--mount type=volume,source=v1,target=/x,bogus=1" "-v bad*name:/x" "-v $HOST:/x:zz"; do
  # shellcheck disable=SC2086
  expect_fail b create $bad busybox true
  assert_eq "$RC" 125 "exit code for [$bad]"
  [ -n "$ERR" ] || fail "an error message for [$bad]"
done
assert_eq "$(b volume ls -q | sort)" "$vols" "bad input creates no volume"
assert_eq "$(b ps -aq | sort)" "$ctrs" "bad input creates no container"

# ---- nothing stays mounted -------------------------------------------------------------------
assert_eq "$(b ps -aq | wc -l)" 0 "no containers left"
assert_eq "$(mounted_under "$ROOT")" 0 "nothing mounted under the root"
assert_eq "$(mounted_under "$RUN")" 0 "nothing mounted under the run dir"
echo "ok: $SCENARIO"
