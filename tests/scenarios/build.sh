#!/usr/bin/env bash
# berth build end to end: a multi-stage build (a static C program built on the host, run in one
# stage and copied into a scratch-based stage), only the stages the target needs, the layer
# cache (a rebuild runs no RUN step and gives the same ID; an edited file invalidates from its
# COPY on), .dockerignore, whiteouts of files deleted in a later step, reproducible digests,
# errors that name the Dockerfile line, and builder prune.
source "$(dirname "$0")/lib.sh"
require_root
require_cmd gcc

b import "$(busybox_tar)" busybox >/dev/null

ctx="$WORK/ctx"
mkdir -p "$ctx/data/sub"
printf '#include <stdio.h>\nint main(void) { puts("hello from berth"); return 0; }\n' > "$ctx/hello.c"
gcc -static -O2 -o "$ctx/hello" "$ctx/hello.c" 2>/dev/null || skip "gcc cannot link statically here"
echo one > "$ctx/data/file"
echo deep > "$ctx/data/sub/deep"
echo tmp > "$ctx/data/sub/x.tmp"
echo keep > "$ctx/data/keep.tmp"
echo secret > "$ctx/secret.txt"
echo log > "$ctx/build.log"
cat > "$ctx/.dockerignore" <<'EOF'
# not sent
*.log
secret.txt
**/*.tmp
!data/keep.tmp
EOF
cat > "$ctx/Dockerfile" <<'EOF'
# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM ${BASE} AS build
ARG GREETING=hi
ENV APP_HOME=/src
WORKDIR $APP_HOME
COPY hello ./
COPY data/ /data/
COPY . /ctx/
RUN echo RAN-STEP-"MARKER" && ./hello > out.txt && echo "${GREETING}" >> out.txt && cat /data/file >> out.txt
RUN echo gone > /tmp/deleteme && mkdir -p /tmp/dir && echo x > /tmp/dir/f
RUN rm /tmp/deleteme && rm -rf /tmp/dir
COPY <<EOT /etc/motd
greeting is ${GREETING:-none}
EOT

FROM busybox AS unused
RUN echo UNUSED-STAGE-"RAN"; exit 3

FROM scratch
COPY --from=build /bin/busybox /bin/busybox
COPY --from=build --chmod=0755 /src/ /app/
LABEL org.example.stage=final
ENV PATH=/bin
ENTRYPOINT ["/app/hello"]
EOF

# 1. The full build: the unused stage is not built; the result runs.
out=$(b build --network none -t app:1 --build-arg GREETING=hello "$ctx" 2>"$WORK/log1")
log=$(cat "$WORK/log1")
id1=$(echo "$out" | tail -n1)
case "$id1" in sha256:????????????????????????????????????????????????????????????????) ;; *) fail "build printed [$out]" ;; esac
assert_contains "$log" "RAN-STEP-MARKER" "RUN output shown"
assert_contains "$log" "[build 2/9] WORKDIR /src" "step lines name the stage and position"
assert_contains "$log" "[build 3/9] COPY hello ./" "COPY shown as written"
assert_not_contains "$log" "UNUSED-STAGE-RAN" "a stage the target does not need is not built"
assert_eq "$(b run --rm --network none app:1)" "hello from berth" "the scratch-based image runs the program"
assert_eq "$(b image inspect -f '{{json .Config.Entrypoint}} {{index .Config.Labels "org.example.stage"}}' app:1)" '["/app/hello"] final' "config"
assert_eq "$(b run --rm --network none --entrypoint /bin/busybox app:1 cat /app/out.txt)" "hello from berth
hello
one" "a RUN step's output file, with the build arg"
assert_eq "$(b run --rm --network none --entrypoint /bin/busybox app:1 stat -c %a /app/out.txt)" "755" "COPY --chmod"
# Each step's image is a parent of the next, so only the result and (as Docker's classic builder)
# the last image of another stage show; the steps' images are hidden.
assert_eq "$(b images -q | wc -l)" "3" "intermediate images are hidden (busybox, app, the build stage)"

# 2. The build stage: .dockerignore, WORKDIR, heredoc COPY, whiteouts.
b build -q --network none --target build --build-arg GREETING=hello -t app:build "$ctx" >/dev/null
files=$(b run --rm --network none app:build sh -c 'cd /ctx && find . -type f | sort | tr "\n" " "')
assert_eq "$files" "./.dockerignore ./Dockerfile ./data/file ./data/keep.tmp ./data/sub/deep ./hello ./hello.c " ".dockerignore (incl. ! and **)"
assert_eq "$(b run --rm --network none app:build pwd)" "/src" "WORKDIR from an ENV"
assert_eq "$(b run --rm --network none app:build cat /etc/motd)" "greeting is hello" "COPY heredoc, expanded"
assert_eq "$(b run --rm --network none app:build sh -c 'test -e /tmp/deleteme || echo no-file; test -e /tmp/dir || echo no-dir' | tr '\n' ' ')" \
  "no-file no-dir " "files deleted in a later step are gone (whiteouts)"
wh=""
for l in $(b image inspect -f '{{range .RootFS.Layers}}{{.}} {{end}}' app:build); do
  wh+=$(tar -tf "$ROOT/images/blobs/sha256/${l#sha256:}" | grep '\.wh\.' | tr '\n' ' ' || true)
done
assert_contains "$wh" "tmp/.wh.deleteme" "the layer holds a whiteout"

# 3. A rebuild is fully cached: no RUN executed, same ID.
t0=$(date +%s%N)
out=$(b build --network none -t app:1 --build-arg GREETING=hello "$ctx" 2>"$WORK/log2")
t1=$(date +%s%N)
log=$(cat "$WORK/log2")
assert_eq "$(echo "$out" | tail -n1)" "$id1" "cached rebuild gives the same image ID"
assert_contains "$log" "CACHED" "cached steps are marked"
assert_not_contains "$log" "RAN-STEP-MARKER" "no RUN step ran on the cached rebuild"
echo "cached rebuild took $(( (t1 - t0) / 1000000 )) ms"

# 4. Editing a copied file invalidates from its COPY on.
echo two > "$ctx/data/file"
out=$(b build --network none -t app:1 --build-arg GREETING=hello "$ctx" 2>"$WORK/log3")
log=$(cat "$WORK/log3")
id3=$(echo "$out" | tail -n1)
[ "$id3" != "$id1" ] || fail "an edited file gave the same image"
assert_eq "$(b run --rm --network none --entrypoint /bin/busybox app:1 tail -n1 /app/out.txt)" "two" "the edit reached the image"
assert_contains "$log" "RAN-STEP-MARKER" "the steps after the edited COPY ran again"
assert_eq "$(grep -c CACHED "$WORK/log3")" "2" "the steps before it were cached (WORKDIR, COPY hello)"
# Only an edit to an ignored file: still fully cached.
echo other > "$ctx/build.log"
out=$(b build --network none -t app:1 --build-arg GREETING=hello "$ctx" 2>"$WORK/log4")
assert_eq "$(echo "$out" | tail -n1)" "$id3" "an ignored file does not invalidate"
# A changed build arg invalidates the RUN that sees it.
out=$(b build --network none --build-arg GREETING=bye "$ctx" 2>"$WORK/log5")
assert_contains "$(cat "$WORK/log5")" "RAN-STEP-MARKER" "a changed build arg reruns RUN"

# 5. Reproducible: two --no-cache builds give the same digest.
a=$(b build -q --no-cache --network none --build-arg GREETING=hello "$ctx")
c=$(b build -q --no-cache --network none --build-arg GREETING=hello "$ctx")
assert_eq "$a" "$c" "two --no-cache builds of the same context"
assert_eq "$a" "$id3" "a --no-cache build equals the cached one"
d=$(SOURCE_DATE_EPOCH=1700000000 b build -q --no-cache --network none --build-arg GREETING=hello "$ctx")
[ "$d" != "$a" ] || fail "SOURCE_DATE_EPOCH did not change the image"
assert_contains "$(b image inspect -f "{{.Created}}" "$d")" "2023-11-14T22:13:20" "created is SOURCE_DATE_EPOCH"

# 6. Errors name the Dockerfile line.
mkdir -p "$WORK/bad"
printf 'FROM busybox\nRUN echo about to "fail"; echo on stderr >&2; exit 7\n' > "$WORK/bad/Dockerfile"
expect_fail b build --network none "$WORK/bad"
assert_contains "$ERR" "Dockerfile:2" "failing RUN names its line"
assert_contains "$ERR" "exit code: 7" "failing RUN gives its exit code"
assert_contains "$ERR" "about to fail" "failing RUN shows its last output"
assert_contains "$ERR" "on stderr" "and its stderr"
printf 'FROM busybox\nCOPY missing.txt /x\n' > "$WORK/bad/Dockerfile"
expect_fail b build --network none "$WORK/bad"
assert_contains "$ERR" "Dockerfile:2" "missing COPY source names its line"
assert_contains "$ERR" "missing.txt" "missing COPY source named"
printf 'FROM busybox\nFROBNICATE x\n' > "$WORK/bad/Dockerfile"
expect_fail b build "$WORK/bad"
assert_contains "$ERR" "Dockerfile:2: unknown instruction: FROBNICATE" "unknown instruction"
expect_fail b build --target nope "$ctx"
assert_contains "$ERR" "target stage \"nope\" could not be found" "unknown target"
assert_eq "$(b ps -aq | wc -l)" "0" "no build container is left behind"

# 7. Metadata-only steps add no layer; the Dockerfile may come from stdin.
n_base=$(b image inspect -f '{{len .RootFS.Layers}}' busybox)
id=$(printf 'FROM busybox\nENV A=1\nLABEL x=y\nCMD ["echo", "$A"]\nUSER 1000\nEXPOSE 80 53/udp\nSTOPSIGNAL SIGTERM\n' | b build -q -)
assert_eq "$(b image inspect -f '{{len .RootFS.Layers}}' "$id")" "$n_base" "metadata steps add no layer"
assert_eq "$(b image inspect -f '{{.Config.User}} {{json .Config.ExposedPorts}}' "$id")" '1000 {"53/udp":{},"80/tcp":{}}' "metadata applied"

# A RUN after VOLUME runs (without the volume), and the twin image it ran in is gone.
n_imgs=$(b images -aq | wc -l)
id=$(printf 'FROM busybox\nVOLUME /data\nRUN echo y > /g\n' | b build -q --network none -)
assert_eq "$(b image inspect -f '{{json .Config.Volumes}}' "$id")" '{"/data":{}}' "VOLUME kept in the result"
assert_eq "$(b images -aq | wc -l)" "$((n_imgs + 2))" "VOLUME and RUN steps' images only"

# A symlink named as a COPY source is copied as its target (resolved inside the context);
# symlinks inside a copied directory stay links. ADD extracts a local tarball.
mkdir -p "$WORK/ln/d"
echo target > "$WORK/ln/real"
ln -s real "$WORK/ln/link"
ln -s ../real "$WORK/ln/d/inner"
tar -C "$WORK/ln" -czf "$WORK/ln/arch.tgz" d real
printf 'FROM busybox\nCOPY link /l\nCOPY d /d/\nADD arch.tgz /x/\n' > "$WORK/ln/Dockerfile"
id=$(b build -q "$WORK/ln")
assert_eq "$(b run --rm --network none "$id" sh -c 'test -L /l || cat /l; readlink /d/inner; cat /x/real; readlink /x/d/inner')" \
  "target
../real
target
../real" "COPY of symlinks, ADD of a tarball"

# 8. builder prune removes what an interrupted build left (its RUN container) and forgets the
# cache: the next build runs its steps again.
mkdir -p "$WORK/slow"
printf 'FROM busybox\nRUN sleep 2\n' > "$WORK/slow/Dockerfile"
"$BERTH" --root "$ROOT" --run-dir "$RUN" build --no-cache --network none "$WORK/slow" >/dev/null 2>&1 &
bpid=$!
on_exit "kill $bpid"
eventually 20 sh -c "[ -n \"\$(\"$BERTH\" --root \"$ROOT\" --run-dir \"$RUN\" ps -q)\" ]"
kill -KILL $bpid
wait $bpid 2>/dev/null || true
eventually 20 sh -c "[ -z \"\$(\"$BERTH\" --root \"$ROOT\" --run-dir \"$RUN\" ps -q)\" ]"
assert_eq "$(b ps -aq | wc -l)" "1" "an interrupted build leaves its RUN container"
out=$(b builder prune -f)
assert_contains "$out" "Deleted build container" "builder prune removes it"
assert_eq "$(b ps -aq | wc -l)" "0" "no container left after builder prune"
out=$(b build --network none --build-arg GREETING=hello "$ctx" 2>"$WORK/log6")
assert_contains "$(cat "$WORK/log6")" "RAN-STEP-MARKER" "after builder prune the steps run again"
assert_eq "$(echo "$out" | tail -n1)" "$id3" "and give the same image"
