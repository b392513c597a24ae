#!/usr/bin/env bash
# Images move between berth and skopeo in both archive formats (issue 2): berth save ->
# skopeo copy -> berth load into a fresh root, with the image ID and the layer digests checked.
source "$(dirname "$0")/lib.sh"
require_cmd skopeo
require_cmd tar

sk() { skopeo --insecure-policy "$@"; }
b2() { "$BERTH" --root "$WORK/root2" --run-dir "$WORK/run2" "$@"; }
fresh() { rm -rf "$WORK/root2" "$WORK/run2"; mkdir -p "$WORK/root2" "$WORK/run2"; }
layers() { "$@" image inspect -f '{{json .RootFS.Layers}}' busybox; }

id=$(b import -c 'CMD ["sh"]' -c 'ENV GREETING=hello' "$(busybox_tar)" busybox)
want_layers=$(layers b)
b save -o "$WORK/save.tar" busybox

# Our tar is a docker-archive and an OCI layout at once; skopeo reads both sides.
sk inspect docker-archive:"$WORK/save.tar" >/dev/null || fail "skopeo cannot read berth's archive as docker-archive"
sk inspect oci-archive:"$WORK/save.tar" >/dev/null || fail "skopeo cannot read berth's archive as an OCI layout"

# docker-archive -> docker-archive: skopeo writes its own layout (<hex>.json, <hex>.tar,
# <legacy id>/layer.tar symlinks).
sk copy -q docker-archive:"$WORK/save.tar" docker-archive:"$WORK/skopeo-docker.tar":busybox:latest
fresh
out=$(b2 load -i "$WORK/skopeo-docker.tar")
assert_eq "$out" "Loaded image: busybox:latest" "load of skopeo's docker-archive"
assert_eq "$(b2 image inspect -f '{{.Id}}' busybox)" "$id" "image ID after docker-archive round trip"
assert_eq "$(layers b2)" "$want_layers" "layer digests after docker-archive round trip"
assert_eq "$(b2 image inspect -f '{{json .Config.Cmd}} {{index .Config.Env 0}}' busybox)" '["sh"] GREETING=hello' "config"

# OCI layout -> oci-archive, digests preserved (skopeo fails rather than change them).
sk copy -q --preserve-digests oci-archive:"$WORK/save.tar" oci-archive:"$WORK/skopeo-oci.tar":busybox:latest
fresh
out=$(b2 load -i "$WORK/skopeo-oci.tar")
assert_eq "$out" "Loaded image: busybox:latest" "load of skopeo's oci-archive"
assert_eq "$(b2 image inspect -f '{{.Id}}' busybox)" "$id" "image ID after OCI round trip"
assert_eq "$(layers b2)" "$want_layers" "layer digests after OCI round trip"

# docker-archive -> oci-archive: skopeo converts the manifest, compresses the layers with gzip
# and re-serialises the config as an OCI config (dropping Docker-only fields such as "comment"),
# so the config digest -- the image ID -- is skopeo's to change; the layers' DiffIDs and the
# container config must survive.
sk copy -q docker-archive:"$WORK/save.tar" oci-archive:"$WORK/converted.tar":busybox:latest
fresh
b2 load -i "$WORK/converted.tar" >/dev/null
assert_eq "$(layers b2)" "$want_layers" "layer DiffIDs after docker-archive -> oci-archive"
assert_eq "$(b2 image inspect -f '{{json .Config.Cmd}} {{index .Config.Env 0}} {{.Os}}/{{.Architecture}}' busybox)" \
  "[\"sh\"] GREETING=hello $(b image inspect -f '{{.Os}}/{{.Architecture}}' busybox)" "config after conversion"
conv_id=$(b2 image inspect -f '{{.Id}}' busybox)
[ "$(tar -xOf "$WORK/converted.tar" "blobs/sha256/${conv_id#sha256:}" | sha256sum | cut -c1-64)" = "${conv_id#sha256:}" ] ||
  fail "the loaded image ID is not the digest of skopeo's config blob"

# And back: what berth loaded from skopeo, berth saves again for skopeo.
b2 save -o "$WORK/again.tar" busybox
sk inspect oci-archive:"$WORK/again.tar" >/dev/null || fail "skopeo cannot read the re-saved archive"
fresh
b2 load -i "$WORK/again.tar" >/dev/null
assert_eq "$(b2 image inspect -f '{{.Id}}' busybox)" "$conv_id" "re-saved image keeps its ID"
echo "ok: $SCENARIO"
