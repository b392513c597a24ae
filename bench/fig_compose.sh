# Figure 2, compose: `up -d` and `down` of 3, 20 and 50 busybox services (one user network, one
# published port on loopback, depends_on chains of five), vs docker compose and podman-compose.
source "$BENCH_DIR/peers.sh"

# compose_file N IMAGE PORT: services s1..sN; each sN with N % 5 != 1 depends on the one before,
# so the graph is chains of five (the executor must both order and parallelise). Each service
# stops on SIGTERM at once (a shell trap), so `down` measures the engine, not a 10 s timeout.
compose_file() {
  local n=$1 image=$2 port=$3 i
  echo "services:"
  for ((i = 1; i <= n; i++)); do
    echo "  s$i:"
    echo "    image: $image"
    echo "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 3600 & wait\"]"
    echo "    networks: [bench]"
    if [ "$i" = 1 ]; then
      echo "    ports: [\"127.0.0.1:$port:80\"]"
    fi
    if [ $((i % 5)) != 1 ]; then
      echo "    depends_on: [s$((i - 1))]"
    fi
  done
  echo "networks:"
  echo "  bench: {}"
}

# compose_cycle TOOL N CMD...: ITERS rounds of `up -d` then `down` (CMD: the compose command
# with -f and -p); every round must start all N services.
compose_cycle() {
  local tool=$1 n=$2
  shift 2
  local i up=() down=() rounds=$ITERS
  # 50 services take a while with any tool: fewer rounds for the big projects.
  [ "$n" -ge 20 ] && [ "$ITERS" -gt 10 ] && rounds=$(( ITERS / 2 > 10 ? ITERS / 2 : 10 ))
  for ((i = 0; i < 1 + rounds; i++)); do
    timed "$@" up -d || { failed compose "$tool" "up -d of $n services: $(tail -c 300 "$WORK/last.err")"; "$@" down >/dev/null 2>&1; return 1; }
    local tu=$ELAPSED_MS
    timed "$@" down || { failed compose "$tool" "down of $n services: $(tail -c 300 "$WORK/last.err")"; return 1; }
    [ "$i" -ge 1 ] || continue  # the first round warms caches
    up+=("$tu"); down+=("$ELAPSED_MS")
  done
  record compose "up -d, $n services" "$tool" ms lower "${up[@]}"
  record compose "down, $n services" "$tool" ms lower "${down[@]}"
}

# has_compose_up: this berth has `compose up`. (`berth compose up --help` exits 0 even without
# it, printing the group's help, so its usage line is what tells.)
has_compose_up() {
  b compose up --help 2>&1 | grep -q '^Usage:.*compose up' ||
    b compose --help 2>&1 | sed -n '/^Subcommands:/,$p' | grep -qE '^ +up( |$)'
}

fig_compose() {
  local sizes="3 20 50"
  [ "$QUICK" = 1 ] && sizes="3"
  local port n dir
  port=$(free_port 43000)
  local have_up=0
  has_compose_up && have_up=1
  [ $have_up = 1 ] || skipped compose berth "this berth has no 'compose up' yet (berth compose up --help does not show its usage)"
  for n in $sizes; do
    dir="$WORK/compose-$n"
    mkdir -p "$dir"
    compose_file "$n" busybox "$port" >"$dir/berth.yaml"
    compose_file "$n" "$PEER_IMAGE" "$port" >"$dir/peer.yaml"
    if [ $have_up = 1 ]; then
      on_exit "b compose -f $dir/berth.yaml -p bench$n down"
      compose_cycle berth "$n" b compose -f "$dir/berth.yaml" -p "bench$n" || true
      # What `up` made must be gone after `down`.
      if [ -n "$(b ps -aq --filter label=com.docker.compose.project="bench$n")" ]; then
        failed compose berth "containers of bench$n left after down"
      fi
    fi
    if peer_enabled docker-compose; then
      if docker_image; then
        on_exit "${DOCKER_COMPOSE[*]} -f $dir/peer.yaml -p berth-bench$$-$n down"
        compose_cycle docker-compose "$n" "${DOCKER_COMPOSE[@]}" -f "$dir/peer.yaml" -p "berth-bench$$-$n" || true
      else failed compose docker-compose "docker import failed"; fi
    elif [ "$n" = "${sizes%% *}" ]; then skipped compose docker-compose "$(peer_why docker-compose)"; fi
    if peer_enabled podman-compose && [ "$n" -gt "${BENCH_PODMAN_COMPOSE_MAX:-20}" ]; then
      skipped compose podman-compose "$n services: over BENCH_PODMAN_COMPOSE_MAX (${BENCH_PODMAN_COMPOSE_MAX:-20}); podman-compose starts one podman process per step, ~1.5 min per round at 50 here"
    elif peer_enabled podman-compose; then
      # podman-compose calls plain `podman`, so the image goes to podman's default storage
      # (removed at exit).
      if podman image exists "$PEER_IMAGE" || { podman import "$BUSYBOX_TAR" "$PEER_IMAGE" >/dev/null && on_exit "podman rmi -f $PEER_IMAGE"; }; then
        on_exit "podman-compose -f $dir/peer.yaml -p berth-bench$$-$n down"
        compose_cycle podman-compose "$n" podman-compose -f "$dir/peer.yaml" -p "berth-bench$$-$n" || true
      else failed compose podman-compose "podman import failed"; fi
    elif [ "$n" = "${sizes%% *}" ]; then skipped compose podman-compose "$(peer_why podman-compose)"; fi
  done
}
