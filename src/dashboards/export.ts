/**
 * A provisioned dashboard made importable into someone else's Grafana: every reference to the hub's
 * fixed datasource UIDs becomes an import input (`${DS_PROMETHEUS}`, `${DS_LOKI}`, `${DS_TEMPO}`),
 * declared in `__inputs` so that Grafana's import screen asks for a datasource of each kind, with the
 * `__requires` block Grafana's own "Export for sharing externally" writes, and `id: null`. Pure.
 */
import {allPanels, PROVISIONED_DATASOURCES, type Dashboard, type DashboardInput, type DatasourceType} from './grafana.js'

/** Names Grafana shows for the panel plugins fedobs dashboards use (others are listed by their id). */
const PANEL_NAMES: Record<string, string> = {
  timeseries: 'Time series',
  stat: 'Stat',
  gauge: 'Gauge',
  bargauge: 'Bar gauge',
  table: 'Table',
  text: 'Text',
  logs: 'Logs',
  traces: 'Traces',
  heatmap: 'Heatmap',
  histogram: 'Histogram',
  piechart: 'Pie chart',
  barchart: 'Bar chart',
  'state-timeline': 'State timeline',
  'status-history': 'Status history',
  nodeGraph: 'Node Graph',
  news: 'News',
  dashlist: 'Dashboard list',
}

/** The import input of each provisioned datasource, as Grafana's exporter writes it. */
export function datasourceInput(type: DatasourceType): DashboardInput {
  const datasource = PROVISIONED_DATASOURCES[type]
  return {name: datasource.input, label: datasource.name, description: '', type: 'datasource', pluginId: datasource.type, pluginName: datasource.name}
}

export interface ExportOptions {
  /** The Grafana version the dashboards are written for (the hub's), for `__requires`. */
  grafanaVersion: string
}

/** The importable form of one dashboard; the input is not changed. */
export function toImportable(dashboard: Dashboard, options: ExportOptions): Dashboard {
  const used = new Set<DatasourceType>()
  const replaced = replaceDatasources(structuredClone(dashboard), used) as Dashboard
  const {__inputs: _inputs, __requires: _requires, __elements: _elements, id: _id, ...rest} = replaced
  const types = Object.keys(PROVISIONED_DATASOURCES).filter((t): t is DatasourceType => used.has(t as DatasourceType))
  const panelTypes = [...new Set(allPanels(dashboard).map(({panel}) => panel.type ?? ''))].filter((t) => t !== '' && t !== 'row').sort()
  return {
    __inputs: types.map(datasourceInput),
    __elements: {},
    __requires: [
      {type: 'grafana', id: 'grafana', name: 'Grafana', version: options.grafanaVersion},
      ...types.map((t) => ({type: 'datasource', id: t, name: PROVISIONED_DATASOURCES[t].name, version: '1.0.0'})),
      ...panelTypes.map((t) => ({type: 'panel', id: t, name: PANEL_NAMES[t] ?? t, version: ''})),
    ],
    ...rest,
    id: null,
  }
}

/** Every `datasource` value (panels, targets, variables, annotations) that names a provisioned datasource, as its input. */
function replaceDatasources(value: unknown, used: Set<DatasourceType>): unknown {
  if (Array.isArray(value)) return value.map((item) => replaceDatasources(item, used))
  if (value === null || typeof value !== 'object') return value
  const result: Record<string, unknown> = {}
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    result[key] = key === 'datasource' ? replaceReference(child, used) : replaceDatasources(child, used)
  }
  return result
}

function replaceReference(ref: unknown, used: Set<DatasourceType>): unknown {
  const provisioned = Object.values(PROVISIONED_DATASOURCES)
  if (typeof ref === 'string') {
    const match = provisioned.find((d) => d.uid === ref || d.name === ref)
    if (!match) return ref
    used.add(match.type)
    return `\${${match.input}}`
  }
  if (ref === null || typeof ref !== 'object') return ref
  const {uid} = ref as {uid?: unknown}
  const match = provisioned.find((d) => d.uid === uid)
  if (!match) return ref
  used.add(match.type)
  return {...ref, type: match.type, uid: `\${${match.input}}`}
}
