# The peers' daemons (sourced by bench/run): docker needs dockerd (which starts its own
# containerd). When docker is installed and asked for but no daemon answers, the bench starts a
# private dockerd with its state under $WORK and its socket in $DOCKER_HOST, so the host's own
# docker state (if any) is never touched, and stops it at exit. podman needs no daemon; its
# storage is pointed at $WORK through CONTAINERS_STORAGE_CONF, for podman-compose too.
#
# dockerd and podman's CNI change the host's firewall and links: iptables chains (and the
# FORWARD policy, which dockerd sets to DROP when it turns ip_forward on), docker0 / cni-podman0,
# ip_forward. The bench snapshots those first and puts them back at exit (host_net_restore), so
# a bench run leaves the host as it found it.

_host_snap=""
host_net_snapshot() {
  [ -z "$_host_snap" ] || return 0
  _host_snap="$WORK/host-before"
  mkdir -p "$_host_snap"
  nft list tables 2>/dev/null | sort >"$_host_snap/tables"
  local t
  for t in iptables ip6tables; do
    command -v $t-save >/dev/null 2>&1 && $t-save >"$_host_snap/$t" 2>/dev/null || : >"$_host_snap/$t"
  done
  ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort >"$_host_snap/links"
  sysctl -n net.ipv4.ip_forward >"$_host_snap/ip_forward"
  on_exit host_net_restore
}

# host_net_restore: what the peers added to the firewall and links goes; what was there stays.
host_net_restore() {
  [ -n "$_host_snap" ] && [ -d "$_host_snap" ] || return 0
  local l fam name
  # The bridges the peers make for their default networks (docker0, cni-podmanN; Docker's own
  # br-<id> networks were pruned before its stop), when they were not there before, and the
  # leases podman's CNI kept for this run's networks.
  for l in $(ip -o link show type bridge | awk -F': ' '{ print $2 }'); do
    case $l in docker0|cni-podman[0-9]*|podman[0-9]*) ;; *) continue ;; esac
    grep -qx "$l" "$_host_snap/links" || ip link del "$l" 2>/dev/null || true
  done
  rm -rf /var/lib/cni/networks/berth-bench$$-* 2>/dev/null || true
  # iptables-nft's tables (filter, nat, mangle, raw, security) that did not exist before go;
  # the ones that did get their saved rules back. berth's own tables are not touched here.
  while read -r _ fam name; do
    case $name in filter|nat|mangle|raw|security) ;; *) continue ;; esac
    grep -qx "table $fam $name" "$_host_snap/tables" || nft delete table "$fam" "$name" 2>/dev/null || true
  done < <(nft list tables 2>/dev/null)
  [ -s "$_host_snap/iptables" ] && iptables-restore <"$_host_snap/iptables" 2>/dev/null || true
  [ -s "$_host_snap/ip6tables" ] && ip6tables-restore <"$_host_snap/ip6tables" 2>/dev/null || true
  sysctl -qw net.ipv4.ip_forward="$(cat "$_host_snap/ip_forward")" || true
}

# start_dockerd: a private dockerd; sets DOCKER_HOST. Returns 1 (with $DOCKERD_WHY) on failure.
DOCKERD_WHY=""
start_dockerd() {
  local d="$WORK/docker" i
  mkdir -p "$d"
  host_net_snapshot
  dockerd --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" \
    -H "unix://$d/docker.sock" --log-level warn >"$d/dockerd.log" 2>&1 &
  local pid=$!
  # Last registered runs first: the containers and images the figures made go before this.
  on_exit "stop_dockerd $pid"
  export DOCKER_HOST="unix://$d/docker.sock"
  for ((i = 0; i < 300; i++)); do
    if docker info >/dev/null 2>&1; then log "dockerd: started (pid $pid, state in $d)"; return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  DOCKERD_WHY="the bench's dockerd did not answer: $(tail -n 3 "$d/dockerd.log" | tr '\n' ' ')"
  unset DOCKER_HOST
  return 1
}

stop_dockerd() {
  local pid=$1 i
  # Networks docker-compose left (their br-<id> bridges) go while dockerd can still remove them.
  docker network prune -f >/dev/null 2>&1 || true
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # dockerd unmounts its overlays on shutdown; anything left under its state goes before rm -rf.
  local m
  for m in $(awk -v w="$WORK/docker" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}

# crun_needs_no_cgroups: crun refuses cgroups on a hybrid host whose cgroup2 mount has
# controllers ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"), as
# this VM's has hugetlb there.
crun_needs_no_cgroups() {
  [ ! -f /sys/fs/cgroup/cgroup.controllers ] && grep -q . /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null
}

# podman_private_storage: podman (and podman-compose's podman) keep their images and containers
# under $WORK (CONTAINERS_STORAGE_CONF), with a containers.conf (CONTAINERS_CONF) that fits
# this host: podman's default nofile and nproc limits (1048576) are refused where the bench's hard limit is
# lower and CAP_SYS_RESOURCE is missing, and crun cannot run on a hybrid host with cgroup2
# controllers (then podman runs with runc, and the peer's version says so).
PODMAN_RUNTIME=""
podman_private_storage() {
  local d="$WORK/podman"
  mkdir -p "$d/root" "$d/run" "$d/net"
  printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n' "$d/root" "$d/run" >"$d/storage.conf"
  export CONTAINERS_STORAGE_CONF="$d/storage.conf"
  local nofile nproc limits=()
  nofile=$(ulimit -Hn) nproc=$(ulimit -Hu)
  # runc is refused an nproc above 32768 here even below the bench's hard limit (96367 on this
  # VM): seen, not understood. The bench's containers run one or two processes.
  [ "$nproc" = unlimited ] || [ "$nproc" -le 32768 ] || nproc=32768
  [ "$nofile" = unlimited ] || limits+=("\"nofile=$nofile:$nofile\"")
  [ "$nproc" = unlimited ] || limits+=("\"nproc=$nproc:$nproc\"")
  {
    echo "[containers]"
    [ ${#limits[@]} = 0 ] || echo "default_ulimits = [$(IFS=,; echo "${limits[*]}")]"
    if crun_needs_no_cgroups && command -v runc >/dev/null 2>&1; then
      PODMAN_RUNTIME=runc
      echo "[engine]"
      echo "runtime = \"runc\""
    fi
    # Networks podman-compose makes go here, not to /etc/cni/net.d.
    echo "[network]"
    echo "network_config_dir = \"$d/net\""
  } >"$d/containers.conf"
  export CONTAINERS_CONF="$d/containers.conf"
  host_net_snapshot
}

start_peer_daemons() {
  if wants_peer podman || wants_peer podman-compose; then
    command -v podman >/dev/null 2>&1 && podman_private_storage
  fi
  if wants_peer docker || wants_peer docker-compose; then
    command -v docker >/dev/null 2>&1 && command -v dockerd >/dev/null 2>&1 || return 0
    timeout 10 docker info >/dev/null 2>&1 && { log "dockerd: using the one already running"; return 0; }
    start_dockerd || log "dockerd: $DOCKERD_WHY"
  fi
}
