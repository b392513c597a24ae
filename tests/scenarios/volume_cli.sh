#!/usr/bin/env bash
# berth volume create/ls/inspect/rm/prune and system df/prune, end to end through the CLI:
# output as docker prints it, errors worded as Docker's, bad input changing nothing.
source "$(dirname "$0")/lib.sh"

lines() { if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l; fi; }
json_get() {  # JSON-TEXT PYTHON-EXPR (j is the parsed value)
  python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

# A container that uses a volume: a record in the engine's on-disk shape (config.json with
# HostConfig.Mounts, no shim, so stopped), which is what the volume and system commands read.
# (Written by hand so this scenario tests the volume commands alone; volume_mounts.sh covers
# the engine's own use of volumes through create/run.)
CTR=""
use_volume() {  # VOLUME -> sets CTR to the container's ID
  CTR=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  mkdir -p "$ROOT/containers/$CTR"
  cat >"$ROOT/containers/$CTR/config.json" <<EOF
{"Id": "$CTR", "Name": "user-of-$1", "Created": $(date +%s%N), "Image": "", "Path": "true", "Args": [],
 "Config": {"Image": "busybox", "Labels": {}},
 "HostConfig": {"Mounts": [{"Type": "volume", "Source": "$1", "Target": "/data", "ReadOnly": false}]}}
EOF
}

# ---- create ------------------------------------------------------------------------------------
assert_eq "$(b volume create data)" "data" "create prints the volume's name"
ANON=$(b volume create)
[[ $ANON =~ ^[0-9a-f]{64}$ ]] || fail "an anonymous volume gets 64 hex: [$ANON]"
assert_eq "$(b volume create --label env=dev --label tier=web web)" "web" "create with labels"
assert_eq "$(b volume create --name data)" "data" "an existing name (via --name) is not an error"
assert_eq "$(b volume create -o type=tmpfs -o device=tmpfs -o o=size=16m,uid=1000 scratch)" "scratch" "tmpfs options"
assert_eq "$(b volume create -d local -o type=none -o device=/srv -o o=bind hostdir)" "hostdir" "bind options"

expect_fail b volume create a
assert_eq "$ERR" "Error: create a: volume name is too short, names should be at least two alphanumeric characters" "short name"
assert_eq "$RC" 1 "exit code of a daemon-side error"
expect_fail b volume create 'bad name'
assert_contains "$ERR" 'create bad name: "bad name" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed' "bad name"
expect_fail b volume create -d flocker x1
assert_eq "$ERR" 'Error: create x1: error looking up volume plugin flocker: plugin "flocker" not found' "unknown driver"
expect_fail b volume create -o colour=red x2
assert_eq "$ERR" 'Error: create x2: invalid option: "colour"' "unknown option"
expect_fail b volume create -o o=size=1m x3
assert_contains "$ERR" 'create x3: missing required option: "device"' "o needs device"
expect_fail b volume create -o size=1g x4
assert_contains "$ERR" "quota size requested but no quota support" "size quota"
expect_fail b volume create -o type=none -o device=relative -o o=bind x5
assert_contains "$ERR" 'device "relative" must be an absolute path' "bind device"
expect_fail b volume create --name n1 n2
assert_contains "$ERR" "conflicting options: either specify --name or provide positional arg, not both" "--name and arg"
expect_fail b volume create --label =x x6
assert_eq "$RC" 125 "a bad flag value is a flag error"
assert_eq "$(b volume ls -q | sort | tr '\n' ' ')" "$(printf '%s\n' "$ANON" data hostdir scratch web | sort | tr '\n' ' ')" \
  "bad requests created nothing"
for leftover in "$ROOT"/volumes/.new-*; do [ -e "$leftover" ] && fail "staging dir left: $leftover"; done

# ---- ls ----------------------------------------------------------------------------------------
OUT=$(b volume ls)
assert_eq "$(printf '%s\n' "$OUT" | head -1)" "DRIVER    VOLUME NAME" "ls header"
assert_contains "$OUT" $'\nlocal     data\n' "ls row"
assert_eq "$(lines "$OUT")" 6 "header + 5 volumes"
assert_eq "$(b volume ls -q --filter name=web)" "web" "name filter"
# (^dat: the anonymous volume's hex name can start with d, never with dat)
assert_eq "$(b volume ls -q --filter name=^dat)" "data" "name filter is a regexp"
assert_eq "$(b volume ls -q --filter label=env=dev)" "web" "label filter"
assert_eq "$(b volume ls -q --filter label=env --filter label=tier=x)" "" "label filters must all hold"
assert_eq "$(b volume ls -q --filter driver=local | wc -l)" 5 "driver filter"
assert_eq "$(b volume ls -q --filter dangling=true | wc -l)" 5 "nothing uses any volume yet"
assert_eq "$(b volume ls --format '{{.Name}} {{.Labels}} {{.Scope}}' --filter name=web)" "web env=dev,tier=web local" "--format"
assert_eq "$(b volume ls --format '{{.Label "tier"}}' --filter name=web)" "web" "{{.Label}}"
J=$(b volume ls --format json --filter name=web)
assert_eq "$(json_get "$J" 'j["Name"], j["Driver"], j["Mountpoint"], j["Links"]')" \
  "('web', 'local', '$ROOT/volumes/web/_data', 'N/A')" "--format json"
assert_eq "$(b volume ls --format 'table {{.Name}}\t{{.Driver}}' --filter name=data | head -1)" "VOLUME NAME   DRIVER" \
  "table template header"
expect_fail b volume ls --filter colour=red
assert_eq "$ERR" "Error: invalid filter 'colour'" "bad filter key"
expect_fail b volume ls --filter dangling=maybe
assert_eq "$ERR" "Error: invalid filter 'dangling=maybe'" "bad dangling value"
# Natural order, as docker/cli sorts: v2 before v10.
b volume create v10 >/dev/null
b volume create v2 >/dev/null
assert_eq "$(b volume ls -q --filter name=^v | tr '\n' ' ')" "v2 v10 " "natural sort"
b volume rm v2 v10 >/dev/null

# ---- inspect -----------------------------------------------------------------------------------
J=$(b volume inspect data)
assert_eq "$(json_get "$J" 'len(j)')" 1 "inspect prints an array"
assert_eq "$(json_get "$J" 'list(j[0].keys())')" \
  "['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']" "inspect keys in Docker's order"
assert_eq "$(json_get "$J" 'j[0]["Name"], j[0]["Driver"], j[0]["Scope"], j[0]["Labels"], j[0]["Options"]')" \
  "('data', 'local', 'local', {}, {})" "inspect fields"
CREATED=$(json_get "$J" 'j[0]["CreatedAt"]')
[[ $CREATED =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})$ ]] ||
  fail "CreatedAt is RFC 3339: [$CREATED]"
assert_eq "$(b volume inspect -f '{{.Mountpoint}}' data)" "$ROOT/volumes/data/_data" "inspect --format"
[ -d "$ROOT/volumes/data/_data" ] || fail "the mountpoint exists"
assert_eq "$(b volume inspect --format '{{.Options.type}} {{.Options.o}}' scratch)" "tmpfs size=16m,uid=1000" "options kept"
assert_eq "$(b volume inspect --format '{{index .Labels "com.docker.volume.anonymous"}}|{{len .Labels}}' "$ANON")" "|1" \
  "anonymous label"
expect_fail b volume inspect nope
assert_eq "$ERR" "Error: No such volume: nope" "inspect of a missing volume"
assert_eq "$(b volume inspect nope 2>/dev/null || true)" "[]" "an empty array on stdout"
set +e
OUT=$(b volume inspect -f '{{.Name}}' data nope 2>/dev/null)
RC=$?
set -e
assert_eq "$OUT" "data" "the ones that exist are printed"
assert_eq "$RC" 1 "and the command fails"

# ---- rm ----------------------------------------------------------------------------------------
use_volume data
USER_OF_DATA=$CTR
expect_fail b volume rm data
assert_eq "$ERR" "Error: remove data: volume is in use - [$USER_OF_DATA]" "rm of a volume in use"
expect_fail b volume rm -f data
assert_eq "$ERR" "Error: remove data: volume is in use - [$USER_OF_DATA]" "-f does not remove a volume in use"
[ -d "$ROOT/volumes/data/_data" ] || fail "the refused volume is intact"
expect_fail b volume rm nope
assert_eq "$ERR" "Error: No such volume: nope" "rm of a missing volume"
assert_eq "$(b volume rm -f nope)" "nope" "-f: a missing volume is not an error"
set +e
OUT=$(b volume rm web nope 2>"$WORK/err")
RC=$?
set -e
assert_eq "$OUT" "web" "rm prints what it removed"
assert_eq "$(cat "$WORK/err")" "Error: No such volume: nope" "and reports what it could not"
assert_eq "$RC" 1 "exit code with a failure"
[ ! -e "$ROOT/volumes/web" ] || fail "web's directory is gone"
assert_eq "$(b volume ls -q --filter dangling=false)" "data" "dangling=false: volumes in use"

# ---- prune -------------------------------------------------------------------------------------
head -c 100000 /dev/urandom >"$ROOT/volumes/$ANON/_data/blob"
OUT=$(b volume prune -f)
assert_contains "$OUT" $'Deleted Volumes:\n'"$ANON"$'\n\nTotal reclaimed space: ' "prune removes the unused anonymous volume"
RECLAIMED=${OUT##*Total reclaimed space: }
[[ $RECLAIMED =~ ^10[0-9](\.[0-9]+)?kB$ ]] || fail "reclaimed ~100kB, got [$RECLAIMED]"
assert_eq "$(b volume prune -f)" "Total reclaimed space: 0B" "nothing left to prune by default"
b volume create --label keep=1 keepme >/dev/null
b volume create gone >/dev/null
assert_eq "$(echo n | b volume prune -a)" \
  "WARNING! This will remove all local volumes not used by at least one container.
Are you sure you want to continue? [y/N] " "prompt, declined"
b volume inspect gone >/dev/null
OUT=$(b volume prune -a -f --filter label!=keep)
assert_eq "$OUT" $'Deleted Volumes:\ngone\n\nTotal reclaimed space: 0B' "prune -a with label!= (data in use, options kept)"
assert_eq "$(b volume ls -q | sort | tr '\n' ' ')" "data hostdir keepme scratch " "in use, options and the filtered survive"
expect_fail b volume prune -a -f --filter all=1
assert_contains "$ERR" "conflicting options: cannot specify both --all and --filter all=1" "--all and all="
expect_fail b volume prune -f --filter dangling=true
assert_eq "$ERR" "Error: invalid filter 'dangling'" "prune takes label/all filters"
OUT=$(echo y | b volume prune --filter all=true --filter label=keep)
assert_contains "$OUT" $'Deleted Volumes:\nkeepme\n' "all=true filter, confirmed"

# ---- system df ---------------------------------------------------------------------------------
ANON2=$(b volume create)
head -c 50000 /dev/urandom >"$ROOT/volumes/$ANON2/_data/blob"
OUT=$(b system df)
assert_eq "$(printf '%s\n' "$OUT" | head -1 | tr -s ' ')" "TYPE TOTAL ACTIVE SIZE RECLAIMABLE" "df header"
ROW=$(printf '%s\n' "$OUT" | grep '^Local Volumes')
read -r _ _ TOTAL ACTIVE SIZE RECL PCT <<<"$ROW"
assert_eq "$TOTAL/$ACTIVE" "2/1" "two local volumes without options, one in use"
[[ $RECL == "$SIZE" || $PCT == "(100%)" || $PCT =~ ^\(9[0-9]%\)$ ]] || fail "the anonymous volume is reclaimable: [$ROW]"
assert_contains "$OUT" "Build Cache" "df has the build cache row"
assert_eq "$(b system df --format '{{.Type}}:{{.TotalCount}}:{{.Active}}' | grep Volumes)" "Local Volumes:2:1" "df --format"
J=$(b system df --format json | grep '"Local Volumes"')
assert_eq "$(json_get "$J" 'list(j.keys())')" "['Active', 'Reclaimable', 'Size', 'TotalCount', 'Type']" "df json keys"
OUT=$(b system df -v)
assert_contains "$OUT" "Local Volumes space usage:" "df -v sections"
assert_contains "$OUT" "Containers space usage:" "df -v sections"
assert_eq "$(printf '%s\n' "$OUT" | grep '^VOLUME NAME' | tr -s ' ')" "VOLUME NAME LINKS SIZE" "df -v volume header"
assert_eq "$(printf '%s\n' "$OUT" | grep '^data ' | tr -s ' ' | cut -d' ' -f1-2)" "data 1" "data has one link"
assert_contains "$OUT" "${USER_OF_DATA:0:12}" "the container is listed"
J=$(b system df -v --format json)
assert_eq "$(json_get "$J" 'sorted(v["Name"] for v in j["Volumes"])')" "$(json_get "[\"$ANON2\", \"data\"]" 'sorted(j)')" \
  "df -v json lists the local volumes"

# ---- system prune ------------------------------------------------------------------------------
OUT=$(echo n | b system prune --volumes --filter label=x)
assert_eq "$OUT" "WARNING! This will remove:
  - all stopped containers
  - all networks not used by at least one container
  - all anonymous volumes not used by at least one container
  - all dangling images
  - unused build cache

  Items to be pruned will be filtered with:
  - label=x

Are you sure you want to continue? [y/N] " "system prune confirmation"
expect_fail b system prune -f --volumes --filter until=1h
assert_contains "$ERR" 'The "until" filter is not supported with "--volumes"' "until with --volumes"
OUT=$(b system prune -f)
assert_contains "$OUT" $'Deleted Containers:\n'"$USER_OF_DATA"$'\n' "the stopped container is pruned"
assert_contains "$OUT" "Total reclaimed space: " "total line"
[ ! -e "$ROOT/containers/$USER_OF_DATA" ] || fail "the container's directory is gone"
b volume inspect "$ANON2" >/dev/null  # without --volumes, volumes stay
OUT=$(b system prune -f --volumes)
assert_contains "$OUT" $'Deleted Volumes:\n'"$ANON2"$'\n' "--volumes prunes the anonymous volume"
assert_eq "$(b volume ls -q | sort | tr '\n' ' ')" "data hostdir scratch " "named volumes survive system prune"
assert_eq "$(b volume rm data)" "data" "data is no longer in use"

# ---- with the engine's own container records (root: the test image needs it) ---------------------
if [ "$(id -u)" -eq 0 ] && TAR=$(busybox_tar 2>/dev/null) && b import "$TAR" busybox >/dev/null 2>&1; then
  b volume create shared >/dev/null
  ID=$(b create -v shared:/data busybox true)
  expect_fail b volume rm shared
  assert_eq "$ERR" "Error: remove shared: volume is in use - [$ID]" "a container made by berth create holds the volume"
  assert_eq "$(b volume ls -q --filter dangling=false)" "shared" "dangling=false sees it"
  assert_eq "$(b system df --format '{{.Type}} {{.TotalCount}} {{.Active}}' | grep -E '^(Containers|Images)' | tr '\n' ' ')" \
    "Images 1 1 Containers 1 0 " "df counts the created container and its image"
  OUT=$(b system prune -f)
  assert_contains "$OUT" $'Deleted Containers:\n'"$ID"$'\n' "system prune removes the created (never started) container"
  assert_eq "$(b ps -aq)" "" "ps agrees it is gone"
  assert_eq "$(b volume rm shared)" "shared" "then the volume can go"
  WITH_ENGINE=" (and with berth create's records)"
fi
echo "ok: $SCENARIO${WITH_ENGINE:-}"
