# Figure 6, build: `build` of a small Dockerfile on busybox (no network: --network none, and
# every RUN is local work), cold (--no-cache: every step runs, the base image is present) and
# fully cached (the same build again: every step a cache hit). The context has 200 small files
# and one 1 MiB file; the Dockerfile has ARG, ENV, WORKDIR, three COPY, two RUN, CMD (6
# filesystem steps). Peer: `docker build` of the same context (BuildKit or classic, whichever
# the docker client uses), FROM the same rootfs imported into docker.
source "$BENCH_DIR/peers.sh"

build_context() {
  local ctx="$WORK/build-ctx"
  rm -rf "$ctx"
  mkdir -p "$ctx/src"
  local i
  for ((i = 0; i < 200; i++)); do echo "file $i" >"$ctx/src/f$i.txt"; done
  head -c $((1024 * 1024)) /dev/urandom >"$ctx/blob.bin"
  cat >"$ctx/Dockerfile" <<'EOF2'
ARG BASE=busybox
FROM ${BASE}
ARG GREETING=hello
ENV APP=/app
WORKDIR /app
COPY src/ ./src/
COPY blob.bin ./
RUN for i in $(seq 1 500); do echo "$GREETING $i"; done > list.txt && sha256sum blob.bin > blob.sum
COPY Dockerfile ./
RUN mkdir -p /app/out && cp src/f1*.txt /app/out/ && rm -f blob.bin
CMD ["sh", "-c", "cat /app/list.txt | wc -l"]
EOF2
  echo "$ctx"
}

fig_build() {
  local ctx
  ctx=$(build_context)
  measure build "cold build (--no-cache)" berth 1 "$ITERS" \
    b build -q --no-cache --network none -t bench-build:cold "$ctx" || return 1
  measure build "fully cached rebuild" berth 1 "$ITERS" \
    b build -q --network none -t bench-build:warm "$ctx" || return 1
  if peer_enabled docker && docker_image; then
    local tag="berth-bench-build:$$"
    on_exit "docker rmi -f $tag"
    measure build "cold build (--no-cache)" docker 1 "$ITERS" \
      docker build -q --no-cache --network none --build-arg BASE="$PEER_IMAGE" -t "$tag" "$ctx" || true
    measure build "fully cached rebuild" docker 1 "$ITERS" \
      docker build -q --network none --build-arg BASE="$PEER_IMAGE" -t "$tag" "$ctx" || true
  else
    skipped build docker "$(peer_why docker)"
  fi
  b rmi bench-build:cold bench-build:warm >/dev/null 2>&1 || true
  rm -rf "$ctx"
}
