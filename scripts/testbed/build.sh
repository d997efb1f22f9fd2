#!/usr/bin/env bash
# Build every test-bed binary (Kubernetes control plane, etcd, kwok, kube-state-metrics,
# OpenTelemetry Collector, Prometheus, the cyclonus NetworkPolicy engine, the VictoriaLogs log
# store), cached by version
# outside the repo. Idempotent: a warm run takes well under a second. `--print-env` prints the
# FEDOBS_* exports of all of them.
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
bash "$here/build-k8s.sh" "$@" || status=$?
bash "$here/build-otel.sh" || status=$?
bash "$here/build-cyclonus.sh" || status=$?
bash "$here/build-logs.sh" || status=$?
echo "[testbed] all components: $(( $(date +%s) - start ))s (exit $status)" >&2
exit "$status"
