/**
 * The parts of Grafana's dashboard model that fedobs reads (the JSON a dashboard is stored as), and
 * what Grafana does with it that fedobs must do the same way: walk panels (rows nest them), resolve
 * a datasource reference, and substitute template variables into a query. Pure: no I/O, no plugins.
 */

/** A datasource reference as dashboards store it: `{type, uid}`, or a legacy name string. */
export type DatasourceRef = {type?: string; uid?: string} | string | null | undefined

export interface Target {
  refId?: string
  datasource?: DatasourceRef
  /** PromQL (Prometheus) or LogQL (Loki). */
  expr?: string
  /** TraceQL (Tempo, queryType traceql). */
  query?: string
  queryType?: string
  filters?: Array<{tag?: string; operator?: string; value?: string | string[]; scope?: string}>
  [key: string]: unknown
}

export interface Panel {
  id?: number
  type?: string
  title?: string
  datasource?: DatasourceRef
  targets?: Target[]
  fieldConfig?: {defaults?: {unit?: string; [key: string]: unknown}; overrides?: unknown[]}
  /** Rows hold their panels here (collapsed rows always, open rows in older schema versions). */
  panels?: Panel[]
  [key: string]: unknown
}

export interface Variable {
  name: string
  type?: string
  label?: string
  datasource?: DatasourceRef
  query?: unknown
  multi?: boolean
  includeAll?: boolean
  allValue?: string | null
  current?: {text?: string | string[]; value?: string | string[]}
  options?: Array<{text?: string; value?: string; selected?: boolean}>
  [key: string]: unknown
}

export interface Dashboard {
  uid?: string
  title?: string
  id?: number | null
  panels?: Panel[]
  templating?: {list?: Variable[]}
  annotations?: {list?: Array<{name?: string; datasource?: DatasourceRef; [key: string]: unknown}>}
  __inputs?: DashboardInput[]
  __requires?: Array<{type: string; id: string; name: string; version: string}>
  [key: string]: unknown
}

/** An import input (`__inputs`) of an exported dashboard: what Grafana asks the importing user for. */
export interface DashboardInput {
  name: string
  label: string
  description: string
  type: 'datasource'
  pluginId: string
  pluginName: string
}

/** The datasources the hub's Grafana provisions (templates/config/grafana-datasources.yaml): fixed UIDs. */
export const PROVISIONED_DATASOURCES = {
  prometheus: {uid: 'prometheus', type: 'prometheus', name: 'Prometheus', input: 'DS_PROMETHEUS'},
  loki: {uid: 'loki', type: 'loki', name: 'Loki', input: 'DS_LOKI'},
  tempo: {uid: 'tempo', type: 'tempo', name: 'Tempo', input: 'DS_TEMPO'},
} as const
export type DatasourceType = keyof typeof PROVISIONED_DATASOURCES

/** Grafana's own pseudo-datasources: not a backend, never exported as an input. */
export const BUILTIN_DATASOURCE_UIDS = ['-- Mixed --', '-- Grafana --', '-- Dashboard --', 'grafana'] as const

export function isDatasourceType(type: string | undefined): type is DatasourceType {
  return type !== undefined && Object.hasOwn(PROVISIONED_DATASOURCES, type)
}

/** Every panel, rows' panels included (depth first, in dashboard order), with the row it sits in. */
export function allPanels(dashboard: Dashboard): Array<{panel: Panel; row?: Panel}> {
  const found: Array<{panel: Panel; row?: Panel}> = []
  const visit = (panels: Panel[] | undefined, row?: Panel): void => {
    for (const panel of panels ?? []) {
      found.push(row ? {panel, row} : {panel})
      if (Array.isArray(panel.panels)) visit(panel.panels, panel)
    }
  }
  visit(dashboard.panels)
  return found
}

/** The variable a datasource uid names: `$ds`, `${ds}`, `${ds:text}`, `[[ds]]`; undefined for a plain uid. */
export function variableName(text: string): string | undefined {
  const match = /^(?:\$(\w+)|\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\])$/.exec(text.trim())
  return match ? (match[1] ?? match[2] ?? match[3]) : undefined
}

// ---------------------------------------------------------------- variables, substituted as Grafana does

/** Values of Grafana's global (built-in) variables used in queries; durations as Grafana renders them. */
export interface BuiltinValues {
  /** `$__rate_interval`: max($__interval + scrape interval, 4 × scrape interval); 1m at a 15 s scrape. */
  rateInterval: string
  /** `$__interval`: the time range divided by the panel's width in points. */
  interval: string
  /** `$__range`: the dashboard's time range. */
  range: string
}

export const DEFAULT_BUILTINS: BuiltinValues = {rateInterval: '1m', interval: '15s', range: '1h'}

/** One substitution made: where in the result it sits, which text of the original it replaced. */
export interface Substitution {
  variable: string
  /** Offsets in the interpolated text. */
  from: number
  to: number
  /** Offsets in the original text. */
  originalFrom: number
  originalTo: number
}

export interface Interpolated {
  text: string
  substitutions: Substitution[]
  /** Variables the text uses that the dashboard does not define and Grafana does not know. */
  unknown: string[]
  /** Map an offset in the interpolated text back to the original (a substituted value maps to its variable). */
  originalOffset(offset: number): number
}

export interface InterpolateOptions {
  /** Values for the dashboard's variables by name (e.g. `{cluster: ['edge-1']}`); the rest default (All). */
  values?: Record<string, string | string[]>
  builtins?: BuiltinValues
}

// Grafana's variable syntaxes: $name, ${name}, ${name:format}, ${name.field}, [[name]], [[name:format]].
const VARIABLE = /\$(\w+)|\$\{(\w+)(?:\.[^:}]+)?(?::([^}]+))?\}|\[\[(\w+)(?::([^\]]+))?\]\]/g

function builtinValue(name: string, builtins: BuiltinValues): string | undefined {
  const seconds = (duration: string): number => {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)$/.exec(duration)
    if (!match) return Number.NaN
    const unit = {ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000}[match[2] as 'ms']
    return Number(match[1]) * unit
  }
  switch (name) {
    case '__rate_interval':
      return builtins.rateInterval
    case '__interval':
    case '__auto':
      return builtins.interval
    case '__interval_ms':
      return String(Math.round(seconds(builtins.interval) * 1000))
    case '__range':
      return builtins.range
    case '__range_s':
      return String(Math.round(seconds(builtins.range)))
    case '__range_ms':
      return String(Math.round(seconds(builtins.range) * 1000))
    case '__from':
    case '__to':
      return String(Date.UTC(2026, 0, 1))
    case '__dashboard':
    case '__org':
    case '__user':
    case '__name':
      return 'fedobs'
    default:
      return undefined
  }
}

function escapeRegex(value: string): string {
  return value.replace(/[\\^$*+?.()|{}[\]]/g, '\\$&')
}

/** What Grafana puts in the query for a variable: the All value, the chosen value(s), formatted. */
function variableValue(variable: Variable, chosen: string | string[] | undefined, format: string | undefined): string {
  let values: string[]
  let all = false
  if (chosen !== undefined) values = Array.isArray(chosen) ? chosen : [chosen]
  else {
    const current = variable.current?.value
    const currentValues = current === undefined ? [] : Array.isArray(current) ? current : [current]
    if (variable.type === 'constant' && typeof variable.query === 'string') values = [variable.query]
    else if (currentValues.length > 0) values = currentValues
    else if (variable.includeAll) values = ['$__all']
    else if (variable.options?.[0]?.value !== undefined) values = [variable.options[0].value]
    else if (variable.type === 'interval' && typeof variable.query === 'string') values = [variable.query.split(',')[0]!.trim()]
    else values = [variable.name]
  }
  if (values.includes('$__all')) {
    all = true
    if (typeof variable.allValue === 'string' && variable.allValue !== '') return variable.allValue
    values = (variable.options ?? []).map((o) => o.value ?? '').filter((v) => v !== '' && v !== '$__all')
    if (values.length === 0) values = [variable.name]
  }
  switch (format) {
    case 'raw':
    case 'text':
    case 'csv':
      return values.join(',')
    case 'pipe':
      return values.join('|')
    case 'regex':
      return values.length === 1 ? escapeRegex(values[0]!) : `(${values.map(escapeRegex).join('|')})`
    default:
      // Prometheus and Loki interpolate a multi-value or All variable as an escaped regex alternation.
      if (!variable.multi && !variable.includeAll && !all) return values[0] ?? ''
      return values.length === 1 ? escapeRegex(values[0]!) : `(${values.map(escapeRegex).join('|')})`
  }
}

/**
 * Substitute variables into a query as Grafana does before it sends it: the dashboard's variables
 * (All → the variable's allValue), and the global ones ($__rate_interval, $__interval, $__range, ...).
 * Unknown variables stay as written and are reported.
 */
export function interpolate(text: string, dashboard: Dashboard, options: InterpolateOptions = {}): Interpolated {
  const variables = new Map((dashboard.templating?.list ?? []).map((v) => [v.name, v]))
  const builtins = options.builtins ?? DEFAULT_BUILTINS
  const substitutions: Substitution[] = []
  const unknown: string[] = []
  let result = ''
  let last = 0
  for (const match of text.matchAll(VARIABLE)) {
    const name = (match[1] ?? match[2] ?? match[4])!
    // $1, $2: a regex group in label_replace or a LogQL template, not a variable.
    if (/^\d+$/.test(name)) continue
    const format = match[3] ?? match[5]
    const variable = variables.get(name)
    const value = variable ? variableValue(variable, options.values?.[name], format) : builtinValue(name, builtins)
    if (value === undefined) {
      if (!unknown.includes(name)) unknown.push(name)
      continue
    }
    result += text.slice(last, match.index)
    substitutions.push({variable: name, from: result.length, to: result.length + value.length, originalFrom: match.index, originalTo: match.index + match[0].length})
    result += value
    last = match.index + match[0].length
  }
  result += text.slice(last)
  return {
    text: result,
    substitutions,
    unknown,
    originalOffset(offset: number): number {
      let shift = 0
      for (const s of substitutions) {
        if (offset < s.from) break
        if (offset < s.to) return s.originalFrom
        shift = s.originalTo - s.to
      }
      return offset + shift
    },
  }
}

/** The original text behind a span of the interpolated text (a substituted value gives back its `$variable`). */
export function originalText(original: string, interpolated: Interpolated, from: number, to: number): string {
  const start = interpolated.originalOffset(from)
  const inside = interpolated.substitutions.find((s) => to > s.from && to <= s.to)
  const end = inside ? inside.originalTo : interpolated.originalOffset(to)
  return original.slice(start, end)
}
