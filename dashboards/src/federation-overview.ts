/**
 * Federation Overview (home dashboard): is every cluster reporting, how fresh is its data, which
 * scrape targets are down, what the hub gateway moves and refuses, what each cluster's agents and
 * scrapers queue and send, and inference and GPUs side by side per cluster.
 */
import {
  ANY_IS_BAD,
  CLUSTER,
  barsPanel,
  finish,
  logMetricPanel,
  logStream,
  m,
  mustBeAtLeast,
  newDashboard,
  quantile,
  rate,
  row,
  statPanel,
  tablePanel,
  thresholds,
  timeseriesPanel,
  units,
  upDownMapping,
  warnAt,
} from './common.js'
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'

/** Seconds since the newest sample of each cluster: scrape targets (up) and the agents' kubelet stats. */
const DATA_AGE = `time() - max by (cluster_id) (timestamp(${m('up')}) or timestamp(${m('k8s_node_memory_working_set_bytes')}))`
const GATEWAY = 'job="otel-gateway"'
/** Every agent's and scraper's own metrics (templates/collector/agent.yaml, scraper.yaml). */
const COLLECTORS = 'job="otel-collector"'
const SIGNALS = [
  ['metric_points', 'metric points'],
  ['log_records', 'log records'],
  ['spans', 'spans'],
] as const

export function federationOverview(): dashboard.Dashboard {
  const builder = newDashboard({
    uid: 'federation-overview',
    title: 'Federation Overview',
    description: 'Every cluster of the federation at a glance: who reports, how fresh, what is down, what the hub gateway moves, inference and GPUs per cluster.',
    tags: ['federation'],
  })

  builder
    .withRow(row('Federation'))
    .withPanel(
      statPanel({
        title: 'Clusters reporting',
        description: 'Clusters (cluster_id) with at least one scrape target in the last 5 minutes.',
        unit: units.Short,
        queries: [{expr: `count(count by (cluster_id) (${m('up')}))`}],
        thresholds: mustBeAtLeast(1),
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Oldest data',
        description: 'The largest data age over the selected clusters: seconds since the newest sample of the cluster that is furthest behind.',
        unit: units.Seconds,
        queries: [{expr: `max(${DATA_AGE})`}],
        thresholds: warnAt(120, 300),
        decimals: 0,
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Targets up',
        description: 'Scrape targets (up == 1) over the selected clusters.',
        unit: units.Short,
        queries: [{expr: `sum(${m('up')})`}],
        thresholds: mustBeAtLeast(1),
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Targets down',
        description: 'Scrape targets whose last scrape failed (up == 0).',
        unit: units.Short,
        queries: [{expr: `sum(1 - ${m('up')})`}],
        thresholds: ANY_IS_BAD(),
        background: true,
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'GPUs',
        description: 'GPUs reported by dcgm-exporter over the selected clusters.',
        unit: units.Short,
        queries: [{expr: `count(${m('DCGM_FI_DEV_GPU_UTIL')}) or vector(0)`}],
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Gateway replicas up',
        description: 'Hub gateway replicas whose self-metrics are scraped (the gateway runs on the hub: select the hub cluster to see it).',
        unit: units.Short,
        queries: [{expr: `sum(${m('up', GATEWAY)})`}],
        thresholds: mustBeAtLeast(1),
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      barsPanel({
        title: 'Data age per cluster',
        description: 'Seconds since the newest sample each cluster sent (scrape targets and kubelet stats). A cluster that stops sending climbs here, then disappears after 5 minutes.',
        unit: units.Seconds,
        queries: [{expr: DATA_AGE, legend: '{{cluster_id}}'}],
        thresholds: warnAt(120, 300),
        min: 0,
        decimals: 0,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Targets up/down per cluster and role',
        description: 'Scrape targets up and down, per cluster and role (hub/edge).',
        unit: units.Short,
        queries: [
          {expr: `sum by (cluster_id, cluster_role) (${m('up')})`, legend: '{{cluster_id}} ({{cluster_role}}) up'},
          {expr: `sum by (cluster_id, cluster_role) (1 - ${m('up')})`, legend: '{{cluster_id}} ({{cluster_role}}) down'},
        ],
        min: 0,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Data age',
        description: 'Data age per cluster over time: steady and small while the cluster ships, a ramp while it does not.',
        unit: units.Seconds,
        queries: [{expr: DATA_AGE, legend: '{{cluster_id}}'}],
        thresholds: warnAt(120, 300),
        showThresholds: true,
        min: 0,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      tablePanel({
        title: 'Scrape targets',
        description: 'Every scrape target of the selected clusters and its state.',
        unit: units.Short,
        queries: [{expr: `max by (cluster_id, cluster_role, job, instance) (${m('up')})`}],
        mappings: [upDownMapping()],
        rename: {cluster_id: 'cluster', cluster_role: 'role', Value: 'state'},
        w: 24,
        h: 8,
      }),
    )

  builder
    .withRow(row('Hub gateway'))
    .withPanel(
      timeseriesPanel({
        title: 'Gateway throughput (accepted)',
        description: 'Items per second the hub gateway accepted from every cluster, per signal.',
        unit: units.CountsPerSecond,
        queries: SIGNALS.map(([signal, label]) => ({expr: `sum(${rate(`otelcol_receiver_accepted_${signal}_total`, GATEWAY)})`, legend: label})),
        min: 0,
        calcs: ['mean', 'max'],
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Gateway queue fill',
        description: 'Fill of each gateway exporter sending queue (persistent, on the replica PVC). Climbing: a backend is slow or down.',
        unit: units.PercentUnit,
        queries: [
          {
            expr: `max by (pod, exporter) (${m('otelcol_exporter_queue_size', GATEWAY)} / ${m('otelcol_exporter_queue_capacity', GATEWAY)})`,
            legend: '{{pod}} {{exporter}}',
          },
        ],
        thresholds: warnAt(0.5, 0.8),
        showThresholds: true,
        min: 0,
        max: 1,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Gateway send failures',
        description: 'Items per second a gateway exporter failed to send, per exporter (0 for an exporter that sends without failing: the collector creates the failure counter at the first failure).',
        unit: units.CountsPerSecond,
        queries: SIGNALS.map(([signal, label]) => ({
          expr: `sum by (exporter) (${rate(`otelcol_exporter_send_failed_${signal}_total`, GATEWAY)}) or 0 * sum by (exporter) (${rate(`otelcol_exporter_sent_${signal}_total`, GATEWAY)})`,
          legend: `{{exporter}} ${label}`,
        })),
        thresholds: thresholdsAnyFailure(),
        showThresholds: true,
        min: 0,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Gateway refusals',
        description: 'Items per second the gateway receivers refused (memory limiter, back-pressure): the edges keep them queued and retry.',
        unit: units.CountsPerSecond,
        queries: SIGNALS.map(([signal, label]) => ({expr: `sum by (pod) (${rate(`otelcol_receiver_refused_${signal}_total`, GATEWAY)})`, legend: `{{pod}} ${label}`})),
        thresholds: thresholdsAnyFailure(),
        min: 0,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Gateway sent per exporter',
        description: 'Items per second each gateway exporter delivered to Prometheus, Loki and Tempo.',
        unit: units.CountsPerSecond,
        queries: SIGNALS.map(([signal, label]) => ({expr: `sum by (exporter) (${rate(`otelcol_exporter_sent_${signal}_total`, GATEWAY)})`, legend: `{{exporter}} ${label}`})),
        min: 0,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      // One instant query: counting every series of the hub is the most expensive query here (a
      // range query would count them again at every step: 0.9 s for 100 clusters vs ~10 ms).
      barsPanel({
        title: 'Series per cluster',
        description: 'Active series in the hub Prometheus per cluster, now: what each cluster costs in the hub.',
        unit: units.Short,
        queries: [{expr: `count by (cluster_id) ({__name__=~".+", ${CLUSTER}})`, legend: '{{cluster_id}}'}],
        min: 0,
        w: 8,
        h: 8,
      }),
    )

  builder
    .withRow(row('Agents and scrapers'))
    .withPanel(
      timeseriesPanel({
        title: 'Collector queue fill per cluster',
        description:
          'The fullest sending queue (on disk) of the agents and scrapers of each cluster, edges included: what waits to reach the hub gateway. Climbing: the hub is out of reach or slow; full: new data is refused.',
        unit: units.PercentUnit,
        queries: [
          {
            expr: `max by (cluster_id) (${m('otelcol_exporter_queue_size', COLLECTORS)} / ${m('otelcol_exporter_queue_capacity', COLLECTORS)})`,
            legend: '{{cluster_id}}',
          },
        ],
        thresholds: warnAt(0.5, 0.8),
        showThresholds: true,
        min: 0,
        max: 1,
        w: 12,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Data points sent per cluster',
        description: 'Metric data points per second the agents and scrapers of each cluster delivered to the hub gateway (their own counters, job otel-collector).',
        unit: units.CountsPerSecond,
        queries: [{expr: `sum by (cluster_id) (${rate('otelcol_exporter_sent_metric_points_total', COLLECTORS)})`, legend: '{{cluster_id}}'}],
        min: 0,
        calcs: ['mean', 'max'],
        w: 12,
        h: 8,
      }),
    )

  builder
    .withRow(row('Inference by cluster'))
    .withPanel(
      timeseriesPanel({
        title: 'Inference requests/s',
        description: 'Requests per second served by bert-inference, per cluster.',
        unit: units.RequestsPerSecond,
        queries: [{expr: `sum by (cluster_id) (${rate('inference_requests_total')})`, legend: '{{cluster_id}}'}],
        min: 0,
        w: 6,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Inference p95 latency',
        description: '95th percentile request latency per cluster.',
        unit: units.Seconds,
        queries: [{expr: quantile(0.95, 'inference_request_duration_seconds', ['cluster_id']), legend: '{{cluster_id}}'}],
        thresholds: warnAt(0.5, 1),
        min: 0,
        w: 6,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Inference error ratio',
        description: 'Share of requests that ended in an error, per cluster.',
        unit: units.PercentUnit,
        queries: [
          {
            expr: `sum by (cluster_id) (${rate('inference_requests_total', 'status="error"')}) / sum by (cluster_id) (${rate('inference_requests_total')})`,
            legend: '{{cluster_id}}',
          },
        ],
        thresholds: warnAt(0.01, 0.05),
        showThresholds: true,
        min: 0,
        w: 6,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Tokens processed/s',
        description: 'Tokens per second through the model, per cluster.',
        unit: units.CountsPerSecond,
        queries: [{expr: `sum by (cluster_id) (${rate('inference_tokens_processed_total')})`, legend: '{{cluster_id}}'}],
        min: 0,
        w: 6,
        h: 8,
      }),
    )

  builder
    .withRow(row('GPUs by cluster'))
    .withPanel(
      timeseriesPanel({
        title: 'GPU utilisation',
        description: 'Mean GPU utilisation per cluster (DCGM_FI_DEV_GPU_UTIL).',
        unit: units.Percent,
        queries: [{expr: `avg by (cluster_id) (${m('DCGM_FI_DEV_GPU_UTIL')})`, legend: '{{cluster_id}}'}],
        thresholds: warnAt(80, 95),
        min: 0,
        max: 100,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'GPU memory used',
        description: 'Frame buffer in use per cluster (DCGM_FI_DEV_FB_USED, MiB).',
        unit: units.Mebibytes,
        queries: [{expr: `sum by (cluster_id) (${m('DCGM_FI_DEV_FB_USED')})`, legend: '{{cluster_id}}'}],
        min: 0,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'GPU power',
        description: 'Power drawn by the GPUs per cluster (DCGM_FI_DEV_POWER_USAGE).',
        unit: units.Watt,
        queries: [{expr: `sum by (cluster_id) (${m('DCGM_FI_DEV_POWER_USAGE')})`, legend: '{{cluster_id}}'}],
        min: 0,
        w: 8,
        h: 8,
      }),
    )

  builder.withRow(row('Logs')).withPanel(
    logMetricPanel({
      title: 'Log lines per cluster',
      description: 'Log lines Loki received per cluster in each interval (all services).',
      unit: units.Short,
      queries: [],
      exprs: [{expr: `sum by (cluster_id) (count_over_time(${logStream()}[$__interval]))`, legend: '{{cluster_id}}'}],
      bars: true,
      stack: true,
      w: 24,
      h: 8,
    }),
  )

  return finish(builder)
}

/** Any rate above zero is red: one failed item in a window is a failure. */
function thresholdsAnyFailure(): dashboard.ThresholdsConfigBuilder {
  return thresholds('green', [1e-9, 'red'])
}
