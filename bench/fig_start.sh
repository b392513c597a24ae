# Figure 1, container start: `run --rm busybox true` with --network none, with the default
# bridge and (berth) with a user network, whose embedded DNS learns of each container; the
# create / start / wait / rm split of a detached container; the floors (raw crun and runc, and
# bare unshare of the same namespaces).
source "$BENCH_DIR/peers.sh"

fig_start() {
  local none="run --rm --network none busybox true" bridge="run --rm busybox true"
  measure start "$none" berth "$WARMUP" "$ITERS" b run --rm --network none busybox true
  measure start "$bridge" berth "$WARMUP" "$ITERS" b run --rm busybox true
  # What a network adds to a start, from pairs of runs (issue 4's "under 5 ms").
  measure_paired start "bridge minus none, paired" berth "$WARMUP" "$ITERS" start_none start_bridge
  # A user network, as compose makes: the bridge's work plus the DNS server's reloads.
  if b network create bench-user >/dev/null 2>"$WORK/last.err"; then
    on_exit "b network rm bench-user"
    measure start "run --rm --network USER busybox true" berth "$WARMUP" "$ITERS" \
      b run --rm --network bench-user busybox true
    measure_paired start "USER minus none, paired" berth "$WARMUP" "$ITERS" start_none start_user
  else failed start berth "network create: $(tail -c 300 "$WORK/last.err")"; fi
  split_berth
  if peer_enabled docker; then
    if docker_image; then
      measure start "$none" docker "$WARMUP" "$ITERS" docker run --rm --network none "$PEER_IMAGE" true || true
      measure start "$bridge" docker "$WARMUP" "$ITERS" docker run --rm "$PEER_IMAGE" true || true
      split_docker docker docker "$PEER_IMAGE"
    else failed start docker "docker import of the busybox rootfs failed"; fi
  else skipped start docker "$(peer_why docker)"; fi
  if peer_enabled podman; then
    if podman_image; then
      measure start "$none" podman "$WARMUP" "$ITERS" P run --rm --network none "$PEER_IMAGE" true || true
      measure start "$bridge" podman "$WARMUP" "$ITERS" P run --rm "$PEER_IMAGE" true || true
      split_docker podman P "$PEER_IMAGE"
    else failed start podman "podman import of the busybox rootfs failed"; fi
  else skipped start podman "$(peer_why podman)"; fi
  local rt bundle
  for rt in crun runc; do
    if peer_enabled $rt; then
      if bundle=$(oci_bundle $rt); then
        measure start "$none" "$rt run (floor)" "$WARMUP" "$ITERS" oci_run $rt "$bundle" || true
      else failed start $rt "could not make an OCI bundle with '$rt spec'"; fi
    else skipped start $rt "$(peer_why $rt)"; fi
  done
  if peer_enabled unshare; then
    measure start "$none" "unshare (floor)" "$WARMUP" "$ITERS" unshare --fork --pid --mount --uts --ipc --net true || true
  else skipped start unshare "$(peer_why unshare)"; fi
}

start_none() { b run --rm --network none busybox true; }
start_bridge() { b run --rm busybox true; }
start_user() { b run --rm --network bench-user busybox true; }

# The lifecycle of a detached container step by step: create, start, wait, rm.
split_berth() { split_steps berth b busybox; }
split_docker() { split_steps "$1" "$2" "$3"; }

# split_steps TOOL CMD IMAGE: CMD is the tool's command (b, docker, P).
split_steps() {
  local tool=$1 cmd=$2 image=$3 i id
  local c=() s=() w=() r=() t=()
  for ((i = 0; i < WARMUP + ITERS; i++)); do
    if ! timed "$cmd" create --network none "$image" true; then
      failed start "$tool" "create: $(tail -c 300 "$WORK/last.err")"; return 1
    fi
    local tc=$ELAPSED_MS
    id=$(tail -n1 "$WORK/last.out")
    [ -n "$id" ] || { failed start "$tool" "create printed no container id"; return 1; }
    timed "$cmd" start "$id" || { failed start "$tool" "start: $(tail -c 300 "$WORK/last.err")"; return 1; }
    local ts=$ELAPSED_MS
    timed "$cmd" wait "$id" || { failed start "$tool" "wait: $(tail -c 300 "$WORK/last.err")"; return 1; }
    local tw=$ELAPSED_MS
    timed "$cmd" rm "$id" || { failed start "$tool" "rm: $(tail -c 300 "$WORK/last.err")"; return 1; }
    local tr=$ELAPSED_MS
    [ "$i" -lt "$WARMUP" ] && continue
    c+=("$tc"); s+=("$ts"); w+=("$tw"); r+=("$tr")
    t+=("$(awk -v a="$tc" -v b="$ts" -v c="$tw" -v d="$tr" 'BEGIN { printf "%.3f", a + b + c + d }')")
  done
  record start "create (--network none)" "$tool" ms lower "${c[@]}"
  record start "start" "$tool" ms lower "${s[@]}"
  record start "wait" "$tool" ms lower "${w[@]}"
  record start "rm" "$tool" ms lower "${r[@]}"
  record start "create+start+wait+rm" "$tool" ms lower "${t[@]}"
}
