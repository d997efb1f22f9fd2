#!/usr/bin/env bash
# Build the Kubernetes part of the fedobs test bed from the Go module proxy and
# cache the binaries by version outside the repo.
#
#   scripts/testbed/build-k8s.sh                 build whatever is missing (idempotent)
#   scripts/testbed/build-k8s.sh etcd kwok       build only the named components
#   scripts/testbed/build-k8s.sh --print-env     print `export FEDOBS_...=/abs/path` lines, build nothing
#   eval "$(scripts/testbed/build-k8s.sh --print-env)"
#
# Components: kubernetes (kube-apiserver, kube-controller-manager, kube-scheduler),
# etcd, kwok (kwok, kwokctl), kube-state-metrics, kubectl (same Kubernetes version; used
# by the apply benchmark, scripts/bench-apply.ts, as the reference client).
#
# Layout: <root>/<component>-<version>/bin/<binary>, plus a `.complete` marker written
# last; a component with the marker is skipped. Wrapper modules are built in a temp dir
# under <root>/tmp and removed afterwards. Nothing is written inside the repo.
set -euo pipefail

# ---- versions (override by env) -------------------------------------------------------
K8S_VERSION="${FEDOBS_K8S_VERSION:-v1.34.4}"          # k8s.io/kubernetes; staging modules use v0.<minor>.<patch>
ETCD_VERSION="${FEDOBS_ETCD_VERSION:-v3.6.16}"        # go.etcd.io/etcd/server/v3
# kwok v0.8.0 builds too, but exits with "no stages found" unless given Stage configs
# (v0.7.0 falls back to built-in default node/pod stages).
KWOK_VERSION="${FEDOBS_KWOK_VERSION:-v0.7.0}"         # sigs.k8s.io/kwok
# kube-state-metrics v2.16.0: the checksum DB lookup 404s here; v2.14.0/v2.17.0: not served.
KSM_VERSION="${FEDOBS_KSM_VERSION:-v2.15.0}"          # k8s.io/kube-state-metrics/v2

ROOT="${FEDOBS_TESTBED_DIR:-$HOME/.cache/fedobs/testbed}"
ALL_COMPONENTS=(etcd kwok kube-state-metrics kubernetes kubectl)

log() { printf '[testbed] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

comp_version() {
  case "$1" in
    kubernetes|kubectl) echo "$K8S_VERSION" ;;
    etcd) echo "$ETCD_VERSION" ;;
    kwok) echo "$KWOK_VERSION" ;;
    kube-state-metrics) echo "$KSM_VERSION" ;;
    *) die "unknown component: $1 (known: ${ALL_COMPONENTS[*]})" ;;
  esac
}

comp_binaries() {
  case "$1" in
    kubernetes) echo "kube-apiserver kube-controller-manager kube-scheduler" ;;
    etcd) echo "etcd" ;;
    kwok) echo "kwok kwokctl" ;;
    kube-state-metrics) echo "kube-state-metrics" ;;
    kubectl) echo "kubectl" ;;
  esac
}

comp_dir() { echo "$ROOT/$1-$(comp_version "$1")"; }

print_env() {
  local k8s etcd kwok ksm
  k8s="$(comp_dir kubernetes)/bin"
  etcd="$(comp_dir etcd)/bin"
  kwok="$(comp_dir kwok)/bin"
  ksm="$(comp_dir kube-state-metrics)/bin"
  printf 'export FEDOBS_TESTBED_DIR=%q\n' "$ROOT"
  printf 'export FEDOBS_KUBE_APISERVER=%q\n' "$k8s/kube-apiserver"
  printf 'export FEDOBS_KUBE_CONTROLLER_MANAGER=%q\n' "$k8s/kube-controller-manager"
  printf 'export FEDOBS_KUBE_SCHEDULER=%q\n' "$k8s/kube-scheduler"
  printf 'export FEDOBS_ETCD=%q\n' "$etcd/etcd"
  printf 'export FEDOBS_KWOK=%q\n' "$kwok/kwok"
  printf 'export FEDOBS_KWOKCTL=%q\n' "$kwok/kwokctl"
  printf 'export FEDOBS_KUBE_STATE_METRICS=%q\n' "$ksm/kube-state-metrics"
  printf 'export FEDOBS_KUBECTL=%q\n' "$(comp_dir kubectl)/bin/kubectl"
  local c
  for c in "${ALL_COMPONENTS[@]}"; do
    [[ -f "$(comp_dir "$c")/.complete" ]] || log "warning: $c $(comp_version "$c") is not built yet (run $0)"
  done
}

is_complete() {
  local dir b
  dir="$(comp_dir "$1")"
  [[ -f "$dir/.complete" ]] || return 1
  for b in $(comp_binaries "$1"); do [[ -x "$dir/bin/$b" ]] || return 1; done
}

# go build with our common flags. $1 = -o target (a dir ending in / for several main
# packages in one invocation, so shared packages compile once; a file path for one),
# $2 = extra -X ldflags, rest = packages.
go_build() {
  local out="$1" xflags="$2"; shift 2
  CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags="-s -w${xflags:+ $xflags}" -o "$out" "$@"
}

# Start a wrapper module in the current dir: module name, go line copied from the
# dependency's go.mod (so GODEBUG defaults match upstream), and a require.
init_wrapper() {
  local name="$1" dep="$2" depver="$3" depmod="$4" goline
  go mod init "fedobs.local/testbed/$name" >/dev/null 2>&1
  goline="$(awk '$1=="go"{print $2; exit}' "$depmod")"
  if [[ -n "$goline" ]]; then go mod edit -go="$goline"; fi
  go mod edit -require="$dep@$depver"
}

# Path of the downloaded go.mod of module@version.
download_gomod() {
  local json
  json="$(go mod download -json "$1@$2")" || { printf '%s\n' "$json" >&2; return 1; }
  printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p'
}

build_etcd() {
  local out="$1" gomod
  gomod="$(download_gomod go.etcd.io/etcd/server/v3 "$ETCD_VERSION")"
  init_wrapper etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$gomod"
  # The module root of go.etcd.io/etcd/server/v3 is the etcd main package. Its own
  # replace lines point at sibling dirs of the etcd repo; dependents ignore them and use
  # the released go.etcd.io/etcd/{api,client,pkg} modules of the same version.
  go_build "$out/etcd" "" go.etcd.io/etcd/server/v3
}

build_kwok() {
  local out="$1" gomod v="${KWOK_VERSION#v}"
  gomod="$(download_gomod sigs.k8s.io/kwok "$KWOK_VERSION")"
  init_wrapper kwok sigs.k8s.io/kwok "$KWOK_VERSION" "$gomod"
  go_build "$out/" "-X sigs.k8s.io/kwok/pkg/consts.Version=$v" \
    sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
}

build_ksm() {
  local out="$1" gomod p=github.com/prometheus/common/version
  gomod="$(download_gomod k8s.io/kube-state-metrics/v2 "$KSM_VERSION")"
  init_wrapper ksm k8s.io/kube-state-metrics/v2 "$KSM_VERSION" "$gomod"
  go_build "$out/kube-state-metrics" "-X $p.Version=$KSM_VERSION -X $p.Branch=release -X $p.Revision=$KSM_VERSION" \
    k8s.io/kube-state-metrics/v2
}

# Wrapper module for k8s.io/kubernetes at K8S_VERSION, its staging modules replaced by
# their published releases. Sets KUBE_XFLAGS (the version ldflags upstream's build sets).
init_kubernetes_wrapper() {
  local gomod staging_ver mods m godebug
  [[ "$K8S_VERSION" =~ ^v1\.([0-9]+)\.[0-9]+ ]] || die "K8S_VERSION must look like v1.<minor>.<patch>: $K8S_VERSION"
  local minor="${BASH_REMATCH[1]}"
  staging_ver="v0.${K8S_VERSION#v1.}"
  gomod="$(download_gomod k8s.io/kubernetes "$K8S_VERSION")"
  init_wrapper kubernetes k8s.io/kubernetes "$K8S_VERSION" "$gomod"
  # Copy godebug lines (e.g. `godebug default=go1.24`) as upstream builds have them.
  while read -r godebug; do
    if [[ -n "$godebug" ]]; then go mod edit -godebug="$godebug"; fi
  done < <(awk '$1=="godebug" && $2!="(" {print $2}' "$gomod")
  # Every module that k8s.io/kubernetes replaces with ./staging/src/... is published on
  # its own as v0.<minor>.<patch>; replace them with those releases.
  mods="$(awk '$2=="=>" && $3 ~ /^\.\/staging\// {print $1}' "$gomod" | sort -u)"
  [[ -n "$mods" ]] || die "no ./staging replace lines found in $gomod"
  local args=()
  for m in $mods; do args+=("-replace=$m=$m@$staging_ver"); done
  go mod edit "${args[@]}"
  log "kubernetes $K8S_VERSION: replacing $(wc -w <<<"$mods") staging modules with $staging_ver"
  local p x=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    x+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  KUBE_XFLAGS="${x# }"
}

build_kubernetes() {
  local out="$1"
  init_kubernetes_wrapper
  go_build "$out/" "$KUBE_XFLAGS" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler
}

# kubectl is its own component (own dir and marker) so that adding it does not
# invalidate an already built control plane; with Go's build cache warm from the
# control plane, most of its packages are already compiled.
build_kubectl() {
  local out="$1"
  init_kubernetes_wrapper
  go_build "$out/kubectl" "$KUBE_XFLAGS" k8s.io/kubernetes/cmd/kubectl
}

build_component() {
  local c="$1" ver dir start work rc=0 lockfd
  ver="$(comp_version "$c")"
  dir="$(comp_dir "$c")"
  start="$(date +%s.%N)"
  if is_complete "$c"; then
    log "$c $ver: cached ($(elapsed "$start")s)"
    return 0
  fi
  mkdir -p "$ROOT/tmp"
  # One builder per component at a time (another run waits, then finds it cached).
  exec {lockfd}>"$ROOT/tmp/$c-$ver.lock"
  flock "$lockfd"
  if is_complete "$c"; then
    log "$c $ver: cached (built by a concurrent run)"
    exec {lockfd}>&-
    return 0
  fi
  log "$c $ver: building (cold)…"
  rm -rf "$ROOT/tmp/$c-$ver".??????  # leftovers of an earlier failed or interrupted run
  work="$(mktemp -d "$ROOT/tmp/$c-$ver.XXXXXX")"
  mkdir -p "$work/mod" "$work/bin"
  # Not `( ... ) || rc=$?`: bash ignores `set -e` inside a subshell on the left of ||.
  set +e
  (
    set -e
    cd "$work/mod"
    case "$c" in
      kubernetes) build_kubernetes "$work/bin" ;;
      kubectl) build_kubectl "$work/bin" ;;
      etcd) build_etcd "$work/bin" ;;
      kwok) build_kwok "$work/bin" ;;
      kube-state-metrics) build_ksm "$work/bin" ;;
    esac
  )
  rc=$?
  set -e
  if [[ $rc -eq 0 ]]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    mv "$work/bin" "$dir/bin"
    cp "$work/mod/go.mod" "$dir/wrapper.go.mod"
    {
      echo "component=$c"
      echo "version=$ver"
      echo "go=$(go env GOVERSION)"
      echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
      echo "seconds=$(elapsed "$start")"
    } >"$dir/BUILDINFO"
    touch "$dir/.complete"
    log "$c $ver: built in $(elapsed "$start")s -> $dir/bin ($(cd "$dir/bin" && du -sh . | cut -f1))"
  else
    log "$c $ver: FAILED after $(elapsed "$start")s (wrapper module kept in $work/mod)"
  fi
  [[ $rc -eq 0 ]] && rm -rf "$work"
  exec {lockfd}>&-
  return "$rc"
}

elapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}'; }

main() {
  local comps=() c
  for c in "$@"; do
    case "$c" in
      --print-env) print_env; return 0 ;;
      -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; return 0 ;;
      *) comp_version "$c" >/dev/null; comps+=("$c") ;;
    esac
  done
  [[ ${#comps[@]} -gt 0 ]] || comps=("${ALL_COMPONENTS[@]}")
  command -v go >/dev/null || die "go is not on PATH"
  mkdir -p "$ROOT"
  local total failed=()
  total="$(date +%s.%N)"
  for c in "${comps[@]}"; do
    build_component "$c" || failed+=("$c")
  done
  if [[ ${#failed[@]} -gt 0 ]]; then
    log "done in $(elapsed "$total")s; FAILED: ${failed[*]}"
    return 1
  fi
  log "done in $(elapsed "$total")s; all of: ${comps[*]} ready under $ROOT"
}

main "$@"
