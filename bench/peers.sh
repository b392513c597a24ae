# The peers' side of the figures (sourced by bench/run): each tool gets the busybox image made
# from the same tarball, in storage the bench can remove again.

# docker_image: import the busybox rootfs once as $PEER_IMAGE (removed at exit).
_docker_image_done=0
docker_image() {
  [ $_docker_image_done = 1 ] && return 0
  docker import "$BUSYBOX_TAR" "$PEER_IMAGE" >/dev/null || return 1
  on_exit "docker rmi -f $PEER_IMAGE"
  _docker_image_done=1
}

# P ARGS...: podman with its own storage under $WORK, so the host's images stay untouched.
P() { podman --root "$WORK/podman/root" --runroot "$WORK/podman/run" "$@"; }
_podman_image_done=0
podman_image() {
  [ $_podman_image_done = 1 ] && return 0
  mkdir -p "$WORK/podman"
  P import "$BUSYBOX_TAR" "$PEER_IMAGE" >/dev/null || return 1
  on_exit "P rm -af -t 0; P rmi -af"
  _podman_image_done=1
}

# oci_bundle RUNTIME: an OCI bundle running `true` in the busybox rootfs, for raw crun/runc runs
# (no network namespace setup beyond an empty one: the floor under any engine).
oci_bundle() {
  local rt=$1 dir="$WORK/bundle-$1"
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir/rootfs"
    tar -xf "$BUSYBOX_TAR" -C "$dir/rootfs"
    (cd "$dir" && "$rt" spec) || return 1
    jq '.process.terminal = false | .process.args = ["true"]' "$dir/config.json" >"$dir/config.json.new" &&
      mv "$dir/config.json.new" "$dir/config.json" || return 1
  fi
  echo "$dir"
}
_oci_seq=0
oci_run() {  # oci_run RUNTIME BUNDLE
  _oci_seq=$((_oci_seq + 1))
  mkdir -p "$WORK/$1-state"
  "$1" --root "$WORK/$1-state" run -b "$2" "bench-$$-$_oci_seq"
}

