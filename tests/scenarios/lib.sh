# Shared helpers for scenario tests (sourced). Each scenario gets its own temp root and run dir,
# a `b` function that runs berth against them, and a trap that cleans up even on failure.
#
#   source "$(dirname "$0")/lib.sh"
#   require_root
#   b import "$(busybox_tar)" busybox
#   assert_eq "$(b images -q | wc -l)" 1 "one image after import"
set -euo pipefail

: "${BERTH:?BERTH must point at the berth binary (ctest sets it)}"
SCENARIO=$(basename "$0" .sh)
SRC_DIR=${BERTH_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
WORK=$(mktemp -d "/tmp/berth-scn-${SCENARIO}-XXXXXX")
ROOT="$WORK/root"
RUN="$WORK/run"
mkdir -p "$ROOT" "$RUN"
_cleanups=()

b() { "$BERTH" --root "$ROOT" --run-dir "$RUN" "$@"; }

# on_exit CMD...: run at exit, last registered first.
on_exit() { _cleanups+=("$*"); }
_run_cleanups() {
  local rc=$?
  for ((i=${#_cleanups[@]}-1; i>=0; i--)); do eval "${_cleanups[$i]}" >/dev/null 2>&1 || true; done
  # Whatever the scenario made in the kernel (containers, bridges, nft table) goes too.
  [ -d "$ROOT" ] && "$BERTH" --root "$ROOT" --run-dir "$RUN" system teardown >/dev/null 2>&1 || true
  rm -rf "$WORK" 2>/dev/null || true
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then echo "FAIL: $SCENARIO (exit $rc)" >&2; fi
  exit $rc
}
trap _run_cleanups EXIT

skip() { echo "skipped: $*"; exit 77; }
require_root() { [ "$(id -u)" -eq 0 ] || skip "needs root"; }
require_cmd() { command -v "$1" >/dev/null 2>&1 || skip "needs $1"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

assert_eq() {  # actual expected message
  [ "$1" = "$2" ] || fail "$3: expected [$2], got [$1]"
}
assert_contains() {  # haystack needle message
  case "$1" in *"$2"*) ;; *) fail "$3: [$2] not found in [$1]" ;; esac
}
assert_not_contains() {
  case "$1" in *"$2"*) fail "$3: [$2] unexpectedly found in [$1]" ;; *) ;; esac
}
# expect_fail CMD...: the command must exit non-zero; its stderr is left in $ERR, code in $RC.
expect_fail() {
  set +e
  ERR=$("$@" 2>&1 >/dev/null)
  RC=$?
  set -e
  [ $RC -ne 0 ] || fail "expected failure: $*"
}

# eventually TIMEOUT_S CMD...: retry CMD every 0.1 s until it succeeds or the time is up.
eventually() {
  local deadline=$(( $(date +%s%N) + $1 * 1000000000 ))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s%N)" -lt "$deadline" ] || fail "timed out waiting for: $*"
    sleep 0.1
  done
}

# The busybox test image as a rootfs tarball (built once per machine, cached under /tmp).
busybox_tar() { "$SRC_DIR/examples/images/busybox/make-rootfs" ; }
