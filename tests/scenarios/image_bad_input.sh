#!/usr/bin/env bash
# Bad input to import/load is refused with one clear sentence and changes nothing in the store.
source "$(dirname "$0")/lib.sh"
require_cmd python3

# The archives come from another root; the store under test holds an unrelated image, so no
# layer of the archives is already there to be reused.
src() { "$BERTH" --root "$WORK/src" --run-dir "$WORK/src-run" "$@"; }
src import "$(busybox_tar)" base:1 >/dev/null
src save -o "$WORK/good.tar" base:1
python3 - "$WORK/other.tar" <<'PY'
import sys, tarfile, io
with tarfile.open(sys.argv[1], "w") as o:
    m = tarfile.TarInfo("hello"); m.size = 5; o.addfile(m, io.BytesIO(b"hello"))
PY
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

# A truncated archive, and a truncated gzip'd one.
head -c 100000 "$WORK/good.tar" > "$WORK/trunc.tar"
check_refused "truncated" b load -i "$WORK/trunc.tar"
gzip -c "$WORK/good.tar" > "$WORK/good.tar.gz"
head -c 50000 "$WORK/good.tar.gz" > "$WORK/trunc.tar.gz"
check_refused "truncated" b load -i "$WORK/trunc.tar.gz"
head -c 300000 "$(busybox_tar)" > "$WORK/trunc-rootfs.tar"
check_refused "truncated" b import "$WORK/trunc-rootfs.tar" bad:1

# Rewrite one file of the archive (python's tarfile keeps everything else byte for byte).
edit() {  # out member python-expression-of-data
  python3 - "$WORK/good.tar" "$1" "$2" "$3" <<'PY'
import sys, tarfile, io, json
src, out, member, expr = sys.argv[1:]
with tarfile.open(src) as t, tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as o:
    for m in t.getmembers():
        data = t.extractfile(m).read() if m.isfile() else None
        if m.name == member:
            data = eval(expr, {"data": data, "json": json})
            m.size = len(data)
        o.addfile(m, io.BytesIO(data) if data is not None else None)
PY
}
layer=$(tar -xOf "$WORK/good.tar" manifest.json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Layers"][0])')
config=$(tar -xOf "$WORK/good.tar" manifest.json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Config"])')
manifest=$(tar -xOf "$WORK/good.tar" index.json | python3 -c 'import json,sys; print("blobs/sha256/" + json.load(sys.stdin)["manifests"][0]["digest"][7:])')

# A corrupt layer blob: one byte flipped in the middle (its digest no longer matches).
edit "$WORK/corrupt.tar" "$layer" 'data[:len(data)//2] + bytes([data[len(data)//2] ^ 1]) + data[len(data)//2+1:]'
check_refused "DiffID" b load -i "$WORK/corrupt.tar"
# The same through the OCI side (no manifest.json): the blob digest itself is checked.
python3 - "$WORK/corrupt.tar" "$WORK/corrupt-oci.tar" <<'PY'
import sys, tarfile, io
with tarfile.open(sys.argv[1]) as t, tarfile.open(sys.argv[2], "w", format=tarfile.PAX_FORMAT) as o:
    for m in t.getmembers():
        if m.name in ("manifest.json", "repositories"): continue
        o.addfile(m, t.extractfile(m) if m.isfile() else None)
PY
check_refused "content digest" b load -i "$WORK/corrupt-oci.tar"
# A config whose DiffID is wrong.
edit "$WORK/diffid.tar" "$config" 'json.dumps(dict(json.loads(data), rootfs={"type":"layers","diff_ids":["sha256:"+"0"*64]})).encode()'
check_refused "DiffID" b load -i "$WORK/diffid.tar"
# A malformed manifest.json, an unknown layer media type in the OCI manifest.
edit "$WORK/badmanifest.tar" manifest.json 'b"{not json"'
check_refused "manifest.json" b load -i "$WORK/badmanifest.tar"
python3 - "$WORK/good.tar" "$WORK/mediatype.tar" "$manifest" <<'PY'
import sys, tarfile, io, json, hashlib
src, out, mpath = sys.argv[1:]
with tarfile.open(src) as t:
    members = [(m, t.extractfile(m).read() if m.isfile() else None) for m in t.getmembers()]
files = {m.name: d for m, d in members}
man = json.loads(files[mpath]); man["layers"][0]["mediaType"] = "application/x-berth-unknown"
mb = json.dumps(man).encode(); md = hashlib.sha256(mb).hexdigest()
idx = json.loads(files["index.json"])
for d in idx["manifests"]: d["digest"] = "sha256:" + md; d["size"] = len(mb)
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as o:
    for m, d in members:
        if m.name in ("manifest.json", "repositories", mpath): continue
        if m.name == "index.json": d = json.dumps(idx).encode(); m.size = len(d)
        o.addfile(m, io.BytesIO(d) if d is not None else None)
    m = tarfile.TarInfo("blobs/sha256/" + md); m.size = len(mb); o.addfile(m, io.BytesIO(mb))
PY
check_refused "unknown media type application/x-berth-unknown" b load -i "$WORK/mediatype.tar"
# Not an archive at all; a file that does not exist; a --change that is not one.
echo "hello" > "$WORK/hello.txt"
check_refused "not a valid tar archive" b load -i "$WORK/hello.txt"
check_refused "No such file or directory" b load -i "$WORK/missing.tar"
check_refused "RUN is not a valid change command" b import -c 'RUN rm -rf /' "$(busybox_tar)" bad:2
# A rootfs tarball that climbs out of its root.
python3 - "$WORK/evil.tar" <<'PY'
import sys, tarfile, io
with tarfile.open(sys.argv[1], "w") as o:
    m = tarfile.TarInfo("../../evil"); m.size = 4; o.addfile(m, io.BytesIO(b"evil"))
PY
check_refused '"../../evil"' b import "$WORK/evil.tar" bad:3
[ ! -e "$WORK/../evil" ] && [ ! -e /evil ] || fail "the escape left a file"
assert_eq "$(b images --format '{{.Repository}}:{{.Tag}}')" "other:1" "only the first image remains"
assert_eq "$(b load -i "$WORK/good.tar")" "Loaded image: base:1" "the good archive still loads"
echo "ok: $SCENARIO"
