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

# The HTTP probes: PROBE ADDR PORT prints "requests/s p50-ms p99-ms" ("-" for a figure the
# probe has not) of one run of $HTTP_S seconds.
# tcpb_http: sequential GETs, a connection each (busybox httpd closes it), from bench/tcpb.c.
tcpb_http() { "$TCPB" http "$1" "$2" "$HTTP_S"; }
# wrk_http: `wrk -t1 -c4 --latency` (the issue's tool, when installed): the same requests, four
# connections at a time. wrk takes whole seconds, and prints latencies in us, ms or s.
wrk_http() {
  local out secs=${HTTP_S%.*}
  [ "${secs:-0}" -ge 1 ] || secs=1
  out=$(wrk -t1 -c4 -d"${secs}s" --latency "http://$1:$2/" 2>&1) || { echo "$out"; return 1; }
  awk '/^Requests\/sec:/ { r = $2 }
       $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
                     if (u == "us") v /= 1000; else if (u == "s") v *= 1000; p = sprintf("%.3f", v) }
       END { if (r == "" || p == "") exit 1; print r, "-", p }' <<<"$out" || { tail -c 200 <<<"$out"; return 1; }
}

# http_rate PROBE PREFIX TARGET...: as sink_mbps, rounds of one PROBE run per target; the rows'
# cases start with PREFIX.
http_rate() {
  local probe=$1 prefix=$2 i t out tool case addr port r a c runs=$(( ITERS > 10 ? 10 : ITERS ))
  shift 2
  declare -A rps=() p50=() p99=()
  for t in "$@"; do
    IFS='|' read -r tool case addr port <<<"$t"
    "$TCPB" wait "$addr" "$port" 10 || { failed port "$tool" "$case: nothing listens on $addr:$port"; return 1; }
  done
  for ((i = 0; i < 1 + runs; i++)); do
    for t in "$@"; do
      IFS='|' read -r tool case addr port <<<"$t"
      out=$("$probe" "$addr" "$port" 2>&1) || { failed port "$tool" "$prefix$case: $out"; return 1; }
      [ "$i" -ge 1 ] || continue
      read -r r a c _ <<<"$out"
      rps[$t]+=" $r"; p99[$t]+=" $c"
      [ "$a" = - ] || p50[$t]+=" $a"
    done
  done
  for t in "$@"; do
    IFS='|' read -r tool case addr port <<<"$t"
    # shellcheck disable=SC2086
    {
      record port "$prefix$case, requests/s" "$tool" req/s higher ${rps[$t]}
      record port "$prefix$case, p50 latency" "$tool" ms lower ${p50[$t]:-}
      record port "$prefix$case, p99 latency" "$tool" ms lower ${p99[$t]}
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
  local http=("host|http GET 1 KiB, host loopback (baseline)|127.0.0.1|$hh"
              "berth|http GET 1 KiB, published 127.0.0.1 port|127.0.0.1|$ph"
              "berth|http GET 1 KiB, container address (bridge)|$httpd_ip|80")
  http_rate tcpb_http "" "${http[@]}" || true
  if command -v wrk >/dev/null 2>&1; then
    http_rate wrk_http "wrk " "${http[@]}" || true
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
        on_exit "docker rm -f $d2" && http_rate tcpb_http "" "docker|http GET 1 KiB, published 127.0.0.1 port|127.0.0.1|$ph" &&
        { ! command -v wrk >/dev/null 2>&1 || http_rate wrk_http "wrk " "docker|http GET 1 KiB, published 127.0.0.1 port|127.0.0.1|$ph"; } || true
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
