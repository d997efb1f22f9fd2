/**
 * A dashboard turned into the requests Grafana would send for it: every target of every panel
 * (panels nested in rows included), template variables substituted, Grafana's built-in interval
 * and range variables computed, and the backend request (path + query parameters) built.
 *
 * Pure code (no I/O): the "with real data" test and `scripts/bench-dashboards.ts` send the requests.
 *
 * How Grafana computes what this reproduces (Grafana 11/12; promlib, loki and tempo datasources):
 * - Frontend interval: `intervalMs = roundInterval((to - from) / maxDataPoints)`, raised to the low
 *   limit (the panel's "Min interval" `panel.interval`, else the datasource's `jsonData.timeInterval`).
 *   `maxDataPoints` is `panel.maxDataPoints`, else the panel's width in pixels.
 *   APPROXIMATION: the width is taken as `gridPos.w / 24` of a 1920-pixel viewport; a real browser
 *   knows the exact width. For the ranges the dashboards are looked at with (≤ 6 h at a 30 s scrape
 *   interval) the result is the same, because the low limit (the scrape interval) wins.
 * - Prometheus step: `max(intervalMs or roundInterval(range / maxDataPoints), roundInterval(range /
 *   11000)) × intervalFactor`; start and end are aligned down to a multiple of the step (UTC).
 *   `$__interval` in the expression becomes that step, written as Grafana writes it ("30s", "1m").
 * - `$__rate_interval` = max(intervalMs + scrape interval, 4 × scrape interval), the scrape interval
 *   being the target's "Min step" (`interval`) or the datasource's `jsonData.timeInterval` (15 s if
 *   unset), written as Go writes a duration ("2m0s", Prometheus accepts it).
 * - `$__range` = round(range seconds) + "s", `$__range_s`, `$__range_ms`.
 * - Loki: step = max(intervalMs, range / 2000 rounded); `$__interval` and `$__auto` (range queries)
 *   are the step, `$__auto` is the range for instant queries. Loki has no `$__rate_interval`: it is
 *   left in the query, as Grafana leaves it, and Loki then refuses the query.
 * - Tempo: TraceQL (`queryType: traceql`, or `traceqlSearch` filters joined with &&) searched over the
 *   range with `limit` (default 20) and `spss` (default 3).
 * - Template variables: `$name`, `${name}`, `${name:format}`, `[[name]]`, `[[name:format]]`. "All"
 *   with an `allValue` is that value as it is (Grafana never escapes a custom all value); without one
 *   it is every option. Without a format, Prometheus, Loki and Tempo interpolate one value regex-
 *   escaped and several as `(a|b)`; a variable that is neither multi nor includeAll is inserted as is.
 * - Targets: `instant: true` is an instant query; `range` (or neither flag, as old dashboards have)
 *   a range query; both flags give both queries. Table panels follow their targets' flags.
 */
import {parseDuration} from '../lib/time.js'

// ---------------------------------------------------------------- dashboard JSON (the parts read here)

export interface DatasourceRef {
  type?: string
  uid?: string
}

export interface Target {
  refId?: string
  datasource?: DatasourceRef | string | null
  hide?: boolean
  // Prometheus and Loki
  expr?: string
  instant?: boolean
  range?: boolean
  format?: string
  interval?: string
  intervalFactor?: number
  queryType?: string
  maxLines?: number
  // Tempo
  query?: string
  limit?: number
  spss?: number
  filters?: Array<{id?: string; tag?: string; operator?: string; value?: string | string[]; scope?: string; valueType?: string}>
  [key: string]: unknown
}

export interface Panel {
  id?: number
  type?: string
  title?: string
  datasource?: DatasourceRef | string | null
  targets?: Target[]
  panels?: Panel[]
  interval?: string
  maxDataPoints?: number
  gridPos?: {x?: number; y?: number; w?: number; h?: number}
  [key: string]: unknown
}

export interface Variable {
  name: string
  type?: string
  query?: unknown
  multi?: boolean
  includeAll?: boolean
  allValue?: string | null
  current?: {text?: string | string[]; value?: string | string[]}
  options?: Array<{text?: string; value?: string; selected?: boolean}>
}

export interface Dashboard {
  uid?: string
  title?: string
  time?: {from: string; to: string}
  panels?: Panel[]
  templating?: {list?: Variable[]}
}

// ---------------------------------------------------------------- inputs and outputs

export type Backend = 'prometheus' | 'loki' | 'tempo'

/** A datasource as provisioned (templates/config/grafana-datasources.yaml). */
export interface Datasource {
  uid: string
  type: string
  isDefault?: boolean
  jsonData?: {timeInterval?: string; [key: string]: unknown}
}

/** "All", or the values picked. */
export const ALL = Symbol('All')
export type Selection = typeof ALL | string[]

export interface QueryOptions {
  datasources: Datasource[]
  /** Values picked per variable name; variables not named keep the dashboard's current value. */
  variables?: Record<string, Selection>
  /** Every value a variable can take (what its query returns), for "All" without an allValue. */
  variableValues?: Record<string, string[]>
  /** The time range; default the dashboard's (`time`), else the last hour. */
  range?: {from: string | number; to: string | number}
  /** "now" in ms since the epoch (default Date.now()). */
  now?: number
  /** Viewport width used for a panel's pixel width when it has no maxDataPoints (default 1920). */
  viewportWidth?: number
}

export interface BackendRequest {
  backend: Backend
  /** The datasource's uid: the caller maps it to a URL. */
  datasourceUid: string
  path: string
  params: Record<string, string>
}

export interface PanelQuery {
  dashboard: string
  dashboardUid: string
  panel: string
  panelId: number | undefined
  panelType: string
  refId: string
  /** The query as written in the dashboard. */
  original: string
  /** The query as sent, every variable substituted. */
  expr: string
  kind: 'range' | 'instant' | 'search'
  request: BackendRequest
  /** What was computed: ms. */
  intervalMs: number
  stepMs: number
  rateIntervalMs: number | undefined
}

/** A target that cannot be turned into a request (no datasource, a query type not reproduced here). */
export interface UnsupportedTarget {
  dashboard: string
  panel: string
  refId: string
  reason: string
}

// ---------------------------------------------------------------- entry points

/** Every panel, panels inside rows included (`panels[].panels`), in dashboard order. */
export function panelsOf(dashboard: Dashboard): Panel[] {
  const out: Panel[] = []
  const walk = (panels: Panel[] | undefined): void => {
    for (const panel of panels ?? []) {
      out.push(panel)
      walk(panel.panels)
    }
  }
  walk(dashboard.panels)
  return out
}

/** Every request Grafana would send to show the dashboard, and the targets it could not reproduce. */
export function dashboardQueries(dashboard: Dashboard, options: QueryOptions): {queries: PanelQuery[]; unsupported: UnsupportedTarget[]} {
  const now = options.now ?? Date.now()
  const range = options.range ?? dashboard.time ?? {from: 'now-1h', to: 'now'}
  const fromMs = timeOf(range.from, now)
  const toMs = timeOf(range.to, now)
  if (!(toMs > fromMs)) throw new Error(`empty time range ${String(range.from)} .. ${String(range.to)}`)
  const variables = dashboard.templating?.list ?? []
  const queries: PanelQuery[] = []
  const unsupported: UnsupportedTarget[] = []
  const title = dashboard.title ?? dashboard.uid ?? '(untitled)'
  for (const panel of panelsOf(dashboard)) {
    if (panel.type === 'row') continue
    for (const [index, target] of (panel.targets ?? []).entries()) {
      if (target.hide) continue
      const refId = target.refId ?? String.fromCharCode(65 + index)
      const where = {dashboard: title, panel: panel.title ?? `panel ${panel.id ?? '?'}`, refId}
      const datasource = resolveDatasource(target.datasource ?? panel.datasource, variables, options.datasources)
      if (!datasource) {
        unsupported.push({...where, reason: `unknown datasource ${JSON.stringify(target.datasource ?? panel.datasource ?? null)}`})
        continue
      }
      const context: TargetContext = {
        dashboard,
        panel,
        target,
        datasource,
        variables,
        options,
        fromMs,
        toMs,
        where: {...where, dashboardUid: dashboard.uid ?? '', panelId: panel.id, panelType: panel.type ?? ''},
      }
      const built =
        datasource.type === 'prometheus'
          ? prometheusQueries(context)
          : datasource.type === 'loki'
            ? lokiQueries(context)
            : datasource.type === 'tempo'
              ? tempoQueries(context)
              : `datasource type ${datasource.type} is not reproduced`
      if (typeof built === 'string') unsupported.push({...where, reason: built})
      else queries.push(...built)
    }
  }
  return {queries, unsupported}
}

// ---------------------------------------------------------------- per datasource

interface TargetContext {
  dashboard: Dashboard
  panel: Panel
  target: Target
  datasource: Datasource
  variables: Variable[]
  options: QueryOptions
  fromMs: number
  toMs: number
  where: Omit<PanelQuery, 'original' | 'expr' | 'kind' | 'request' | 'intervalMs' | 'stepMs' | 'rateIntervalMs'>
}

const SAFE_RESOLUTION = 11_000
const DEFAULT_SCRAPE = '15s'

function prometheusQueries(c: TargetContext): PanelQuery[] | string {
  const original = c.target.expr
  if (typeof original !== 'string' || original.trim() === '') return 'no expr'
  const rangeMs = c.toMs - c.fromMs
  const maxDataPoints = maxDataPointsOf(c.panel, c.options.viewportWidth)
  const dsScrape = c.datasource.jsonData?.timeInterval ?? ''
  const intervalMs = frontendInterval(rangeMs, maxDataPoints, c.panel.interval ?? (dsScrape || undefined))

  const minStep = c.target.interval ?? ''
  const rateVariable = minStep === '$__rate_interval' || minStep === '${__rate_interval}'
  const variableStep = /^\$\{?__(rate_)?interval(_ms)?\}?$/.test(minStep)
  const minIntervalMs = !variableStep && minStep !== '' && minStep !== '0s' ? durationMs(minStep, 'interval') : intervalMs
  const calculated = rangeMs / maxDataPoints < minIntervalMs ? minIntervalMs : roundInterval(rangeMs / maxDataPoints)
  const adjusted = Math.max(calculated, roundInterval(rangeMs / SAFE_RESOLUTION))
  const stepMs = rateVariable ? rateInterval(adjusted, dsScrape) : adjusted * (c.target.intervalFactor || 1)

  let rateMs: number
  if (rateVariable) rateMs = stepMs
  else {
    let requested = minStep
    if (/^\$\{?__interval\}?$/.test(requested)) requested = goInterval(stepMs)
    if (requested === '') requested = dsScrape
    rateMs = rateInterval(intervalMs, requested)
  }

  const templated = substituteVariables(original, c.variables, c.options, 'prometheus')
  const rangeS = Math.round(rangeMs / 1000)
  const expr = replaceBuiltins(templated, [
    ['__interval_ms', String(stepMs)],
    ['__interval', goInterval(stepMs)],
    ['__range_ms', String(rangeMs)],
    ['__range_s', String(rangeS)],
    ['__range', `${rangeS}s`],
    ['__rate_interval_ms', String(rateMs)],
    ['__rate_interval', goDuration(rateMs)],
  ])

  const instant = c.target.instant === true
  const range = c.target.range === true || !instant
  const out: PanelQuery[] = []
  const base = {...c.where, original, expr, intervalMs, stepMs, rateIntervalMs: rateMs}
  if (range) {
    out.push({
      ...base,
      kind: 'range',
      request: {
        backend: 'prometheus',
        datasourceUid: c.datasource.uid,
        path: '/api/v1/query_range',
        params: {query: expr, start: seconds(alignDown(c.fromMs, stepMs)), end: seconds(alignDown(c.toMs, stepMs)), step: seconds(stepMs)},
      },
    })
  }
  if (instant) {
    out.push({...base, kind: 'instant', request: {backend: 'prometheus', datasourceUid: c.datasource.uid, path: '/api/v1/query', params: {query: expr, time: seconds(c.toMs)}}})
  }
  return out
}

function lokiQueries(c: TargetContext): PanelQuery[] | string {
  const original = c.target.expr
  if (typeof original !== 'string' || original.trim() === '') return 'no expr'
  const rangeMs = c.toMs - c.fromMs
  const maxDataPoints = maxDataPointsOf(c.panel, c.options.viewportWidth)
  const lowLimit = c.panel.interval ?? c.datasource.jsonData?.timeInterval
  const intervalMs = frontendInterval(rangeMs, maxDataPoints, lowLimit)
  const minStep = c.target.interval && !c.target.interval.startsWith('$') ? durationMs(c.target.interval, 'interval') : 0
  const stepMs = Math.max(intervalMs, minStep, roundInterval(rangeMs / 2000)) * (c.target.resolution ? Number(c.target.resolution) : 1)
  const instant = c.target.queryType === 'instant' || (c.target.instant === true && c.target.queryType !== 'range')
  const rangeS = Math.round(rangeMs / 1000)
  const templated = substituteVariables(original, c.variables, c.options, 'loki')
  const expr = replaceBuiltins(templated, [
    ['__interval_ms', String(stepMs)],
    ['__interval', goInterval(stepMs)],
    ['__range_ms', String(rangeMs)],
    ['__range_s', String(rangeS)],
    ['__range', `${rangeS}s`],
    ['__auto', instant ? `${rangeS}s` : goInterval(stepMs)],
  ])
  const base = {...c.where, original, expr, intervalMs, stepMs, rateIntervalMs: undefined}
  if (instant) {
    return [{...base, kind: 'instant', request: {backend: 'loki', datasourceUid: c.datasource.uid, path: '/loki/api/v1/query', params: {query: expr, time: nanos(c.toMs)}}}]
  }
  return [
    {
      ...base,
      kind: 'range',
      request: {
        backend: 'loki',
        datasourceUid: c.datasource.uid,
        path: '/loki/api/v1/query_range',
        params: {query: expr, start: nanos(c.fromMs), end: nanos(c.toMs), step: seconds(stepMs), limit: String(c.target.maxLines ?? 1000), direction: 'backward'},
      },
    },
  ]
}

function tempoQueries(c: TargetContext): PanelQuery[] | string {
  const type = c.target.queryType ?? 'traceql'
  let original: string
  if (type === 'traceql') {
    if (typeof c.target.query !== 'string' || c.target.query.trim() === '') return 'TraceQL target without a query'
    original = c.target.query
  } else if (type === 'traceqlSearch') {
    original = traceqlFromFilters(c.target.filters ?? [])
  } else {
    return `Tempo query type "${type}" is not reproduced (only traceql and traceqlSearch)`
  }
  const expr = substituteVariables(original, c.variables, c.options, 'tempo')
  return [
    {
      ...c.where,
      original,
      expr,
      kind: 'search',
      intervalMs: 0,
      stepMs: 0,
      rateIntervalMs: undefined,
      request: {
        backend: 'tempo',
        datasourceUid: c.datasource.uid,
        path: '/api/search',
        params: {q: expr, limit: String(c.target.limit ?? 20), spss: String(c.target.spss ?? 3), start: String(Math.floor(c.fromMs / 1000)), end: String(Math.ceil(c.toMs / 1000))},
      },
    },
  ]
}

/** The TraceQL the search builder shows for its filters: each `scope.tag op value`, joined with &&. */
export function traceqlFromFilters(filters: NonNullable<Target['filters']>): string {
  const parts: string[] = []
  for (const f of filters) {
    if (!f.tag || f.value === undefined || (Array.isArray(f.value) && f.value.length === 0)) continue
    const scope = f.scope && f.scope !== 'intrinsic' && f.scope !== 'unscoped' ? `${f.scope}.` : f.scope === 'unscoped' ? '.' : ''
    const operator = f.operator ?? '='
    const quote = (v: string): string => (f.valueType === 'string' || f.valueType === undefined ? `"${v.replace(/["\\]/g, '\\$&')}"` : v)
    const value = Array.isArray(f.value) ? (f.value.length === 1 ? quote(f.value[0]!) : quote(f.value.join('|'))) : quote(f.value)
    const op = Array.isArray(f.value) && f.value.length > 1 && operator === '=' ? '=~' : operator
    parts.push(`${scope}${f.tag}${op}${value}`)
  }
  return `{${parts.join(' && ')}}`
}

// ---------------------------------------------------------------- variables

function resolveDatasource(ref: Target['datasource'], variables: Variable[], datasources: Datasource[]): Datasource | undefined {
  const fallback = datasources.find((d) => d.isDefault) ?? datasources[0]
  if (ref === undefined || ref === null) return fallback
  const uidOrName = typeof ref === 'string' ? ref : ref.uid
  const type = typeof ref === 'string' ? undefined : ref.type
  if (uidOrName === undefined) return type ? datasources.find((d) => d.type === type) : fallback
  const variable = /^\$\{?(\w+)\}?$/.exec(uidOrName)?.[1]
  if (variable !== undefined) {
    // A datasource variable (`type: datasource`, query = the plugin type) or an import input
    // (`${DS_PROMETHEUS}`): the provisioned datasource of that type.
    const declared = variables.find((v) => v.name === variable && v.type === 'datasource')
    const wanted = typeof declared?.query === 'string' ? declared.query : type
    return wanted ? datasources.find((d) => d.type === wanted) : undefined
  }
  return datasources.find((d) => d.uid === uidOrName) ?? datasources.find((d) => d.type === uidOrName && type === undefined)
}

const VARIABLE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]+))?\}/g

/** Template variables substituted as the datasource interpolates them; built-ins (`__...`) are left for later. */
export function substituteVariables(text: string, variables: Variable[], options: Pick<QueryOptions, 'variables' | 'variableValues'>, backend: Backend): string {
  return text.replace(VARIABLE, (match, plain?: string, bracket?: string, bracketFormat?: string, braced?: string, bracedFormat?: string) => {
    const name = plain ?? bracket ?? braced!
    const format = bracketFormat ?? bracedFormat
    const variable = variables.find((v) => v.name === name)
    if (!variable || name.startsWith('__')) return match
    const value = valueOf(variable, options)
    return format ? formatted(value, format, variable) : datasourceFormatted(value, variable, backend)
  })
}

type Value = {all: true; custom: string} | {all: false; values: string[]}

function valueOf(variable: Variable, options: Pick<QueryOptions, 'variables' | 'variableValues'>): Value {
  const picked = options.variables?.[variable.name]
  const current = picked ?? currentSelection(variable)
  if (current === ALL) {
    if (typeof variable.allValue === 'string' && variable.allValue !== '') return {all: true, custom: variable.allValue}
    const every = options.variableValues?.[variable.name] ?? (variable.options ?? []).map((o) => o.value ?? '').filter((v) => v !== '$__all' && v !== '')
    return {all: false, values: every}
  }
  return {all: false, values: current}
}

function currentSelection(variable: Variable): Selection {
  const value = variable.current?.value
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value]
  if (values.includes('$__all')) return ALL
  return values
}

function regexEscape(value: string): string {
  // Regex metacharacters escaped with a backslash that itself survives a double-quoted string.
  return value.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&')
}

function plainRegexEscape(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&')
}

function datasourceFormatted(value: Value, variable: Variable, backend: Backend): string {
  if (value.all) return value.custom
  if (!variable.multi && !variable.includeAll) {
    // A plain variable: Prometheus escapes only what would break its string literal.
    const one = value.values[0] ?? ''
    return backend === 'tempo' ? one : one.replace(/\\/g, '\\\\').replace(/'/g, "\\\\'")
  }
  const escaped = value.values.map(regexEscape)
  return escaped.length === 1 ? escaped[0]! : `(${escaped.join('|')})`
}

function formatted(value: Value, format: string, variable: Variable): string {
  if (value.all) return format === 'text' ? 'All' : value.custom
  const values = value.values
  switch (format) {
    case 'regex':
      // Grafana's regex format escapes with one backslash (PromQL then needs the value to hold none).
      return values.length === 1 ? plainRegexEscape(values[0]!) : `(${values.map(plainRegexEscape).join('|')})`
    case 'pipe':
      return values.join('|')
    case 'csv':
    case 'raw':
      return values.join(',')
    case 'text':
      return values.join(' + ')
    case 'json':
      return JSON.stringify(variable.multi || values.length !== 1 ? values : values[0])
    case 'glob':
      return values.length === 1 ? values[0]! : `{${values.join(',')}}`
    case 'singlequote':
      return values.map((v) => `'${v.replace(/'/g, "\\'")}'`).join(',')
    case 'doublequote':
      return values.map((v) => `"${v.replace(/"/g, '\\"')}"`).join(',')
    case 'percentencode':
      return encodeURIComponent(values.length === 1 ? values[0]! : `{${values.join(',')}}`)
    case 'sqlstring':
      return values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',')
    default:
      return values.join(',')
  }
}

function replaceBuiltins(text: string, values: Array<[string, string]>): string {
  // Longest names first (the list is ordered so), in both spellings: $__x and ${__x}.
  let out = text
  for (const [name, value] of values) out = out.split(`\${${name}}`).join(value).split(`$${name}`).join(value)
  return out
}

// ---------------------------------------------------------------- time

/** "now", "now-1h", "now-30m", an ISO date or ms since the epoch. Rounding ("now/d") is not reproduced. */
export function timeOf(value: string | number, now: number): number {
  if (typeof value === 'number') return value
  if (value === 'now') return now
  const relative = /^now-(\d+)(ms|s|m|h|d|w|y)$/.exec(value)
  if (relative) return now - durationMs(`${relative[1]}${relative[2]}`, value)
  const parsed = Date.parse(value)
  if (Number.isNaN(parsed)) throw new Error(`time "${value}" is not reproduced (use now, now-<duration> or a date)`)
  return parsed
}

function durationMs(text: string, what: string): number {
  const ms = parseDuration(text)
  if (ms === undefined) throw new Error(`${what}: "${text}" is not a duration`)
  return ms
}

function maxDataPointsOf(panel: Panel, viewportWidth = 1920): number {
  if (typeof panel.maxDataPoints === 'number' && panel.maxDataPoints > 0) return panel.maxDataPoints
  return Math.max(1, Math.round(((panel.gridPos?.w ?? 12) / 24) * viewportWidth))
}

/** Grafana's frontend interval: range / resolution rounded to a nice value, at least the low limit. */
export function frontendInterval(rangeMs: number, maxDataPoints: number, lowLimit: string | undefined): number {
  const low = lowLimit && !lowLimit.startsWith('$') ? durationMs(lowLimit.replace(/^>/, ''), 'min interval') : 1
  return Math.max(roundInterval(rangeMs / maxDataPoints), low)
}

/** $__rate_interval: max(interval + scrape, 4 × scrape); the scrape interval defaults to 15 s. */
export function rateInterval(intervalMs: number, scrape: string): number {
  const scrapeMs = durationMs(scrape === '' ? DEFAULT_SCRAPE : scrape, 'scrape interval')
  return Math.max(intervalMs + scrapeMs, 4 * scrapeMs)
}

/** Grafana's nice intervals: the thresholds of its roundInterval (ms → ms). */
const ROUNDING: Array<[below: number, to: number]> = [
  [10, 1],
  [15, 10],
  [35, 20],
  [75, 50],
  [150, 100],
  [350, 200],
  [750, 500],
  [1500, 1000],
  [3500, 2000],
  [7500, 5000],
  [12_500, 10_000],
  [17_500, 15_000],
  [25_000, 20_000],
  [45_000, 30_000],
  [90_000, 60_000],
  [210_000, 120_000],
  [450_000, 300_000],
  [750_000, 600_000],
  [1_050_000, 900_000],
  [1_500_000, 1_200_000],
  [2_700_000, 1_800_000],
  [5_400_000, 3_600_000],
  [9_000_000, 7_200_000],
  [16_200_000, 10_800_000],
  [32_400_000, 21_600_000],
  [86_400_000, 43_200_000],
  [604_800_000, 86_400_000],
  [1_814_400_000, 604_800_000],
  [3_628_800_000, 2_592_000_000],
]

export function roundInterval(ms: number): number {
  for (const [below, to] of ROUNDING) if (ms < below) return to
  return 31_536_000_000
}

/** Grafana's interval text: the largest unit, truncated ("30s", "1m", "2h", "1d"). */
export function goInterval(ms: number): string {
  for (const [unit, size] of [
    ['y', 31_536_000_000],
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    if (ms >= size) return `${Math.floor(ms / size)}${unit}`
  }
  return '1ms'
}

/** A duration as Go's time.Duration.String writes it ("2m0s", "1h30m0s", "45s", "500ms"). */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`
  const h = Math.floor(ms / 3_600_000)
  const m = Math.floor((ms % 3_600_000) / 60_000)
  const s = (ms % 60_000) / 1000
  const sText = `${Number.isInteger(s) ? s : s.toFixed(3).replace(/0+$/, '')}s`
  if (h > 0) return `${h}h${m}m${sText}`
  if (m > 0) return `${m}m${sText}`
  return sText
}

function alignDown(ms: number, stepMs: number): number {
  return Math.floor(ms / stepMs) * stepMs
}

function seconds(ms: number): string {
  return String(ms / 1000)
}

function nanos(ms: number): string {
  return `${BigInt(Math.round(ms)) * 1_000_000n}`
}
