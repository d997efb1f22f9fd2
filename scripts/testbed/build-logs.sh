#!/usr/bin/env bash
# Build, once, and cache the test bed's real log store: VictoriaLogs
# (github.com/VictoriaMetrics/VictoriaLogs, Apache-2.0), single binary `victoria-logs`.
#
# Why not Loki: the machine's package list marks github.com/grafana/loki/v3 (and Grafana,
# Tempo) "not-to-use: AGPL". VictoriaLogs is a permissively licensed log store served by the
# module proxy; it ingests OTLP/HTTP logs (/insert/opentelemetry/v1/logs) and Loki pushes
# (/insert/loki/api/v1/push) and answers LogsQL (/select/logsql/...). It does NOT serve Loki's
# LogQL query API, so `fedobs verify`'s log checks keep talking to the LogQL contract fake.
#
#   scripts/testbed/build-logs.sh              build it if missing (idempotent; progress on stderr)
#   scripts/testbed/build-logs.sh --print-env  print `export FEDOBS_VICTORIALOGS=/abs/path`, build nothing
#     e.g.  eval "$(scripts/testbed/build-logs.sh --print-env)"
#
# Layout: ${FEDOBS_TESTBED_DIR:-$HOME/.cache/fedobs/testbed}/victorialogs-<version>/bin/victoria-logs,
# plus a `.complete` marker written last; with the marker the build is skipped. The wrapper module
# is built in a temp dir under <root>/tmp and removed afterwards. Nothing is written inside the repo.
set -euo pipefail

VICTORIALOGS_VERSION="${FEDOBS_VICTORIALOGS_VERSION:-v1.52.1}"
MODULE=github.com/VictoriaMetrics/VictoriaLogs

ROOT="${FEDOBS_TESTBED_DIR:-$HOME/.cache/fedobs/testbed}"
DIR="$ROOT/victorialogs-$VICTORIALOGS_VERSION"

log() { printf '[testbed] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
elapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}'; }

is_complete() { [[ -f "$DIR/.complete" && -x "$DIR/bin/victoria-logs" ]]; }

print_env() {
  printf 'export FEDOBS_VICTORIALOGS=%q\n' "$DIR/bin/victoria-logs"
  printf 'export FEDOBS_VICTORIALOGS_VERSION=%q\n' "$VICTORIALOGS_VERSION"
  is_complete || log "warning: victorialogs $VICTORIALOGS_VERSION is not built yet (run $0)"
}

# Path of the downloaded go.mod of module@version.
download_gomod() {
  local json
  json="$(go mod download -json "$1@$2")" || { printf '%s\n' "$json" >&2; return 1; }
  printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p'
}

build_victorialogs() {
  local out="$1" gomod goline flags
  gomod="$(download_gomod "$MODULE" "$VICTORIALOGS_VERSION")"
  go mod init fedobs.local/testbed/victorialogs >/dev/null 2>&1
  # The go line of the release, so GODEBUG defaults match what upstream builds.
  goline="$(awk '$1=="go"{print $2; exit}' "$gomod")"
  if [[ -n "$goline" ]]; then go mod edit -go="$goline"; fi
  go mod edit -require="$MODULE@$VICTORIALOGS_VERSION"
  # Repeat the release's own replace/exclude lines (dependents ignore them; v1.52.1 has none).
  # A replace by a local path cannot be reproduced outside the upstream repository: refuse.
  flags="$(go mod edit -json "$gomod" | python3 -c '
import json, sys
d = json.load(sys.stdin)
def at(m):
    return m["Path"] + ("@" + m["Version"] if m.get("Version") else "")
for r in d.get("Replace") or []:
    if not r["New"].get("Version"):
        sys.exit("victorialogs go.mod replaces %s with a local path (%s)" % (r["Old"]["Path"], r["New"]["Path"]))
    print("-replace=%s=%s" % (at(r["Old"]), at(r["New"])))
for e in d.get("Exclude") or []:
    print("-exclude=%s" % at(e))
')"
  # shellcheck disable=SC2086 # one flag per word, none contains spaces
  if [[ -n "$flags" ]]; then go mod edit $flags; fi
  # CGO off: upstream's "pure" build (lib/encoding/zstd falls back to a Go zstd without cgo).
  CGO_ENABLED=0 go build -mod=mod -trimpath \
    -ldflags="-s -w -X 'github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo.Version=victoria-logs-${VICTORIALOGS_VERSION}-fedobs-testbed'" \
    -o "$out/victoria-logs" "$MODULE/app/victoria-logs"
}

main() {
  case "${1:-}" in
    --print-env) print_env; return 0 ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; return 0 ;;
    "") ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
  local start work rc lockfd
  start="$(date +%s.%N)"
  if is_complete; then
    log "victorialogs $VICTORIALOGS_VERSION: cached ($(elapsed "$start")s)"
    return 0
  fi
  command -v go >/dev/null || die "go is not on PATH"
  mkdir -p "$ROOT/tmp"
  # One builder at a time: a concurrent run waits, then finds it cached.
  exec {lockfd}>"$ROOT/tmp/victorialogs-$VICTORIALOGS_VERSION.lock"
  flock "$lockfd"
  if is_complete; then
    log "victorialogs $VICTORIALOGS_VERSION: cached (built by a concurrent run)"
    return 0
  fi
  log "victorialogs $VICTORIALOGS_VERSION: building (cold)…"
  rm -rf "$ROOT/tmp/victorialogs-$VICTORIALOGS_VERSION".?????? # leftovers of an interrupted run
  work="$(mktemp -d "$ROOT/tmp/victorialogs-$VICTORIALOGS_VERSION.XXXXXX")"
  mkdir -p "$work/mod" "$work/bin"
  # Not `( ... ) || rc=$?`: bash ignores `set -e` inside a subshell on the left of ||.
  set +e
  (
    set -e
    cd "$work/mod"
    build_victorialogs "$work/bin"
  )
  rc=$?
  set -e
  if [[ $rc -ne 0 ]]; then
    log "victorialogs $VICTORIALOGS_VERSION: FAILED after $(elapsed "$start")s (wrapper module kept in $work/mod)"
    return "$rc"
  fi
  rm -rf "$DIR"
  mkdir -p "$DIR"
  mv "$work/bin" "$DIR/bin"
  cp "$work/mod/go.mod" "$DIR/wrapper.go.mod"
  {
    echo "component=victorialogs"
    echo "version=$VICTORIALOGS_VERSION"
    echo "licence=Apache-2.0"
    echo "go=$(go env GOVERSION)"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "seconds=$(elapsed "$start")"
  } >"$DIR/BUILDINFO"
  touch "$DIR/.complete"
  rm -rf "$work"
  log "victorialogs $VICTORIALOGS_VERSION: built in $(elapsed "$start")s -> $DIR/bin/victoria-logs"
}

main "$@"
