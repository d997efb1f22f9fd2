/**
 * The TraceQL subset the fake Tempo answers: one spanset `{ ... }` (or several joined with && / ||
 * at trace level) whose condition compares attributes with = != =~ !~ > >= < <=, combined with
 * && / || and parentheses. Attributes: resource.<name>, span.<name>, .<name> (either scope) and
 * the intrinsics name, status, kind, duration, rootName, rootServiceName. `{}` matches every span.
 */
import {HttpError} from './net.js'

export interface SpanContext {
  resource: Record<string, string>
  span: Record<string, string>
  name: string
  /** unset, ok, error */
  status: string
  /** unspecified, internal, server, client, producer, consumer */
  kind: string
  durationNanos: bigint
  rootName: string
  rootServiceName: string
}

export type Condition = (span: SpanContext) => boolean

export interface AttributeRef {
  scope: 'resource' | 'span' | 'any' | 'intrinsic'
  name: string
}

export interface TraceQuery {
  /** Spansets joined at trace level; each must (&&) or may (||) find a span. */
  spansets: Array<{condition: Condition}>
  join: '&&' | '||'
  /** Attributes the query names (Tempo returns them with the matched spans). */
  attributes: AttributeRef[]
}

type Token = {type: 'punct' | 'op' | 'attr' | 'string' | 'number' | 'duration' | 'word'; text: string}

const INTRINSICS = new Set(['name', 'status', 'kind', 'duration', 'rootName', 'rootServiceName'])

function tokenize(query: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < query.length) {
    const rest = query.slice(i)
    const c = query[i]!
    let m: RegExpExecArray | null
    if (/\s/.test(c)) i++
    else if ('{}()'.includes(c)) {
      tokens.push({type: 'punct', text: c})
      i++
    } else if ((m = /^(&&|\|\||=~|!~|!=|>=|<=|=|>|<)/.exec(rest))) {
      tokens.push({type: 'op', text: m[0]})
      i += m[0].length
    } else if (c === '"') {
      let j = i + 1
      while (j < query.length && query[j] !== '"') j += query[j] === '\\' ? 2 : 1
      if (j >= query.length) throw new HttpError(400, 'invalid TraceQL query: unterminated string')
      tokens.push({type: 'string', text: JSON.parse(query.slice(i, j + 1)) as string})
      i = j + 1
    } else if ((m = /^(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+/.exec(rest))) {
      tokens.push({type: 'duration', text: m[0]})
      i += m[0].length
    } else if ((m = /^-?[0-9]+(?:\.[0-9]+)?/.exec(rest))) {
      tokens.push({type: 'number', text: m[0]})
      i += m[0].length
    } else if ((m = /^(?:(?:resource|span)\.|\.)[a-zA-Z0-9_.\-/]+|^[a-zA-Z_][a-zA-Z0-9_]*/.exec(rest))) {
      tokens.push({type: m[0].includes('.') || INTRINSICS.has(m[0]) ? 'attr' : 'word', text: m[0]})
      i += m[0].length
    } else throw new HttpError(400, `invalid TraceQL query: unexpected ${JSON.stringify(c)} at ${i + 1}`)
  }
  return tokens
}

export function parseTraceQL(query: string): TraceQuery {
  const tokens = tokenize(query.trim() === '' ? '{}' : query)
  let pos = 0
  const attributes: AttributeRef[] = []
  const fail = (message: string): never => {
    throw new HttpError(400, `invalid TraceQL query: ${message}`)
  }
  const next = (): Token => tokens[pos++] ?? fail('unexpected end of query')
  const peek = (): Token | undefined => tokens[pos]

  const comparison = (): Condition => {
    const attr = next()
    if (attr.type !== 'attr') fail(`expected an attribute, got ${JSON.stringify(attr.text)}`)
    const ref = attributeRef(attr.text)
    attributes.push(ref)
    const op = next()
    if (op.type !== 'op' || op.text === '&&' || op.text === '||') fail(`expected a comparison after ${attr.text}`)
    const value = next()
    if (!['string', 'number', 'duration', 'word'].includes(value.type)) fail(`expected a value after ${op.text}`)
    return compare(ref, op.text, value)
  }

  const primary = (): Condition => {
    if (peek()?.text === '(') {
      pos++
      const inner = orExpr()
      if (next().text !== ')') fail('expected )')
      return inner
    }
    return comparison()
  }
  const andExpr = (): Condition => {
    let left = primary()
    while (peek()?.text === '&&') {
      pos++
      const l = left
      const r = primary()
      left = (s) => l(s) && r(s)
    }
    return left
  }
  const orExpr = (): Condition => {
    let left = andExpr()
    while (peek()?.text === '||') {
      pos++
      const l = left
      const r = andExpr()
      left = (s) => l(s) || r(s)
    }
    return left
  }

  const spanset = (): {condition: Condition} => {
    if (next().text !== '{') fail('a query starts with {')
    if (peek()?.text === '}') {
      pos++
      return {condition: () => true}
    }
    const condition = orExpr()
    if (next().text !== '}') fail('expected }')
    return {condition}
  }

  const spansets = [spanset()]
  let join: '&&' | '||' = '&&'
  while (pos < tokens.length) {
    const op = next()
    if (op.text !== '&&' && op.text !== '||') fail(`unsupported ${JSON.stringify(op.text)} between spansets`)
    join = op.text as '&&' | '||'
    spansets.push(spanset())
  }
  return {spansets, join, attributes}
}

function attributeRef(text: string): AttributeRef {
  if (text.startsWith('resource.')) return {scope: 'resource', name: text.slice('resource.'.length)}
  if (text.startsWith('span.')) return {scope: 'span', name: text.slice('span.'.length)}
  if (text.startsWith('.')) return {scope: 'any', name: text.slice(1)}
  return {scope: 'intrinsic', name: text}
}

function lookup(ref: AttributeRef, s: SpanContext): string | bigint | undefined {
  switch (ref.scope) {
    case 'resource':
      return s.resource[ref.name]
    case 'span':
      return s.span[ref.name]
    case 'any':
      return s.span[ref.name] ?? s.resource[ref.name]
    case 'intrinsic':
      if (ref.name === 'duration') return s.durationNanos
      return (s as unknown as Record<string, string>)[ref.name]
  }
}

function compare(ref: AttributeRef, op: string, token: Token): Condition {
  if (token.type === 'duration') {
    const nanos = durationNanos(token.text)
    return (s) => {
      const v = lookup(ref, s)
      return typeof v === 'bigint' && ordered(op, v < nanos ? -1 : v > nanos ? 1 : 0)
    }
  }
  if (token.type === 'number') {
    const n = Number(token.text)
    return (s) => {
      const v = lookup(ref, s)
      return v !== undefined && ordered(op, Math.sign(Number(v) - n))
    }
  }
  const expected = token.text
  let regex: RegExp | undefined
  try {
    regex = op === '=~' || op === '!~' ? new RegExp(`^(?:${expected})$`) : undefined
  } catch {
    throw new HttpError(400, `invalid TraceQL query: bad regexp ${expected}`)
  }
  return (s) => {
    const v = lookup(ref, s)
    if (v === undefined) return false // TraceQL: a missing attribute matches no comparison, not even !=
    const text = String(v)
    if (op === '=') return text === expected
    if (op === '!=') return text !== expected
    if (op === '=~') return regex!.test(text)
    if (op === '!~') return !regex!.test(text)
    return ordered(op, text < expected ? -1 : text > expected ? 1 : 0)
  }
}

function ordered(op: string, cmp: number): boolean {
  return {'=': cmp === 0, '!=': cmp !== 0, '>': cmp > 0, '>=': cmp >= 0, '<': cmp < 0, '<=': cmp <= 0}[op] ?? false
}

const NANOS: Record<string, number> = {ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9}

function durationNanos(text: string): bigint {
  let total = 0
  for (const [, n, unit] of text.matchAll(/([0-9.]+)(ns|us|µs|ms|s|m|h)/g)) total += Number(n) * NANOS[unit!]!
  return BigInt(Math.round(total))
}
