#!/usr/bin/env bash
# Build, once, and cache the binaries of the fedobs test bed (no Docker needed):
#   * an OpenTelemetry Collector made by the official builder (ocb) from
#     scripts/testbed/otelcol-builder.yaml, every module at ONE collector release;
#   * Prometheus 3 (and promtool) from the Go module github.com/prometheus/prometheus.
#
# Binaries live OUTSIDE the repo, keyed by version:
#   ${FEDOBS_TESTBED_DIR:-$HOME/.cache/fedobs/testbed}/<component>-<version>[-<manifest hash>]/bin/
# A component counts as built only when its `.complete` marker (written last) exists, so a
# re-run skips finished components at once and an interrupted build is redone from scratch.
#
# Usage:
#   scripts/testbed/build-otel.sh              build what is missing (progress on stderr)
#   scripts/testbed/build-otel.sh --print-env  print `export FEDOBS_...=` lines, build nothing
#     e.g.  eval "$(scripts/testbed/build-otel.sh --print-env)"
#   scripts/testbed/build-otel.sh --print-manifest  print the rendered builder manifest
#
# Needs: go (1.26+), the Go module proxy, sha256sum, python3; flock if present.
set -euo pipefail
shopt -s inherit_errexit

# ---------------------------------------------------------------------------------------------
# Versions (override any of them from the environment).
#
# Collector: the contrib release. Our Kubernetes manifests pin the image
# otel/opentelemetry-collector-contrib:${OTELCOL_VERSION}, so keep the two in step.
# v0.159.0 is the newest release at which every module of the manifest resolves from the
# module proxy reachable here; v0.160.0 and later fail (internal/kubelet, pkg/stanza,
# pkg/ottl/contexts/xprofile, pkg/expohisto or an otel pseudo-version are not served).
OTELCOL_VERSION="${OTELCOL_VERSION:-0.159.0}"
# Prometheus 3.X.Y is the Go module tag v0.3XX.Y.
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-3.16.0}"

# Derived collector module versions (the release scheme: contrib v0.X.Z goes with core
# v0.X.0 and core stable v1.(X-94).0; k8sattributesprocessor has its own v1 line from contrib
# v0.161.0 on: v1.(X-161).Z).
_otel_minor="$(cut -d. -f2 <<<"$OTELCOL_VERSION")"
_otel_patch="$(cut -d. -f3 <<<"$OTELCOL_VERSION")"
OTELCOL_CORE_VERSION="${OTELCOL_CORE_VERSION:-0.${_otel_minor}.0}"
OTELCOL_STABLE_VERSION="${OTELCOL_STABLE_VERSION:-1.$((_otel_minor - 94)).0}"
if ((_otel_minor >= 161)); then
  OTELCOL_K8SATTR_VERSION="${OTELCOL_K8SATTR_VERSION:-1.$((_otel_minor - 161)).${_otel_patch}}"
else
  OTELCOL_K8SATTR_VERSION="${OTELCOL_K8SATTR_VERSION:-$OTELCOL_VERSION}"
fi
OTELCOL_WITH_K8SATTRIBUTES="${OTELCOL_WITH_K8SATTRIBUTES:-1}"
# The builder (ocb) release matching the core modules.
OCB_VERSION="${OCB_VERSION:-$OTELCOL_CORE_VERSION}"

_prom_minor="$(cut -d. -f2 <<<"$PROMETHEUS_VERSION")"
_prom_patch="$(cut -d. -f3 <<<"$PROMETHEUS_VERSION")"
PROMETHEUS_MODULE_VERSION="${PROMETHEUS_MODULE_VERSION:-0.$((300 + _prom_minor)).${_prom_patch}}"
PROMETHEUS_BUILD_TAGS="${PROMETHEUS_BUILD_TAGS:-netgo}" # no builtinassets: the UI is not needed

TESTBED_DIR="${FEDOBS_TESTBED_DIR:-$HOME/.cache/fedobs/testbed}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MANIFEST_TEMPLATE="${OTELCOL_BUILDER_MANIFEST:-$SCRIPT_DIR/otelcol-builder.yaml}"

export CGO_ENABLED=0
GO_LDFLAGS='-s -w'

# ---------------------------------------------------------------------------------------------
log() { printf '[testbed] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The builder manifest with every version filled in; @OUTPUT@ is left for the caller.
render_manifest() {
  local optional='^[[:space:]]*-[[:space:]]gomod:.*#[[:space:]]fedobs:optional=k8sattributes'
  if [[ "$OTELCOL_WITH_K8SATTRIBUTES" == 0 ]]; then
    grep -v -E "$optional" "$MANIFEST_TEMPLATE"
  else
    cat "$MANIFEST_TEMPLATE"
  fi | sed \
    -e "/^[[:space:]]*#/!s#@CORE@#v${OTELCOL_CORE_VERSION}#g" \
    -e "/^[[:space:]]*#/!s#@STABLE@#v${OTELCOL_STABLE_VERSION}#g" \
    -e "/^[[:space:]]*#/!s#@CONTRIB@#v${OTELCOL_VERSION}#g" \
    -e "/^[[:space:]]*#/!s#@K8SATTR@#v${OTELCOL_K8SATTR_VERSION}#g" \
    -e "/^[[:space:]]*#/!s#@CONTRIB_PLAIN@#${OTELCOL_VERSION}#g"
}

manifest_hash() { render_manifest | sha256sum | cut -c1-10; }

otelcol_dir() { printf '%s/otelcol-%s-%s' "$TESTBED_DIR" "$OTELCOL_VERSION" "$(manifest_hash)"; }
ocb_dir() { printf '%s/ocb-%s' "$TESTBED_DIR" "$OCB_VERSION"; }
prometheus_dir() { printf '%s/prometheus-%s' "$TESTBED_DIR" "$PROMETHEUS_VERSION"; }

is_complete() { [[ -f "$1/.complete" ]]; }

# new_stage NAME: sets STAGE to a fresh temporary directory under the cache root (removed
# on exit, whatever happens; not printed, so that no subshell loses track of it).
STAGES=()
STAGE=
cleanup() {
  local d
  for d in "${STAGES[@]+"${STAGES[@]}"}"; do [[ -n "$d" && -d "$d" ]] && rm -rf "$d"; done
}
trap cleanup EXIT
new_stage() {
  STAGE="$(mktemp -d "$TESTBED_DIR/.build-$1.XXXXXX")"
  STAGES+=("$STAGE")
}

# finish STAGE FINAL: move the staged result into place, then write the marker last.
finish() {
  local stage="$1" final="$2"
  rm -rf "$final"
  mv "$stage/out" "$final"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$final/.complete"
}

# with_lock NAME CMD...: serialise concurrent runs building the same component. CMD runs
# in no `if`/`||` context, so `set -e` keeps stopping the script at the first failure.
with_lock() {
  local name="$1" fd=''
  shift
  if command -v flock >/dev/null 2>&1; then
    exec {fd}>"$TESTBED_DIR/.lock-$name"
    flock "$fd"
  fi
  "$@"
  if [[ -n "$fd" ]]; then exec {fd}>&-; fi
}

# run_logged LOGFILE CMD...: run, keep the full output; show its tail if it fails.
run_logged() {
  local logfile="$1"; shift
  if ! "$@" >>"$logfile" 2>&1; then
    log "command failed: $*"
    tail -n 40 "$logfile" | sed 's/^/    /' >&2
    log "full log: $logfile"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
build_ocb() {
  local final stage start
  final="$(ocb_dir)"
  if is_complete "$final"; then return 0; fi
  start=$SECONDS
  log "ocb v${OCB_VERSION}: building (cold)…"
  new_stage ocb
  stage="$STAGE"
  mkdir -p "$stage/out/bin"
  run_logged "$TESTBED_DIR/logs/ocb-${OCB_VERSION}.log" \
    env GOBIN="$stage/out/bin" go install -trimpath -ldflags="$GO_LDFLAGS" \
    "go.opentelemetry.io/collector/cmd/builder@v${OCB_VERSION}"
  finish "$stage" "$final"
  log "ocb v${OCB_VERSION}: built in $((SECONDS - start))s"
}

build_otelcol() {
  local final stage start logfile
  final="$(otelcol_dir)"
  start=$SECONDS
  if is_complete "$final" && [[ -x "$final/bin/otelcol" ]]; then
    log "otelcol v${OTELCOL_VERSION}: cached ($final, $((SECONDS - start))s)"
    return 0
  fi
  log "otelcol v${OTELCOL_VERSION}: building (cold)… (manifest $(manifest_hash), core v${OTELCOL_CORE_VERSION}/v${OTELCOL_STABLE_VERSION}, k8sattributes $([[ $OTELCOL_WITH_K8SATTRIBUTES == 0 ]] && echo off || echo "v$OTELCOL_K8SATTR_VERSION"))"
  with_lock ocb build_ocb
  logfile="$TESTBED_DIR/logs/otelcol-${OTELCOL_VERSION}.log"
  : >"$logfile"
  new_stage otelcol
  stage="$STAGE"
  mkdir -p "$stage/out/bin"
  render_manifest | sed -e "s#@OUTPUT@#$stage/src#g" >"$stage/manifest.yaml"
  # ocb itself builds with -trimpath, CGO_ENABLED=0 and the ldflags below.
  run_logged "$logfile" "$(ocb_dir)/bin/builder" --config="$stage/manifest.yaml" --ldflags="$GO_LDFLAGS"
  cp "$stage/src/otelcol" "$stage/out/bin/otelcol"
  render_manifest | sed -e "s#@OUTPUT@#<build dir>#g" >"$stage/out/otelcol-builder.yaml"
  cp "$stage/src/go.mod" "$stage/out/go.mod"
  finish "$stage" "$final"
  log "otelcol v${OTELCOL_VERSION}: built in $((SECONDS - start))s ($final/bin/otelcol)"
}

# Prometheus: `go install ...@version` refuses a module whose go.mod has replace/exclude
# directives (Prometheus releases have carried some), so build from a throw-away wrapper
# module that requires the release and repeats whatever directives the release's own go.mod
# has (v0.316.0 has none, so today the wrapper only pins the go version).
build_prometheus() {
  local final stage start logfile mod gomod directives
  final="$(prometheus_dir)"
  start=$SECONDS
  if is_complete "$final" && [[ -x "$final/bin/prometheus" ]]; then
    log "prometheus v${PROMETHEUS_VERSION}: cached ($final, $((SECONDS - start))s)"
    return 0
  fi
  log "prometheus v${PROMETHEUS_VERSION}: building (cold)… (module v${PROMETHEUS_MODULE_VERSION})"
  mod="github.com/prometheus/prometheus"
  logfile="$TESTBED_DIR/logs/prometheus-${PROMETHEUS_VERSION}.log"
  : >"$logfile"
  new_stage prometheus
  stage="$STAGE"
  mkdir -p "$stage/out/bin" "$stage/wrapper"
  gomod="$(go mod download -json "${mod}@v${PROMETHEUS_MODULE_VERSION}" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["Error"]) if d.get("Error") else print(d["GoMod"])')"
  # `go mod edit` flags reproducing the replace and exclude directives of the release.
  directives="$(go mod edit -json "$gomod" | python3 -c '
import json, sys
d = json.load(sys.stdin)
def at(m):
    return m["Path"] + ("@" + m["Version"] if m.get("Version") else "")
for r in d.get("Replace") or []:
    new = r["New"]
    if not new.get("Version"):
        sys.exit("prometheus go.mod replaces %s with a local path (%s): cannot be reproduced" % (r["Old"]["Path"], new["Path"]))
    print("-replace=%s=%s" % (at(r["Old"]), at(new)))
for e in d.get("Exclude") or []:
    print("-exclude=%s" % at(e))
print("-go=%s" % d["Go"])
')"
  (
    cd "$stage/wrapper"
    run_logged "$logfile" go mod init fedobs.local/testbed/prometheus-build
    # shellcheck disable=SC2086 # one flag per word, none contains spaces
    run_logged "$logfile" go mod edit -require="${mod}@v${PROMETHEUS_MODULE_VERSION}" $directives
    run_logged "$logfile" go get "${mod}/cmd/prometheus@v${PROMETHEUS_MODULE_VERSION}" "${mod}/cmd/promtool@v${PROMETHEUS_MODULE_VERSION}"
    local vpkg=github.com/prometheus/common/version
    run_logged "$logfile" go build -mod=mod -trimpath -tags "$PROMETHEUS_BUILD_TAGS" \
      -ldflags="$GO_LDFLAGS -X ${vpkg}.Version=${PROMETHEUS_VERSION} -X ${vpkg}.Revision=v${PROMETHEUS_MODULE_VERSION} -X ${vpkg}.Branch=module -X ${vpkg}.BuildUser=fedobs-testbed -X ${vpkg}.BuildDate=$(date -u +%Y%m%d-%H:%M:%S)" \
      -o "$stage/out/bin/" "${mod}/cmd/prometheus" "${mod}/cmd/promtool"
    cp go.mod "$stage/out/go.mod"
  )
  finish "$stage" "$final"
  log "prometheus v${PROMETHEUS_VERSION}: built in $((SECONDS - start))s ($final/bin/prometheus, promtool)"
}

print_env() {
  printf 'export FEDOBS_OTELCOL=%q\n' "$(otelcol_dir)/bin/otelcol"
  printf 'export FEDOBS_PROMETHEUS=%q\n' "$(prometheus_dir)/bin/prometheus"
  printf 'export FEDOBS_PROMTOOL=%q\n' "$(prometheus_dir)/bin/promtool"
  printf 'export FEDOBS_OTELCOL_VERSION=%q\n' "$OTELCOL_VERSION"
  printf 'export FEDOBS_PROMETHEUS_VERSION=%q\n' "$PROMETHEUS_VERSION"
  is_complete "$(otelcol_dir)" || log "note: otelcol v${OTELCOL_VERSION} is not built yet (run without --print-env)"
  is_complete "$(prometheus_dir)" || log "note: prometheus v${PROMETHEUS_VERSION} is not built yet (run without --print-env)"
}

main() {
  [[ -f "$MANIFEST_TEMPLATE" ]] || die "builder manifest not found: $MANIFEST_TEMPLATE"
  case "${1:-}" in
    --print-env) print_env; return 0 ;;
    --print-manifest) render_manifest; return 0 ;;
    "") ;;
    -h | --help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
  command -v go >/dev/null 2>&1 || die "go is not on PATH"
  mkdir -p "$TESTBED_DIR/logs"
  local start=$SECONDS
  with_lock otelcol build_otelcol
  with_lock prometheus build_prometheus
  log "all done in $((SECONDS - start))s; binaries under $TESTBED_DIR"
}

main "$@"
