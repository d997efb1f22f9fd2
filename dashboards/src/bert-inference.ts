/**
 * BERT Inference: the inference service of every selected cluster — latency percentiles,
 * throughput, errors, batching, tokens, the GPUs it runs on, its pods' resources, its logs and
 * its traces.
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'
import {
  ANY_IS_BAD,
  TRACE_CLUSTER,
  finish,
  gaugePanel,
  increase,
  logMetricPanel,
  logStream,
  logsPanel,
  m,
  mustBeAtLeast,
  newDashboard,
  quantile,
  rate,
  row,
  statPanel,
  tablePanel,
  timeseriesPanel,
  tracesPanel,
  units,
  warnAt,
} from './common.js'

const LATENCY = 'inference_request_duration_seconds'
const BATCH = 'inference_batch_size'
/** Pods of the service, as kubeletstats (k8s_*) and kube-state-metrics (namespace) label them. */
const POD_NS = 'k8s_namespace_name="bert-inference"'
const KSM_NS = 'namespace="bert-inference"'
const ERRORS = 'status="error"'

const errorRatio = (by: string): string => `sum by (${by}) (${rate('inference_requests_total', ERRORS)}) / sum by (${by}) (${rate('inference_requests_total')})`

export function bertInference(): dashboard.Dashboard {
  const builder = newDashboard({
    uid: 'bert-inference-main',
    title: 'BERT Inference',
    description: 'The bert-inference service across the selected clusters: latency, throughput, errors, batching, tokens, GPUs, pod resources, logs and traces.',
    tags: ['inference', 'bert'],
  })

  builder
    .withRow(row('Service'))
    .withPanel(
      statPanel({
        title: 'Requests/s',
        description: 'Requests per second over the selected clusters.',
        unit: units.RequestsPerSecond,
        queries: [{expr: `sum(${rate('inference_requests_total')})`}],
        sparkline: true,
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Error ratio',
        description: 'Share of requests that ended in an error.',
        unit: units.PercentUnit,
        queries: [{expr: `sum(${rate('inference_requests_total', ERRORS)}) / sum(${rate('inference_requests_total')})`}],
        thresholds: warnAt(0.01, 0.05),
        sparkline: true,
        decimals: 2,
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'p95 latency',
        description: '95th percentile request latency over the selected clusters.',
        unit: units.Seconds,
        queries: [{expr: quantile(0.95, LATENCY, [])}],
        thresholds: warnAt(0.5, 1),
        sparkline: true,
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Tokens/s',
        description: 'Tokens per second through the model.',
        unit: units.CountsPerSecond,
        queries: [{expr: `sum(${rate('inference_tokens_processed_total')})`}],
        sparkline: true,
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Queue depth',
        description: 'Requests waiting for a batch, summed over the replicas.',
        unit: units.Short,
        queries: [{expr: `sum(${m('inference_queue_depth')})`}],
        thresholds: warnAt(50, 200),
        sparkline: true,
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Replicas serving',
        description: 'Pods that report a loaded model (inference_model_info).',
        unit: units.Short,
        queries: [{expr: `count(${m('inference_model_info')})`}],
        thresholds: mustBeAtLeast(1),
        w: 4,
        h: 4,
      }),
    )

  builder
    .withRow(row('Latency and throughput'))
    .withPanel(
      timeseriesPanel({
        title: 'Latency p50 / p95 / p99',
        description: 'Request latency percentiles per cluster (from the inference_request_duration_seconds histogram).',
        unit: units.Seconds,
        queries: [0.5, 0.95, 0.99].map((q) => ({expr: quantile(q, LATENCY, ['cluster_id']), legend: `{{cluster_id}} p${Math.round(q * 100)}`})),
        thresholds: warnAt(0.5, 1),
        showThresholds: true,
        calcs: ['mean', 'max'],
        min: 0,
        w: 12,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Mean latency per pod',
        description: 'Mean request latency (sum / count) per cluster and pod.',
        unit: units.Seconds,
        queries: [
          {
            expr: `sum by (cluster_id, pod) (${rate(`${LATENCY}_sum`)}) / sum by (cluster_id, pod) (${rate(`${LATENCY}_count`)})`,
            legend: '{{cluster_id}} {{pod}}',
          },
        ],
        min: 0,
        w: 12,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Requests/s by status',
        description: 'Requests per second per cluster and outcome.',
        unit: units.RequestsPerSecond,
        queries: [{expr: `sum by (cluster_id, status) (${rate('inference_requests_total')})`, legend: '{{cluster_id}} {{status}}'}],
        stack: true,
        min: 0,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Error ratio',
        description: 'Share of requests that ended in an error, per cluster.',
        unit: units.PercentUnit,
        queries: [{expr: errorRatio('cluster_id'), legend: '{{cluster_id}}'}],
        thresholds: warnAt(0.01, 0.05),
        showThresholds: true,
        min: 0,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Queue depth',
        description: 'Requests waiting for a batch, per cluster and pod.',
        unit: units.Short,
        queries: [{expr: `sum by (cluster_id, pod) (${m('inference_queue_depth')})`, legend: '{{cluster_id}} {{pod}}'}],
        thresholds: warnAt(50, 200),
        min: 0,
        w: 8,
        h: 8,
      }),
    )

  builder
    .withRow(row('Batching and tokens'))
    .withPanel(
      timeseriesPanel({
        title: 'Batch size p50 / p95',
        description: 'Batch size percentiles per cluster (inference_batch_size histogram).',
        unit: units.Short,
        queries: [0.5, 0.95].map((q) => ({expr: quantile(q, BATCH, ['cluster_id']), legend: `{{cluster_id}} p${Math.round(q * 100)}`})),
        min: 0,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Mean batch size',
        description: 'Requests per batch on average (sum / count), per cluster.',
        unit: units.Short,
        queries: [{expr: `sum by (cluster_id) (${rate(`${BATCH}_sum`)}) / sum by (cluster_id) (${rate(`${BATCH}_count`)})`, legend: '{{cluster_id}}'}],
        min: 0,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Tokens/s and tokens per request',
        description: 'Tokens per second per cluster, and tokens per request (right axis).',
        unit: units.CountsPerSecond,
        queries: [
          {expr: `sum by (cluster_id) (${rate('inference_tokens_processed_total')})`, legend: '{{cluster_id}} tokens/s'},
          {
            expr: `sum by (cluster_id) (${rate('inference_tokens_processed_total')}) / sum by (cluster_id) (${rate('inference_requests_total')})`,
            legend: '{{cluster_id}} tokens/request',
          },
        ],
        min: 0,
        w: 8,
        h: 8,
      }).overrideByRegexp('.*tokens/request', [
        {id: 'unit', value: units.Short},
        {id: 'custom.axisPlacement', value: 'right'},
      ]),
    )

  builder
    .withRow(row('GPU'))
    .withPanel(
      gaugePanel({
        title: 'GPU utilisation',
        description: 'Mean GPU utilisation per cluster.',
        unit: units.Percent,
        queries: [{expr: `avg by (cluster_id) (${m('DCGM_FI_DEV_GPU_UTIL')})`, legend: '{{cluster_id}}'}],
        thresholds: warnAt(80, 95),
        min: 0,
        max: 100,
        w: 6,
        h: 6,
      }),
    )
    .withPanel(
      gaugePanel({
        title: 'GPU memory used',
        description: 'Frame buffer in use, as a share of the frame buffer, per cluster.',
        unit: units.Percent,
        queries: [
          {
            expr: `100 * sum by (cluster_id) (${m('DCGM_FI_DEV_FB_USED')}) / (sum by (cluster_id) (${m('DCGM_FI_DEV_FB_USED')}) + sum by (cluster_id) (${m('DCGM_FI_DEV_FB_FREE')}))`,
            legend: '{{cluster_id}}',
          },
        ],
        thresholds: warnAt(80, 95),
        min: 0,
        max: 100,
        w: 6,
        h: 6,
      }),
    )
    .withPanel(
      gaugePanel({
        title: 'GPU temperature',
        description: 'Hottest GPU per cluster.',
        unit: units.Celsius,
        queries: [{expr: `max by (cluster_id) (${m('DCGM_FI_DEV_GPU_TEMP')})`, legend: '{{cluster_id}}'}],
        thresholds: warnAt(75, 85),
        min: 0,
        max: 100,
        w: 6,
        h: 6,
      }),
    )
    .withPanel(
      gaugePanel({
        title: 'GPU power',
        description: 'Power drawn by the GPUs per cluster.',
        unit: units.Watt,
        queries: [{expr: `sum by (cluster_id) (${m('DCGM_FI_DEV_POWER_USAGE')})`, legend: '{{cluster_id}}'}],
        thresholds: warnAt(100, 130),
        min: 0,
        max: 150,
        w: 6,
        h: 6,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Model GPU memory allocated',
        description: 'GPU memory the model server has allocated, per cluster and pod.',
        unit: units.BytesIEC,
        queries: [{expr: `sum by (cluster_id, pod) (${m('inference_gpu_memory_allocated_bytes')})`, legend: '{{cluster_id}} {{pod}}'}],
        min: 0,
        w: 12,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'GPU utilisation per GPU',
        description: 'Utilisation of each GPU (per cluster, node and GPU index).',
        unit: units.Percent,
        queries: [{expr: `max by (cluster_id, Hostname, gpu) (${m('DCGM_FI_DEV_GPU_UTIL')})`, legend: '{{cluster_id}} {{Hostname}} GPU {{gpu}}'}],
        thresholds: warnAt(80, 95),
        min: 0,
        max: 100,
        w: 12,
        h: 8,
      }),
    )

  builder
    .withRow(row('Pods'))
    .withPanel(
      timeseriesPanel({
        title: 'Pod CPU',
        description: 'CPU used by each bert-inference pod (kubelet stats), in cores.',
        unit: units.Short,
        axisLabel: 'cores',
        queries: [{expr: `sum by (cluster_id, k8s_pod_name) (${m('k8s_pod_cpu_usage', POD_NS)})`, legend: '{{cluster_id}} {{k8s_pod_name}}'}],
        min: 0,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Pod memory (working set) and limit',
        description: 'Working set of each bert-inference pod, and its memory limit (kube-state-metrics).',
        unit: units.BytesIEC,
        queries: [
          {expr: `sum by (cluster_id, k8s_pod_name) (${m('k8s_pod_memory_working_set_bytes', POD_NS)})`, legend: '{{cluster_id}} {{k8s_pod_name}}'},
          {expr: `sum by (cluster_id, pod) (${m('kube_pod_container_resource_limits', KSM_NS, 'resource="memory"')})`, legend: '{{cluster_id}} {{pod}} limit'},
        ],
        min: 0,
        w: 8,
        h: 8,
      }).overrideByRegexp('.* limit', [{id: 'custom.lineStyle', value: {fill: 'dash', dash: [10, 10]}}]),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Pod network',
        description: 'Bytes per second received and sent by the bert-inference pods.',
        unit: units.BytesPerSecondIEC,
        queries: [{expr: `sum by (cluster_id, direction) (${rate('k8s_pod_network_io_bytes_total', POD_NS)})`, legend: '{{cluster_id}} {{direction}}'}],
        min: 0,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Container restarts',
        description: 'Restarts of bert-inference containers in each interval.',
        unit: units.Short,
        queries: [{expr: `sum by (cluster_id, pod) (${increase('kube_pod_container_status_restarts_total', KSM_NS)})`, legend: '{{cluster_id}} {{pod}}'}],
        thresholds: ANY_IS_BAD(),
        bars: true,
        min: 0,
        w: 12,
        h: 8,
      }),
    )
    .withPanel(
      tablePanel({
        title: 'Model replicas',
        description: 'Each replica, the model it loaded, its precision and device, and how long loading took.',
        unit: units.Seconds,
        queries: [
          {
            expr: `max by (cluster_id, pod, model) (${m('inference_model_load_seconds')}) * on (cluster_id, pod, model) group_left (precision, device) max by (cluster_id, pod, model, precision, device) (${m('inference_model_info')})`,
          },
        ],
        rename: {cluster_id: 'cluster', Value: 'model load time'},
        w: 12,
        h: 8,
      }),
    )

  builder
    .withRow(row('Logs and traces'))
    .withPanel(
      logMetricPanel({
        title: 'Log lines',
        description: 'bert-inference log lines per cluster in each interval.',
        unit: units.Short,
        queries: [],
        exprs: [{expr: `sum by (cluster_id) (count_over_time(${logStream('service_name="bert-inference"')}[$__interval]))`, legend: '{{cluster_id}}'}],
        bars: true,
        stack: true,
        w: 8,
        h: 10,
      }),
    )
    .withPanel(
      logsPanel({
        title: 'bert-inference logs',
        description: 'The newest log lines of the service in the selected clusters.',
        expr: logStream('service_name="bert-inference"'),
        w: 16,
        h: 10,
      }),
    )
    .withPanel(
      tracesPanel({
        title: 'Recent traces',
        description: 'The newest bert-inference traces in the selected clusters (Tempo). Click a trace ID to open it.',
        query: `{resource.service.name="bert-inference" && ${TRACE_CLUSTER}}`,
        w: 24,
        h: 10,
      }),
    )

  return finish(builder)
}
