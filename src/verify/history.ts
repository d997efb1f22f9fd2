/**
 * The last hour at the hub, per cluster, for the HTML report: one range query per chart kind,
 * grouped by cluster_id, so 1 or 100 clusters cost the same four queries.
 */
import {promQueryRange, type Backend, type PrometheusSeries} from './backends.js'

/**
 * The newest sample per cluster: exact when it is within Prometheus's 5-minute lookback, else found
 * by a 1-hour subquery at 1-minute steps (so a cluster silent for 20 minutes shows 20m, not "none").
 * `fedobs status` asks this once; the report asks `time() - (this)` over the last hour.
 */
export const NEWEST_DATA_QUERY = 'max by (cluster_id) (timestamp(up{cluster_id!=""})) or max by (cluster_id) (max_over_time(timestamp(up{cluster_id!=""})[1h:1m]))'

/** The charts' window and resolution (seconds): 121 points an hour. */
export const HISTORY_WINDOW_S = 3600
export const HISTORY_STEP_S = 30

export const CHART_KINDS = ['age', 'samples', 'queue', 'up'] as const
export type ChartKind = (typeof CHART_KINDS)[number]

export interface ChartInfo {
  id: ChartKind
  title: string
  /** The y axis unit, for labels. */
  unit: string
  /** What the chart shows and how it is computed, in one sentence (shown under the charts). */
  about: string
  query: string
}

export interface ChartSeries {
  label: string
  /** One value per step from `start`; null where Prometheus had none. */
  values: Array<number | null>
}

export interface ClusterHistory {
  name: string
  role: 'hub' | 'edge'
  charts: Record<ChartKind, ChartSeries[]>
}

export interface History {
  /** Unix seconds of the first point. */
  start: number
  step: number
  points: number
  kinds: ChartInfo[]
  clusters: ClusterHistory[]
  /** Range queries sent (always CHART_KINDS.length). */
  queries: number
  /** Per chart kind, the query's error when it failed (its charts are then empty). */
  errors: Partial<Record<ChartKind, string>>
}

/** The agents' and scrapers' exporter to the hub gateway (src/render/render.ts). */
const GATEWAY_EXPORTER = 'otlp_grpc/gateway'

/**
 * The chart kinds and their queries, one range query each whatever the number of clusters. Every
 * agent and scraper ships its own self-metrics (job="otel-collector", templates/collector/agent.yaml
 * and scraper.yaml), the hub gateway its own (job="otel-gateway"), all stamped with cluster_id: so
 * samples/s is the data points a cluster's collectors sent toward the hub (their exporter to the
 * gateway), and queue fill covers every cluster's collectors, edges included.
 */
export function chartKinds(scrapeIntervalS: number): ChartInfo[] {
  const interval = Math.max(1, scrapeIntervalS)
  // A rate needs two samples in its window: four scrape intervals, and at least two chart steps.
  const window = Math.max(4 * interval, 2 * HISTORY_STEP_S)
  return [
    {
      id: 'age',
      title: 'Data age',
      unit: 's',
      about: "Seconds since the cluster's newest up sample at the hub (the same measure as `fedobs status`).",
      query: `time() - (${NEWEST_DATA_QUERY})`,
    },
    {
      id: 'samples',
      title: 'Samples/s sent to the hub',
      unit: '',
      about: `Metric data points per second the cluster's agents and scrapers sent to the hub gateway (rate of otelcol_exporter_sent_metric_points over ${window}s).`,
      query: `sum by (cluster_id) (rate(otelcol_exporter_sent_metric_points_total{job="otel-collector", exporter="${GATEWAY_EXPORTER}", cluster_id!=""}[${window}s]))`,
    },
    {
      id: 'queue',
      title: 'Exporter queue fill',
      unit: '%',
      about: "The fullest sending queue of the cluster's collectors: every agent and scraper (job otel-collector) and, on the hub, the gateway (job otel-gateway).",
      query: '100 * max by (cluster_id) (otelcol_exporter_queue_size{cluster_id!=""} / otelcol_exporter_queue_capacity{cluster_id!=""})',
    },
    {
      id: 'up',
      title: 'Scrape targets up',
      unit: '',
      about: 'Targets up (sum of up) and all targets (count of up) per cluster.',
      query: 'label_replace(sum by (cluster_id) (up{cluster_id!=""}), "series", "up", "", "") or label_replace(count by (cluster_id) (up{cluster_id!=""}), "series", "targets", "", "")',
    },
  ]
}

const SERIES_LABELS: Record<ChartKind, (metric: Record<string, string>) => string> = {
  age: () => 'age',
  samples: () => 'samples/s',
  queue: () => 'fill',
  up: (metric) => metric.series ?? 'up',
}

/** Keep the page small: a few significant digits are all a 300-pixel chart can show. */
function compact(value: number): number {
  if (!Number.isFinite(value)) return value
  const magnitude = Math.abs(value)
  const digits = magnitude >= 100 ? 0 : magnitude >= 1 ? 2 : 4
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

/** Prometheus's matrix as aligned arrays per cluster (the JSON the page draws). */
export function alignSeries(series: PrometheusSeries[], kind: ChartKind, range: {start: number; step: number; points: number}): Map<string, ChartSeries[]> {
  const byCluster = new Map<string, ChartSeries[]>()
  for (const s of series) {
    const cluster = s.metric.cluster_id
    if (!cluster) continue
    const values: Array<number | null> = Array.from({length: range.points}, () => null)
    for (const [t, v] of s.values) {
      const index = Math.round((t - range.start) / range.step)
      const number = Number(v)
      if (index >= 0 && index < range.points && Number.isFinite(number)) values[index] = compact(number)
    }
    const list = byCluster.get(cluster) ?? []
    list.push({label: SERIES_LABELS[kind](s.metric), values})
    byCluster.set(cluster, list)
  }
  for (const list of byCluster.values()) list.sort((a, b) => a.label.localeCompare(b.label))
  return byCluster
}

export interface HistoryOptions {
  /** Unix seconds the window ends at (now). */
  end: number
  scrapeIntervalS: number
  signal?: AbortSignal
}

/**
 * The last hour of every chart kind for these clusters: CHART_KINDS.length range queries whatever
 * their number. A failed query leaves its charts empty and says why; it does not fail the report.
 */
export async function clusterHistory(prometheus: Backend, clusters: Array<{name: string; role: 'hub' | 'edge'}>, options: HistoryOptions): Promise<History> {
  const step = HISTORY_STEP_S
  // Ending now (not at a rounded step): data that arrived seconds ago is on the charts.
  const end = Math.floor(options.end)
  const start = end - HISTORY_WINDOW_S
  const points = HISTORY_WINDOW_S / step + 1
  const kinds = chartKinds(options.scrapeIntervalS)
  const errors: History['errors'] = {}
  const answers = await Promise.all(
    kinds.map(async (kind) => {
      try {
        return alignSeries(await promQueryRange(prometheus, kind.query, {start, end, step}, options.signal), kind.id, {start, step, points})
      } catch (error) {
        if (options.signal?.aborted) throw error
        errors[kind.id] = error instanceof Error ? error.message : String(error)
        return new Map<string, ChartSeries[]>()
      }
    }),
  )
  return {
    start,
    step,
    points,
    kinds,
    clusters: clusters.map((cluster) => ({
      name: cluster.name,
      role: cluster.role,
      charts: Object.fromEntries(kinds.map((kind, i) => [kind.id, answers[i]!.get(cluster.name) ?? []])) as Record<ChartKind, ChartSeries[]>,
    })),
    queries: kinds.length,
    errors,
  }
}
