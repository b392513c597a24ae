# Figure 3, a published port: bulk MB/s into a sink (bench/tcpb.c, bind-mounted into a busybox
# container) and HTTP requests/s + latency against busybox httpd, each through
# `-p 127.0.0.1:PORT:PORT`, straight to the container's address on the bench's own bridge, and
# to the same program on the host's loopback (the baseline). Traffic goes only to loopback and
# to the bridge this root created.
source "$BENCH_DIR/peers.sh"

# The paths are measured interleaved (one run of each path per round, round after round), so a
# change of the machine's load over the minutes of the figure hits every path alike; the
# ratios between them are what this figure is for.
#
# sink_mbps TARGET...: TARGET is "tool|case|addr|port"; ITERS rounds (after WARMUP) of one
# $MIB MiB transfer per target, each confirmed by the sink.
sink_mbps() {
  local i t out tool case addr port
  declare -A got=()
  for t in "$@"; do
    IFS='|' read -r tool case addr port <<<"$t"
    "$TCPB" wait "$addr" "$port" 10 || { failed port "$tool" "$case: nothing listens on $addr:$port"; return 1; }
  done
  for ((i = 0; i < WARMUP + ITERS; i++)); do
    for t in "$@"; do
      IFS='|' read -r tool case addr port <<<"$t"
      out=$("$TCPB" send "$addr" "$port" "$MIB" 2>&1) || { failed port "$tool" "$case: $out"; return 1; }
      [ "$i" -ge "$WARMUP" ] && got[$t]+=" ${out%% *}"
    done
  done
  for t in "$@"; do
    IFS='|' read -r tool case addr port <<<"$t"
    # shellcheck disable=SC2086
    record port "$case" "$tool" MB/s higher ${got[$t]}
  done
}

# http_rate TARGET...: as sink_mbps, rounds of $HTTP_S seconds of sequential GETs per target.
http_rate() {
  local i t out tool case addr port r a c runs=$(( ITERS > 10 ? 10 : ITERS ))
  declare -A rps=() p50=() p99=()
  for t in "$@"; do
    IFS='|' read -r tool case addr port <<<"$t"
    "$TCPB" wait "$addr" "$port" 10 || { failed port "$tool" "$case: nothing listens on $addr:$port"; return 1; }
  done
  for ((i = 0; i < 1 + runs; i++)); do
    for t in "$@"; do
      IFS='|' read -r tool case addr port <<<"$t"
      out=$("$TCPB" http "$addr" "$port" "$HTTP_S" 2>&1) || { failed port "$tool" "$case: $out"; return 1; }
      [ "$i" -ge 1 ] || continue
      read -r r a c _ <<<"$out"
      rps[$t]+=" $r"; p50[$t]+=" $a"; p99[$t]+=" $c"
    done
  done
  for t in "$@"; do
    IFS='|' read -r tool case addr port <<<"$t"
    # shellcheck disable=SC2086
    {
      record port "$case, requests/s" "$tool" req/s higher ${rps[$t]}
      record port "$case, p50 latency" "$tool" ms lower ${p50[$t]}
      record port "$case, p99 latency" "$tool" ms lower ${p99[$t]}
    }
  done
}

# wrk_rate TARGET...: as http_rate, with wrk (the issue's tool, when installed): rounds of
# $HTTP_S seconds of `wrk -t1 -c4 --latency` per target (busybox httpd closes each connection,
# so every request is a new connection, as in http_rate, but four at a time).
wrk_rate() {
  local i t out tool case addr port runs=$(( ITERS > 10 ? 10 : ITERS )) r p99 secs=${HTTP_S%.*}
  [ "${secs:-0}" -ge 1 ] || secs=1  # wrk takes whole seconds
  declare -A rps=() lat=()
  for ((i = 0; i < 1 + runs; i++)); do
    for t in "$@"; do
      IFS='|' read -r tool case addr port <<<"$t"
      out=$(wrk -t1 -c4 -d"${secs}s" --latency "http://$addr:$port/" 2>&1) || { failed port "$tool" "$case (wrk): $out"; return 1; }
      [ "$i" -ge 1 ] || continue
      r=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
      # "99%  1.23ms": wrk prints us, ms or s.
      p99=$(awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
                                if (u == "us") v /= 1000; else if (u == "s") v *= 1000; printf "%.3f", v }' <<<"$out")
      [ -n "$r" ] && [ -n "$p99" ] || { failed port "$tool" "$case (wrk): no rate in: $(tail -c 200 <<<"$out")"; return 1; }
      rps[$t]+=" $r"; lat[$t]+=" $p99"
    done
  done
  for t in "$@"; do
    IFS='|' read -r tool case addr port <<<"$t"
    # shellcheck disable=SC2086
    {
      record port "wrk $case, requests/s" "$tool" req/s higher ${rps[$t]}
      record port "wrk $case, p99 latency" "$tool" ms lower ${lat[$t]}
    }
  done
}

fig_port() {
  MIB=512 HTTP_S=2
  [ "$QUICK" = 1 ] && MIB=32 HTTP_S=0.3
  local ps ph hs hh www="$WORK/www"
  ps=$(free_port 44000 4); ph=$((ps + 1)); hs=$((ps + 2)); hh=$((ps + 3))
  mkdir -p "$www"
  head -c 1024 /dev/zero | tr '\0' 'b' >"$www/index.html"

  # Baselines: the same programs on the host's loopback.
  bg "$TCPB" sink "$hs"
  bg busybox httpd -f -p "127.0.0.1:$hh" -h "$www"

  # berth: a sink and an httpd, each behind a published loopback port.
  local sink_id httpd_id sink_ip httpd_ip
  sink_id=$(b run -d -p "127.0.0.1:$ps:$ps" -v "$TCPB:/tcpb:ro" busybox /tcpb sink "$ps") ||
    { failed port berth "run of the sink container failed"; return 1; }
  httpd_id=$(b run -d -p "127.0.0.1:$ph:80" -v "$www:/www:ro" busybox httpd -f -p 80 -h /www) ||
    { failed port berth "run of the httpd container failed"; return 1; }
  sink_ip=$(b inspect -f '{{.NetworkSettings.IPAddress}}' "$sink_id")
  httpd_ip=$(b inspect -f '{{.NetworkSettings.IPAddress}}' "$httpd_id")
  [ -n "$sink_ip" ] && [ -n "$httpd_ip" ] || { failed port berth "inspect shows no container address"; return 1; }
  sink_mbps "host|tcp stream, host loopback (baseline)|127.0.0.1|$hs" \
            "berth|tcp stream, published 127.0.0.1 port|127.0.0.1|$ps" \
            "berth|tcp stream, container address (bridge)|$sink_ip|$ps" || true
  http_rate "host|http GET 1 KiB, host loopback (baseline)|127.0.0.1|$hh" \
            "berth|http GET 1 KiB, published 127.0.0.1 port|127.0.0.1|$ph" \
            "berth|http GET 1 KiB, container address (bridge)|$httpd_ip|80" || true
  if command -v wrk >/dev/null 2>&1; then
    wrk_rate "host|http GET 1 KiB, host loopback (baseline)|127.0.0.1|$hh" \
             "berth|http GET 1 KiB, published 127.0.0.1 port|127.0.0.1|$ph" \
             "berth|http GET 1 KiB, container address (bridge)|$httpd_ip|80" || true
  else
    skipped port wrk "not installed (bench/run --install-peers installs it): the http rows are bench/tcpb.c's sequential GETs only"
  fi
  b rm -f "$sink_id" "$httpd_id" >/dev/null

  if peer_enabled docker; then
    if docker_image; then
      local d1 d2
      d1=$(docker run -d -p "127.0.0.1:$ps:$ps" -v "$TCPB:/tcpb:ro" "$PEER_IMAGE" /tcpb sink "$ps") &&
        on_exit "docker rm -f $d1" && sink_mbps "docker|tcp stream, published 127.0.0.1 port|127.0.0.1|$ps" || true
      d2=$(docker run -d -p "127.0.0.1:$ph:80" -v "$www:/www:ro" "$PEER_IMAGE" httpd -f -p 80 -h /www) &&
        on_exit "docker rm -f $d2" && http_rate "docker|http GET 1 KiB, published 127.0.0.1 port|127.0.0.1|$ph" &&
        { ! command -v wrk >/dev/null 2>&1 || wrk_rate "docker|http GET 1 KiB, published 127.0.0.1 port|127.0.0.1|$ph"; } || true
      docker rm -f "${d1:-}" "${d2:-}" >/dev/null 2>&1 || true
    else failed port docker "docker import failed"; fi
  else skipped port docker "$(peer_why docker)"; fi
  if peer_enabled podman; then
    if podman_image; then
      local q1
      q1=$(P run -d -p "127.0.0.1:$ps:$ps" -v "$TCPB:/tcpb:ro" "$PEER_IMAGE" /tcpb sink "$ps") &&
        sink_mbps "podman|tcp stream, published 127.0.0.1 port|127.0.0.1|$ps" || true
      P rm -f -t 0 "${q1:-}" >/dev/null 2>&1 || true
    else failed port podman "podman import failed"; fi
  else skipped port podman "$(peer_why podman)"; fi
}
