#!/usr/bin/env bash
# Build, once, and cache cyclonus (github.com/mattfenwick/cyclonus, MIT): a NetworkPolicy engine
# that implements the Kubernetes NetworkPolicy specification. The network-policy test reads the
# policies fedobs applied to a test-bed API server with it and asks it, for every pod pair and
# port, whether the traffic is allowed (`cyclonus analyze --mode query-traffic`).
#
#   scripts/testbed/build-cyclonus.sh              build it if missing (idempotent; progress on stderr)
#   scripts/testbed/build-cyclonus.sh --print-env  print `export FEDOBS_CYCLONUS=/abs/path`, build nothing
#     e.g.  eval "$(scripts/testbed/build-cyclonus.sh --print-env)"
#
# Layout: ${FEDOBS_TESTBED_DIR:-$HOME/.cache/fedobs/testbed}/cyclonus-<version>/bin/cyclonus, plus a
# `.complete` marker written last; with the marker the build is skipped. The wrapper module is
# built in a temp dir under <root>/tmp and removed afterwards. Nothing is written inside the repo.
set -euo pipefail

# cyclonus's go.mod has no replace or exclude lines, so a wrapper module that requires the
# release builds it exactly as `go install ...@v0.5.6` would.
CYCLONUS_VERSION="${FEDOBS_CYCLONUS_VERSION:-v0.5.6}"
MODULE=github.com/mattfenwick/cyclonus

ROOT="${FEDOBS_TESTBED_DIR:-$HOME/.cache/fedobs/testbed}"
DIR="$ROOT/cyclonus-$CYCLONUS_VERSION"

log() { printf '[testbed] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
elapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}'; }

is_complete() { [[ -f "$DIR/.complete" && -x "$DIR/bin/cyclonus" ]]; }

print_env() {
  printf 'export FEDOBS_CYCLONUS=%q\n' "$DIR/bin/cyclonus"
  is_complete || log "warning: cyclonus $CYCLONUS_VERSION is not built yet (run $0)"
}

# Path of the downloaded go.mod of module@version.
download_gomod() {
  local json
  json="$(go mod download -json "$1@$2")" || { printf '%s\n' "$json" >&2; return 1; }
  printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p'
}

build_cyclonus() {
  local out="$1" gomod goline
  gomod="$(download_gomod "$MODULE" "$CYCLONUS_VERSION")"
  go mod init fedobs.local/testbed/cyclonus >/dev/null 2>&1
  # The go line of the release, so GODEBUG defaults match what upstream builds.
  goline="$(awk '$1=="go"{print $2; exit}' "$gomod")"
  if [[ -n "$goline" ]]; then go mod edit -go="$goline"; fi
  go mod edit -require="$MODULE@$CYCLONUS_VERSION"
  local v="$MODULE/pkg/cli"
  CGO_ENABLED=0 go build -mod=mod -trimpath \
    -ldflags="-s -w -X $v.version=$CYCLONUS_VERSION -X $v.gitSHA=$CYCLONUS_VERSION -X $v.buildTime=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    -o "$out/cyclonus" "$MODULE/cmd/cyclonus"
}

main() {
  case "${1:-}" in
    --print-env) print_env; return 0 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; return 0 ;;
    "") ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
  local start work rc lockfd
  start="$(date +%s.%N)"
  if is_complete; then
    log "cyclonus $CYCLONUS_VERSION: cached ($(elapsed "$start")s)"
    return 0
  fi
  command -v go >/dev/null || die "go is not on PATH"
  mkdir -p "$ROOT/tmp"
  # One builder at a time: a concurrent run waits, then finds it cached.
  exec {lockfd}>"$ROOT/tmp/cyclonus-$CYCLONUS_VERSION.lock"
  flock "$lockfd"
  if is_complete; then
    log "cyclonus $CYCLONUS_VERSION: cached (built by a concurrent run)"
    return 0
  fi
  log "cyclonus $CYCLONUS_VERSION: building (cold)…"
  rm -rf "$ROOT/tmp/cyclonus-$CYCLONUS_VERSION".?????? # leftovers of an interrupted run
  work="$(mktemp -d "$ROOT/tmp/cyclonus-$CYCLONUS_VERSION.XXXXXX")"
  mkdir -p "$work/mod" "$work/bin"
  # Not `( ... ) || rc=$?`: bash ignores `set -e` inside a subshell on the left of ||.
  set +e
  (
    set -e
    cd "$work/mod"
    build_cyclonus "$work/bin"
  )
  rc=$?
  set -e
  if [[ $rc -ne 0 ]]; then
    log "cyclonus $CYCLONUS_VERSION: FAILED after $(elapsed "$start")s (wrapper module kept in $work/mod)"
    return "$rc"
  fi
  rm -rf "$DIR"
  mkdir -p "$DIR"
  mv "$work/bin" "$DIR/bin"
  cp "$work/mod/go.mod" "$DIR/wrapper.go.mod"
  {
    echo "component=cyclonus"
    echo "version=$CYCLONUS_VERSION"
    echo "go=$(go env GOVERSION)"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "seconds=$(elapsed "$start")"
  } >"$DIR/BUILDINFO"
  touch "$DIR/.complete"
  rm -rf "$work"
  log "cyclonus $CYCLONUS_VERSION: built in $(elapsed "$start")s -> $DIR/bin/cyclonus"
}

main "$@"
