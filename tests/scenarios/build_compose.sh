#!/usr/bin/env bash
# berth compose build end to end: images named <project>-<service> (or the service's image:),
# build.args / labels / target / dockerfile_inline honoured, Compose's labels on the image,
# --build-arg over the file's args, --no-cache, -q, a named service (and --with-dependencies),
# services without build: skipped, and `up` using the built image.
source "$(dirname "$0")/lib.sh"
require_root

b import "$(busybox_tar)" busybox >/dev/null

proj="cb$$"
app="$WORK/app"
mkdir -p "$app/web" "$app/api"
cat > "$app/web/Dockerfile" <<'EOF2'
FROM busybox AS base
ARG GREETING=default
RUN echo "base:$GREETING" > /greeting && echo WEB-RUN-"MARKER"
FROM base AS final
RUN echo final >> /greeting
FROM base AS other
RUN echo other >> /greeting
EOF2
cat > "$app/compose.yaml" <<EOF2
name: $proj
services:
  web:
    build:
      context: ./web
      network: none
      target: other
      args:
        GREETING: from-file
      labels:
        org.example.team: blue
    command: ["cat", "/greeting"]
    network_mode: none
    depends_on: [base]
  base:
    build:
      context: ./api
      network: none
      dockerfile_inline: |
        FROM busybox
        ARG FROM_ENV
        RUN echo "inline:\$\$FROM_ENV" > /inline
      args:
        - FROM_ENV
    image: example.test/$proj-base:v1
    command: ["true"]
    network_mode: none
  plain:
    image: busybox
    network_mode: none
EOF2
c() { (cd "$app" && b compose "$@"); }
on_exit "cd '$app' && '$BERTH' --root '$ROOT' --run-dir '$RUN' compose down -t 1 --remove-orphans"

# Everything: web as <project>-web, base under its image: name; plain (no build:) skipped.
out=$(cd "$app" && FROM_ENV=env-value "$BERTH" --root "$ROOT" --run-dir "$RUN" compose build 2>&1) || fail "compose build failed: $out"
assert_contains "$out" "Service web  Built" "progress names the service"
assert_contains "$out" "WEB-RUN-MARKER" "build output shown"
assert_not_contains "$out" "Service plain" "a service without build: is not built"
assert_eq "$(b images --format '{{.Repository}}:{{.Tag}}' | LC_ALL=C sort | tr '\n' ' ')" \
  "busybox:latest $proj-web:latest example.test/$proj-base:v1 " "images named as Compose names them"
assert_eq "$(b run --rm --network none "$proj-web" cat /greeting | tr '\n' ' ')" "base:from-file other " "build.target and build.args"
lbl() { b image inspect -f "{{index .Config.Labels \"$2\"}}" "$1"; }
assert_eq "$(lbl "$proj-web" org.example.team)" "blue" "build.labels"
assert_eq "$(lbl "$proj-web" com.docker.compose.project)" "$proj" "project label"
assert_eq "$(lbl "$proj-web" com.docker.compose.service)" "web" "service label"
assert_eq "$(b run --rm --network none "example.test/$proj-base:v1" cat /inline)" "inline:env-value" \
  "dockerfile_inline, and an arg without a value taken from the environment"

# --build-arg overrides the file; a named service builds only that one; cached otherwise.
id_base=$(b image inspect -f '{{.Id}}' "example.test/$proj-base:v1")
out=$(c build --build-arg GREETING=from-flag web 2>&1) || fail "compose build web failed: $out"
assert_not_contains "$out" "Service base" "only the named service is built"
assert_eq "$(b run --rm --network none "$proj-web" cat /greeting | head -n1)" "base:from-flag" "--build-arg over build.args"
out=$(c build --build-arg GREETING=from-flag web 2>&1)
assert_not_contains "$out" "WEB-RUN-MARKER" "an unchanged rebuild is cached"
out=$(c build --no-cache --build-arg GREETING=from-flag web 2>&1)
assert_contains "$out" "WEB-RUN-MARKER" "--no-cache runs the steps again"
GREETING=from-env c build -q --build-arg GREETING web
assert_eq "$(b run --rm --network none "$proj-web" cat /greeting | head -n1)" "base:from-env" "a bare --build-arg takes the environment's value"

# --with-dependencies builds what web depends on too (cached: same ID); -q prints nothing.
out=$(FROM_ENV=env-value c build --with-dependencies --build-arg GREETING=from-flag web 2>&1)
assert_contains "$out" "Service base  Built" "--with-dependencies builds the dependency"
assert_eq "$(b image inspect -f '{{.Id}}' "example.test/$proj-base:v1")" "$id_base" "an unchanged dependency is cached"
out=$(FROM_ENV=env-value c build -q --with-dependencies web 2>&1)
assert_eq "$out" "" "-q prints nothing"

# Bad input: an unknown service, a --build-arg without a name.
expect_fail c build nosuch
assert_contains "$ERR" "no such service: nosuch" "unknown service"
expect_fail c build --build-arg =x
assert_contains "$ERR" "--build-arg" "bad --build-arg named"

# up uses the built image (no rebuild) and runs it.
out=$(c up --no-build web 2>&1) || fail "up failed: $out"
assert_contains "$out" "other" "up ran the built image"

# up --build goes through the same builder (cached here: same image ID, Compose's labels kept).
id_web=$(b image inspect -f '{{.Id}}' "$proj-web")
out=$(c up --build --no-deps web 2>&1) || fail "up --build failed: $out"
assert_contains "$out" "other" "up --build ran the image"
assert_eq "$(b image inspect -f '{{.Id}}' "$proj-web")" "$id_web" "up --build of an unchanged service gives the same image"
