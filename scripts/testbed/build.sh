#!/usr/bin/env bash
# Build every test-bed binary (Kubernetes control plane, etcd, kwok, kube-state-metrics,
# OpenTelemetry Collector, Prometheus, the cyclonus NetworkPolicy engine, the VictoriaLogs log
# store), cached by version outside the repo. Idempotent: a warm run takes well under a second.
# `--print-env` prints the FEDOBS_* exports of all of them.
#
# FEDOBS_TESTBED_JOBS=2 builds in two lanes at once (Kubernetes and etcd/kwok/kube-state-metrics
# in one; collector, Prometheus, cyclonus and VictoriaLogs in the other): `go build` already
# compiles on every core, so the lanes only overlap module downloads and links. Default 1
# (sequential), the configuration whose cold time the README quotes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ "${1:-}" = "--print-env" ]; then
  bash "$here/build-k8s.sh" --print-env
  bash "$here/build-otel.sh" --print-env
  bash "$here/build-cyclonus.sh" --print-env
  bash "$here/build-logs.sh" --print-env
  exit 0
fi
start=$(date +%s)
status=0
lane_k8s() { bash "$here/build-k8s.sh" "$@"; }
lane_rest() {
  local rc=0
  bash "$here/build-otel.sh" || rc=$?
  bash "$here/build-cyclonus.sh" || rc=$?
  bash "$here/build-logs.sh" || rc=$?
  return "$rc"
}
if [ "${FEDOBS_TESTBED_JOBS:-1}" -ge 2 ]; then
  lane_k8s "$@" &
  k8s=$!
  lane_rest &
  rest=$!
  wait "$k8s" || status=$?
  wait "$rest" || status=$?
else
  lane_k8s "$@" || status=$?
  lane_rest || status=$?
fi
echo "[testbed] all components: $(( $(date +%s) - start ))s (exit $status, ${FEDOBS_TESTBED_JOBS:-1} lane(s))" >&2
exit "$status"
