# Figure 6, registries (issue 10): pull of busybox (~1 MiB) and of busybox + 100 MiB of random
# bytes from Debian's docker-registry on 127.0.0.1, cold (a fresh --root: fetch, verify, unpack)
# and warm (already up to date: the manifest request only), and push (first upload once; then
# again with every blob already there, HEAD only). Peers: skopeo copy to an OCI layout (fetch and
# verify, no unpacking), docker pull (cold = rmi + pull; the daemon treats 127.0.0.1 as insecure).
source "$BENCH_DIR/peers.sh"

_reg_seq=0
fresh_pull() {  # a pull into a new, empty root (removed at once afterwards)
  _reg_seq=$((_reg_seq + 1))
  local r="$WORK/reg-$_reg_seq" rc=0
  mkdir -p "$r/root" "$r/run"
  "$BERTH" --root "$r/root" --run-dir "$r/run" pull -q "$1" >/dev/null || rc=$?
  rm -rf "$r"
  return $rc
}
skopeo_cold() {
  rm -rf "$WORK/oci"
  skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$1" "oci:$WORK/oci:x"
}
skopeo_wanted() { command -v skopeo >/dev/null 2>&1 && [[ "$PEERS" == all || ",$PEERS," == *",skopeo,"* ]]; }
docker_cold() { docker rmi -f "$1" >/dev/null 2>&1 || true; docker pull -q "$1" >/dev/null; }

registry_case() {
  local label=$1 tar=$2 ref="$REG/bench/$3:1" iters=$ITERS
  [ "$label" = busybox ] || iters=$(( ITERS > 10 ? 10 : ITERS ))
  b import "$tar" "$ref" >/dev/null || { failed registry berth "import of $label"; return 1; }
  measure registry "push (first upload), $label" berth 0 1 b push -q "$ref" || return 1
  measure registry "push (blobs there), $label" berth 1 "$iters" b push -q "$ref" || return 1
  measure registry "pull cold, $label" berth 1 "$iters" fresh_pull "$ref" || return 1
  measure registry "pull warm, $label" berth 1 "$iters" b pull -q "$ref" || return 1
  if skopeo_wanted; then
    measure registry "pull cold, $label" skopeo 1 "$iters" skopeo_cold "$ref" || true
    rm -rf "$WORK/oci"
  fi
  if peer_enabled docker; then
    measure registry "pull cold, $label" docker 1 "$iters" docker_cold "$ref" || true
    measure registry "pull warm, $label" docker 1 "$iters" docker pull -q "$ref" || true
    docker rmi -f "$ref" >/dev/null 2>&1 || true
  fi
}

fig_registry() {
  if ! command -v docker-registry >/dev/null 2>&1; then
    skipped registry berth "docker-registry is not installed (tests/install-deps)"
    return 0
  fi
  local port dir="$WORK/registry"
  port=$(free_port 45000)
  mkdir -p "$dir/data"
  cat >"$dir/config.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$port
YML
  docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
  local pid=$!
  on_exit "kill $pid; wait $pid"
  local i
  for ((i = 0; i < 200; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.05
  done
  REG=127.0.0.1:$port
  registry_case busybox "$BUSYBOX_TAR" busybox || return 1
  if [ "$QUICK" != 1 ]; then
    local big="$WORK/regbig.tar"
    cp "$BUSYBOX_TAR" "$big"
    mkdir -p "$WORK/regbigdata"
    head -c $((100 * 1024 * 1024)) /dev/urandom >"$WORK/regbigdata/blob"
    tar -rf "$big" -C "$WORK/regbigdata" ./blob
    rm -rf "$WORK/regbigdata"
    registry_case "busybox + 100 MiB" "$big" big || return 1
    rm -f "$big"
  fi
  if ! skopeo_wanted; then skipped registry skopeo "not installed or not asked for"; fi
  if ! peer_enabled docker; then skipped registry docker "$(peer_why docker)"; fi
}
