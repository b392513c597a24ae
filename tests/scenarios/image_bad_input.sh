#!/usr/bin/env bash
# Bad input to import/load is refused with one clear sentence and changes nothing in the store.
source "$(dirname "$0")/lib.sh"
require_cmd jq

# The archives come from another root; the store under test holds an unrelated image, so no
# layer of the archives is already there to be reused.
src() { "$BERTH" --root "$WORK/src" --run-dir "$WORK/src-run" "$@"; }
src import "$(busybox_tar)" base:1 >/dev/null
src save -o "$WORK/good.tar" base:1
mkdir "$WORK/other" && echo hello > "$WORK/other/hello"
tar -C "$WORK/other" -cf "$WORK/other.tar" hello
b import "$WORK/other.tar" other:1 >/dev/null

snapshot() { (cd "$ROOT/images" && find . -type f ! -name '*.lock' -printf '%p %s\n' | sort); }
before=$(snapshot)

check_refused() {  # message-fragment command...
  local want=$1; shift
  expect_fail "$@"
  assert_contains "$ERR" "$want" "refusal of: $*"
  [ "$(echo "$ERR" | wc -l)" -eq 1 ] || fail "more than one line of error for $*: $ERR"
  assert_eq "$(snapshot)" "$before" "store unchanged after: $*"
}

# variant NAME: a copy of the good archive unpacked in $WORK/NAME, to edit and pack() again.
variant() { rm -rf "$WORK/$1"; mkdir "$WORK/$1"; tar -C "$WORK/$1" -xf "$WORK/good.tar"; }
pack() { tar -C "$WORK/$1" -cf "$WORK/$1.tar" .; }
sha() { sha256sum "$1" | cut -c1-64; }

# A truncated archive, a truncated gzip'd one, a truncated rootfs tarball.
head -c 100000 "$WORK/good.tar" > "$WORK/trunc.tar"
check_refused "truncated" b load -i "$WORK/trunc.tar"
gzip -c "$WORK/good.tar" > "$WORK/good.tar.gz"
head -c 50000 "$WORK/good.tar.gz" > "$WORK/trunc.tar.gz"
check_refused "truncated" b load -i "$WORK/trunc.tar.gz"
head -c 300000 "$(busybox_tar)" > "$WORK/trunc-rootfs.tar"
check_refused "truncated" b import "$WORK/trunc-rootfs.tar" bad:1

# A corrupt layer blob (bytes overwritten in the middle): through manifest.json the DiffID
# check catches it, through the OCI index the blob digest does.
variant corrupt
layer=$(jq -r '.[0].Layers[0]' "$WORK/corrupt/manifest.json")
printf 'CORRUPT!' | dd of="$WORK/corrupt/$layer" bs=1 seek=1000000 conv=notrunc status=none
pack corrupt
check_refused "DiffID" b load -i "$WORK/corrupt.tar"
rm "$WORK/corrupt/manifest.json" "$WORK/corrupt/repositories"
pack corrupt
check_refused "content digest" b load -i "$WORK/corrupt.tar"

# A config whose DiffID is wrong (manifest.json pointing at the edited config).
variant diffid
cfg=$(jq -r '.[0].Config' "$WORK/diffid/manifest.json")
jq -c '.rootfs.diff_ids = ["sha256:'"$(printf '0%.0s' {1..64})"'"]' "$WORK/diffid/$cfg" > "$WORK/diffid/new.json"
jq -c '.[0].Config = "new.json"' "$WORK/diffid/manifest.json" > "$WORK/m" && mv "$WORK/m" "$WORK/diffid/manifest.json"
pack diffid
check_refused "DiffID" b load -i "$WORK/diffid.tar"

# Malformed manifest.json; an OCI manifest with an unknown layer media type.
variant badmanifest
echo '{not json' > "$WORK/badmanifest/manifest.json"
pack badmanifest
check_refused "manifest.json" b load -i "$WORK/badmanifest.tar"
variant mediatype
rm "$WORK/mediatype/manifest.json" "$WORK/mediatype/repositories"
old=$(jq -r '.manifests[0].digest' "$WORK/mediatype/index.json")
jq -c '.layers[0].mediaType = "application/x-berth-unknown"' "$WORK/mediatype/blobs/sha256/${old#sha256:}" > "$WORK/m.json"
new=$(sha "$WORK/m.json")
mv "$WORK/m.json" "$WORK/mediatype/blobs/sha256/$new"
jq -c --arg d "sha256:$new" --argjson s "$(stat -c %s "$WORK/mediatype/blobs/sha256/$new")" \
  '.manifests[0].digest = $d | .manifests[0].size = $s' "$WORK/mediatype/index.json" > "$WORK/i" && mv "$WORK/i" "$WORK/mediatype/index.json"
pack mediatype
check_refused "unknown media type application/x-berth-unknown" b load -i "$WORK/mediatype.tar"
# A manifest blob whose digest does not match its name.
variant wrongdigest
rm "$WORK/wrongdigest/manifest.json"
m=$(jq -r '.manifests[0].digest' "$WORK/wrongdigest/index.json")
echo ' ' >> "$WORK/wrongdigest/blobs/sha256/${m#sha256:}"
pack wrongdigest
check_refused "is corrupt" b load -i "$WORK/wrongdigest.tar"

# Not an archive at all; an empty one; a file that does not exist; a --change that is not one.
echo "hello" > "$WORK/hello.txt"
check_refused "not a valid tar archive" b load -i "$WORK/hello.txt"
: > "$WORK/empty"
check_refused "is empty" b load -i "$WORK/empty"
check_refused "No such file or directory" b load -i "$WORK/missing.tar"
check_refused "RUN is not a valid change command" b import -c 'RUN rm -rf /' "$(busybox_tar)" bad:2
# A rootfs tarball that climbs out of its root.
echo evil > "$WORK/other/evil"
tar -C "$WORK/other" -cPf "$WORK/evil.tar" --transform 's,^evil$,../../evil,' hello evil
check_refused '"../../evil"' b import "$WORK/evil.tar" bad:3
[ ! -e "$WORK/../evil" ] && [ ! -e "$ROOT/../../evil" ] || fail "the escape left a file"

assert_eq "$(b images --format '{{.Repository}}:{{.Tag}}')" "other:1" "only the first image remains"
assert_eq "$(b load -i "$WORK/good.tar")" "Loaded image: base:1" "the good archive still loads"
echo "ok: $SCENARIO"
