#!/usr/bin/env bash
# berth compose end to end with busybox: up -d (names, labels, ps, a published port answering,
# health-gated start order), up again is a no-op, a changed service is recreated and the others
# kept, a service that fails to start is named, logs/exec/stop/start, and down leaves nothing in
# the kernel. DNS between services and named volumes are asserted only when the engine has them.
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip
require_cmd nft
require_cmd curl
# A shared test host: leave its global net.ipv4.ip_forward alone.
export BERTH_IP_FORWARD=0

b import "$(busybox_tar)" busybox >/dev/null

oct=$(( $$ % 200 + 20 ))
port=$(( 20000 + $$ % 20000 ))
proj="scn$$"
app="$WORK/app"
mkdir -p "$app"
cat >"$app/compose.yaml" <<EOF
name: $proj
services:
  db:
    image: busybox
    command: ["sh", "-c", "echo db ready; trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 200ms
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www"]
    ports: ["127.0.0.1:$port:80"]
    depends_on:
      db:
        condition: service_healthy
  worker:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    environment:
      ROLE: worker
    depends_on: [db]
networks:
  default:
    ipam:
      config:
        - subnet: 10.244.$oct.0/24
EOF
c() { (cd "$app" && b compose "$@"); }
on_exit "cd '$app' && '$BERTH' --root '$ROOT' --run-dir '$RUN' compose down -t 1 --remove-orphans -f compose.yaml"

# --- up -d ------------------------------------------------------------------------------------
out=$(c up -d 2>&1) || fail "up -d failed: $out"
assert_contains "$out" "Container $proj-web-1  Started" "progress names the containers"
assert_contains "$out" "Network ${proj}_default  Created" "progress names the network"
assert_eq "$(b ps --format '{{.Names}}' | sort | tr '\n' ' ')" "$proj-db-1 $proj-web-1 $proj-worker-1 " "Compose's container names"
lbl() { b inspect -f "{{index .Config.Labels \"com.docker.compose.$2\"}}" "$1"; }
assert_eq "$(lbl "$proj-web-1" project)" "$proj" "project label"
assert_eq "$(lbl "$proj-web-1" service)" "web" "service label"
assert_eq "$(lbl "$proj-web-1" container-number)" "1" "container-number label"
assert_eq "$(lbl "$proj-web-1" oneoff)" "False" "oneoff label"
assert_eq "$(lbl "$proj-web-1" project.working_dir)" "$app" "working_dir label"
assert_eq "$(lbl "$proj-web-1" project.config_files)" "$app/compose.yaml" "config_files label"
assert_eq "$(lbl "$proj-web-1" depends_on)" "db:service_healthy:false" "depends_on label"
assert_eq "$(lbl "$proj-web-1" config-hash)" "$(c config --hash web | cut -d' ' -f2)" "config-hash label is the service's hash"
assert_eq "$(b network inspect -f '{{index .Labels "com.docker.compose.network"}} {{index .Labels "com.docker.compose.project"}}' "${proj}_default")" \
  "default $proj" "network name and labels"
net_id=$(b network inspect -f '{{.Id}}' "${proj}_default")
ip link show "br-${net_id:0:12}" >/dev/null 2>&1 || fail "the project's bridge exists"

# Health-gated order: web started only once db was healthy.
assert_eq "$(b inspect -f '{{.State.Health.Status}}' "$proj-db-1")" "healthy" "db healthy before web started"
db_started=$(b inspect -f '{{.State.StartedAt}}' "$proj-db-1")
web_started=$(b inspect -f '{{.State.StartedAt}}' "$proj-web-1")
[[ "$web_started" > "$db_started" ]] || fail "web started ($web_started) before db ($db_started)"

# ps, ls, published port, logs, exec.
assert_eq "$(c ps --format '{{.Name}} {{.Service}} {{.State}}' | sort | tr '\n' ',')" \
  "$proj-db-1 db running,$proj-web-1 web running,$proj-worker-1 worker running," "compose ps"
assert_eq "$(c ps --services | tr '\n' ' ')" "db web worker " "compose ps --services"
assert_eq "$(c ps -q | wc -l)" 3 "compose ps -q"
assert_contains "$(c ps --format json | head -1)" "\"Project\":\"$proj\"" "ps --format json"
assert_contains "$(c ps)" "127.0.0.1:$port->80/tcp" "ps shows the published port"
assert_contains "$(b compose ls)" "$proj" "compose ls lists the project"
eventually 10 sh -c "curl -sf --max-time 2 http://127.0.0.1:$port/ | grep -q hello-from-web"
assert_contains "$(c logs db)" "db-1  | db ready" "logs are prefixed with the container"
assert_eq "$(c logs --no-log-prefix db)" "db ready" "--no-log-prefix"
assert_eq "$(c exec -T worker sh -c 'echo $ROLE')" "worker" "exec sees the service's environment"
assert_eq "$(c port web 80)" "127.0.0.1:$port" "compose port"

# DNS between services, once the engine serves it on user networks.
resolv=$(c exec -T worker cat /etc/resolv.conf)
case "$resolv" in
  *"nameserver 10.244.$oct.1"* | *"nameserver 127.0.0.11"*)
    assert_contains "$(c exec -T worker nslookup web 2>&1)" "10.244.$oct." "worker resolves web by service name"
    assert_contains "$(c exec -T worker wget -qO- http://web/ 2>&1)" "hello-from-web" "worker reaches web by name" ;;
  *) echo "note: the engine does not serve DNS on compose networks yet; DNS checks skipped" ;;
esac

# --- up again: nothing to do ---------------------------------------------------------------------
ids=$(b ps -q --no-trunc | sort)
assert_eq "$(c --dry-run up -d)" "nothing to do" "dry-run of a converged project"
out=$(c up -d 2>&1)
assert_not_contains "$out" "Created" "second up creates nothing"
assert_not_contains "$out" "Recreate" "second up recreates nothing"
assert_eq "$(b ps -q --no-trunc | sort)" "$ids" "second up keeps every container"
c up -d --wait --wait-timeout 20 >/dev/null 2>&1 || fail "up --wait: every service running, db healthy"
assert_eq "$(b ps -q --no-trunc | sort)" "$ids" "up --wait on a converged project changes nothing"

# --- a changed service is recreated, the others kept -------------------------------------------
web_id=$(b inspect -f '{{.Id}}' "$proj-web-1")
db_id=$(b inspect -f '{{.Id}}' "$proj-db-1")
worker_id=$(b inspect -f '{{.Id}}' "$proj-worker-1")
sed -i 's/ROLE: worker/ROLE: changed/' "$app/compose.yaml"
assert_contains "$(c --dry-run up -d)" "recreate container $proj-worker-1: configuration changed" "dry-run names the cause"
out=$(c up -d 2>&1) || fail "up after a change failed: $out"
assert_contains "$out" "Container $proj-worker-1  Recreate" "the changed service is recreated"
assert_eq "$(b inspect -f '{{.Id}}' "$proj-web-1")" "$web_id" "web untouched"
assert_eq "$(b inspect -f '{{.Id}}' "$proj-db-1")" "$db_id" "db untouched"
[ "$(b inspect -f '{{.Id}}' "$proj-worker-1")" != "$worker_id" ] || fail "worker was not recreated"
assert_eq "$(c exec -T worker sh -c 'echo $ROLE')" "changed" "the new container has the new config"

# --- stop / start -------------------------------------------------------------------------------
c stop -t 1 worker 2>/dev/null
assert_eq "$(b inspect -f '{{.State.Status}}' "$proj-worker-1")" "exited" "compose stop"
c start worker 2>/dev/null
assert_eq "$(b inspect -f '{{.State.Status}}' "$proj-worker-1")" "running" "compose start"

# --- a service that fails to start is reported by name -----------------------------------------
cat >"$app/broken.yaml" <<EOF
services:
  broken:
    image: busybox
    command: ["/no/such/binary"]
EOF
expect_fail c -f compose.yaml -f broken.yaml up -d
assert_contains "$ERR" 'service "broken"' "the failing service is named"
assert_contains "$ERR" "no such file or directory" "and why it failed"
assert_eq "$(b inspect -f '{{.State.Running}}' "$proj-web-1")" "true" "the other services keep running"
# Without broken.yaml its container is an orphan: reported, then removed with --remove-orphans.
out=$(c up -d 2>&1)
assert_contains "$out" "Found orphan containers ([$proj-broken-1])" "orphan warning"
c up -d --remove-orphans >/dev/null 2>&1
expect_fail b inspect "$proj-broken-1"

# --- dependency conditions, attached up, run ---------------------------------------------------
mkdir -p "$WORK/gate"
cat >"$WORK/gate/compose.yaml" <<EOF
name: ${proj}g
services:
  init:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "echo init done"]
  app:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "echo app ran; exit 3"]
    depends_on:
      init: {condition: service_completed_successfully}
  sick:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    healthcheck: {test: ["CMD", "false"], interval: 200ms, retries: 1}
  needs_sick:
    image: busybox
    network_mode: none
    command: ["true"]
    depends_on:
      sick: {condition: service_healthy}
EOF
g() { (cd "$WORK/gate" && b compose "$@"); }
on_exit "cd '$WORK/gate' && '$BERTH' --root '$ROOT' --run-dir '$RUN' compose down -t 1"
set +e
out=$(cd "$WORK/gate" && timeout 60 "$BERTH" --root "$ROOT" --run-dir "$RUN" compose up --exit-code-from app app 2>/dev/null)
rc=$?
set -e
assert_eq "$rc" 3 "up --exit-code-from returns the service's exit code"
assert_contains "$out" "init-1  | init done" "attached up prefixes each container's output"
assert_contains "$out" "app-1   | app ran" "app ran after init completed"
expect_fail g up -d needs_sick
assert_contains "$ERR" "service \"needs_sick\": dependency failed to start: container ${proj}g-sick-1 is unhealthy" "an unhealthy dependency is named"
assert_eq "$(b inspect -f '{{.State.Status}}' "${proj}g-needs_sick-1")" "created" "its dependent was not started"
set +e
g run --rm -T app sh -c 'exit 5' >/dev/null 2>&1
rc=$?
set -e
assert_eq "$rc" 5 "compose run returns the command's exit code"
assert_eq "$(b ps -a --format '{{.Names}}' | grep -c -- '-app-run-' || true)" 0 "run --rm leaves no container"
g down -t 1 >/dev/null 2>&1
assert_eq "$(b ps -a --format '{{.Names}}' | grep -c "^${proj}g-" || true)" 0 "down of the second project"

# --- build: sections go through berth build -------------------------------------------------------
mkdir -p "$WORK/bld"
printf 'FROM busybox\nCOPY msg /msg\nCMD ["cat", "/msg"]\n' >"$WORK/bld/Dockerfile"
echo built-by-compose >"$WORK/bld/msg"
cat >"$WORK/bld/compose.yaml" <<EOF
name: ${proj}b
services:
  app:
    build: .
    network_mode: none
EOF
on_exit "cd '$WORK/bld' && '$BERTH' --root '$ROOT' --run-dir '$RUN' compose down --rmi local"
(cd "$WORK/bld" && b compose up -d >/dev/null 2>&1) || fail "up of a service with a build section"
assert_eq "$(b images -q "${proj}b-app" | wc -l)" 1 "the image is tagged <project>-<service>"
eventually 5 sh -c "$BERTH --root $ROOT --run-dir $RUN logs ${proj}b-app-1 | grep -q built-by-compose"
assert_not_contains "$(cd "$WORK/bld" && b compose --dry-run up -d)" "build image" "a built image is not rebuilt"
(cd "$WORK/bld" && b compose down --rmi local >/dev/null 2>&1)
assert_eq "$(b images -q "${proj}b-app" | wc -l)" 0 "down --rmi local removes it"

# --- named volumes, once the engine mounts them -------------------------------------------------
volumes_wired=false
b run --rm --name "probe-$$" --network none -v "probe-$$:/x" busybox true >/dev/null 2>&1 && volumes_wired=true
b rm -f "probe-$$" >/dev/null 2>&1 || true
b volume rm -f "probe-$$" >/dev/null 2>&1 || true
if $volumes_wired; then
  cat >"$app/vol.yaml" <<EOF
services:
  store:
    image: busybox
    command: ["sh", "-c", "cat /data/v 2>/dev/null || echo first > /data/v; trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    volumes: [data:/data, /anon]
volumes:
  data: {}
EOF
  c -f compose.yaml -f vol.yaml up -d store >/dev/null 2>&1 || fail "up with a named volume"
  assert_eq "$(b volume inspect -f '{{index .Labels "com.docker.compose.volume"}}' "${proj}_data")" "data" "volume labels"
  c -f compose.yaml -f vol.yaml exec -T store sh -c 'echo anon-kept > /anon/f'
  c -f compose.yaml -f vol.yaml up -d --force-recreate store >/dev/null 2>&1 || fail "forced recreate of store"
  assert_eq "$(c -f compose.yaml -f vol.yaml exec -T store cat /anon/f)" "anon-kept" "a recreated container keeps its anonymous volume"
  c -f compose.yaml -f vol.yaml down -t 1 >/dev/null 2>&1
  assert_eq "$(b volume ls -q | grep -c "^${proj}_data$")" 1 "down keeps named volumes"
  c -f compose.yaml -f vol.yaml up -d store >/dev/null 2>&1
  eventually 5 sh -c "$BERTH --root $ROOT --run-dir $RUN logs $proj-store-1 | grep -q first"
  c -f compose.yaml -f vol.yaml down -v -t 1 >/dev/null 2>&1
  assert_eq "$(b volume ls -q | grep -c "^${proj}_data$" || true)" 0 "down -v removes them"
  c up -d >/dev/null 2>&1
else
  echo "note: the engine does not mount named volumes yet; volume checks skipped"
fi

# --- down leaves nothing ------------------------------------------------------------------------
out=$(c down -t 1 2>&1) || fail "down failed: $out"
assert_contains "$out" "Network ${proj}_default  Removed" "down removes the network"
assert_eq "$(b ps -aq | wc -l)" 0 "no containers after down"
assert_eq "$(b network ls -q --filter name="${proj}_default")" "" "no network after down"
! ip link show "br-${net_id:0:12}" >/dev/null 2>&1 || fail "bridge left after down"
prefix="berth-$(printf %s "$ROOT" | sha256sum | cut -c1-8)"
! nft list table ip "$prefix" >/dev/null 2>&1 || fail "nft table $prefix left after down"
assert_eq "$(grep -c "$ROOT" /proc/self/mountinfo || true)" 0 "no mounts left"
for cg in /sys/fs/cgroup/*/"$prefix"; do
  [ -d "$cg" ] || continue
  [ -z "$(ls -A "$cg" 2>/dev/null | grep -E '^[0-9a-f]{64}$')" ] || fail "container cgroup left in $cg"
done
pgrep -f "berth-shim $RUN" >/dev/null && fail "a shim is still running"
assert_eq "$(c ps -a -q | wc -l)" 0 "compose ps after down"
echo "ok: $SCENARIO"
