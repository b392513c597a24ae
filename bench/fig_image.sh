# Figure 5, images: `import` of the busybox rootfs tarball, `save` of the image to a tar and
# `load` of that tar, for busybox (~1 MiB) and for busybox plus 100 MiB of random bytes (what
# the disk path costs, not the metadata). import and load go to a fresh --root each time, so
# nothing is already in the store.
source "$BENCH_DIR/peers.sh"

_img_seq=0
fresh() {  # fresh CMD...: berth against a new, empty root (removed at once afterwards)
  _img_seq=$((_img_seq + 1))
  local r="$WORK/img-$_img_seq"
  mkdir -p "$r/root" "$r/run"
  local rc=0
  "$BERTH" --root "$r/root" --run-dir "$r/run" "$@" || rc=$?
  rm -rf "$r"
  return $rc
}

# image_cycle LABEL TAR NAME: import TAR as NAME, then time import, save and load.
image_cycle() {
  local label=$1 tar=$2 name=$3 out="$WORK/save-$3.tar" iters=$ITERS
  [ "$label" = busybox ] || iters=$(( ITERS > 10 ? 10 : ITERS ))
  b import "$tar" "$name" >/dev/null || { failed image berth "import of $label"; return 1; }
  measure image "import, $label" berth 1 "$iters" fresh import "$tar" "$name" || return 1
  measure image "save -o, $label" berth 1 "$iters" b save -o "$out" "$name" || return 1
  measure image "load -i, $label" berth 1 "$iters" fresh load -q -i "$out" || return 1
  log "  ($label: rootfs tar $(du -k "$tar" | cut -f1) KiB, saved image $(du -k "$out" | cut -f1) KiB)"
  if peer_enabled docker && docker_image; then
    local dname="berth-bench-$name:$$"
    docker import "$tar" "$dname" >/dev/null && on_exit "docker rmi -f $dname" || { failed image docker "import of $label"; return 0; }
    measure image "save -o, $label" docker 1 "$iters" docker save -o "$WORK/docker-$name.tar" "$dname" || true
    measure image "load -i, $label" docker 1 "$iters" docker load -q -i "$out" || true
  fi
  rm -f "$out" "$WORK/docker-$name.tar"
}

fig_image() {
  image_cycle busybox "$BUSYBOX_TAR" busybox || return 1
  if [ "$QUICK" != 1 ]; then
    # busybox + 100 MiB of incompressible data in one layer.
    local big="$WORK/big.tar"
    cp "$BUSYBOX_TAR" "$big"
    mkdir -p "$WORK/bigdata"
    head -c $((100 * 1024 * 1024)) /dev/urandom >"$WORK/bigdata/blob"
    tar -rf "$big" -C "$WORK/bigdata" ./blob
    rm -rf "$WORK/bigdata"
    image_cycle "busybox + 100 MiB" "$big" big || return 1
    rm -f "$big"
  fi
  if ! peer_enabled docker; then skipped image docker "$(peer_why docker)"; fi
}
