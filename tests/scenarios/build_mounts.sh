#!/usr/bin/env bash
# berth build's RUN --mount and COPY flags end to end: a cache mount persists between builds,
# is absent from the image and goes with builder prune; a secret is readable during RUN and
# absent from the image, its layers, its history and the cache key; bind mounts of the context
# (with .dockerignore, rw writes discarded) and of an earlier stage; tmpfs; RUN --network=none;
# COPY --exclude, --parents and --link. Nothing of a mount ends up in a layer.
source "$(dirname "$0")/lib.sh"
require_root

b import "$(busybox_tar)" busybox >/dev/null
base_layers=$(b image inspect -f '{{range .RootFS.Layers}}{{.}} {{end}}' busybox)
# new_entries IMAGE: the paths in the image's layers that busybox does not have.
new_entries() {
  local l
  for l in $(b image inspect -f '{{range .RootFS.Layers}}{{.}} {{end}}' "$1"); do
    case " $base_layers " in *" $l "*) continue ;; esac
    tar -tf "$ROOT/images/blobs/sha256/${l#sha256:}"
  done | sort | tr '\n' ' '
}

ctx="$WORK/ctx"
mkdir -p "$ctx/data" "$ctx/x" "$ctx/y"
echo from-context > "$ctx/data/f"
echo hidden > "$ctx/data/ignored.txt"
printf 'data/ignored.txt\n' > "$ctx/.dockerignore"
echo xa > "$ctx/x/a.txt"; echo xb > "$ctx/x/b.md"; echo ya > "$ctx/y/a.txt"

# 1. Cache mount: persists across builds (a changed arg reruns the step), not in the image.
cat > "$ctx/Dockerfile.cache" <<'EOF2'
FROM busybox
ARG N=1
RUN --mount=type=cache,target=/var/cache/thing,id=thing,sharing=locked \
    echo "run $N" >> /var/cache/thing/log && wc -l < /var/cache/thing/log > /count
EOF2
id=$(b build -q --network none -f "$ctx/Dockerfile.cache" --build-arg N=1 "$ctx")
assert_eq "$(b run --rm --network none "$id" cat /count)" "1" "first build sees an empty cache"
id=$(b build -q --network none -f "$ctx/Dockerfile.cache" --build-arg N=2 "$ctx")
assert_eq "$(b run --rm --network none "$id" cat /count)" "2" "the cache mount persists between builds"
assert_eq "$(b run --rm --network none "$id" sh -c 'test -e /var/cache/thing || echo absent')" "absent" "the cache dir is not in the image"
assert_eq "$(new_entries "$id")" "count " "the step's layer holds only what it wrote outside the mount"
out=$(b builder prune -f)
assert_contains "$out" "Deleted cache mounts: 1" "builder prune removes the cache mount"
id=$(b build -q --network none -f "$ctx/Dockerfile.cache" --build-arg N=3 "$ctx")
assert_eq "$(b run --rm --network none "$id" cat /count)" "1" "after prune the cache starts empty"

# sharing=locked: two builds at once take turns on the cache (neither sees the other's marker).
cat > "$ctx/Dockerfile.locked" <<'EOF2'
FROM busybox
ARG WHO
RUN --mount=type=cache,target=/c,id=lockme,sharing=locked \
    if [ -e /c/busy ]; then echo overlap > /result; else echo alone > /result; fi; \
    touch /c/busy; sleep 1; rm /c/busy; echo "$WHO" >> /c/seen
EOF2
b build -q --network none -f "$ctx/Dockerfile.locked" --build-arg WHO=a -t locked:a "$ctx" >"$WORK/la" 2>&1 &
p1=$!
b build -q --network none -f "$ctx/Dockerfile.locked" --build-arg WHO=b -t locked:b "$ctx" >"$WORK/lb" 2>&1 &
p2=$!
wait $p1 || fail "locked build a: $(cat "$WORK/la")"
wait $p2 || fail "locked build b: $(cat "$WORK/lb")"
assert_eq "$(b run --rm --network none locked:a cat /result) $(b run --rm --network none locked:b cat /result)" "alone alone" \
  "sharing=locked serialises the steps"

# 2. Secrets: readable during RUN (sources: a file, an environment variable), not in the image,
# its layers, its history, the cache key or anything left on disk.
secret="s3cr3t-$$-value"
printf '%s' "$secret" > "$WORK/tok"
want=$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)
cat > "$ctx/Dockerfile.secret" <<'EOF2'
FROM busybox
RUN --mount=type=secret,id=tok,required=true --mount=type=secret,id=tok2,target=/etc/tok2,mode=0440,uid=5 \
    sha256sum < /run/secrets/tok | cut -d' ' -f1 > /file.sum && \
    sha256sum < /etc/tok2 | cut -d' ' -f1 > /env.sum && \
    stat -c '%a %u' /etc/tok2 > /tok2.stat && echo SECRET-STEP-"RAN"
EOF2
export BERTH_TEST_TOK2="$secret"
id=$(b build --network none -f "$ctx/Dockerfile.secret" --secret id=tok,src="$WORK/tok" --secret id=tok2,env=BERTH_TEST_TOK2 "$ctx" 2>"$WORK/slog" | tail -n1)
assert_contains "$(cat "$WORK/slog")" "SECRET-STEP-RAN" "the secret step ran"
assert_eq "$(b run --rm --network none "$id" cat /file.sum)" "$want" "the secret file was readable during RUN"
assert_eq "$(b run --rm --network none "$id" cat /env.sum)" "$want" "a secret whose source is an environment variable (--secret id=,env=)"
assert_eq "$(b run --rm --network none "$id" cat /tok2.stat)" "440 5" "mode and uid of the secret file"
assert_eq "$(b run --rm --network none "$id" sh -c 'test -e /run/secrets || test -e /etc/tok2 || echo absent')" "absent" "no secret file in the image"
assert_eq "$(new_entries "$id")" "env.sum file.sum tok2.stat " "the layer holds only the step's own files"
for l in $(b image inspect -f '{{range .RootFS.Layers}}{{.}} {{end}}' "$id"); do
  if grep -q "$secret" "$ROOT/images/blobs/sha256/${l#sha256:}"; then fail "the secret is in a layer"; fi
done
assert_not_contains "$(b history --no-trunc "$id")" "$secret" "the secret is not in the history"
assert_not_contains "$(b image inspect "$id")" "$secret" "the secret is not in the config"
if grep -rqs "$secret" "$ROOT/builder" "$ROOT/containers" "$RUN"; then fail "the secret was left on disk"; fi
# Not in the cache key: a changed value does not rerun the step.
printf 'other' > "$WORK/tok"
id2=$(b build --network none -f "$ctx/Dockerfile.secret" --secret id=tok,src="$WORK/tok" --secret id=tok2,env=BERTH_TEST_TOK2 "$ctx" 2>"$WORK/slog2" | tail -n1)
assert_eq "$id2" "$id" "a changed secret value keeps the cache"
assert_not_contains "$(cat "$WORK/slog2")" "SECRET-STEP-RAN" "and the step did not run"
expect_fail b build --no-cache --network none -f "$ctx/Dockerfile.secret" "$ctx"
assert_contains "$ERR" "Dockerfile.secret:2" "a missing required secret names the line"
assert_contains "$ERR" "secret tok" "and the secret"
expect_fail b build --network none --secret id=tok,src="$WORK/nope" -f "$ctx/Dockerfile.secret" "$ctx"
assert_contains "$ERR" "$WORK/nope" "an unreadable --secret file is named"
printf 'FROM busybox\nRUN --mount=type=secret,id=tok,env=TOK true\n' > "$ctx/Dockerfile.envsecret"
expect_fail b build --network none --secret id=tok,src="$WORK/tok" -f "$ctx/Dockerfile.envsecret" "$ctx"
assert_contains "$ERR" "env= is not supported" "a secret as RUN's environment is refused, with why"

# A build killed while its RUN reads a secret leaves the secret file; builder prune sweeps it.
printf 'FROM busybox\nRUN --mount=type=secret,id=tok sleep 30\n' > "$ctx/Dockerfile.slow"
"$BERTH" --root "$ROOT" --run-dir "$RUN" build --no-cache --network none --secret id=tok,src="$WORK/tok" -f "$ctx/Dockerfile.slow" "$ctx" >/dev/null 2>&1 &
bpid=$!
on_exit "kill -KILL $bpid"
eventually 20 sh -c "[ -n \"\$(\"$BERTH\" --root \"$ROOT\" --run-dir \"$RUN\" ps -q)\" ]"
kill -KILL $bpid
wait $bpid 2>/dev/null || true
assert_eq "$(ls -A "$RUN/build-secrets" | wc -l)" "1" "a killed build leaves its secret dir"
b kill "$(b ps -q)" >/dev/null
eventually 20 sh -c "[ -z \"\$(\"$BERTH\" --root \"$ROOT\" --run-dir \"$RUN\" ps -q)\" ]"
b builder prune -f >/dev/null
assert_eq "$(ls -A "$RUN/build-secrets" | wc -l)" "0" "builder prune removes a dead build's secret files"

# 3. Bind mounts: the context (its .dockerignore holds, rw writes are discarded), a stage.
cat > "$ctx/Dockerfile.bind" <<'EOF2'
FROM busybox AS s1
RUN echo staged > /s.txt
FROM busybox
RUN --mount=type=bind,source=data,target=/data,rw \
    cat /data/f > /got && (test -e /data/ignored.txt && echo leaked || echo ignored) > /ign && echo w > /data/new
RUN --mount=from=s1,source=/s.txt,target=/mnt/s.txt cat /mnt/s.txt > /from-stage
RUN --mount=target=/c sh -c 'touch /c/x/new 2>/dev/null && echo writable || echo readonly' > /ro
RUN --mount=type=tmpfs,target=/scratch,size=1m sh -c 'grep -q " /scratch tmpfs " /proc/mounts && echo x > /scratch/f && echo tmpfs' > /tmpfs
EOF2
id=$(b build -q --network none -f "$ctx/Dockerfile.bind" "$ctx")
assert_eq "$(b run --rm --network none "$id" cat /got /ign /from-stage /ro /tmpfs | tr '\n' ' ')" \
  "from-context ignored staged readonly tmpfs " "bind of the context, of a stage, read-only default, tmpfs"
assert_eq "$(new_entries "$id")" "from-stage got ign ro tmpfs " "no mount target or mount content in the layers"
[ ! -e "$ctx/data/new" ] || fail "an rw bind mount wrote into the context"

# 4. RUN --network=none without --network on the command line: only lo.
printf 'FROM busybox\nRUN --network=none sh -c "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d \\" \\"" > /ifaces\n' > "$ctx/Dockerfile.net"
id=$(b build -q -f "$ctx/Dockerfile.net" "$ctx")
assert_eq "$(b run --rm --network none "$id" cat /ifaces)" "lo" "RUN --network=none has only loopback"

# 5. COPY --exclude, --parents, --link.
cat > "$ctx/Dockerfile.copy" <<'EOF2'
# syntax=docker/dockerfile:1.7-labs
FROM busybox
COPY --exclude=*.md x /ex/
COPY --parents x/a.txt y/a.txt /p/
COPY --link y /l/
EOF2
id=$(b build -q --network none -f "$ctx/Dockerfile.copy" "$ctx")
assert_eq "$(b run --rm --network none "$id" sh -c 'cd / && find ex p l -type f | sort | tr "\n" " "')" \
  "ex/a.txt l/a.txt p/x/a.txt p/y/a.txt " "COPY --exclude, --parents and --link"

# Bad mounts are named with their line; nothing is left behind.
printf 'FROM busybox\nRUN --mount=type=cache,sharing=sometimes,target=/c true\n' > "$ctx/Dockerfile.bad"
expect_fail b build --network none -f "$ctx/Dockerfile.bad" "$ctx"
assert_contains "$ERR" "Dockerfile.bad:2" "bad mount names its line"
assert_contains "$ERR" "sharing value \"sometimes\"" "and what is wrong"
printf 'FROM busybox\nRUN --mount=type=bind,source=nothere,target=/n true\n' > "$ctx/Dockerfile.bad"
expect_fail b build --network none -f "$ctx/Dockerfile.bad" "$ctx"
assert_contains "$ERR" "nothere not found in the build context" "missing bind source named"
assert_eq "$(b ps -aq | wc -l)" "0" "no build container left"
assert_eq "$(ls -A "$RUN/build-secrets" 2>/dev/null | wc -l)" "0" "no secret file left"
assert_eq "$(ls -A "$ROOT/tmp" 2>/dev/null | wc -l)" "0" "no scratch dir left"
