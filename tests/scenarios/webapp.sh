#!/usr/bin/env bash
# examples/webapp end to end: the base image from debootstrap, four images built with apt-get
# through the build container's NAT, `compose up -d --wait`, then through the published port:
# the visit counter in redis goes up, a row written through the API reads back from mariadb;
# `down` + `up` still has the row (named volume); `down -v` leaves nothing behind.
# Skips (77) only when no Debian mirror from the host's apt sources answers.
#
# Slow the first time on a machine (debootstrap + apt in four builds, several minutes). The base
# tarball is cached per day and the built images are saved per hash of their folders under
# /var/cache/berth-examples (BERTH_BASE_CACHE), so a rerun loads them instead of building.
source "$(dirname "$0")/lib.sh"
require_root
require_cmd curl
require_cmd nft

example="$SRC_DIR/examples/webapp"
cache=${BERTH_BASE_CACHE:-/var/cache/berth-examples}
export BERTH BERTH_ROOT="$ROOT" BERTH_RUN_DIR="$RUN"
c() { b compose -f "$example/compose.yaml" "$@"; }

# A free host port (8080 may be in use by a real stack).
port=$(( 18080 + $$ % 1000 ))
while ss -Hltn "sport = :$port" | grep -q .; do port=$((port + 1)); done
export WEB_PORT=$port
url="http://127.0.0.1:$port"
on_exit "c down -v -t 2"

# Built images are saved once per content of their folders and loaded on later runs.
images=(berth-webapp/db:latest berth-webapp/cache:latest berth-webapp/app:latest berth-webapp/web:latest)
key=$(cd "$example" && find db cache app web -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
saved="$cache/webapp-images-$key.tar"
if [ -s "$saved" ]; then
  b load -q -i "$saved" >/dev/null || fail "load $saved"
  echo "loaded the images from $saved"
fi

# --- up: base image, builds, compose up -d --wait -----------------------------------------------
set +e
out=$("$example/up" 2>&1)
rc=$?
set -e
echo "$out" | sed 's/^/  up| /'
[ $rc -eq 77 ] && skip "no Debian mirror from the host's apt sources answers"
[ $rc -eq 0 ] || fail "examples/webapp/up exited $rc"
if [ ! -s "$saved" ]; then
  mkdir -p "$cache"
  b save -o "$saved.tmp" "${images[@]}" && mv "$saved.tmp" "$saved"
  find "$cache" -maxdepth 1 -name 'webapp-images-*.tar' ! -path "$saved" -delete
fi

net_id=$(b network inspect -f '{{.Id}}' webapp_default)
subnet=$(b network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' webapp_default)
[ -n "$subnet" ] || fail "webapp_default has no subnet"
prefix="berth-$(printf %s "$ROOT" | sha256sum | cut -c1-8)"
assert_contains "$(nft list table ip "$prefix")" "tcp . $port :" "the published port is in the root's nft table"

ps_out=$(c ps)
for s in web app db cache; do
  assert_contains "$ps_out" "webapp-$s-1" "compose ps lists $s"
done
assert_eq "$(c ps --format '{{.Health}}' | sort | uniq -c | awk '{print $1, $2}')" "4 healthy" "all four healthy"
assert_contains "$ps_out" ":$port->80/tcp" "web publishes $port"

# --- through the published port -----------------------------------------------------------------
assert_contains "$(curl -fsS -m 10 "$url/")" "<title>berth webapp</title>" "nginx serves the page"
v1=$(curl -fsS -m 10 "$url/api/" | jq -r .visits)
v2=$(curl -fsS -m 10 "$url/api/" | jq -r .visits)
assert_eq "$v2" "$((v1 + 1))" "the visit counter in redis goes up"

note="note from $SCENARIO $$"
id=$(curl -fsS -m 10 -X POST -H 'Content-Type: text/plain' --data "$note" "$url/api/notes" | jq -r .id)
[ "$id" -ge 1 ] 2>/dev/null || fail "POST /api/notes returned id [$id]"
assert_eq "$(curl -fsS -m 10 "$url/api/notes" | jq -r --argjson id "$id" '.notes[] | select(.id == $id) | .text')" \
  "$note" "the row reads back through the API"
assert_contains "$(c exec -T db mariadb -N webapp -e 'SELECT text FROM notes')" "$note" "the row is in mariadb"
expect_fail c exec -T web sh -c 'echo x >> /etc/nginx/nginx.conf'

# The page as a person sees it: headless Chromium runs its script, which shows the counter
# (one more visit) and the row; the screenshot is kept for a look.
if command -v chromium >/dev/null 2>&1; then
  chrome=(chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$WORK/chromium"
          --virtual-time-budget=5000)
  dom=$("${chrome[@]}" --dump-dom "$url/" 2>/dev/null)
  assert_contains "$dom" "id=\"visits\">$((v2 + 1))</span>" "the page shows the visit counter"
  assert_contains "$dom" "<td>$note</td>" "the page shows the row"
  shot=${BERTH_SCREENSHOT:-/tmp/berth-webapp-screenshot.png}
  "${chrome[@]}" --window-size=900,650 --screenshot="$shot" "$url/" >/dev/null 2>&1 || fail "screenshot"
  [ -s "$shot" ] || fail "no screenshot in $shot"
  echo "screenshot of the page: $shot"
else
  echo "note: no chromium (tests/install-deps installs it); the page's screenshot is skipped"
fi
assert_contains "$(c logs app)" "POST /api/notes" "app's log has the request"

# --- down keeps the named volume, up finds the row ----------------------------------------------
c down -t 5 >/dev/null 2>&1 || fail "down"
assert_eq "$(b ps -aq | wc -l)" 0 "no containers after down"
assert_eq "$(b volume ls -q)" "webapp_db-data" "down keeps the named volume"
c up -d --wait >/dev/null 2>&1 || fail "second up"
assert_eq "$(curl -fsS -m 10 "$url/api/notes" | jq -r --argjson id "$id" '.notes[] | select(.id == $id) | .text')" \
  "$note" "the row survives down + up"
assert_eq "$(curl -fsS -m 10 "$url/api/" | jq -r .visits)" 1 "redis has no volume: the counter starts over"

# --- down -v leaves nothing ---------------------------------------------------------------------
c down -v -t 5 >/dev/null 2>&1 || fail "down -v"
assert_eq "$(b ps -aq | wc -l)" 0 "no containers after down -v"
assert_eq "$(b volume ls -q)" "" "no volumes after down -v"
assert_eq "$(b network ls --format '{{.Name}}' | grep -v -x -e bridge -e host -e none || true)" "" "no project network"
assert_eq "$(grep -c -e "$ROOT" -e "$RUN" /proc/self/mountinfo || true)" 0 "no mounts left"
! ip link show "br-${net_id:0:12}" >/dev/null 2>&1 || fail "the project's bridge is left"
# The root's table stays while its default bridge does (the builds' RUN containers used it);
# nothing of the project may be left in it.
rules=$(nft list table ip "$prefix" 2>/dev/null || true)
assert_not_contains "$rules" "tcp . $port :" "no published port left in nft"
assert_not_contains "$rules" "br-${net_id:0:12}" "no rule for the project's bridge left"
assert_not_contains "$rules" "$subnet" "no rule for the project's subnet left"
pgrep -f "berth-shim $RUN" >/dev/null && fail "a shim is still running"
! curl -fsS -m 2 "$url/" >/dev/null 2>&1 || fail "port $port still answers"
echo "ok: $SCENARIO"
