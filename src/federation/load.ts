import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode} from 'yaml'
import {Ajv, type ErrorObject, type ValidateFunction} from 'ajv'
import {ConfigError, UsageError, type ConfigIssue} from '../lib/errors.js'
import {closest} from '../lib/suggest.js'
import {isGpuPlan, type ClusterSpec, type Federation, type FederationFile, type Role} from './model.js'
import {API_VERSIONS, federationSchema} from './schema.js'
import {resolveOverrides, type FieldPath, type Override, type PendingOverride} from './flags.js'
import {re2Problem} from './re2.js'

export const DEFAULT_FILE = 'fedobs.yaml'

export type {FieldPath, Override} from './flags.js'

export interface LoadOptions {
  /** -f/--file; when absent, ./fedobs.yaml is used if it exists. */
  file?: string
  cwd?: string
  overrides?: PendingOverride[]
  /** Edges to include when no file is given or found and the federation comes from flags alone. */
  fallbackEdges?: string[]
}

/** Where a document came from, so that problems can point at file:line:column. */
interface Source {
  file: string
  doc?: Document
  lineCounter?: LineCounter
}

/** Resolve which file to read: explicit, or ./fedobs.yaml when present, or none. */
export function resolveFederationFile(file: string | undefined, cwd: string = process.cwd()): string | undefined {
  if (file !== undefined) return path.resolve(cwd, file)
  const candidate = path.join(cwd, DEFAULT_FILE)
  return existsSync(candidate) ? candidate : undefined
}

/**
 * Load, validate and resolve the federation: file (if any), then flag overrides, then schema checks
 * (which fill in the schema's defaults) and semantic checks. Throws ConfigError (exit 2) listing every
 * problem found.
 */
export function loadFederation(options: LoadOptions = {}): Federation {
  const cwd = options.cwd ?? process.cwd()
  const file = resolveFederationFile(options.file, cwd)
  let raw: unknown
  let source: Source
  if (file === undefined) {
    raw = {
      apiVersion: API_VERSIONS[0],
      name: 'fedobs',
      hub: {name: 'hub'},
      edges: (options.fallbackEdges ?? []).map((name) => ({name})),
    }
    source = {file: 'command line'}
  } else {
    const parsed = parseFile(file, relativeName(file, cwd))
    raw = parsed.raw
    source = parsed.source
  }

  const overrides = resolveOverrides(raw, options.overrides ?? [])
  raw = applyOverrides(raw, overrides)
  const issues = [...schemaIssues(raw, source, overrides), ...semanticIssues(raw, source, overrides)]
  if (issues.length > 0) throw new ConfigError(issues)
  // Valid, so Ajv has filled in every default of the schema: raw is a FederationFile now.
  const federation = resolve(raw as FederationFile, file)
  sources.set(federation, {source, overrides})
  return federation
}

const sources = new WeakMap<Federation, {source: Source; overrides: Override[]}>()

/**
 * A problem found after loading (e.g. a region the Linode API does not know), reported at the
 * place the value came from: file:line:column, or the flag that set it.
 */
export function issueForField(federation: Federation, fieldPath: FieldPath, message: string, extra: Partial<ConfigIssue> = {}): ConfigIssue {
  const known = sources.get(federation)
  if (!known) return {file: federation.source ?? 'command line', line: 0, column: 0, field: displayPath(fieldPath), message, ...extra}
  return issueAt(known.source, known.overrides, fieldPath, message, extra)
}

/** The field path of a cluster of the federation: hub or edges[i]. */
export function clusterPath(federation: Federation, name: string): FieldPath {
  if (federation.hub.name === name) return ['hub']
  const index = federation.edges.findIndex((e) => e.name === name)
  return index === -1 ? [] : ['edges', index]
}

function relativeName(file: string, cwd: string): string {
  const relative = path.relative(cwd, file)
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative
}

function parseFile(file: string, displayName: string): {raw: unknown; source: Source} {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new UsageError(code === 'ENOENT' ? `federation file not found: ${displayName}` : `cannot read federation file ${displayName}: ${code ?? String(error)}`, {
      hint: 'Pass an existing file with -f/--file, or run without one to use flags alone.',
      code: 'file-not-found',
    })
  }
  const lineCounter = new LineCounter()
  // uniqueKeys (default) makes duplicate keys an error; one document only.
  const doc = parseDocument(text, {lineCounter, prettyErrors: false, strict: true})
  const syntax = [...doc.errors, ...doc.warnings.filter((w) => w.code !== 'TAG_RESOLVE_FAILED')]
  if (syntax.length > 0) {
    throw new ConfigError(
      syntax.map((e) => {
        const pos = lineCounter.linePos(e.pos[0])
        const message = e.code === 'MULTIPLE_DOCS' ? 'the federation file holds one YAML document; found a second one' : `YAML syntax: ${firstLine(e.message)}`
        return {file: displayName, line: pos.line, column: pos.col, field: '', message}
      }),
    )
  }
  const source: Source = {file: displayName, doc, lineCounter}
  if (!isMap(doc.contents)) {
    throw new ConfigError([
      {
        ...locate(source, []),
        field: '',
        message: doc.contents === null ? 'the file is empty' : 'the top level must be a mapping (apiVersion, name, hub, edges, ...)',
        expected: 'a mapping',
      },
    ])
  }
  return {raw: doc.toJS({maxAliasCount: 100}), source}
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message
}

function applyOverrides(raw: unknown, overrides: Override[]): unknown {
  if (overrides.length === 0) return raw
  const root = structuredClone(raw) as Record<string, unknown>
  for (const {path: fieldPath, value} of overrides) {
    let node: Record<string | number, unknown> = root
    for (const [i, segment] of fieldPath.entries()) {
      if (i === fieldPath.length - 1) {
        node[segment] = value
        break
      }
      const next = node[segment]
      if (typeof next !== 'object' || next === null) node[segment] = typeof fieldPath[i + 1] === 'number' ? [] : {}
      node = node[segment] as Record<string | number, unknown>
    }
  }
  return root
}

// ---------------------------------------------------------------- locating problems

function displayPath(fieldPath: FieldPath): string {
  let out = ''
  for (const segment of fieldPath) out += typeof segment === 'number' ? `[${segment}]` : out === '' ? segment : `.${segment}`
  return out
}

function overrideFor(fieldPath: FieldPath, overrides: Override[]): Override | undefined {
  // The most specific override that covers this path (a flag sets a whole subtree).
  return [...overrides].reverse().find((o) => o.path.length <= fieldPath.length && o.path.every((segment, i) => String(segment) === String(fieldPath[i])))
}

/** Position of the value (or, with `key`, of the key) at `fieldPath`, or of its closest existing parent. */
function locate(source: Source, fieldPath: FieldPath, key = false): {file: string; line: number; column: number} {
  const {doc, lineCounter} = source
  if (!doc || !lineCounter) return {file: source.file, line: 0, column: 0}
  let node: unknown = doc.contents
  let range: [number, number, number] | undefined = doc.contents?.range ?? undefined
  for (const [i, segment] of fieldPath.entries()) {
    const last = i === fieldPath.length - 1
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment))
      if (!pair) break
      const keyNode = pair.key as YamlNode
      if (last && key) {
        range = keyNode.range ?? range
        break
      }
      node = pair.value
      range = (pair.value as YamlNode | null)?.range ?? keyNode.range ?? range
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)] as YamlNode | undefined
      if (!item) break
      node = item
      range = item.range ?? range
    } else {
      break
    }
  }
  const pos = lineCounter.linePos(range?.[0] ?? 0)
  return {file: source.file, line: pos.line, column: pos.col}
}

function issueAt(source: Source, overrides: Override[], fieldPath: FieldPath, message: string, extra: Partial<ConfigIssue> & {key?: boolean} = {}): ConfigIssue {
  const {key, ...rest} = extra
  const override = overrideFor(fieldPath, overrides)
  const where = override ? {file: override.flag, line: 0, column: 0} : locate(source, fieldPath, key)
  return {...where, field: displayPath(fieldPath), message, ...rest}
}

// ---------------------------------------------------------------- schema validation

let compiled: ValidateFunction | undefined

function validator(): ValidateFunction {
  if (compiled) return compiled
  // useDefaults: the schema's `default` keywords are the only defaults; validation fills them in (in
  // place, a fresh copy of each default every time).
  const ajv = new Ajv({allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true, useDefaults: true})
  ajv.addKeyword({keyword: 'x-expected', schemaType: 'string'})
  compiled = ajv.compile(federationSchema)
  return compiled
}

function pointerToPath(pointer: string, data: unknown): FieldPath {
  if (pointer === '') return []
  const out: FieldPath = []
  let node: unknown = data
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~')
    if (Array.isArray(node)) {
      out.push(Number(segment))
      node = node[Number(segment)]
    } else {
      out.push(segment)
      node = (node as Record<string, unknown> | undefined)?.[segment]
    }
  }
  return out
}

function typeName(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`
  if (typeof value === 'number') return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`
  return `${typeof value} ${JSON.stringify(value)}`
}

const TYPE_PHRASE: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
}

function schemaIssues(raw: unknown, source: Source, overrides: Override[]): ConfigIssue[] {
  const validate = validator()
  if (validate(raw)) return []
  const seen = new Set<string>()
  const issues: ConfigIssue[] = []
  for (const error of validate.errors ?? []) {
    const issue = describe(error, raw, source, overrides)
    if (!issue) continue
    const key = `${issue.field}|${issue.message}`
    if (seen.has(key)) continue
    seen.add(key)
    issues.push(issue)
  }
  // One problem per field is enough (a bad name fails pattern and maxLength alike).
  const byField = new Map<string, ConfigIssue>()
  for (const issue of issues)
    if (!byField.has(`${issue.field}|${issue.line}`) || issue.message.startsWith('unknown field'))
      byField.set(`${issue.field}|${issue.line}|${issue.message.startsWith('unknown field') ? issue.message : ''}`, issue)
  return sortIssues([...byField.values()])
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => a.line - b.line || a.column - b.column || a.field.localeCompare(b.field))
}

function describe(error: ErrorObject, raw: unknown, source: Source, overrides: Override[]): ConfigIssue | undefined {
  const fieldPath = pointerToPath(error.instancePath, raw)
  const parent = error.parentSchema
  const expected = typeof parent?.['x-expected'] === 'string' ? parent['x-expected'] : undefined
  const params = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'if':
      return undefined
    case 'additionalProperties': {
      const property = String(params.additionalProperty)
      const allowed = Object.keys((parent?.properties as object | undefined) ?? {}).filter((p) => p !== '$schema')
      const suggestion = closest(property, allowed, 1)[0]
      return issueAt(source, overrides, [...fieldPath, property], `unknown field "${property}"`, {
        key: true,
        validValues: allowed,
        ...(suggestion ? {suggestion} : {}),
      })
    }
    case 'required': {
      const property = String(params.missingProperty)
      const where = fieldPath.length === 0 ? 'at the top level' : `in ${displayPath(fieldPath)}`
      return {
        ...issueAt(source, overrides, fieldPath, `missing required field "${property}" ${where}`),
        field: displayPath([...fieldPath, property]),
      }
    }
    case 'type': {
      const wanted = String(params.type)
      return issueAt(source, overrides, fieldPath, `expected ${TYPE_PHRASE[wanted] ?? wanted}, got ${typeName(error.data)}`, {
        expected: expected ?? TYPE_PHRASE[wanted] ?? wanted,
      })
    }
    case 'enum':
    case 'const': {
      const allowed = (error.keyword === 'enum' ? (params.allowedValues as unknown[]) : [params.allowedValue]).map(String)
      const suggestion = typeof error.data === 'string' ? closest(error.data, allowed, 1)[0] : undefined
      return issueAt(source, overrides, fieldPath, `${typeName(error.data)} is not allowed`, {
        validValues: allowed,
        ...(suggestion ? {suggestion} : {}),
      })
    }
    case 'pattern':
    case 'minLength':
    case 'maxLength': {
      const what =
        error.keyword === 'maxLength' ? `is longer than ${String(params.limit)} characters` : error.keyword === 'minLength' ? `is shorter than ${String(params.limit)} characters` : 'is not valid'
      return issueAt(source, overrides, fieldPath, `${typeName(error.data)} ${what}`, {expected: expected ?? `a string matching ${String(params.pattern)}`})
    }
    case 'minimum':
    case 'maximum': {
      const min: unknown = parent?.minimum
      const max: unknown = parent?.maximum
      const range = typeof min === 'number' && typeof max === 'number' ? `an integer from ${min} to ${max}` : `${error.keyword === 'minimum' ? 'at least' : 'at most'} ${String(params.limit)}`
      return issueAt(source, overrides, fieldPath, `${typeName(error.data)} is out of range`, {expected: range})
    }
    case 'minItems':
      return issueAt(source, overrides, fieldPath, `needs at least ${String(params.limit)} item(s)`, {expected: `a list of at least ${String(params.limit)}`})
    default:
      return issueAt(source, overrides, fieldPath, error.message ?? `is invalid (${error.keyword})`)
  }
}

// ---------------------------------------------------------------- semantic checks

function semanticIssues(raw: unknown, source: Source, overrides: Override[]): ConfigIssue[] {
  // Only meaningful once the shape is right; schema problems are reported first.
  if (!validator()(raw)) return []
  const file = raw as FederationFile
  const issues: ConfigIssue[] = []
  const clusters: Array<{cluster: FederationFile['hub']; at: FieldPath}> = [{cluster: file.hub, at: ['hub']}, ...file.edges.map((cluster, i) => ({cluster, at: ['edges', i] as FieldPath}))]
  const firstByName = new Map<string, FieldPath>()
  for (const {cluster, at} of clusters) {
    const previous = firstByName.get(cluster.name)
    if (previous) {
      issues.push(
        issueAt(source, overrides, [...at, 'name'], `cluster name "${cluster.name}" is already used by ${displayPath(previous)}`, {
          expected: 'a name unique in the federation (it is the LKE label and the cluster.id of every signal)',
        }),
      )
    } else {
      firstByName.set(cluster.name, at)
    }
    if (at[0] === 'edges' && cluster.name === 'hub') {
      issues.push(issueAt(source, overrides, [...at, 'name'], 'an edge cannot be named "hub": the word means the hub in every command', {}))
    }
    for (const [i, pool] of (cluster.pools ?? []).entries()) {
      const {autoscaler} = pool
      if (!autoscaler) continue
      if (autoscaler.min > autoscaler.max) {
        issues.push(issueAt(source, overrides, [...at, 'pools', i, 'autoscaler', 'min'], `autoscaler min ${autoscaler.min} is greater than max ${autoscaler.max}`, {expected: 'min <= max'}))
      } else if (pool.count < autoscaler.min || pool.count > autoscaler.max) {
        issues.push(
          issueAt(source, overrides, [...at, 'pools', i, 'count'], `count ${pool.count} is outside the autoscaler range ${autoscaler.min}-${autoscaler.max}`, {
            expected: `an integer from ${autoscaler.min} to ${autoscaler.max}`,
          }),
        )
      }
    }
  }
  for (const [i, pattern] of file.security.pii.patterns.entries()) {
    const problem = re2Problem(pattern.regex)
    if (problem) {
      issues.push(
        issueAt(source, overrides, ['security', 'pii', 'patterns', i, 'regex'], `the pattern ${JSON.stringify(pattern.regex)} cannot be used: ${problem}`, {
          expected: 'a regular expression in RE2 syntax (no look-around, no back-references), such as EMP-[0-9]{6}',
        }),
      )
    }
  }
  const {minReplicas: min, maxReplicas: max} = file.telemetry.gateway.autoscaling
  if (min > max) {
    issues.push(issueAt(source, overrides, ['telemetry', 'gateway', 'autoscaling', 'minReplicas'], `minReplicas ${min} is greater than maxReplicas ${max}`, {expected: 'minReplicas <= maxReplicas'}))
  }
  return sortIssues(issues)
}

// ---------------------------------------------------------------- resolving

/** What fedobs works out beyond the file: each cluster's role and GPU flag; duplicate tags and keys dropped. */
function resolveCluster({pools = [], gpu, ...cluster}: FederationFile['hub'], role: Role): ClusterSpec {
  return {...cluster, role, pools, tags: [...new Set(cluster.tags)], gpu: gpu ?? pools.some((p) => isGpuPlan(p.type))}
}

function resolve({apiVersion: _apiVersion, kind: _kind, $schema: _schema, hub, edges, security, ...file}: FederationFile, source: string | undefined): Federation {
  return {
    ...file,
    ...(source ? {source} : {}),
    hub: resolveCluster(hub, 'hub'),
    edges: edges.map((edge) => resolveCluster(edge, 'edge')),
    security: {...security, pii: {...security.pii, allowKeys: [...new Set(security.pii.allowKeys)]}},
  }
}
