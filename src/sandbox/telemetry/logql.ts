/**
 * The LogQL subset the fake Loki answers: stream selectors with =, !=, =~, !~ matchers; line
 * filters (|= != |~ !~) and label filters (| name="value") on structured metadata; the range
 * aggregations count_over_time, rate, bytes_over_time; and sum/count/min/max/avg with by/without.
 * Regexes are fully anchored, as in Loki and Prometheus. Anything else is a 400 parse error.
 */
import {HttpError} from './net.js'

export type MatchOp = '=' | '!=' | '=~' | '!~'

export interface Matcher {
  name: string
  op: MatchOp
  value: string
  matches(value: string | undefined): boolean
}

export type Filter = {kind: 'line'; op: '|=' | '!=' | '|~' | '!~'; value: string; test: (line: string) => boolean} | {kind: 'label'; matcher: Matcher}

export interface LogExpr {
  kind: 'log'
  matchers: Matcher[]
  filters: Filter[]
}

export interface RangeExpr {
  kind: 'range'
  fn: 'count_over_time' | 'rate' | 'bytes_over_time' | 'bytes_rate'
  log: LogExpr
  rangeMs: number
}

export interface AggregateExpr {
  kind: 'aggregate'
  op: 'sum' | 'count' | 'min' | 'max' | 'avg'
  grouping?: {without: boolean; labels: string[]}
  inner: MetricExpr
}

export type MetricExpr = RangeExpr | AggregateExpr
export type Expr = LogExpr | MetricExpr

/** A stored log line: nanosecond timestamp, line, and its structured metadata. */
export interface Entry {
  ts: bigint
  line: string
  metadata: Record<string, string>
}

export interface Stream {
  labels: Record<string, string>
  entries: Entry[]
}

export interface Sample {
  labels: Record<string, string>
  value: number
}

// ---------------------------------------------------------------- parsing

type Token = {type: 'punct' | 'op' | 'ident' | 'string' | 'duration' | 'number'; text: string; at: number}

const PUNCT = new Set(['{', '}', '(', ')', '[', ']', ','])

function tokenize(query: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  const fail = (message: string): never => {
    throw new HttpError(400, `parse error at line 1, col ${i + 1}: ${message}`)
  }
  while (i < query.length) {
    const c = query[i]!
    if (/\s/.test(c)) {
      i++
      continue
    }
    const at = i
    if (PUNCT.has(c)) {
      tokens.push({type: 'punct', text: c, at})
      i++
    } else if (c === '"') {
      let j = i + 1
      while (j < query.length && query[j] !== '"') j += query[j] === '\\' ? 2 : 1
      if (j >= query.length) fail('unterminated string')
      tokens.push({type: 'string', text: JSON.parse(query.slice(i, j + 1)) as string, at})
      i = j + 1
    } else if (c === '`') {
      const j = query.indexOf('`', i + 1)
      if (j < 0) fail('unterminated raw string')
      tokens.push({type: 'string', text: query.slice(i + 1, j), at})
      i = j + 1
    } else if (/[=!|]/.test(c)) {
      const two = query.slice(i, i + 2)
      const op = ['|=', '|~', '!=', '!~', '=~'].includes(two) ? two : c
      if (op === '!') fail('unexpected !')
      tokens.push({type: 'op', text: op, at})
      i += op.length
    } else if (/[0-9]/.test(c)) {
      const m = /^(?:[0-9]+(?:ms|s|m|h|d|w|y))+/.exec(query.slice(i)) ?? /^[0-9]+(?:\.[0-9]+)?/.exec(query.slice(i))
      tokens.push({type: /[a-z]$/.test(m![0]) ? 'duration' : 'number', text: m![0], at})
      i += m![0].length
    } else if (/[a-zA-Z_]/.test(c)) {
      const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(query.slice(i))!
      tokens.push({type: 'ident', text: m[0], at})
      i += m[0].length
    } else fail(`unexpected character ${JSON.stringify(c)}`)
  }
  return tokens
}

const RANGE_FUNCTIONS = new Set(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate'])
const AGGREGATIONS = new Set(['sum', 'count', 'min', 'max', 'avg'])

export function parseLogQL(query: string): Expr {
  const tokens = tokenize(query)
  let pos = 0
  const peek = (): Token | undefined => tokens[pos]
  const fail = (message: string): never => {
    const t = peek()
    throw new HttpError(400, `parse error at line 1, col ${(t?.at ?? query.length) + 1}: syntax error: ${message}`)
  }
  const expect = (text: string): Token => {
    const t = peek()
    if (t?.text !== text) fail(`unexpected ${t ? JSON.stringify(t.text) : 'end of input'}, expecting ${text}`)
    pos++
    return t!
  }
  const take = (type: Token['type']): Token => {
    const t = peek()
    if (t?.type !== type) fail(`unexpected ${t ? JSON.stringify(t.text) : 'end of input'}, expecting a ${type}`)
    pos++
    return t!
  }

  const matcher = (): Matcher => {
    const name = take('ident').text
    const op = take('op').text
    if (!['=', '!=', '=~', '!~'].includes(op)) fail(`unexpected ${op} in a matcher`)
    return makeMatcher(name, op as MatchOp, take('string').text)
  }

  const logExpr = (): LogExpr => {
    expect('{')
    const matchers: Matcher[] = []
    while (peek()?.text !== '}') {
      matchers.push(matcher())
      if (peek()?.text === ',') pos++
      else if (peek()?.text !== '}') fail('expecting , or }')
    }
    expect('}')
    if (!matchers.some((m) => !m.matches(''))) {
      throw new HttpError(
        400,
        'parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will',
      )
    }
    const filters: Filter[] = []
    while (peek()?.type === 'op') {
      const op = take('op').text
      if (op === '|' && peek()?.type === 'ident') filters.push({kind: 'label', matcher: matcher()})
      else if (['|=', '!=', '|~', '!~'].includes(op)) filters.push(lineFilter(op as '|=', take('string').text))
      else fail(`unsupported pipeline stage ${op}`)
    }
    return {kind: 'log', matchers, filters}
  }

  const grouping = (): AggregateExpr['grouping'] => {
    const without = take('ident').text === 'without'
    expect('(')
    const labels: string[] = []
    while (peek()?.text !== ')') {
      labels.push(take('ident').text)
      if (peek()?.text === ',') pos++
    }
    expect(')')
    return {without, labels}
  }

  const metricExpr = (): MetricExpr => {
    const fn = take('ident').text
    if (RANGE_FUNCTIONS.has(fn)) {
      expect('(')
      const log = logExpr()
      expect('[')
      const rangeMs = parseDuration(take('duration').text)
      expect(']')
      expect(')')
      return {kind: 'range', fn: fn as RangeExpr['fn'], log, rangeMs}
    }
    if (AGGREGATIONS.has(fn)) {
      let group: AggregateExpr['grouping']
      if (peek()?.text === 'by' || peek()?.text === 'without') group = grouping()
      expect('(')
      const inner = metricExpr()
      expect(')')
      if (peek()?.text === 'by' || peek()?.text === 'without') group = grouping()
      return {kind: 'aggregate', op: fn as AggregateExpr['op'], ...(group ? {grouping: group} : {}), inner}
    }
    return fail(`unsupported function ${fn}`)
  }

  const expr: Expr = peek()?.text === '{' ? logExpr() : metricExpr()
  if (pos < tokens.length) fail(`unexpected ${JSON.stringify(peek()!.text)}`)
  return expr
}

export function makeMatcher(name: string, op: MatchOp, value: string): Matcher {
  const regex = op === '=~' || op === '!~' ? anchored(value) : undefined
  const matches = (v: string | undefined): boolean => {
    const s = v ?? ''
    switch (op) {
      case '=':
        return s === value
      case '!=':
        return s !== value
      case '=~':
        return regex!.test(s)
      case '!~':
        return !regex!.test(s)
    }
  }
  return {name, op, value, matches}
}

function anchored(pattern: string): RegExp {
  return compile(`^(?:${pattern})$`, 's')
}

function compile(pattern: string, flags: string): RegExp {
  try {
    return new RegExp(pattern, flags)
  } catch {
    throw new HttpError(400, `parse error : error parsing regexp: ${pattern}`)
  }
}

function lineFilter(op: '|=' | '!=' | '|~' | '!~', value: string): Filter {
  const regex = op === '|~' || op === '!~' ? compile(value, '') : undefined
  const test = (line: string): boolean => {
    if (op === '|=') return line.includes(value)
    if (op === '!=') return !line.includes(value)
    if (op === '|~') return regex!.test(line)
    return !regex!.test(line)
  }
  return {kind: 'line', op, value, test}
}

const UNIT_MS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000}

export function parseDuration(text: string): number {
  let ms = 0
  for (const [, n, unit] of text.matchAll(/([0-9]+)(ms|s|m|h|d|w|y)/g)) ms += Number(n) * UNIT_MS[unit!]!
  return ms
}

// ---------------------------------------------------------------- evaluation

/** Labels a line has in a query: its stream's labels plus its structured metadata (Loki 3). */
export function lineLabels(stream: Stream, entry: Entry): Record<string, string> {
  return {...stream.labels, ...entry.metadata}
}

export function selectStreams(streams: Iterable<Stream>, expr: LogExpr): Stream[] {
  return [...streams].filter((s) => expr.matchers.every((m) => m.matches(s.labels[m.name])))
}

export function passes(expr: LogExpr, stream: Stream, entry: Entry): boolean {
  return expr.filters.every((f) => (f.kind === 'line' ? f.test(entry.line) : f.matcher.matches(lineLabels(stream, entry)[f.matcher.name])))
}

/** The instant vector of a metric expression at `atMs` (range windows are (at - range, at]). */
export function evaluateMetric(expr: MetricExpr, streams: Stream[], atMs: number): Sample[] {
  if (expr.kind === 'range') {
    const to = BigInt(atMs) * 1_000_000n
    const from = to - BigInt(expr.rangeMs) * 1_000_000n
    const series = new Map<string, Sample>()
    for (const stream of selectStreams(streams, expr.log)) {
      for (const entry of stream.entries) {
        if (entry.ts <= from || entry.ts > to || !passes(expr.log, stream, entry)) continue
        const labels = lineLabels(stream, entry)
        const key = labelKey(labels)
        const sample = series.get(key) ?? {labels, value: 0}
        sample.value += expr.fn.startsWith('bytes') ? Buffer.byteLength(entry.line) : 1
        series.set(key, sample)
      }
    }
    const perSecond = expr.fn === 'rate' || expr.fn === 'bytes_rate'
    return [...series.values()].map((s) => ({labels: s.labels, value: perSecond ? s.value / (expr.rangeMs / 1000) : s.value}))
  }
  const groups = new Map<string, {labels: Record<string, string>; values: number[]}>()
  for (const sample of evaluateMetric(expr.inner, streams, atMs)) {
    const labels = groupLabels(sample.labels, expr.grouping)
    const key = labelKey(labels)
    const group = groups.get(key) ?? {labels, values: []}
    group.values.push(sample.value)
    groups.set(key, group)
  }
  return [...groups.values()].map(({labels, values}) => ({labels, value: aggregate(expr.op, values)}))
}

function groupLabels(labels: Record<string, string>, grouping: AggregateExpr['grouping']): Record<string, string> {
  if (!grouping) return {}
  const keep = (name: string): boolean => grouping.labels.includes(name) !== grouping.without
  return Object.fromEntries(Object.entries(labels).filter(([name]) => keep(name)))
}

function aggregate(op: AggregateExpr['op'], values: number[]): number {
  switch (op) {
    case 'sum':
      return values.reduce((a, b) => a + b, 0)
    case 'count':
      return values.length
    case 'min':
      return Math.min(...values)
    case 'max':
      return Math.max(...values)
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length
  }
}

export function labelKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}
