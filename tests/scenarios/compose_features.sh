#!/usr/bin/env bash
# berth compose: services sharing namespaces (ipc/pid: service:x, pid/uts/userns_mode host) and
# cgroup_parent, checked from inside the containers; recreating the donor recreates the joiner.
source "$(dirname "$0")/lib.sh"
require_root
b import "$(busybox_tar)" busybox >/dev/null

proj="scnf$$"
cgp="berth-scn-$$-cg"
app="$WORK/app"
mkdir -p "$app"
loop="trap 'exit 0' TERM; while true; do sleep 0.1; done"
cat >"$app/compose.yaml" <<EOF
name: $proj
services:
  shm:
    image: busybox
    network_mode: none
    ipc: shareable
    command: ["sh", "-c", "echo from-shm > /dev/shm/m; $loop"]
  app:
    image: busybox
    network_mode: none
    ipc: service:shm
    pid: service:shm
    command: ["sh", "-c", "$loop"]
  hooked:
    image: busybox
    network_mode: none
    volumes: ["$WORK/hooklog:/log"]
    command: ["sh", "-c", "$loop"]
    post_start:
      - command: ["sh", "-c", "echo post \$\$PHASE \$\$(id -u) \$\$(pwd) >> /log/events"]
        user: "1000"
        working_dir: /tmp
        environment: {PHASE: started}
    pre_stop:
      - command: ["sh", "-c", "echo pre \$\$(cat /proc/1/comm) >> /log/events"]
        privileged: true
  seed:
    image: busybox
    network_mode: none
    volumes: ["data:/d"]
    command: ["sh", "-c", "mkdir -p /d/sub && echo sub-content > /d/sub/f"]
  sub:
    image: busybox
    network_mode: none
    volumes:
      - type: volume
        source: data
        target: /m
        volume: {subpath: sub}
    depends_on:
      seed: {condition: service_completed_successfully}
    command: ["sh", "-c", "$loop"]
  files:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "$loop"]
    configs:
      - app_conf
      - source: env_conf
        target: /etc/app/env.conf
        mode: 0440
    secrets:
      - token
      - source: token
        target: other_name
        uid: "1000"
  hostish:
    image: busybox
    network_mode: none
    pid: host
    uts: host
    userns_mode: host
    cgroup_parent: /$cgp
    command: ["sh", "-c", "$loop"]
volumes:
  data: {}
configs:
  app_conf:
    content: "inline config"
  env_conf:
    environment: SCN_CONF
secrets:
  token:
    environment: SCN_TOKEN
EOF
export SCN_CONF=from-env SCN_TOKEN=s3cret
c() { (cd "$app" && b compose "$@"); }
# Cleanups run last-registered first: the containers go before their cgroup parent.
on_exit "'$BERTH' --root '$ROOT' --run-dir '$RUN' system teardown; for d in /sys/fs/cgroup/*/$cgp; do rmdir \$d; done"
on_exit "cd '$app' && '$BERTH' --root '$ROOT' --run-dir '$RUN' compose down -t 1"

mkdir -p "$WORK/hooklog"
chmod 777 "$WORK/hooklog"
out=$(c up -d 2>&1) || fail "up -d failed: $out"
pid_of() { b inspect -f '{{.State.Pid}}' "$proj-$1-1"; }
in_ns() { b exec "$proj-$1-1" readlink "/proc/self/ns/$2"; }

# app shares shm's IPC namespace and /dev/shm, and its PID namespace.
eventually 5 b exec "$proj-shm-1" test -f /dev/shm/m
assert_eq "$(b exec "$proj-app-1" cat /dev/shm/m)" from-shm "ipc: service:x shares /dev/shm"
assert_eq "$(in_ns app ipc)" "$(readlink /proc/$(pid_of shm)/ns/ipc)" "ipc: service:x shares the IPC namespace"
assert_eq "$(in_ns app pid)" "$(readlink /proc/$(pid_of shm)/ns/pid)" "pid: service:x shares the PID namespace"
shm_id=$(b inspect -f '{{.Id}}' "$proj-shm-1")
assert_eq "$(b inspect -f '{{.HostConfig.IpcMode}} {{.HostConfig.PidMode}}' "$proj-app-1")" "container:$shm_id container:$shm_id" \
  "service:x resolves to the donor's container"

# hostish: the host's PID and UTS namespaces, below the cgroup parent.
assert_eq "$(in_ns hostish pid)" "$(readlink /proc/self/ns/pid)" "pid: host"
assert_eq "$(b exec "$proj-hostish-1" hostname)" "$(hostname)" "uts: host keeps the host's name"
hid=$(b inspect -f '{{.Id}}' "$proj-hostish-1")
assert_contains "$(cat /proc/$(pid_of hostish)/cgroup)" ":/$cgp/$hid" "cgroup_parent places the container's cgroup"
assert_eq "$(b inspect -f '{{.HostConfig.UTSMode}} {{.HostConfig.UsernsMode}} {{.HostConfig.CgroupParent}}' "$proj-hostish-1")" \
  "host host /$cgp" "inspect shows the modes"

# volume.subpath: only the part the seed service made.
assert_eq "$(b exec "$proj-sub-1" ls /m)" f "volume.subpath mounts the subpath"
assert_eq "$(b exec "$proj-sub-1" cat /m/f)" sub-content "volume.subpath content"

# configs and secrets from content / the environment, where Compose puts them.
f() { b exec "$proj-files-1" "$@"; }
assert_eq "$(f cat /app_conf)" "inline config" "config content at /<name>"
assert_eq "$(f cat /etc/app/env.conf) $(f stat -c %a /etc/app/env.conf)" "from-env 440" "config from the environment, target and mode"
assert_eq "$(f cat /run/secrets/token) $(f stat -c %a /run/secrets/token)" "s3cret 444" "secret at /run/secrets/<name>, 0444"
assert_eq "$(f cat /run/secrets/other_name) $(f stat -c %u /run/secrets/other_name)" "s3cret 1000" "secret target and uid"

# compose cp: to every container of the service, from its first one.
echo host-data > "$WORK/cpin"
c cp "$WORK/cpin" files:/tmp/cpin || fail "compose cp to a service failed"
assert_eq "$(f cat /tmp/cpin)" host-data "compose cp into the service's container"
c cp files:/app_conf "$WORK/cpout" || fail "compose cp from a service failed"
assert_eq "$(cat "$WORK/cpout")" "inline config" "compose cp out of the service's container"
expect_fail c cp files:/app_conf app:/tmp/x
assert_contains "$ERR" "copying between services is not supported" "cp between services refused"
expect_fail c cp nosuch:/x "$WORK/nosuch"
assert_contains "$ERR" "no such service: nosuch" "cp names a missing service"

# post_start ran once the container started, as its user, in its dir, with its environment;
# pre_stop runs in the container while it still runs.
assert_eq "$(cat "$WORK/hooklog/events")" "post started 1000 /tmp" "post_start hook ran after start"
c stop hooked >/dev/null 2>&1 || fail "compose stop failed"
assert_eq "$(tail -n1 "$WORK/hooklog/events")" "pre sh" "pre_stop hook ran before the stop"
c start hooked >/dev/null 2>&1 || fail "compose start failed"
assert_eq "$(grep -c '^post' "$WORK/hooklog/events")" 2 "post_start ran again on start"
# A failing post_start hook fails the start and names the service.
sed -i '/echo post/ s/>> \/log\/events"\]$/>> \/log\/events; exit 3"]/' "$app/compose.yaml"
expect_fail c up -d hooked
assert_contains "$ERR" "service \"hooked\": post_start hook exited with status 3" "failing hook reported"
sed -i '/echo post/ s/>> \/log\/events; exit 3"\]$/>> \/log\/events"]/' "$app/compose.yaml"
out=$(c up -d 2>&1) || fail "up after the hook fix failed: $out"

# up again changes nothing; a changed donor is recreated, and the service joined to it too.
app_id=$(b inspect -f '{{.Id}}' "$proj-app-1")
out=$(c up -d 2>&1) || fail "second up failed: $out"
assert_not_contains "$out" "Recreate" "a second up is a no-op"
sed -i 's/echo from-shm >/echo from-shm2 >/' "$app/compose.yaml"
out=$(c up -d 2>&1) || fail "up after changing shm failed: $out"
[ "$(b inspect -f '{{.Id}}' "$proj-app-1")" != "$app_id" ] || fail "app was not recreated with its IPC donor"
assert_eq "$(b inspect -f '{{.State.Status}}' "$proj-app-1")" running "the recreated joiner runs"
eventually 5 sh -c "[ \"\$($BERTH --root $ROOT --run-dir $RUN exec $proj-app-1 cat /dev/shm/m)\" = from-shm2 ]"

# A named volume whose definition changed is refused (its data would be lost), nothing is done.
cp "$app/compose.yaml" "$WORK/compose.yaml.orig"
sed -i 's/^  data: {}$/  data:\n    labels: {changed: "yes"}/' "$app/compose.yaml"
expect_fail c up -d
assert_contains "$ERR" "volume \"${proj}_data\" exists but doesn't match configuration in compose file" "changed volume refused"
cp "$WORK/compose.yaml.orig" "$app/compose.yaml"

# A bad mode is refused before anything is done.
sed -i 's/^    uts: host$/    uts: private/' "$app/compose.yaml"
expect_fail c up -d
assert_contains "$ERR" "service \"hostish\": uts: invalid mode \"private\"" "bad uts named"

sed -i "s/^    uts: private$/    uts: host/" "$app/compose.yaml"
c down -t 1 >/dev/null 2>&1 || true
[ -z "$(b ps -aq)" ] || fail "down left containers"

# A project network whose definition changed is made again, and its containers with it.
if command -v nft >/dev/null && command -v ip >/dev/null; then
  export BERTH_IP_FORWARD=0  # a shared test host: leave its global ip_forward alone
  oct=$(( $$ % 200 + 20 ))
  net="$WORK/net"
  mkdir -p "$net"
  netfile() {
    cat >"$net/compose.yaml" <<EOF
name: scnn$$
services:
  s:
    image: busybox
    command: ["sh", "-c", "$loop"]
networks:
  default:
    ipam: {config: [{subnet: 10.$1.$oct.0/24}]}
EOF
  }
  n() { (cd "$net" && b compose "$@"); }
  on_exit "cd '$net' && '$BERTH' --root '$ROOT' --run-dir '$RUN' compose down -t 1"
  ip_of() { b inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "scnn$$-s-1"; }
  netfile 247
  out=$(n up -d 2>&1) || fail "network project up failed: $out"
  assert_contains "$(ip_of)" "10.247.$oct." "address from the first subnet"
  out=$(n up -d 2>&1) || fail "second up failed: $out"
  assert_not_contains "$out" "Removed" "an unchanged network is kept"
  netfile 248
  out=$(n up -d 2>&1) || fail "up with a changed network failed: $out"
  assert_contains "$out" "Network scnn$$""_default  Removed" "the changed network is removed"
  assert_contains "$(ip_of)" "10.248.$oct." "the container is on the network made again"
  assert_eq "$(b inspect -f '{{.State.Status}}' "scnn$$-s-1")" running "and runs"
  n down -t 1 >/dev/null 2>&1 || fail "down failed"
fi
assert_not_contains "$(cat /proc/self/mountinfo)" "$RUN/containers/" "no shm mount left on the host"
echo "ok: $SCENARIO"
