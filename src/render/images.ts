/**
 * Every container image fedobs deploys, pinned in this one place.
 * The collector and Prometheus versions are the ones the test bed builds from Go modules
 * (scripts/testbed), so the configs we render are validated by the same release that runs them.
 */
export const VERSIONS = {
  otelCollector: '0.159.0',
  prometheus: '3.16.0',
  kubeStateMetrics: '2.15.0',
  loki: '3.5.5',
  tempo: '2.8.2',
  grafana: '12.1.1',
  dcgmExporter: '4.2.3-4.1.3-ubuntu22.04',
  nvidiaDevicePlugin: '0.17.4',
} as const

export const IMAGES = {
  otelCollector: `otel/opentelemetry-collector-contrib:${VERSIONS.otelCollector}`,
  prometheus: `quay.io/prometheus/prometheus:v${VERSIONS.prometheus}`,
  kubeStateMetrics: `registry.k8s.io/kube-state-metrics/kube-state-metrics:v${VERSIONS.kubeStateMetrics}`,
  loki: `grafana/loki:${VERSIONS.loki}`,
  tempo: `grafana/tempo:${VERSIONS.tempo}`,
  grafana: `grafana/grafana:${VERSIONS.grafana}`,
  dcgmExporter: `nvcr.io/nvidia/k8s/dcgm-exporter:${VERSIONS.dcgmExporter}`,
  nvidiaDevicePlugin: `nvcr.io/nvidia/k8s-device-plugin:v${VERSIONS.nvidiaDevicePlugin}`,
} as const
