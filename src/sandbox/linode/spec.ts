/**
 * The official Linode OpenAPI spec as validators: what a request may carry, what a response must look like.
 */
import {createHash, randomUUID} from 'node:crypto'
import {readFileSync, renameSync, writeFileSync} from 'node:fs'
import {isIP} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Ajv, type ErrorObject, type ValidateFunction} from 'ajv'
import {parse} from 'yaml'
import {isObject, toJsonSchema, type ConvertOptions, type Json, type JsonObject} from './openapi.js'
import {applySpecPatches, paginationParameters, xFilterSchema} from './spec-patches.js'
import {PACKAGE_ROOT} from '../binaries.js'

export const SPEC_FILE = join(PACKAGE_ROOT, 'src/sandbox/linode/spec/linode-openapi-v4.189.0.yaml')

export interface ApiError {
  field?: string
  reason: string
}

/** The parsed spec, cached as JSON in the temp dir by content hash (YAML parsing takes ~1-2 s). */
export function readSpecFile(file = SPEC_FILE): JsonObject {
  const bytes = readFileSync(file)
  const cache = join(tmpdir(), `fedobs-linode-spec-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.json`)
  try {
    const cached: unknown = JSON.parse(readFileSync(cache, 'utf8'))
    if (isObject(cached) && isObject(cached.paths)) return cached
  } catch {
    // missing or torn: parse again below
  }
  const spec = parse(bytes.toString('utf8')) as JsonObject
  const partial = `${cache}.${process.pid}.${randomUUID()}.tmp`
  writeFileSync(partial, JSON.stringify(spec))
  renameSync(partial, cache)
  return spec
}

let loaded: JsonObject | undefined

/** The patched spec (see spec-patches.ts), loaded once per process. */
export function spec(): JsonObject {
  loaded ??= applySpecPatches(readSpecFile())
  return loaded
}

// ---------------------------------------------------------------- operations

interface Parameter {
  name: string
  in: string
  required?: boolean
  schema?: Json
}

export interface Operation {
  method: string
  template: string
  operationId: string
  public: boolean
  parameters: Parameter[]
  list: boolean
  raw: JsonObject
}

const operations = new Map<string, Operation>()

/** `template` is the spec's path (`/{apiVersion}/lke/clusters`); the `/{apiVersion}` prefix may be left out. */
export function operation(method: string, template: string): Operation {
  const path = template.startsWith('/{apiVersion}') ? template : `/{apiVersion}${template}`
  const key = `${method.toLowerCase()} ${path}`
  const known = operations.get(key)
  if (known) return known
  const item = spec().paths
  const pathItem = isObject(item) ? item[path] : undefined
  const raw = isObject(pathItem) ? pathItem[method.toLowerCase()] : undefined
  if (!isObject(pathItem) || !isObject(raw)) throw new Error(`the spec has no operation ${method.toUpperCase()} ${path}`)
  const declared = [...asParameters(pathItem.parameters), ...asParameters(raw.parameters)]
  const list = isListResponse(raw)
  const parameters = list ? mergeParameters(declared, asParameters(paginationParameters(spec()))) : declared
  const op: Operation = {
    method: method.toUpperCase(),
    template: path,
    operationId: typeof raw.operationId === 'string' ? raw.operationId : key,
    // No `security` on the operation (and none at the top level) means anonymous access is allowed.
    public: raw.security === undefined && spec().security === undefined,
    parameters,
    list,
    raw,
  }
  operations.set(key, op)
  return op
}

function asParameters(value: Json | undefined): Parameter[] {
  return Array.isArray(value) ? value.filter(isObject).map((p) => p as unknown as Parameter) : []
}

function mergeParameters(declared: Parameter[], extra: Parameter[]): Parameter[] {
  return [...declared, ...extra.filter((e) => !declared.some((d) => d.name === e.name && d.in === e.in))]
}

function successSchema(raw: JsonObject): JsonObject | undefined {
  const responses = isObject(raw.responses) ? raw.responses : {}
  const ok = responses['200']
  const content = isObject(ok) && isObject(ok.content) ? ok.content['application/json'] : undefined
  return isObject(content) && isObject(content.schema) ? content.schema : undefined
}

function isListResponse(raw: JsonObject): boolean {
  const schema = successSchema(raw)
  const properties = schema && isObject(schema.properties) ? schema.properties : {}
  return isObject(properties.data) && properties.data.type === 'array' && 'pages' in properties
}

/** Fields the spec marks `__Filterable__` on the items of a list answer. */
export function filterableFields(method: string, template: string): Set<string> {
  const schema = successSchema(operation(method, template).raw)
  const data = schema && isObject(schema.properties) ? schema.properties.data : undefined
  const items = isObject(data) && isObject(data.items) && isObject(data.items.properties) ? data.items.properties : {}
  const fields = new Set<string>()
  for (const [name, property] of Object.entries(items)) {
    if (isObject(property) && typeof property.description === 'string' && property.description.includes('__Filterable__')) fields.add(name)
  }
  return fields
}

// ---------------------------------------------------------------- Ajv

const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$/

function newAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({allErrors: true, verbose: true, strict: true, strictTypes: false, strictTuples: false, strictRequired: false, allowUnionTypes: true, coerceTypes})
  // The API writes timestamps without a zone ("2025-01-02T03:04:05", UTC); the spec says date-time.
  ajv.addFormat('date-time', DATE_TIME)
  ajv.addFormat('ip', (value: string) => isIP(value) !== 0)
  ajv.addFormat('ipv4', (value: string) => isIP(value) === 4)
  ajv.addFormat('ipv6', (value: string) => isIP(value) === 6)
  ajv.addFormat('url', (value: string) => URL.canParse(value))
  for (const loose of [
    'uuid',
    'email',
    'phone',
    'digits',
    'binary',
    'byte',
    'base64',
    'password',
    'MM/YYYY',
    'oauth-scope',
    'oauth-scopes',
    'ssl-cert',
    'ssl-key',
    'ssh-key',
    'ip/netmask',
    'ipv4/prefix_length',
    'ipv6/prefix_length',
    'ipv4|ipv6/prefix_length',
    'ipv6/128',
  ]) {
    ajv.addFormat(loose, true)
  }
  return ajv
}

const bodyAjv = newAjv(false)
const paramAjv = newAjv(true)
const validators = new Map<string, ValidateFunction>()

function compiled(key: string, ajv: Ajv, build: () => Json): ValidateFunction {
  let fn = validators.get(key)
  if (!fn) {
    fn = ajv.compile(build() as object)
    validators.set(key, fn)
  }
  return fn
}

function convert(schema: Json, options: ConvertOptions): Json {
  return toJsonSchema(schema, spec(), options)
}

// ---------------------------------------------------------------- requests

export interface RequestInput {
  method: string
  template: string
  pathParams: Record<string, string>
  query: URLSearchParams
  /** The raw X-Filter header, if any. */
  xFilter?: string
  /** The parsed JSON body; undefined when there was none. */
  body?: unknown
}

export interface CheckedRequest {
  errors: ApiError[]
  path: Record<string, unknown>
  query: Record<string, unknown>
  filter?: JsonObject
}

export function validateRequest(input: RequestInput): CheckedRequest {
  const op = operation(input.method, input.template)
  const errors: ApiError[] = []
  const path: Record<string, unknown> = {...input.pathParams}
  const query: Record<string, unknown> = {}
  for (const [name, value] of input.query) if (!(name in query)) query[name] = value

  for (const where of ['path', 'query'] as const) {
    const target = where === 'path' ? path : query
    const check = compiled(`${op.method} ${op.template} ${where}`, paramAjv, () => parameterSchema(op, where))
    if (!check(target)) errors.push(...toApiErrors(check.errors ?? []))
  }

  let filter: JsonObject | undefined
  if (input.xFilter !== undefined && op.list) {
    let parsed: unknown
    try {
      parsed = JSON.parse(input.xFilter)
    } catch {
      errors.push({field: 'X-Filter', reason: 'X-Filter must be valid JSON'})
    }
    if (parsed !== undefined) {
      const check = compiled('X-Filter', bodyAjv, () => convert(xFilterSchema(spec()), {direction: 'request'}))
      if (!isObject(parsed) || !check(parsed)) errors.push({field: 'X-Filter', reason: 'X-Filter must be a JSON object of filter and sort criteria'})
      else filter = parsed
    }
  }

  const bodySchema = requestBodySchema(op)
  if (bodySchema !== undefined) {
    const check = compiled(`${op.method} ${op.template} body`, bodyAjv, () => convert(bodySchema, {direction: 'request'}))
    if (!check(input.body ?? {})) errors.push(...toApiErrors(check.errors ?? []))
  }
  return {errors: dedupe(errors), path, query, ...(filter ? {filter} : {})}
}

function parameterSchema(op: Operation, where: 'path' | 'query'): Json {
  const properties: JsonObject = {}
  const required: string[] = []
  for (const p of op.parameters.filter((q) => q.in === where)) {
    properties[p.name] = p.schema ?? {}
    if (p.required) required.push(p.name)
  }
  return convert({type: 'object', properties, ...(required.length > 0 ? {required} : {})}, {direction: 'request'})
}

function requestBodySchema(op: Operation): Json | undefined {
  const body = op.raw.requestBody
  const content = isObject(body) && isObject(body.content) ? body.content['application/json'] : undefined
  return isObject(content) ? content.schema : undefined
}

/** Ajv's errors in the API's words: `{field: "node_pools[0].count", reason: "count must be between 1 and 100"}`. */
export function toApiErrors(errors: ErrorObject[]): ApiError[] {
  return errors
    .filter((e) => !['anyOf', 'oneOf', 'if'].includes(e.keyword))
    .map((e) => {
      const segments = e.instancePath
        .split('/')
        .slice(1)
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      const params = e.params as Record<string, unknown>
      if (e.keyword === 'required') segments.push(String(params.missingProperty))
      if (e.keyword === 'additionalProperties') segments.push(String(params.additionalProperty))
      const field = segments.reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), '')
      const name = [...segments].reverse().find((s) => !/^\d+$/.test(s)) ?? 'value'
      return {...(field ? {field} : {}), reason: reasonFor(e, name)}
    })
}

function reasonFor(e: ErrorObject, name: string): string {
  const params = e.params as Record<string, unknown>
  const schema = e.parentSchema as {minimum?: number; maximum?: number} | undefined
  switch (e.keyword) {
    case 'required':
      return `${name} is required`
    case 'additionalProperties':
      return `${name} is not a recognized field`
    case 'type':
      return `${name} must be of type ${String(params.type).replace(',', ' or ')}`
    case 'enum':
      return `${name} must be one of: ${(params.allowedValues as unknown[]).map(String).join(', ')}`
    case 'minimum':
    case 'maximum':
      return schema?.minimum !== undefined && schema.maximum !== undefined
        ? `${name} must be between ${schema.minimum} and ${schema.maximum}`
        : `${name} must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${String(params.limit)}`
    case 'maxLength':
      return `${name} must be ${String(params.limit)} characters or fewer`
    case 'minLength':
      return `${name} must be at least ${String(params.limit)} characters`
    case 'minItems':
      return `${name} must contain at least ${String(params.limit)} item(s)`
    case 'pattern':
      return `${name} does not match the required format`
    default:
      return `${name} ${e.message ?? 'is not valid'}`
  }
}

function dedupe(errors: ApiError[]): ApiError[] {
  const seen = new Set<string>()
  return errors.filter((e) => {
    const key = `${e.field ?? ''}\u0000${e.reason}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

// ---------------------------------------------------------------- responses

export interface ResponseCheckOptions {
  /**
   * Also require every property the spec declares (its response schemas require none). Error
   * objects keep `field` optional: the API leaves it out when no single field is at fault.
   */
  complete?: boolean
}

const OPTIONAL_WHEN_COMPLETE: ReadonlySet<string> = new Set(['field'])

/**
 * Problems of a response body against the spec's schema for that status; an empty list means
 * valid. Statuses the operation does not declare use its `default` response, or the spec's shared
 * `error-response` (7 operations, e.g. PUT /lke/clusters/{clusterId}, declare no `default`).
 */
export function validateResponse(method: string, template: string, status: number, body: unknown, options: ResponseCheckOptions = {}): string[] {
  const op = operation(method, template)
  const responses = isObject(op.raw.responses) ? op.raw.responses : {}
  const code = String(status) in responses ? String(status) : status >= 400 && 'default' in responses ? 'default' : status >= 400 ? 'error-response' : String(status)
  const components = spec().components
  const shared = isObject(components) && isObject(components.responses) ? components.responses : {}
  const response = code === 'error-response' ? shared['error-response'] : responses[code]
  const content = isObject(response) && isObject(response.content) ? response.content['application/json'] : undefined
  if (!isObject(content) || content.schema === undefined) {
    return [`${op.method} ${op.template} declares no JSON response for ${status}`]
  }
  const schema = content.schema
  const complete = options.complete === true
  const key = `${op.method} ${op.template} response ${code}${complete ? ' complete' : ''}`
  const check = compiled(key, bodyAjv, () => convert(schema, {direction: 'response', ...(complete ? {complete: {optional: OPTIONAL_WHEN_COMPLETE}} : {})}))
  if (check(body)) return []
  return (check.errors ?? []).map((e) => {
    const extra = e.keyword === 'additionalProperties' ? `: ${String((e.params as Record<string, unknown>).additionalProperty)}` : ''
    return `${status} ${e.instancePath || '/'} ${e.message ?? ''}${extra}`
  })
}
