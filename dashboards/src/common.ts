/**
 * What the four seed dashboards share, built with Grafana's foundation SDK: the datasource refs
 * (the UIDs fedobs provisions in templates/config/grafana-datasources.yaml, never a per-install
 * id), the multi-select `cluster` variable, the cluster filter every query carries, and one small
 * constructor per panel type that always sets a unit, a legend and the datasource on panel and target.
 * `npm run dashboards` writes dashboards/<name>.json from these sources.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog'
import * as common from '@grafana/grafana-foundation-sdk/common'
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge'
import * as gauge from '@grafana/grafana-foundation-sdk/gauge'
import * as logs from '@grafana/grafana-foundation-sdk/logs'
import * as loki from '@grafana/grafana-foundation-sdk/loki'
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus'
import * as stat from '@grafana/grafana-foundation-sdk/stat'
import * as table from '@grafana/grafana-foundation-sdk/table'
import * as tempo from '@grafana/grafana-foundation-sdk/tempo'
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries'

export * as units from '@grafana/grafana-foundation-sdk/units'

/** The provisioned datasources (fixed UIDs: dashboards can never point at one that does not exist). */
export const PROMETHEUS: common.DataSourceRef = {type: 'prometheus', uid: 'prometheus'}
export const LOKI: common.DataSourceRef = {type: 'loki', uid: 'loki'}
export const TEMPO: common.DataSourceRef = {type: 'tempo', uid: 'tempo'}

/** The matcher every PromQL selector carries: the clusters picked in the `cluster` variable (All: `.*`). */
export const CLUSTER = 'cluster_id=~"$cluster"'

/**
 * A metric selector filtered on the selected clusters, plus any other matchers:
 * `m('up', 'job="x"')` is `up{cluster_id=~"$cluster", job="x"}`.
 */
export function m(metric: string, ...matchers: string[]): string {
  return `${metric}{${[CLUSTER, ...matchers].join(', ')}}`
}

/** `rate(<counter selector>[$__rate_interval])`: counters only ever appear under a rate. */
export function rate(metric: string, ...matchers: string[]): string {
  return `rate(${m(metric, ...matchers)}[$__rate_interval])`
}

export function increase(metric: string, ...matchers: string[]): string {
  return `increase(${m(metric, ...matchers)}[$__rate_interval])`
}

/** `histogram_quantile(q, sum by (le, <by>) (rate(<name>_bucket{…}[$__rate_interval])))`. */
export function quantile(q: number, histogram: string, by: string[], ...matchers: string[]): string {
  return `histogram_quantile(${q}, sum by (${['le', ...by].join(', ')}) (${rate(`${histogram}_bucket`, ...matchers)}))`
}

/**
 * The LogQL stream selector of the selected clusters. `cluster_id!=""` keeps it valid when All
 * (`.*`) is picked: Loki refuses a selector whose every matcher also matches the empty string.
 */
export function logStream(...matchers: string[]): string {
  return `{${[CLUSTER, 'cluster_id!=""', ...matchers].join(', ')}}`
}

/** The TraceQL condition on the selected clusters (resource attribute cluster.id). */
export const TRACE_CLUSTER = 'resource.cluster.id=~"$cluster"'

// ---------------------------------------------------------------- queries

export interface PromQuery {
  expr: string
  legend?: string
  /** An instant query (stat, gauge, bar gauge and table panels that show the latest value). */
  instant?: boolean
  /** Table format (one row per series, labels as columns). */
  table?: boolean
}

function promTarget(q: PromQuery, refId: string): prometheus.DataqueryBuilder {
  const target = new prometheus.DataqueryBuilder().datasource(PROMETHEUS).refId(refId).expr(q.expr)
  if (q.legend !== undefined) target.legendFormat(q.legend)
  if (q.instant) target.instant()
  else target.range()
  if (q.table) target.format(prometheus.PromQueryFormat.Table)
  return target
}

const refIds = (n: number): string[] => Array.from({length: n}, (_, i) => String.fromCharCode(65 + i))

// ---------------------------------------------------------------- thresholds and mappings

/** Absolute thresholds: a base colour, then [value, colour] steps upwards. */
export function thresholds(base: string, ...steps: Array<[number, string]>): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([{value: null, color: base}, ...steps.map(([value, color]) => ({value, color}))])
}

/** Green below `warn`, orange from `warn`, red from `critical`. */
export function warnAt(warn: number, critical: number): dashboard.ThresholdsConfigBuilder {
  return thresholds('green', [warn, 'orange'], [critical, 'red'])
}

/** Red below `ok`, green from it (something that must be present: targets up, clusters reporting). */
export function mustBeAtLeast(ok: number): dashboard.ThresholdsConfigBuilder {
  return thresholds('red', [ok, 'green'])
}

/** Green at zero, red from the first one (errors, restarts, refusals). */
export const ANY_IS_BAD = (): dashboard.ThresholdsConfigBuilder => thresholds('green', [1, 'red'])

/** Value mapping of a 0/1 health value to words. */
export function upDownMapping(): dashboard.ValueMapping {
  return {
    type: dashboard.MappingType.ValueToText,
    options: {'0': {text: 'down', color: 'red', index: 0}, '1': {text: 'up', color: 'green', index: 1}},
  }
}

// ---------------------------------------------------------------- panels

export interface PanelSpec {
  title: string
  description: string
  unit: string
  queries: PromQuery[]
  /** Width in grid columns (of 24) and height in grid rows. */
  w: number
  h: number
  thresholds?: dashboard.ThresholdsConfigBuilder
  min?: number
  max?: number
  decimals?: number
  mappings?: dashboard.ValueMapping[]
}

function legend(calcs: string[] = []): common.VizLegendOptionsBuilder {
  const builder = new common.VizLegendOptionsBuilder().showLegend(true).placement(common.LegendPlacement.Bottom)
  return calcs.length > 0 ? builder.displayMode(common.LegendDisplayMode.Table).calcs(calcs) : builder.displayMode(common.LegendDisplayMode.List)
}

const lastValue = (): common.ReduceDataOptionsBuilder => new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false).fields('')

interface FieldPanel<T> {
  title(title: string): T
  description(description: string): T
  datasource(datasource: common.DataSourceRef): T
  unit(unit: string): T
  height(h: number): T
  span(w: number): T
  thresholds(thresholds: cog.Builder<dashboard.ThresholdsConfig>): T
  min(min: number): T
  max(max: number): T
  decimals(decimals: number): T
  mappings(mappings: dashboard.ValueMapping[]): T
  withTarget(target: cog.Builder<cog.Dataquery>): T
}

function fill<T extends FieldPanel<T>>(panel: T, spec: PanelSpec): T {
  panel.title(spec.title).description(spec.description).datasource(PROMETHEUS).unit(spec.unit).height(spec.h).span(spec.w)
  // Without thresholds of its own a panel would get Grafana's default (red from 80): a neutral
  // colour instead, so that 120 W or 300 requests/s never look like an alarm.
  panel.thresholds(spec.thresholds ?? thresholds('text'))
  if (spec.min !== undefined) panel.min(spec.min)
  if (spec.max !== undefined) panel.max(spec.max)
  if (spec.decimals !== undefined) panel.decimals(spec.decimals)
  if (spec.mappings) panel.mappings(spec.mappings)
  const ids = refIds(spec.queries.length)
  spec.queries.forEach((q, i) => panel.withTarget(promTarget(q, ids[i]!)))
  return panel
}

export interface TimeseriesSpec extends PanelSpec {
  /** Legend as a table with these calculations (e.g. mean, max); a plain list without. */
  calcs?: string[]
  stack?: boolean
  bars?: boolean
  /** Draw the thresholds as dashed lines. */
  showThresholds?: boolean
  /** Label of the value axis, where the unit alone does not say it (cores). */
  axisLabel?: string
}

export function timeseriesPanel(spec: TimeseriesSpec): timeseries.PanelBuilder {
  const panel = fill(new timeseries.PanelBuilder(), spec)
    .legend(legend(spec.calcs))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending))
    .lineWidth(1)
    .fillOpacity(spec.stack || spec.bars ? 60 : 10)
    .spanNulls(false)
  if (spec.stack) panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
  if (spec.bars) panel.drawStyle(common.GraphDrawStyle.Bars)
  if (spec.axisLabel) panel.axisLabel(spec.axisLabel)
  if (spec.showThresholds) panel.thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
  return panel
}

export interface StatSpec extends PanelSpec {
  /** Draw the value's history under it (a range query). */
  sparkline?: boolean
  background?: boolean
}

export function statPanel(spec: StatSpec): stat.PanelBuilder {
  const queries = spec.queries.map((q) => ({...q, instant: q.instant ?? !spec.sparkline}))
  return fill(new stat.PanelBuilder(), {...spec, queries})
    .reduceOptions(lastValue())
    .colorMode(spec.background ? common.BigValueColorMode.Background : common.BigValueColorMode.Value)
    .graphMode(spec.sparkline ? common.BigValueGraphMode.Area : common.BigValueGraphMode.None)
    .textMode(common.BigValueTextMode.Auto)
}

export function gaugePanel(spec: PanelSpec): gauge.PanelBuilder {
  const queries = spec.queries.map((q) => ({...q, instant: q.instant ?? true}))
  return fill(new gauge.PanelBuilder(), {...spec, queries})
    .reduceOptions(lastValue())
    .showThresholdMarkers(true)
}

/** Horizontal bars, one per series (per cluster, per node): the latest value. */
export function barsPanel(spec: PanelSpec): bargauge.PanelBuilder {
  const queries = spec.queries.map((q) => ({...q, instant: q.instant ?? true}))
  return fill(new bargauge.PanelBuilder(), {...spec, queries})
    .reduceOptions(lastValue())
    .orientation(common.VizOrientation.Horizontal)
    .displayMode(common.BarGaugeDisplayMode.Gradient)
    .showUnfilled(true)
}

export interface TableSpec extends PanelSpec {
  /** Columns to hide (labels nobody needs here), and new names for the rest. */
  hide?: string[]
  rename?: Record<string, string>
  /** Merge the queries' tables on their common labels (one row per object, one column per query). */
  merge?: boolean
  sortBy?: string
}

export function tablePanel(spec: TableSpec): table.PanelBuilder {
  const queries = spec.queries.map((q) => ({...q, instant: q.instant ?? true, table: true}))
  const panel = fill(new table.PanelBuilder(), {...spec, queries})
    .cellHeight(common.TableCellHeight.Sm)
    .filterable(true)
  if (spec.merge) panel.withTransformation({id: 'merge', options: {}})
  panel.withTransformation({
    id: 'organize',
    options: {excludeByName: Object.fromEntries(['Time', '__name__', ...(spec.hide ?? [])].map((c) => [c, true])), renameByName: spec.rename ?? {}},
  })
  if (spec.sortBy) panel.sortBy([new common.TableSortByFieldStateBuilder().displayName(spec.sortBy).desc(true)])
  return panel
}

/** A logs panel on Loki: newest first, with labels and details. */
export function logsPanel(spec: {title: string; description: string; expr: string; w: number; h: number; maxLines?: number}): logs.PanelBuilder {
  return new logs.PanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(LOKI)
    .height(spec.h)
    .span(spec.w)
    .withTarget(
      new loki.DataqueryBuilder()
        .datasource(LOKI)
        .refId('A')
        .expr(spec.expr)
        .queryType('range')
        .maxLines(spec.maxLines ?? 200),
    )
    .showTime(true)
    .wrapLogMessage(true)
    .enableLogDetails(true)
    .sortOrder(common.LogsSortOrder.Descending)
    .dedupStrategy(common.LogsDedupStrategy.None)
}

/** A time series of a LogQL metric query on Loki. */
export function logMetricPanel(spec: TimeseriesSpec & {exprs: Array<{expr: string; legend: string}>}): timeseries.PanelBuilder {
  const ids = refIds(spec.exprs.length)
  const panel = timeseriesPanel({...spec, queries: []}).datasource(LOKI)
  spec.exprs.forEach((q, i) => panel.withTarget(new loki.DataqueryBuilder().datasource(LOKI).refId(ids[i]!).expr(q.expr).legendFormat(q.legend).queryType('range')))
  return panel
}

/**
 * The latest traces matching a TraceQL query on Tempo, as the table Grafana shows for a trace
 * search (each trace ID opens the trace). The SDK has no builder for the single-trace `traces`
 * panel, which is the wrong view for a list anyway. Durations are in milliseconds.
 */
export function tracesPanel(spec: {title: string; description: string; query: string; w: number; h: number; limit?: number}): table.PanelBuilder {
  return new table.PanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(TEMPO)
    .unit('ms')
    .height(spec.h)
    .span(spec.w)
    .withTarget(
      new tempo.DataqueryBuilder()
        .datasource(TEMPO)
        .refId('A')
        .queryType(tempo.TempoQueryType.Traceql)
        .query(spec.query)
        .limit(spec.limit ?? 20)
        .spss(3)
        .tableType(tempo.SearchTableType.Traces),
    )
    .cellHeight(common.TableCellHeight.Sm)
}

export function row(title: string): dashboard.RowBuilder {
  return new dashboard.RowBuilder(title).collapsed(false)
}

// ---------------------------------------------------------------- the dashboard

/** The `cluster` variable: every cluster_id that has a scrape target, several at once or All. */
export function clusterVariable(): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder('cluster')
    .label('Cluster')
    .description('The clusters to show (cluster_id). All matches every cluster, also ones that joined after the page loaded.')
    .datasource(PROMETHEUS)
    .query({query: 'label_values(up, cluster_id)', refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1})
    .definition('label_values(up, cluster_id)')
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({selected: true, text: ['All'], value: ['$__all']})
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
}

export interface DashboardSpec {
  uid: string
  title: string
  description: string
  tags: string[]
}

/** A read-only dashboard (provisioned from the ConfigMap) with the cluster variable, last hour, 30s refresh. */
export function newDashboard(spec: DashboardSpec): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags(['fedobs', ...spec.tags])
    .readonly()
    .timezone('browser')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({from: 'now-1h', to: 'now'})
    .refresh('30s')
    .withVariable(clusterVariable())
    .link(new dashboard.DashboardLinkBuilder('Federated Observability').type(dashboard.DashboardLinkType.Dashboards).tags(['fedobs']).asDropdown(true).includeVars(true).keepTime(true))
}

/** The dashboard as provisioned: panels numbered 1… in layout order (rows included). */
export function finish(builder: dashboard.DashboardBuilder): dashboard.Dashboard {
  const built = builder.build()
  let id = 0
  for (const panel of built.panels ?? []) {
    panel.id = ++id
    if (panel.type === 'row') for (const inner of (panel as dashboard.RowPanel).panels) inner.id = ++id
  }
  return built
}
