# Figure 3, a published port: bulk MB/s into a sink (bench/tcpb.c, bind-mounted into a busybox
# container) and HTTP requests/s + latency against busybox httpd, each through
# `-p 127.0.0.1:PORT:PORT`, straight to the container's address on the bench's own bridge, and
# to the same program on the host's loopback (the baseline). Traffic goes only to loopback and
# to the bridge this root created.
source "$BENCH_DIR/peers.sh"

# sink_mbps TOOL CASE ADDR PORT: ITERS transfers of $MIB MiB, each confirmed by the sink.
sink_mbps() {
  local tool=$1 case=$2 addr=$3 port=$4 i out samples=()
  "$TCPB" wait "$addr" "$port" 10 || { failed port "$tool" "$case: nothing listens on $addr:$port"; return 1; }
  for ((i = 0; i < WARMUP + ITERS; i++)); do
    out=$("$TCPB" send "$addr" "$port" "$MIB" 2>&1) || { failed port "$tool" "$case: $out"; return 1; }
    [ "$i" -ge "$WARMUP" ] && samples+=("${out%% *}")
  done
  record port "$case" "$tool" MB/s higher "${samples[@]}"
}

# http_rate TOOL CASE ADDR PORT: ITERS runs of $HTTP_S seconds of sequential GETs.
http_rate() {
  local tool=$1 case=$2 addr=$3 port=$4 i out rps=() p50=() p99=()
  "$TCPB" wait "$addr" "$port" 10 || { failed port "$tool" "$case: nothing listens on $addr:$port"; return 1; }
  local runs=$(( ITERS > 5 ? 5 : ITERS ))
  for ((i = 0; i < 1 + runs; i++)); do
    out=$("$TCPB" http "$addr" "$port" "$HTTP_S" 2>&1) || { failed port "$tool" "$case: $out"; return 1; }
    [ "$i" -ge 1 ] || continue
    read -r r a c _ <<<"$out"
    rps+=("$r"); p50+=("$a"); p99+=("$c")
  done
  record port "$case, requests/s" "$tool" req/s higher "${rps[@]}"
  record port "$case, p50 latency" "$tool" ms lower "${p50[@]}"
  record port "$case, p99 latency" "$tool" ms lower "${p99[@]}"
}

fig_port() {
  MIB=512 HTTP_S=2
  [ "$QUICK" = 1 ] && MIB=32 HTTP_S=0.3
  local ps ph hs hh www="$WORK/www"
  ps=$(free_port 44000); ph=$((ps + 1)); hs=$((ps + 2)); hh=$((ps + 3))
  mkdir -p "$www"
  head -c 1024 /dev/zero | tr '\0' 'b' >"$www/index.html"

  # Baselines: the same programs on the host's loopback.
  bg "$TCPB" sink "$hs"
  sink_mbps host "tcp stream, host loopback (baseline)" 127.0.0.1 "$hs" || true
  bg busybox httpd -f -p "127.0.0.1:$hh" -h "$www"
  http_rate host "http GET 1 KiB, host loopback (baseline)" 127.0.0.1 "$hh" || true

  # berth: a sink and an httpd, each behind a published loopback port.
  local sink_id httpd_id ip
  sink_id=$(b run -d -p "127.0.0.1:$ps:$ps" -v "$TCPB:/tcpb:ro" busybox /tcpb sink "$ps") ||
    { failed port berth "run of the sink container failed"; return 1; }
  httpd_id=$(b run -d -p "127.0.0.1:$ph:80" -v "$www:/www:ro" busybox httpd -f -p 80 -h /www) ||
    { failed port berth "run of the httpd container failed"; return 1; }
  sink_mbps berth "tcp stream, published 127.0.0.1 port" 127.0.0.1 "$ps" || true
  ip=$(b inspect -f '{{.NetworkSettings.IPAddress}}' "$sink_id")
  if [ -n "$ip" ]; then
    sink_mbps berth "tcp stream, container address (bridge)" "$ip" "$ps" || true
  else failed port berth "inspect shows no address for the sink container"; fi
  http_rate berth "http GET 1 KiB, published 127.0.0.1 port" 127.0.0.1 "$ph" || true
  ip=$(b inspect -f '{{.NetworkSettings.IPAddress}}' "$httpd_id")
  [ -n "$ip" ] && { http_rate berth "http GET 1 KiB, container address (bridge)" "$ip" 80 || true; }
  b rm -f "$sink_id" "$httpd_id" >/dev/null

  if peer_enabled docker; then
    if docker_image; then
      local d1 d2
      d1=$(docker run -d -p "127.0.0.1:$ps:$ps" -v "$TCPB:/tcpb:ro" "$PEER_IMAGE" /tcpb sink "$ps") &&
        on_exit "docker rm -f $d1" && sink_mbps docker "tcp stream, published 127.0.0.1 port" 127.0.0.1 "$ps" || true
      d2=$(docker run -d -p "127.0.0.1:$ph:80" -v "$www:/www:ro" "$PEER_IMAGE" httpd -f -p 80 -h /www) &&
        on_exit "docker rm -f $d2" && http_rate docker "http GET 1 KiB, published 127.0.0.1 port" 127.0.0.1 "$ph" || true
      docker rm -f "${d1:-}" "${d2:-}" >/dev/null 2>&1 || true
    else failed port docker "docker import failed"; fi
  else skipped port docker "${PEER[docker]:-not asked for}"; fi
  if peer_enabled podman; then
    if podman_image; then
      local q1
      q1=$(P run -d -p "127.0.0.1:$ps:$ps" -v "$TCPB:/tcpb:ro" "$PEER_IMAGE" /tcpb sink "$ps") &&
        sink_mbps podman "tcp stream, published 127.0.0.1 port" 127.0.0.1 "$ps" || true
      P rm -f -t 0 "${q1:-}" >/dev/null 2>&1 || true
    else failed port podman "podman import failed"; fi
  else skipped port podman "${PEER[podman]:-not asked for}"; fi
}
