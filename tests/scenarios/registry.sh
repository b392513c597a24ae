#!/usr/bin/env bash
# Registries (issue 10), against Debian's docker-registry started here on loopback with a temp
# storage dir: push and pull round trips (image ID and layer digests kept), skopeo on the other
# side both ways, gzip and zstd layers, a multi-platform index, tampered and truncated blobs
# refused with nothing stored, TLS with a private CA in certs.d plus htpasswd basic auth and
# login/logout, and run's pull of a missing image.
source "$(dirname "$0")/lib.sh"
require_root
require_cmd docker-registry
require_cmd skopeo
require_cmd openssl
require_cmd htpasswd
require_cmd curl
require_cmd python3

export DOCKER_CONFIG="$WORK/docker-config"
mkdir -p "$DOCKER_CONFIG"
unset BERTH_INSECURE_REGISTRIES
sk() { skopeo --insecure-policy "$@"; }
b2() { "$BERTH" --root "$WORK/root2" --run-dir "$WORK/run2" "$@"; }
fresh() {
  [ -d "$WORK/root2" ] && b2 system teardown >/dev/null 2>&1 || true
  rm -rf "$WORK/root2" "$WORK/run2"; mkdir -p "$WORK/root2" "$WORK/run2"
}
on_exit 'b2 system teardown'
# A free port below the kernel's ephemeral range: a port berth publishes without a host port
# (`-p 80`, another scenario's under `ctest -j`) comes from that range, and its DNAT of
# 127.0.0.1 would take this registry's traffic.
free_port() {
  python3 -c '
import random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(500):
    p = random.randrange(max(1024, lo - 12000), lo)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    print(p)
    break
'
}
layers() { "$1" image inspect -f '{{json .RootFS.Layers}}' "$2"; }

# start_registry NAME PORT [YAML for http.tls and auth]: a registry storing under $WORK/NAME.
start_registry() {
  local name=$1 port=$2 extra=${3:-}
  mkdir -p "$WORK/$name"
  cat >"$WORK/$name.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/$name
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$extra
YML
  docker-registry serve "$WORK/$name.yml" >"$WORK/$name.log" 2>&1 &
  local pid=$!
  on_exit "kill $pid; wait $pid"
  eventually 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
  # What answers is this registry, not another process that had the port.
  kill -0 $pid 2>/dev/null || fail "docker-registry on 127.0.0.1:$port exited: $(tail -c 300 "$WORK/$name.log")"
}
blob_file() { echo "$WORK/$1/docker/registry/v2/blobs/sha256/${2:7:2}/${2#sha256:}/data"; }
store_is_empty() {  # nothing registered and nothing staged in root2's image store
  [ -z "$(b2 images -q)" ] || fail "$1: an image was registered"
  [ -z "$(ls -A "$WORK/root2/images/records" 2>/dev/null)" ] || fail "$1: an image record was written"
  [ -z "$(ls -A "$WORK/root2/images/layers" 2>/dev/null)" ] || fail "$1: a layer was stored"
  [ -z "$(ls -A "$WORK/root2/images/tmp" 2>/dev/null)" ] || fail "$1: staging was left behind"
}

P1=$(free_port)
start_registry plain "$P1"
R1=127.0.0.1:$P1

# ---- push an imported image, pull it into a fresh root ---------------------------------------
id=$(b import -c 'CMD ["sh"]' -c 'ENV GREETING=hello' "$(busybox_tar)" $R1/test/busybox:1)
want_layers=$(layers b $R1/test/busybox:1)
out=$(b push $R1/test/busybox:1)
assert_contains "$out" "The push refers to repository [$R1/test/busybox]" "push header"
assert_contains "$out" ": Pushed" "layer pushed"
digest=$(sed -n 's/^1: digest: \(sha256:[0-9a-f]*\) size: [0-9]*$/\1/p' <<<"$out")
[ -n "$digest" ] || fail "push did not print the manifest digest: $out"
assert_contains "$(b image inspect -f '{{json .RepoDigests}}' $R1/test/busybox:1)" "$R1/test/busybox@$digest" "RepoDigests after push"
out=$(b push $R1/test/busybox:1)
assert_contains "$out" ": Layer already exists" "second push skips the layer (HEAD)"

out=$(b search $R1/busy)
assert_contains "$out" "NAME" "search prints a table"
assert_contains "$out" "$R1/test/busybox" "search finds the repository in the registry's catalog"
assert_eq "$(b search --format '{{.Name}}' $R1/nomatch)" "" "search with no match"

# skopeo reads what berth pushed.
sk inspect --tls-verify=false docker://$R1/test/busybox:1 >"$WORK/sk.json"
assert_eq "$(jq -r .Digest "$WORK/sk.json")" "$digest" "skopeo sees the pushed manifest digest"
assert_eq "$(jq -c .Layers "$WORK/sk.json")" "$(b image inspect -f '{{json .RootFS.Layers}}' $R1/test/busybox:1)" "skopeo sees the layer"

fresh
out=$(b2 pull $R1/test/busybox:1)
assert_contains "$out" "1: Pulling from test/busybox" "pull header"
assert_contains "$out" ": Pull complete" "layer pulled"
assert_contains "$out" "Digest: $digest" "digest line"
assert_contains "$out" "Status: Downloaded newer image for $R1/test/busybox:1" "status line"
assert_eq "$(tail -n1 <<<"$out")" "$R1/test/busybox:1" "last line is the reference"
assert_eq "$(b2 image inspect -f '{{.Id}}' $R1/test/busybox:1)" "$id" "same image ID after push + pull"
assert_eq "$(layers b2 $R1/test/busybox:1)" "$want_layers" "same layer digests"
assert_eq "$(b2 image inspect -f '{{json .Config.Cmd}} {{index .Config.Env 0}}' $R1/test/busybox:1)" '["sh"] GREETING=hello' "config"
out=$(b2 pull $R1/test/busybox:1)
assert_contains "$out" "Status: Image is up to date for $R1/test/busybox:1" "second pull"
assert_not_contains "$out" "Pull complete" "nothing fetched the second time"
assert_eq "$(b2 pull -q $R1/test/busybox@$digest)" "$R1/test/busybox@$digest" "pull -q by digest"
assert_contains "$(b2 image inspect -f '{{json .RepoDigests}}' "$id")" "$R1/test/busybox@$digest" "RepoDigests after pull"

# A pulled image runs; and run pulls a missing image (Docker's "Unable to find image").
assert_eq "$(b2 run --rm $R1/test/busybox:1 sh -c 'echo $GREETING')" "hello" "the pulled image runs"
b2 rmi -f "$id" >/dev/null
[ -z "$(b2 images -q)" ] || fail "rmi left an image"
err=$(b2 run --rm $R1/test/busybox:1 echo ran 2>"$WORK/run.err")
assert_eq "$err" "ran" "run after an auto-pull"
assert_contains "$(cat "$WORK/run.err")" "Unable to find image '$R1/test/busybox:1' locally" "run says it pulls"
assert_contains "$(cat "$WORK/run.err")" "Status: Downloaded newer image" "run's pull output on stderr"
expect_fail b2 run --rm --pull never $R1/test/other:1 true
assert_contains "$ERR" "No such image" "--pull never does not pull"
expect_fail b2 run --rm --pull sometimes $R1/test/busybox:1 true
assert_contains "$ERR" "invalid pull option: 'sometimes'" "bad --pull value"

# build pulls a FROM image the store lacks, as docker build does; --pull asks the registry again.
b2 rmi -f $R1/test/busybox:1 >/dev/null
mkdir -p "$WORK/bctx"
printf 'FROM %s\nRUN echo built > /built\n' "$R1/test/busybox:1" >"$WORK/bctx/Dockerfile"
out=$(b2 build --network none -t built:1 "$WORK/bctx" 2>&1)
assert_contains "$out" "Status: Downloaded newer image for $R1/test/busybox:1" "build pulls the missing base"
assert_eq "$(b2 run --rm --network none built:1 cat /built)" built "the built image runs on the pulled base"
out=$(b2 build --pull --network none -t built:1 "$WORK/bctx" 2>&1)
assert_contains "$out" "Status: Image is up to date for $R1/test/busybox:1" "build --pull asks the registry again"
printf 'FROM %s\n' "$R1/nothing/here" >"$WORK/bctx/Dockerfile"
expect_fail b2 build --network none "$WORK/bctx"
assert_contains "$ERR" "Dockerfile:1" "a base the registry lacks names the FROM line"
b2 rmi -f built:1 $R1/test/busybox:1 >/dev/null

# ---- errors ----------------------------------------------------------------------------------
expect_fail b2 pull $R1/test/busybox:nope
assert_contains "$ERR" "manifest for $R1/test/busybox:nope not found" "unknown tag"
expect_fail b2 pull $R1/nothing/here
assert_contains "$ERR" "manifest for $R1/nothing/here:latest not found: manifest unknown" "unknown repository"
P_DEAD=$(free_port)
expect_fail b2 pull 127.0.0.1:$P_DEAD/x
assert_contains "$ERR" "127.0.0.1:$P_DEAD" "unreachable registry named"
assert_contains "$ERR" "refused" "and the error"

# ---- skopeo pushes, berth pulls: gzip (Docker v2) and zstd (OCI) layers ------------------------
b save -o "$WORK/save.tar" $R1/test/busybox:1
# zstd from content of its own: skopeo reuses a compressed blob it already put in a registry.
mkdir -p "$WORK/zc/etc" && printf 'zstd layer %s\n' $$ >"$WORK/zc/etc/zstd.txt"
tar -C "$WORK/zc" -cf "$WORK/zc.tar" etc
b import "$WORK/zc.tar" $R1/src/zstd:1 >/dev/null
zstd_layers=$(layers b $R1/src/zstd:1)
b save -o "$WORK/zsave.tar" $R1/src/zstd:1
sk copy -q --dest-tls-verify=false --format oci --dest-compress-format zstd docker-archive:"$WORK/zsave.tar" docker://$R1/sk/zstd:1
sk copy -q --dest-tls-verify=false docker-archive:"$WORK/save.tar" docker://$R1/sk/gzip:1
[ "$(sk inspect --raw --tls-verify=false docker://$R1/sk/gzip:1 | jq -r '.layers[0].mediaType')" = \
  application/vnd.docker.image.rootfs.diff.tar.gzip ] || fail "skopeo did not push a gzip Docker v2 layer"
[ "$(sk inspect --raw --tls-verify=false docker://$R1/sk/zstd:1 | jq -r '.layers[0].mediaType')" = \
  application/vnd.oci.image.layer.v1.tar+zstd ] || fail "skopeo did not push a zstd OCI layer"
fresh
b2 pull -q $R1/sk/gzip:1 >/dev/null
b2 pull -q $R1/sk/zstd:1 >/dev/null
assert_eq "$(layers b2 $R1/sk/gzip:1)" "$want_layers" "DiffIDs of skopeo's gzip image"
assert_eq "$(layers b2 $R1/sk/zstd:1)" "$zstd_layers" "DiffIDs of skopeo's zstd image"
assert_eq "$(b2 image inspect -f '{{.Id}}' $R1/sk/gzip:1)" "$id" "skopeo kept the config of a docker-archive"

# ---- a multi-platform index picks this host's manifest -----------------------------------------
host_arch=$(b image inspect -f '{{.Architecture}}' $R1/test/busybox:1)
other_arch=arm64; [ "$host_arch" = arm64 ] && other_arch=amd64
b import --platform linux/$other_arch -c 'ENV ARCH=other' "$(busybox_tar)" $R1/multi/img:other >/dev/null
other_id=$(b image inspect -f '{{.Id}}' $R1/multi/img:other)
b tag $R1/test/busybox:1 $R1/multi/img:host
for t in host other; do b push -q $R1/multi/img:$t >/dev/null; done
entry() {  # TAG ARCH -> an index entry for that tag's manifest
  local raw; raw=$(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' http://$R1/v2/multi/img/manifests/$1)
  printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"platform":{"architecture":"%s","os":"linux"}}' \
    "$(printf '%s' "$raw" | sha256sum | cut -c1-64)" "$(printf '%s' "$raw" | wc -c)" "$2"
}
index=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s,%s]}' \
  "$(entry other $other_arch)" "$(entry host $host_arch)")
curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary "$index" \
  http://$R1/v2/multi/img/manifests/latest >/dev/null
fresh
b2 pull -q $R1/multi/img >/dev/null
assert_eq "$(b2 image inspect -f '{{.Id}}' $R1/multi/img)" "$id" "the index gave this host's image"
b2 pull -q --platform linux/$other_arch $R1/multi/img >/dev/null
assert_eq "$(b2 image inspect -f '{{.Id}}' $R1/multi/img)" "$other_id" "--platform picks the other one"
expect_fail b2 pull --platform linux/s390x $R1/multi/img
assert_contains "$ERR" "no matching manifest for linux/s390x" "no s390x"
assert_contains "$ERR" "linux/$other_arch" "the error lists the platforms"
assert_contains "$ERR" "linux/$host_arch" "all of them"
expect_fail b2 pull --platform linux/$other_arch $R1/test/busybox:1
assert_contains "$ERR" "does not match the specified platform" "a single-platform image of another arch"

# ---- tampered and truncated blobs are refused, nothing is stored ----------------------------------
printf 'a file\n' >"$WORK/f.txt"
tar -C "$WORK" -cf "$WORK/small.tar" f.txt
b import -c 'CMD ["sh"]' "$WORK/small.tar" $R1/bad/img:1 >/dev/null
b push -q $R1/bad/img:1 >/dev/null
blob=$(b image inspect -f '{{index .RootFS.Layers 0}}' $R1/bad/img:1)  # imported layers are stored uncompressed
file=$(blob_file plain "$blob")
[ -f "$file" ] || fail "no blob file $file in the registry's storage"
cp "$file" "$WORK/blob.orig"
python3 - "$file" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
i = b.index(b'a file')
b[i] = ord('A')  # same size, other content
open(p, 'wb').write(b)
PY
fresh
expect_fail b2 pull $R1/bad/img:1
assert_contains "$ERR" "$R1/bad/img:1" "the tampered pull names the reference"
assert_contains "$ERR" "$blob" "and the blob"
store_is_empty "tampered blob"
head -c 1000 "$WORK/blob.orig" >"$file"
expect_fail b2 pull $R1/bad/img:1
assert_contains "$ERR" "$blob" "the truncated blob is named"
store_is_empty "truncated blob"
cp "$WORK/blob.orig" "$file"
b2 pull -q $R1/bad/img:1 >/dev/null  # a second pull completes once the registry is right
assert_eq "$(b2 image inspect -f '{{.Id}}' $R1/bad/img:1)" "$(b image inspect -f '{{.Id}}' $R1/bad/img:1)" "pull after repair"

# An interrupted pull (SIGINT while a 64 MiB layer streams in) leaves nothing; the next completes.
mkdir -p "$WORK/big" && head -c 64M /dev/urandom >"$WORK/big/blob.bin"
tar -C "$WORK/big" -cf "$WORK/big.tar" blob.bin && rm -rf "$WORK/big"
b import "$WORK/big.tar" $R1/big/img:1 >/dev/null && rm -f "$WORK/big.tar"
b push -q $R1/big/img:1 >/dev/null
fresh
"$BERTH" --root "$WORK/root2" --run-dir "$WORK/run2" pull $R1/big/img:1 >"$WORK/big.out" 2>&1 &  # not b2: $! must be berth
bpid=$!
# Polled tightly (not with eventually's 0.1 s): on loopback the layer streams in under a second.
deadline=$(( $(date +%s) + 60 ))
until compgen -G "$WORK/root2/images/tmp/ingest-*/blobs/partial-*" >/dev/null || ! kill -0 $bpid 2>/dev/null; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "the big pull never started"
  sleep 0.005
done
kill -INT $bpid 2>/dev/null || true
set +e; wait $bpid; brc=$?; set -e
if [ $brc -ne 0 ]; then
  assert_contains "$(cat "$WORK/big.out")" "pull cancelled" "the interrupted pull says so"
  store_is_empty "interrupted pull"
else
  echo "note: the pull finished before SIGINT arrived; the interruption was not exercised"
fi
b2 pull -q $R1/big/img:1 >/dev/null
assert_eq "$(b2 image inspect -f '{{.Id}}' $R1/big/img:1)" "$(b image inspect -f '{{.Id}}' $R1/big/img:1)" "pull after an interrupted one"

# A manifest naming a config that is not an image (an OCI artifact) is refused by name.
cfg='{"thing":1}'
cfg_d=sha256:$(printf '%s' "$cfg" | sha256sum | cut -c1-64)
loc=$(curl -fsS -o /dev/null -D - -X POST http://$R1/v2/bad/artifact/blobs/uploads/ | tr -d '\r' | sed -n 's/^Location: //Ip')
curl -fsS -X PUT -H "Content-Type: application/octet-stream" --data-binary "$cfg" "$loc&digest=$cfg_d" >/dev/null
art=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.example.thing.v1+json","digest":"%s","size":%d},"layers":[]}' "$cfg_d" ${#cfg})
curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "$art" \
  http://$R1/v2/bad/artifact/manifests/1 >/dev/null
expect_fail b2 pull $R1/bad/artifact:1
assert_contains "$ERR" "application/vnd.example.thing.v1+json" "unknown media type named"
assert_contains "$ERR" "$R1/bad/artifact:1" "with the reference"

# ---- TLS with a private CA, htpasswd basic auth, login and logout ---------------------------------
P2=$(free_port)
R2=127.0.0.1:$P2
tls="$WORK/tls"
mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=berth test CA $$" \
  -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$tls/ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
  -extfile "$tls/ext" -out "$tls/server.crt" 2>/dev/null
htpasswd -Bbc "$tls/htpasswd" alice "s3cret pass" 2>/dev/null
start_registry secure "$P2" "  tls:
    certificate: $tls/server.crt
    key: $tls/server.key
auth:
  htpasswd:
    realm: berth-test
    path: $tls/htpasswd"
fresh
expect_fail b2 pull $R2/x:1
assert_contains "$ERR" "not trusted" "an unknown CA is refused"
assert_contains "$ERR" "$DOCKER_CONFIG/certs.d/$R2/ca.crt" "the error says where the CA goes"
mkdir -p "$DOCKER_CONFIG/certs.d/$R2"
cp "$tls/ca.crt" "$DOCKER_CONFIG/certs.d/$R2/ca.crt"
expect_fail b2 pull $R2/test/busybox:1
assert_contains "$ERR" "may require 'berth login'" "401 says to log in"
expect_fail bash -c "printf 'wrong\n' | \"\$BERTH\" login -u alice --password-stdin $R2"
assert_contains "$ERR" "unauthorized" "a wrong password is refused"
[ ! -e "$DOCKER_CONFIG/config.json" ] || ! grep -q "$R2" "$DOCKER_CONFIG/config.json" || fail "a failed login stored credentials"
out=$(printf 's3cret pass\n' | b login -u alice --password-stdin $R2 2>/dev/null)
assert_eq "$out" "Login Succeeded" "login"
assert_eq "$(jq -r --arg k "$R2" '.auths[$k].auth' "$DOCKER_CONFIG/config.json" | base64 -d)" "alice:s3cret pass" "config.json auths"
assert_eq "$(stat -c %a "$DOCKER_CONFIG/config.json")" "600" "config.json is private"
b tag $R1/test/busybox:1 $R2/test/busybox:1
b push -q $R2/test/busybox:1 >/dev/null
b2 pull -q $R2/test/busybox:1 >/dev/null
assert_eq "$(b2 image inspect -f '{{.Id}}' $R2/test/busybox:1)" "$id" "pull over TLS with basic auth"
assert_eq "$(sk inspect --cert-dir "$DOCKER_CONFIG/certs.d/$R2" --creds 'alice:s3cret pass' docker://$R2/test/busybox:1 | jq -r .Digest)" \
  "$digest" "skopeo reads berth's push over TLS"
assert_eq "$(b logout $R2)" "Removing login credentials for $R2" "logout"
assert_eq "$(b logout $R2)" "Not logged in to $R2" "second logout"
expect_fail b2 pull $R2/test/busybox:1
assert_contains "$ERR" "berth login" "logged out: the registry refuses again"

# A credential helper named in config.json (credsStore) keeps the credentials instead of the file.
mkdir -p "$WORK/bin"
cat >"$WORK/bin/docker-credential-berthtest" <<'SH'
#!/bin/sh
# A credential helper speaking Docker's protocol, one file per server URL.
key() { printf '%s' "$1" | sha256sum | cut -c1-12; }
case "$1" in
  store) in=$(cat); printf '%s' "$in" >"__DIR__/helper-$(key "$(printf '%s' "$in" | jq -r .ServerURL)")" ;;
  get) f="__DIR__/helper-$(key "$(cat)")"
       if [ -f "$f" ]; then cat "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) rm -f "__DIR__/helper-$(key "$(cat)")" ;;
esac
SH
sed -i "s|__DIR__|$WORK|g" "$WORK/bin/docker-credential-berthtest"
chmod +x "$WORK/bin/docker-credential-berthtest"
echo '{"credsStore":"berthtest"}' >"$DOCKER_CONFIG/config.json"
PATH="$WORK/bin:$PATH" bash -c "printf 's3cret pass\n' | \"\$BERTH\" login -u alice --password-stdin $R2" >/dev/null 2>&1 ||
  fail "login through a credential helper"
assert_eq "$(jq -c --arg k "$R2" '.auths[$k]' "$DOCKER_CONFIG/config.json")" "{}" "config.json keeps an empty entry"
grep -q '"Secret":"s3cret pass"' "$WORK"/helper-* || fail "the helper did not get the credentials"
fresh
PATH="$WORK/bin:$PATH" "$BERTH" --root "$WORK/root2" --run-dir "$WORK/run2" pull -q $R2/test/busybox:1 >/dev/null ||
  fail "pull with the helper's credentials"
assert_eq "$(PATH="$WORK/bin:$PATH" "$BERTH" logout $R2)" "Removing login credentials for $R2" "logout through the helper"
[ -z "$(ls "$WORK"/helper-* 2>/dev/null)" ] || fail "the helper still holds credentials after logout"
rm -f "$DOCKER_CONFIG/config.json"

# ---- cross-repository mount and chunked upload -----------------------------------------------------
b tag $R1/test/busybox:1 $R1/mount/busybox:1
out=$(b push $R1/mount/busybox:1)
assert_contains "$out" ": Mounted from " "the layer is mounted from another repository the image is in"
b import -c 'CMD ["true"]' "$(busybox_tar)" $R1/chunked/img:1 >/dev/null
out=$(BERTH_PUSH_CHUNK_SIZE=300000 b push $R1/chunked/img:1)
assert_contains "$out" ": Pushed" "chunked push"
fresh
b2 pull -q $R1/chunked/img:1 >/dev/null
assert_eq "$(layers b2 $R1/chunked/img:1)" "$want_layers" "the chunked upload arrived whole"

# ---- compose: pull (parallel, failures), up pulling a missing image, push ----------------------------
proj="$WORK/proj"
mkdir -p "$proj"
cat >"$proj/compose.yaml" <<YML
services:
  web:
    image: $R1/test/busybox:1
    command: ["sleep", "600"]
  multi:
    image: $R1/multi/img
    command: ["true"]
  ghost:
    image: $R1/nothing/here:1
    command: ["true"]
    profiles: [ghost]
YML
bc() { b2 compose -p "regtest$$" --project-directory "$proj" -f "$proj/compose.yaml" "$@"; }
on_exit 'bc down -t 0'
fresh
out=$(bc pull 2>&1)
assert_contains "$out" "web Pulled" "compose pull web"
assert_contains "$out" "multi Pulled" "compose pull multi"
assert_eq "$(b2 image inspect -f '{{.Id}}' $R1/test/busybox:1)" "$id" "compose pull stored web's image"
expect_fail bc --profile ghost pull -q
assert_contains "$ERR" "ghost" "a failed pull names the service"
assert_contains "$ERR" "not found" "and why"
bc --profile ghost pull -q --ignore-pull-failures 2>"$WORK/ign.err" || fail "--ignore-pull-failures still failed"
assert_contains "$(cat "$WORK/ign.err")" "ghost" "the ignored failure is reported"
fresh
bc up -d web >/dev/null 2>&1 || fail "compose up with a missing image: $(bc up -d web 2>&1)"
assert_eq "$(b2 ps --filter "label=com.docker.compose.project=regtest$$" -q | wc -l)" "1" "up pulled web's image and started it"
bc down -t 0 >/dev/null 2>&1
fresh
assert_eq "$(bc run --rm web echo ran 2>/dev/null)" "ran" "compose run pulls the service's missing image"
bc down -t 0 >/dev/null 2>&1
b tag $R1/test/busybox:1 $R1/composed/web:2
sed -i "s|image: $R1/test/busybox:1|image: $R1/composed/web:2|" "$proj/compose.yaml"
"$BERTH" --root "$ROOT" --run-dir "$RUN" compose -p "regtest$$" --project-directory "$proj" -f "$proj/compose.yaml" push -q web
assert_eq "$(sk inspect --tls-verify=false docker://$R1/composed/web:2 | jq -r .Digest)" "$digest" "compose push"

# ---- Bearer tokens: a token server (python, RS256 JWTs signed with openssl) in front of a
# registry configured for token auth; anonymous tokens may pull, bob's may push ---------------------
tok="$WORK/token"
mkdir -p "$tok"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=berth token signer $$" \
  -keyout "$tok/key.pem" -out "$tok/cert.pem" 2>/dev/null
cat >"$tok/server.py" <<'PY'
import base64, json, subprocess, sys, time, urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
port, d = int(sys.argv[1]), sys.argv[2]
der = subprocess.run(["openssl", "x509", "-in", d + "/cert.pem", "-outform", "DER"], capture_output=True, check=True).stdout
b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        user = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
            if (u, p) != ("bob", "tok pass"):
                self.send_response(401); self.send_header("Content-Type", "application/json"); self.end_headers()
                self.wfile.write(b'{"details":"incorrect username or password"}'); return
            user = u
        access = []
        for s in q.get("scope", []):
            typ, name, actions = s.split(":")
            allowed = [a for a in actions.split(",") if a == "pull" or (a == "push" and user)]
            access.append({"type": typ, "name": name, "actions": allowed})
        with open(d + "/requests.log", "a") as f:
            f.write(json.dumps({"account": q.get("account", [""])[0], "user": user, "scope": q.get("scope", [])}) + "\n")
        now = int(time.time())
        head = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        claims = {"iss": "berth-test-issuer", "sub": user or "", "aud": "berth-test", "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": str(now) + str(id(self)), "access": access}
        signing = b64u(json.dumps(head).encode()) + "." + b64u(json.dumps(claims).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", d + "/key.pem"], input=signing.encode(),
                             capture_output=True, check=True).stdout
        body = json.dumps({"token": signing + "." + b64u(sig), "expires_in": 300}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.end_headers()
        self.wfile.write(body)
HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
PT=$(free_port)
python3 "$tok/server.py" "$PT" "$tok" 2>"$tok/server.err" &
tpid=$!
on_exit "kill $tpid; wait $tpid"
eventually 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PT"
P3=$(free_port)
R3=127.0.0.1:$P3
start_registry tokened "$P3" "auth:
  token:
    realm: http://127.0.0.1:$PT/token
    service: berth-test
    issuer: berth-test-issuer
    rootcertbundle: $tok/cert.pem"
b tag $R1/test/busybox:1 $R3/tok/busybox:1
expect_fail b push $R3/tok/busybox:1
assert_contains "$ERR" "berth login" "an anonymous token may not push: the error says to log in"
expect_fail bash -c "printf 'nope\n' | \"\$BERTH\" login -u bob --password-stdin $R3"
assert_contains "$ERR" "incorrect username or password" "the token server's refusal is shown"
printf 'tok pass\n' | b login -u bob --password-stdin $R3 >/dev/null 2>&1 || fail "login with a token server"
b push -q $R3/tok/busybox:1 >/dev/null
grep -q '"user": "bob", "scope": \["repository:tok/busybox:pull,push"\]' "$tok/requests.log" ||
  fail "no push token for bob: $(cat "$tok/requests.log")"
b logout $R3 >/dev/null
fresh
b2 pull -q $R3/tok/busybox:1 >/dev/null
assert_eq "$(b2 image inspect -f '{{.Id}}' $R3/tok/busybox:1)" "$id" "anonymous pull with a bearer token"
grep -q '"user": null, "scope": \["repository:tok/busybox:pull"\]' "$tok/requests.log" ||
  fail "no anonymous pull token: $(cat "$tok/requests.log")"

echo "ok: $SCENARIO"
