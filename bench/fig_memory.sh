# Figure 4, memory: what one idle container costs beyond its own processes. For each of N
# idle containers (`sleep`), the supervisor is the parent of the container's init: berth-shim
# for berth, containerd-shim for docker, conmon for podman. PSS (shared pages split among the
# sharers) and RSS come from /proc/PID/smaps_rollup once all N run, so shared pages count once.
source "$BENCH_DIR/peers.sh"

# supervisor_mem TOOL PIDS...: PIDS are the containers' init pids; records their parents' PSS/RSS.
supervisor_mem() {
  local tool=$1 pid ppid name="" pss=() rss=() m
  shift
  [ $# -gt 0 ] || { failed memory "$tool" "no container started"; return 1; }
  for pid in "$@"; do
    ppid=$(ppid_of "$pid") || { failed memory "$tool" "no process $pid"; return 1; }
    name=$(comm_of "$ppid")
    m=$(pss_rss_kib "$ppid") || { failed memory "$tool" "no smaps_rollup for $ppid"; return 1; }
    pss+=("${m% *}"); rss+=("${m#* }")
  done
  record memory "supervisor PSS per idle container ($name)" "$tool" KiB lower "${pss[@]}"
  record memory "supervisor RSS per idle container ($name)" "$tool" KiB lower "${rss[@]}"
}

fig_memory() {
  local n=10 i ids=() pids=() pid
  [ "$QUICK" = 1 ] && n=2
  local id
  for ((i = 0; i < n; i++)); do
    id=$(b run -d --network none busybox sleep 3600) || { failed memory berth "run -d failed"; return 1; }
    ids+=("$id")
  done
  for i in "${ids[@]}"; do
    pid=$(b inspect -f '{{.State.Pid}}' "$i")
    [ -n "$pid" ] && [ "$pid" != 0 ] || { failed memory berth "inspect shows no pid for $i"; return 1; }
    pids+=("$pid")
  done
  supervisor_mem berth "${pids[@]}"
  local name
  name=$(comm_of "$(ppid_of "${pids[0]}")")
  [ "$name" = berth-shim ] || failed memory berth "the container's parent is '$name', not berth-shim"
  b rm -f "${ids[@]}" >/dev/null

  if peer_enabled docker; then
    if docker_image; then
      ids=(); pids=()
      for ((i = 0; i < n; i++)); do
        id=$(docker run -d --network none "$PEER_IMAGE" sleep 3600) && ids+=("$id") && on_exit "docker rm -f $id"
      done
      for i in "${ids[@]}"; do pids+=("$(docker inspect -f '{{.State.Pid}}' "$i")"); done
      supervisor_mem docker "${pids[@]}" || true
      docker rm -f "${ids[@]}" >/dev/null 2>&1 || true
    else failed memory docker "docker import failed"; fi
  else skipped memory docker "$(peer_why docker)"; fi
  if peer_enabled podman; then
    if podman_image; then
      ids=(); pids=()
      for ((i = 0; i < n; i++)); do id=$(P run -d --network none "$PEER_IMAGE" sleep 3600) && ids+=("$id"); done
      for i in "${ids[@]}"; do pids+=("$(P inspect -f '{{.State.Pid}}' "$i")"); done
      supervisor_mem podman "${pids[@]}" || true
      P rm -f -t 0 "${ids[@]}" >/dev/null 2>&1 || true
    else failed memory podman "podman import failed"; fi
  else skipped memory podman "$(peer_why podman)"; fi
}
