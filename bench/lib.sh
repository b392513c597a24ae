# Shared helpers of bench/run (sourced): the temp work dir and its cleanup, timing, statistics,
# the results file and the peers' detection. Every figure script records samples with
# `record`; `report_markdown` and `report_json` turn them into the table and the JSON file.
#
# Results are kept as tab-separated lines in $RESULTS:
#   figure  case  tool  unit  better  samples(space separated)
# `better` is "lower" (times, memory) or "higher" (throughput): it only labels the ratio.

BENCH_DIR=${BENCH_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
SRC_DIR=$(cd "$BENCH_DIR/.." && pwd)

WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
ROOT="$WORK/root"
RUN="$WORK/run"
mkdir -p "$ROOT" "$RUN"
RESULTS="$WORK/results.tsv"
SKIPS="$WORK/skips.tsv"
: >"$RESULTS"
: >"$SKIPS"
_cleanups=()
BENCH_FAILED=0

b() { "$BERTH" --root "$ROOT" --run-dir "$RUN" "$@"; }

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: $*"; exit 1; }

# on_exit CMD...: run at exit, last registered first.
on_exit() { _cleanups+=("$*"); }
_bench_cleanup() {
  local rc=$?
  for ((i=${#_cleanups[@]}-1; i>=0; i--)); do eval "${_cleanups[$i]}" >/dev/null 2>&1 || true; done
  # Whatever berth made in the kernel for this root (containers, bridge, nft table) goes too.
  if [ -n "${BERTH:-}" ] && [ -d "$ROOT" ]; then
    "$BERTH" --root "$ROOT" --run-dir "$RUN" system teardown >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK" 2>/dev/null || true
  exit $rc
}
trap _bench_cleanup EXIT
trap 'exit 130' INT TERM

# bg CMD...: start CMD in the background; its pid is killed (by id) at exit. Sets $BG_PID.
bg() {
  "$@" >/dev/null 2>&1 &
  BG_PID=$!
  on_exit "kill $BG_PID; wait $BG_PID"
}

# now_us: microseconds since the epoch without forking (bash 5's $EPOCHREALTIME).
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }

# timed CMD...: run CMD (stdout to $WORK/last.out, stderr to $WORK/last.err); set $ELAPSED_MS
# (milliseconds, 3 decimals). Returns CMD's status.
timed() {
  local t0 t1 rc=0
  t0=${EPOCHREALTIME/./}
  "$@" >"$WORK/last.out" 2>"$WORK/last.err" || rc=$?
  t1=${EPOCHREALTIME/./}
  ELAPSED_MS=$(( t1 - t0 ))
  ELAPSED_MS="$((ELAPSED_MS / 1000)).$(printf '%03d' $((ELAPSED_MS % 1000)))"
  return $rc
}

# record FIGURE CASE TOOL UNIT BETTER SAMPLES...
record() {
  local fig=$1 case=$2 tool=$3 unit=$4 better=$5
  shift 5
  [ $# -gt 0 ] || return 0
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$fig" "$case" "$tool" "$unit" "$better" "$*" >>"$RESULTS"
  log "  $(printf '%-8s %-40s %-22s' "$fig" "$case" "$tool") $(stats "$@" | awk '{printf "median %s  min %s  max %s", $2, $4, $5}') $unit"
}

# skipped FIGURE TOOL REASON: a figure or a peer that could not be measured (not a failure).
skipped() {
  set -- "$1" "$2" "${3//[$'\n\t']/ }"
  printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$SKIPS"
  log "  skipped: $1 / $2: $3"
}

# failed FIGURE TOOL MESSAGE: berth failing makes bench/run exit 1; a peer failing is recorded.
failed() {
  local fig=$1 tool=$2 msg=${3//[$'\n\t']/ }
  if [ "$tool" = berth ]; then
    BENCH_FAILED=1
    log "bench: FAILED: $fig: berth: $msg"
  fi
  printf '%s\t%s\t%s\n' "$fig" "$tool" "failed: $msg" >>"$SKIPS"
  [ "$tool" = berth ] || log "  $fig / $tool failed: $msg"
}

# stats SAMPLES...: prints "n median p90 min max mean" (nearest-rank p90).
stats() {
  printf '%s\n' "$@" | sort -g | awk '
    { v[NR] = $1; s += $1 }
    END {
      n = NR
      med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      r = int(0.9 * n + 0.999999); if (r < 1) r = 1
      printf "%d %.3f %.3f %.3f %.3f %.3f\n", n, med, v[r], v[1], v[n], s / n
    }'
}

# measure FIGURE CASE TOOL WARMUP ITERATIONS CMD...: time CMD; every run must succeed.
measure() {
  local fig=$1 case=$2 tool=$3 warm=$4 iters=$5
  shift 5
  local i samples=()
  for ((i = 0; i < warm; i++)); do
    if ! timed "$@"; then failed "$fig" "$tool" "$case: $(tail -c 300 "$WORK/last.err")"; return 1; fi
  done
  for ((i = 0; i < iters; i++)); do
    if ! timed "$@"; then failed "$fig" "$tool" "$case: $(tail -c 300 "$WORK/last.err")"; return 1; fi
    samples+=("$ELAPSED_MS")
  done
  record "$fig" "$case" "$tool" ms lower "${samples[@]}"
}

# measure_paired FIGURE CASE TOOL WARMUP ITERATIONS BASE CMD: BASE and CMD are commands (one
# word each: a function, say) run in pairs; records CMD's time minus BASE's in each pair, so the
# machine's drift over a run (this project's VMs: tens of percent within minutes) does not enter
# the difference, as it does in the difference of two medians taken minutes apart. The order
# within a pair alternates (ABBA): what one run leaves the kernel to finish (a namespace's or a
# veth's teardown) falls on BASE and CMD alike.
measure_paired() {
  local fig=$1 case=$2 tool=$3 warm=$4 iters=$5 base=$6 cmd=$7 i tb tc first second samples=()
  for ((i = 0; i < warm + iters; i++)); do
    if ((i % 2)); then first=$cmd second=$base; else first=$base second=$cmd; fi
    if ! timed "$first"; then failed "$fig" "$tool" "$case: $(tail -c 300 "$WORK/last.err")"; return 1; fi
    if ((i % 2)); then tc=$ELAPSED_MS; else tb=$ELAPSED_MS; fi
    if ! timed "$second"; then failed "$fig" "$tool" "$case: $(tail -c 300 "$WORK/last.err")"; return 1; fi
    if ((i % 2)); then tb=$ELAPSED_MS; else tc=$ELAPSED_MS; fi
    ((i < warm)) || samples+=("$(awk -v a="$tc" -v b="$tb" 'BEGIN { printf "%.3f", a - b }')")
  done
  record "$fig" "$case" "$tool" ms lower "${samples[@]}"
}

# --- peers -------------------------------------------------------------------------------------
# peer_status TOOL: "ok", or why it cannot be measured. Cached in PEER_<tool>.
declare -A PEER=()
detect_peers() {
  if ! command -v docker >/dev/null 2>&1; then PEER[docker]="not installed"
  elif ! timeout 10 docker info >/dev/null 2>&1; then PEER[docker]="installed, but no daemon answers${DOCKERD_WHY:+ ($DOCKERD_WHY)}"
  else PEER[docker]=ok; fi
  if ! command -v podman >/dev/null 2>&1; then PEER[podman]="not installed"
  else PEER[podman]=ok; fi
  local rt
  for rt in crun runc; do
    if command -v "$rt" >/dev/null 2>&1; then PEER[$rt]=ok; else PEER[$rt]="not installed"; fi
  done
  if [ "${PEER[crun]}" = ok ] && crun_needs_no_cgroups; then
    PEER[crun]="installed, but cannot run here: this host's cgroup2 mount has controllers ($(tr '\n' ' ' </sys/fs/cgroup/unified/cgroup.controllers| sed 's/ $//')) beside cgroup v1, which crun refuses"
  fi
  if docker compose version >/dev/null 2>&1 && [ "${PEER[docker]}" = ok ]; then PEER[docker-compose]=ok; DOCKER_COMPOSE=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1 && [ "${PEER[docker]}" = ok ]; then PEER[docker-compose]=ok; DOCKER_COMPOSE=(docker-compose)
  elif command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1; then PEER[docker-compose]="installed, but no docker daemon answers"
  else PEER[docker-compose]="not installed"; fi
  if ! command -v podman-compose >/dev/null 2>&1; then PEER[podman-compose]="not installed"
  elif [ "${PEER[podman]}" != ok ]; then PEER[podman-compose]="podman not installed"
  else PEER[podman-compose]=ok; fi
  if command -v unshare >/dev/null 2>&1; then PEER[unshare]=ok; else PEER[unshare]="not installed"; fi
}
peer_ok() { [ "${PEER[$1]:-}" = ok ]; }
# wants_peer TOOL: asked for with --peers (installed or not).
wants_peer() { [[ "$PEERS" == all || ",$PEERS," == *",$1,"* ]]; }
# peer_enabled TOOL: installed and asked for (--peers).
peer_enabled() { peer_ok "$1" && wants_peer "$1"; }
# peer_why TOOL: why TOOL is not measured.
peer_why() { if wants_peer "$1"; then echo "${PEER[$1]:-unknown}"; else echo "not asked for (--peers)"; fi; }

# --- reports -----------------------------------------------------------------------------------
# summary: $RESULTS with statistics, one awk pass (the reports would otherwise fork per row):
#   figure case tool unit better n median p90 min max mean samples(comma separated) berth_ratio
# berth_ratio is berth's median / this tool's median for the same figure and case (empty on
# berth's own rows): below 1 means berth is faster or smaller for times and memory, above 1
# means berth moves more for throughput.
summary() {
  awk -F'\t' -v OFS='\t' '
    {
      n = split($6, v, " ")
      for (i = 2; i <= n; i++) { x = v[i] + 0; for (j = i - 1; j >= 1 && v[j] + 0 > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
      s = 0; csv = ""
      for (i = 1; i <= n; i++) { s += v[i]; csv = csv (i > 1 ? "," : "") v[i] }
      med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      r = int(0.9 * n + 0.999999); if (r < 1) r = 1
      row[NR] = sprintf("%s\t%s\t%s\t%s\t%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%s", $1, $2, $3, $4, $5, n, med, v[r], v[1], v[n], s / n, csv)
      key[NR] = $1 "|" $2; medof[NR] = med
      if ($3 == "berth") berth[$1 "|" $2] = med
    }
    END {
      for (i = 1; i <= NR; i++) {
        ratio = ""
        split(row[i], f, "\t")
        if (f[3] != "berth" && (key[i] in berth) && medof[i] > 0) ratio = sprintf("%.2f", berth[key[i]] / medof[i])
        print row[i], ratio
      }
    }' "$RESULTS"
}

# report_markdown: one row per (figure, case, tool), and what was not measured.
report_markdown() {
  echo "| figure | case | tool | n | median | min | max | p90 | unit | berth ÷ tool |"
  echo "|---|---|---|--:|--:|--:|--:|--:|---|--:|"
  summary | awk -F'\t' '
    function fmt(x) { return x >= 100 ? sprintf("%.0f", x) : x >= 10 ? sprintf("%.1f", x) : sprintf("%.2f", x) }
    { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $6, fmt($7), fmt($9), fmt($10), fmt($8), $4, $13 }'
  if [ -s "$SKIPS" ]; then
    echo
    echo "Not measured:"
    echo
    local fig what why
    while IFS=$'\t' read -r fig what why; do echo "- $fig / $what: $why"; done <"$SKIPS"
  fi
}

json_str() {  # json_str TEXT: a JSON string literal
  local s=$1
  s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; s=${s//$'\t'/\\t}; s=${s//$'\r'/}
  printf '"%s"' "$s"
}

# report_json: machine, versions, peers' status, every result with its samples, what was skipped.
report_json() {
  local first=1 fig case tool unit better n med p90 min max mean csv ratio what why
  printf '{\n  "date": %s,\n' "$(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
  printf '  "machine": {"cpus": %s, "cpu": %s, "kernel": %s, "mem_total_kib": %s, "loadavg_at_start": %s, "cgroups": %s},\n' \
    "$(nproc)" "$(json_str "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)")" \
    "$(json_str "$(uname -r)")" "$(awk '/MemTotal/ { print $2 }' /proc/meminfo)" "$(json_str "$LOAD_AT_START")" \
    "$(json_str "$(cgroup_kind)")"
  printf '  "berth": {"binary": %s, "version": %s, "git": %s},\n' "$(json_str "$BERTH")" \
    "$(json_str "$("$BERTH" version 2>/dev/null | head -1)")" \
    "$(json_str "$(berth_commit)")"
  printf '  "options": {"iterations": %s, "warmup": %s, "quick": %s},\n' "$ITERS" "$WARMUP" "$([ "$QUICK" = 1 ] && echo true || echo false)"
  printf '  "peers": {'
  local p sep=""
  for p in $(printf '%s\n' "${!PEER[@]}" | sort); do
    printf '%s%s: %s' "$sep" "$(json_str "$p")" "$(json_str "${PEER[$p]}$(peer_version "$p")")"
    sep=", "
  done
  printf '},\n  "results": [\n'
  while IFS=$'\t' read -r fig case tool unit better n med p90 min max mean csv ratio; do
    [ $first = 1 ] || printf ',\n'
    first=0
    printf '    {"figure": %s, "case": %s, "tool": %s, "unit": %s, "better": %s, "n": %s, "median": %s, "p90": %s, "min": %s, "max": %s, "mean": %s, "berth_ratio": %s, "samples": [%s]}' \
      "$(json_str "$fig")" "$(json_str "$case")" "$(json_str "$tool")" "$(json_str "$unit")" "$(json_str "$better")" \
      "$n" "$med" "$p90" "$min" "$max" "$mean" "${ratio:-null}" "$csv"
  done < <(summary)
  printf '\n  ],\n  "not_measured": ['
  first=1
  while IFS=$'\t' read -r fig what why; do
    [ $first = 1 ] || printf ','
    first=0
    printf '\n    {"figure": %s, "tool": %s, "reason": %s}' "$(json_str "$fig")" "$(json_str "$what")" "$(json_str "$why")"
  done <"$SKIPS"
  printf '\n  ]\n}\n'
}

# berth_commit: the commit the measured binary was built from (its `version`), else, for a berth
# older than that line, the source tree's (which may not be the binary's).
berth_commit() {
  local c
  c=$("$BERTH" version -f '{{.Client.GitCommit}}' 2>/dev/null) && [ -n "$c" ] && { echo "$c"; return; }
  echo "source tree $(git -C "$SRC_DIR" describe --always --dirty 2>/dev/null || echo unknown)"
}

peer_version() {
  [ "${PEER[$1]:-}" = ok ] || return 0
  case $1 in
    docker) printf ' (%s)' "$(docker version --format '{{.Server.Version}}' 2>/dev/null)" ;;
    podman) printf ' (%s%s)' "$(podman --version 2>/dev/null | head -1)" "${PODMAN_RUNTIME:+, with $PODMAN_RUNTIME}" ;;
    crun|runc) printf ' (%s)' "$("$1" --version 2>/dev/null | head -1)" ;;
    docker-compose) printf ' (%s)' "$("${DOCKER_COMPOSE[@]}" version --short 2>/dev/null)" ;;
    podman-compose) printf ' (%s)' "$(podman-compose version 2>/dev/null | awk '/^podman-compose/ { print $NF; exit }')" ;;
    unshare) printf ' (%s)' "$(unshare --version 2>/dev/null | head -1)" ;;
  esac
}

cgroup_kind() {
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo v2
  elif [ -d /sys/fs/cgroup/unified ]; then echo "v1 hybrid"
  else echo v1; fi
}

# pss_rss_kib PID: "PSS RSS" in KiB from /proc/PID/smaps_rollup.
pss_rss_kib() {
  awk '/^Pss:/ { p = $2 } /^Rss:/ { r = $2 } END { if (p == "") exit 1; print p, r }' "/proc/$1/smaps_rollup"
}
ppid_of() { awk '/^PPid:/ { print $2 }' "/proc/$1/status"; }
comm_of() { cat "/proc/$1/comm"; }

# free_port BASE [COUNT]: the first of COUNT consecutive TCP ports (from the range scenarios do
# not use) on which no socket of any state exists, IPv4 or IPv6: a TIME_WAIT left by a socket
# without SO_REUSEADDR (a client's, say) makes a bind fail as a listener would, with berth's and
# docker's "port is already allocated".
free_port() {
  local p i n=${2:-1} used
  used=$(awk 'NR > 1 { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u)
  for ((p = ${1:-42000} + ($$ % 500); p < 65000; p++)); do
    for ((i = 0; i < n; i++)); do
      grep -qx "$(printf '%04X' $((p + i)))" <<<"$used" && continue 2
    done
    echo "$p"; return
  done
  die "no free port"
}
