#!/usr/bin/env bash
# The image commands end to end: import, images, tag, inspect, history, rmi, prune, save, load,
# with Docker's output shapes and exit codes.
source "$(dirname "$0")/lib.sh"

tarball=$(busybox_tar)
[ -s "$tarball" ] || fail "make-rootfs gave no tarball"

# import prints the full ID, which is the digest of the config blob.
id=$(b import -c 'CMD ["sh"]' -c 'ENV A=1' -c 'WORKDIR /srv' -c 'EXPOSE 8080' -c 'USER user' -c 'LABEL org.example=yes' \
       -m "test import" "$tarball" busybox)
case "$id" in sha256:????????????????????????????????????????????????????????????????) ;; *) fail "import printed [$id]" ;; esac
short=${id#sha256:}; short=${short:0:12}

# A gzip'd tarball gives the same layer.
id_gz=$(gzip -c "$tarball" | b import - gz:1)
assert_eq "$(b image inspect -f '{{json .RootFS.Layers}}' gz:1)" "$(b image inspect -f '{{json .RootFS.Layers}}' busybox)" "gzip import layer"
b rmi gz:1 >/dev/null

# images: Docker's header and columns.
out=$(b images)
assert_eq "$(echo "$out" | sed -n 1p | tr -s ' ')" "REPOSITORY TAG IMAGE ID CREATED SIZE" "images header"
assert_contains "$(echo "$out" | sed -n 2p)" "busybox      latest    $short" "images row"
assert_eq "$(b images -q)" "$short" "images -q"
assert_eq "$(b images -q --no-trunc)" "$id" "images -q --no-trunc"
assert_eq "$(b images --format '{{.Repository}}:{{.Tag}}')" "busybox:latest" "images --format"
assert_eq "$(b images --digests | sed -n 1p | tr -s ' ')" "REPOSITORY TAG DIGEST IMAGE ID CREATED SIZE" "--digests header"

# tag, and references normalised as Docker's.
b tag busybox localhost:5000/team/bb:v1
b image tag "$short" example.com/a/b:tag
assert_eq "$(b images --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ')" \
  "busybox:latest example.com/a/b:tag localhost:5000/team/bb:v1 " "tags"
assert_eq "$(b images --filter reference='*/team/*' --format '{{.Repository}}')" "localhost:5000/team/bb" "reference filter"
assert_eq "$(b images busybox --format '{{.Tag}}')" "latest" "positional repository"
assert_eq "$(b images --filter label=org.example=yes -q | sort -u)" "$short" "label filter"
assert_eq "$(b images --filter label=org.example=no -q)" "" "label filter (no match)"
expect_fail b tag busybox Bad/Name
assert_contains "$ERR" "must be lowercase" "uppercase refused"
expect_fail b tag busybox "x@sha256:$(printf 'a%.0s' {1..64})"
assert_contains "$ERR" "refusing to create a tag with a digest reference" "digest tag refused"

# inspect: Docker-shaped.
assert_eq "$(b image inspect -f '{{.Id}}' busybox)" "$id" "inspect Id"
assert_eq "$(b image inspect -f '{{.Comment}} {{.Os}} {{json .Config.Cmd}} {{.Config.WorkingDir}} {{.Config.User}}' busybox)" \
  'test import linux ["sh"] /srv user' "inspect fields"
assert_eq "$(b image inspect -f '{{json .Config.ExposedPorts}} {{index .Config.Labels "org.example"}}' busybox)" '{"8080/tcp":{}} yes' "inspect ports/labels"
assert_eq "$(b image inspect -f '{{.RootFS.Type}} {{len .RootFS.Layers}}' busybox)" "layers 1" "inspect RootFS"
b image inspect busybox | jq -e '.[0] | has("RepoTags") and has("RepoDigests") and has("Created") and has("Size") and has("Metadata")' >/dev/null ||
  fail "inspect JSON lacks Docker's fields"
expect_fail b image inspect nope
assert_contains "$ERR" "No such image: nope:latest" "inspect of a missing image"

# history
out=$(b history busybox)
assert_eq "$(echo "$out" | sed -n 1p | tr -s ' ')" "IMAGE CREATED CREATED BY SIZE COMMENT" "history header"
assert_contains "$(echo "$out" | sed -n 2p)" "$short" "history row"
assert_contains "$(echo "$out" | sed -n 2p)" "test import" "history comment"
assert_eq "$(b history -q busybox)" "$short" "history -q"

# save and load, in a fresh root, also gzip-compressed and from stdin.
b save -o "$WORK/bb.tar" busybox example.com/a/b:tag
tar -tf "$WORK/bb.tar" > "$WORK/bb.list"
grep -qx manifest.json "$WORK/bb.list" || fail "save wrote no manifest.json"
grep -qx index.json "$WORK/bb.list" || fail "save wrote no index.json"
b2() { "$BERTH" --root "$WORK/root2" --run-dir "$WORK/run2" "$@"; }
out=$(b2 load -i "$WORK/bb.tar")
assert_eq "$out" $'Loaded image: busybox:latest\nLoaded image: example.com/a/b:tag' "load output"
assert_eq "$(b2 image inspect -f '{{.Id}}' example.com/a/b:tag)" "$id" "loaded image ID"
out=$(gzip -c "$WORK/bb.tar" | b2 load -q)
assert_contains "$out" "Loaded image: busybox:latest" "load of a gzip archive from stdin"
b save "$short" > "$WORK/untagged.tar"
b2 rmi -f "$short" >/dev/null
assert_eq "$(b2 load -i "$WORK/untagged.tar")" "Loaded image ID: $id" "load of an untagged image"
expect_fail b save nope
assert_contains "$ERR" "No such image" "save of a missing image"
[ ! -e "$WORK/none.tar" ] || fail "stale file"
expect_fail b save -o "$WORK/none.tar" busybox nope
[ ! -e "$WORK/none.tar" ] || fail "a failed save left a file behind"

# rmi: untag vs delete, as Docker reports them.
assert_eq "$(b rmi localhost:5000/team/bb:v1)" "Untagged: localhost:5000/team/bb:v1" "rmi of one tag"
expect_fail b rmi "$short"
assert_contains "$ERR" "conflict: unable to delete $short (must be forced) - image is referenced in multiple repositories" "rmi by ID with two repositories"
expect_fail b rmi nope
assert_eq "$ERR" "Error: No such image: nope:latest" "rmi of a missing image"
[ $RC -eq 1 ] || fail "rmi exit code $RC"

# An image a container uses is kept (the container store is read from containers/*/config.json).
mkdir -p "$ROOT/containers/c0ffee"
printf '{"Image":"%s"}' "$id" > "$ROOT/containers/c0ffee/config.json"
# With two references one may go (Docker's rule); the last one needs -f, and -f only untags.
set +e
out=$(b rmi busybox example.com/a/b:tag 2>"$WORK/err"); rc=$?
set -e
assert_eq "$rc" 1 "rmi exit code with one failure"
assert_eq "$out" "Untagged: busybox:latest" "rmi of one of two references of an image in use"
assert_eq "$(cat "$WORK/err")" "Error: conflict: unable to remove repository reference \"example.com/a/b:tag\" (must force) - container c0ffee is using its referenced image $short" "rmi of the last reference of an image in use"
out=$(b rmi -f example.com/a/b:tag)
assert_eq "$out" "Untagged: example.com/a/b:tag" "rmi -f of an image in use only untags"
assert_eq "$(b images -q)" "$short" "the image stays, dangling"
assert_eq "$(b images --format '{{.Repository}} {{.Tag}}')" "<none> <none>" "dangling row"
assert_eq "$(b images -f dangling=true -q)" "$short" "dangling filter"
assert_eq "$(b images -f dangling=false -q)" "" "dangling=false filter"
expect_fail b images -f bogus=1
assert_contains "$ERR" "invalid filter 'bogus'" "unknown filter"
out=$(b image prune -a -f)
assert_eq "$out" "Total reclaimed space: 0B" "prune keeps images in use"
rm -rf "$ROOT/containers/c0ffee"
out=$(b image prune -f)
assert_contains "$out" "deleted: $id" "prune deletes the dangling image"
assert_contains "$out" "Total reclaimed space: " "prune total"
assert_eq "$(b images -qa)" "" "store empty"
# Nothing but the (empty) tag index is left in the store.
assert_eq "$(cd "$ROOT/images" && find . -type f ! -name '*.lock' | sort | tr '\n' ' ')" "./repositories.json " "store files"
echo "ok: $SCENARIO"
