/**
 * OTLP logs and traces for the fakes and the harness: the data model in its OTLP/JSON shape
 * (lowerCamelCase fields, hex trace and span ids, 64-bit integers as decimal strings), a decoder
 * for the protobuf encoding the collector's otlp_http exporter sends by default, and a tiny
 * OTLP/HTTP JSON client to put logs and spans into a collector's OTLP receiver.
 *
 * The protobuf decoder is hand-written against the stable field numbers of opentelemetry-proto
 * (logs/v1, trace/v1, common/v1, resource/v1): a few dozen lines instead of a protobuf runtime
 * plus vendored .proto files, and one in-memory shape for both encodings.
 */
import {randomBytes} from 'node:crypto'
import {HttpError} from './net.js'

// ---------------------------------------------------------------- model (OTLP/JSON shape)

export type AnyValue =
  | {stringValue: string}
  | {boolValue: boolean}
  | {intValue: string}
  | {doubleValue: number}
  | {arrayValue: {values: AnyValue[]}}
  | {kvlistValue: {values: KeyValue[]}}
  | {bytesValue: string}
  | Record<string, never>

export interface KeyValue {
  key: string
  value: AnyValue
}

export interface Resource {
  attributes: KeyValue[]
}

export interface Scope {
  name?: string
  version?: string
  attributes?: KeyValue[]
}

export interface LogRecord {
  timeUnixNano?: string
  observedTimeUnixNano?: string
  severityNumber?: number
  severityText?: string
  body?: AnyValue
  attributes?: KeyValue[]
  flags?: number
  traceId?: string
  spanId?: string
  eventName?: string
}

export interface ResourceLogs {
  resource?: Resource
  scopeLogs: Array<{scope?: Scope; logRecords: LogRecord[]; schemaUrl?: string}>
  schemaUrl?: string
}

export interface Span {
  traceId: string
  spanId: string
  traceState?: string
  parentSpanId?: string
  flags?: number
  name: string
  kind?: number
  startTimeUnixNano: string
  endTimeUnixNano: string
  attributes?: KeyValue[]
  events?: Array<{timeUnixNano?: string; name: string; attributes?: KeyValue[]}>
  links?: Array<{traceId: string; spanId: string; traceState?: string; attributes?: KeyValue[]; flags?: number}>
  status?: {message?: string; code?: number}
}

export interface ResourceSpans {
  resource?: Resource
  scopeSpans: Array<{scope?: Scope; spans: Span[]; schemaUrl?: string}>
  schemaUrl?: string
}

export interface LogsRequest {
  resourceLogs: ResourceLogs[]
}

export interface TracesRequest {
  resourceSpans: ResourceSpans[]
}

// ---------------------------------------------------------------- attribute helpers

/** An attribute value as a plain string (how Loki and Tempo compare them). */
export function anyValueText(value: AnyValue | undefined): string {
  if (!value) return ''
  if ('stringValue' in value) return value.stringValue
  if ('boolValue' in value) return String(value.boolValue)
  if ('intValue' in value) return String(value.intValue)
  if ('doubleValue' in value) return String(value.doubleValue)
  if ('bytesValue' in value) return value.bytesValue
  if ('arrayValue' in value) return JSON.stringify(value.arrayValue.values.map(anyValueText))
  if ('kvlistValue' in value) return JSON.stringify(attributeMap(value.kvlistValue.values))
  return ''
}

export function attributeMap(attributes: KeyValue[] | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const {key, value} of attributes ?? []) out[key] = anyValueText(value)
  return out
}

export function attributes(map: Record<string, string | number | boolean>): KeyValue[] {
  return Object.entries(map).map(([key, v]) => ({
    key,
    value: typeof v === 'string' ? {stringValue: v} : typeof v === 'boolean' ? {boolValue: v} : Number.isInteger(v) ? {intValue: String(v)} : {doubleValue: v},
  }))
}

// ---------------------------------------------------------------- requests in either encoding

/** Parse an OTLP/HTTP request body by Content-Type (protobuf, the collector's default, or JSON). */
export function parseLogsRequest(body: Buffer, contentType: string | undefined): LogsRequest {
  if (isJson(contentType)) return normalizeJson(JSON.parse(body.toString('utf8'))) as LogsRequest
  if (isProtobuf(contentType)) return {resourceLogs: repeated(body, 1, decodeResourceLogs)}
  throw new HttpError(415, `unsupported content type ${contentType}`)
}

export function parseTracesRequest(body: Buffer, contentType: string | undefined): TracesRequest {
  if (isJson(contentType)) return normalizeJson(JSON.parse(body.toString('utf8'))) as TracesRequest
  if (isProtobuf(contentType)) return {resourceSpans: repeated(body, 1, decodeResourceSpans)}
  throw new HttpError(415, `unsupported content type ${contentType}`)
}

const isJson = (contentType: string | undefined): boolean => /^application\/json\b/i.test(contentType ?? '')
const isProtobuf = (contentType: string | undefined): boolean => /^application\/(x-)?protobuf\b/i.test(contentType ?? '')

/** OTLP/JSON lets 64-bit integers be numbers or strings and ids any case: make them uniform. */
function normalizeJson(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => normalizeJson(v, key))
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalizeJson(v, k)]))
  }
  if (/UnixNano$|^intValue$/.test(key) && (typeof value === 'number' || typeof value === 'string')) return String(value)
  if (/^(traceId|spanId|parentSpanId)$/.test(key) && typeof value === 'string') return value.toLowerCase()
  if (/^(resourceLogs|scopeLogs|logRecords|resourceSpans|scopeSpans|spans)$/.test(key) && value === null) return []
  return value
}

// ---------------------------------------------------------------- protobuf wire format

type Field = {no: number; wire: 0; value: bigint} | {no: number; wire: 1; value: Buffer} | {no: number; wire: 2; value: Buffer} | {no: number; wire: 5; value: Buffer}

/** The fields of one message, in order (repeated fields appear once per element). */
function* fields(buf: Buffer): Generator<Field> {
  let pos = 0
  const varint = (): bigint => {
    let result = 0n
    for (let shift = 0n; ; shift += 7n) {
      if (pos >= buf.length) throw new HttpError(400, 'truncated protobuf varint')
      const byte = buf[pos++]!
      result |= BigInt(byte & 0x7f) << shift
      if (byte < 0x80) return result
    }
  }
  const take = (n: number): Buffer => {
    if (pos + n > buf.length) throw new HttpError(400, 'truncated protobuf field')
    const slice = buf.subarray(pos, pos + n)
    pos += n
    return slice
  }
  while (pos < buf.length) {
    const tag = Number(varint())
    const no = tag >>> 3
    const wire = tag & 7
    if (wire === 0) yield {no, wire, value: varint()}
    else if (wire === 1) yield {no, wire, value: take(8)}
    else if (wire === 2) yield {no, wire, value: take(Number(varint()))}
    else if (wire === 5) yield {no, wire, value: take(4)}
    else throw new HttpError(400, `unsupported protobuf wire type ${wire}`)
  }
}

function repeated<T>(buf: Buffer, no: number, decode: (b: Buffer) => T): T[] {
  const out: T[] = []
  for (const f of fields(buf)) if (f.no === no && f.wire === 2) out.push(decode(f.value))
  return out
}

const text = (f: Field): string => (f.value as Buffer).toString('utf8')
const hex = (f: Field): string => (f.value as Buffer).toString('hex')
const fixed64 = (f: Field): string => (f.value as Buffer).readBigUInt64LE(0).toString()
const fixed32 = (f: Field): number => (f.value as Buffer).readUInt32LE(0)
const uint = (f: Field): number => Number(f.value as bigint)

function decodeAnyValue(buf: Buffer): AnyValue {
  let value: AnyValue = {}
  for (const f of fields(buf)) {
    if (f.no === 1) value = {stringValue: text(f)}
    else if (f.no === 2) value = {boolValue: f.value !== 0n}
    else if (f.no === 3) value = {intValue: BigInt.asIntN(64, f.value as bigint).toString()}
    else if (f.no === 4) value = {doubleValue: (f.value as Buffer).readDoubleLE(0)}
    else if (f.no === 5) value = {arrayValue: {values: repeated(f.value as Buffer, 1, decodeAnyValue)}}
    else if (f.no === 6) value = {kvlistValue: {values: repeated(f.value as Buffer, 1, decodeKeyValue)}}
    else if (f.no === 7) value = {bytesValue: (f.value as Buffer).toString('base64')}
  }
  return value
}

function decodeKeyValue(buf: Buffer): KeyValue {
  const kv: KeyValue = {key: '', value: {}}
  for (const f of fields(buf)) {
    if (f.no === 1) kv.key = text(f)
    else if (f.no === 2) kv.value = decodeAnyValue(f.value as Buffer)
  }
  return kv
}

const decodeResource = (buf: Buffer): Resource => ({attributes: repeated(buf, 1, decodeKeyValue)})

function decodeScope(buf: Buffer): Scope {
  const scope: Scope = {attributes: repeated(buf, 3, decodeKeyValue)}
  for (const f of fields(buf)) {
    if (f.no === 1) scope.name = text(f)
    else if (f.no === 2) scope.version = text(f)
  }
  return omitEmpty(scope)
}

/**
 * Drop empty repeated fields and zero-length ids, which the protobuf encoder may write (the
 * collector sends an empty parent_span_id for a root span) and OTLP/JSON leaves out: both
 * encodings then decode to equal objects.
 */
function omitEmpty<T extends object>(message: T): T {
  for (const [key, value] of Object.entries(message)) {
    if ((Array.isArray(value) && value.length === 0) || (value === '' && /Id$/.test(key))) delete (message as Record<string, unknown>)[key]
  }
  return message
}

function decodeResourceLogs(buf: Buffer): ResourceLogs {
  const out: ResourceLogs = {scopeLogs: []}
  for (const f of fields(buf)) {
    if (f.no === 1) out.resource = decodeResource(f.value as Buffer)
    else if (f.no === 2) out.scopeLogs.push(decodeScopeLogs(f.value as Buffer))
    else if (f.no === 3) out.schemaUrl = text(f)
  }
  return out
}

function decodeScopeLogs(buf: Buffer): ResourceLogs['scopeLogs'][number] {
  const out: ResourceLogs['scopeLogs'][number] = {logRecords: []}
  for (const f of fields(buf)) {
    if (f.no === 1) out.scope = decodeScope(f.value as Buffer)
    else if (f.no === 2) out.logRecords.push(decodeLogRecord(f.value as Buffer))
    else if (f.no === 3) out.schemaUrl = text(f)
  }
  return out
}

function decodeLogRecord(buf: Buffer): LogRecord {
  const r: LogRecord = {attributes: []}
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1: r.timeUnixNano = fixed64(f); break
      case 2: r.severityNumber = uint(f); break
      case 3: r.severityText = text(f); break
      case 5: r.body = decodeAnyValue(f.value as Buffer); break
      case 6: r.attributes!.push(decodeKeyValue(f.value as Buffer)); break
      case 8: r.flags = fixed32(f); break
      case 9: r.traceId = hex(f); break
      case 10: r.spanId = hex(f); break
      case 11: r.observedTimeUnixNano = fixed64(f); break
      case 12: r.eventName = text(f); break
    }
  }
  return omitEmpty(r)
}

function decodeResourceSpans(buf: Buffer): ResourceSpans {
  const out: ResourceSpans = {scopeSpans: []}
  for (const f of fields(buf)) {
    if (f.no === 1) out.resource = decodeResource(f.value as Buffer)
    else if (f.no === 2) out.scopeSpans.push(decodeScopeSpans(f.value as Buffer))
    else if (f.no === 3) out.schemaUrl = text(f)
  }
  return out
}

function decodeScopeSpans(buf: Buffer): ResourceSpans['scopeSpans'][number] {
  const out: ResourceSpans['scopeSpans'][number] = {spans: []}
  for (const f of fields(buf)) {
    if (f.no === 1) out.scope = decodeScope(f.value as Buffer)
    else if (f.no === 2) out.spans.push(decodeSpan(f.value as Buffer))
    else if (f.no === 3) out.schemaUrl = text(f)
  }
  return out
}

function decodeSpan(buf: Buffer): Span {
  const s: Span = {traceId: '', spanId: '', name: '', startTimeUnixNano: '0', endTimeUnixNano: '0', attributes: [], events: [], links: []}
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1: s.traceId = hex(f); break
      case 2: s.spanId = hex(f); break
      case 3: s.traceState = text(f); break
      case 4: s.parentSpanId = hex(f); break
      case 5: s.name = text(f); break
      case 6: s.kind = uint(f); break
      case 7: s.startTimeUnixNano = fixed64(f); break
      case 8: s.endTimeUnixNano = fixed64(f); break
      case 9: s.attributes!.push(decodeKeyValue(f.value as Buffer)); break
      case 11: s.events!.push(decodeEvent(f.value as Buffer)); break
      case 13: s.links!.push(decodeLink(f.value as Buffer)); break
      case 15: s.status = decodeStatus(f.value as Buffer); break
      case 16: s.flags = fixed32(f); break
    }
  }
  return omitEmpty(s)
}

function decodeEvent(buf: Buffer): NonNullable<Span['events']>[number] {
  const e: NonNullable<Span['events']>[number] = {name: '', attributes: repeated(buf, 3, decodeKeyValue)}
  for (const f of fields(buf)) {
    if (f.no === 1) e.timeUnixNano = fixed64(f)
    else if (f.no === 2) e.name = text(f)
  }
  return omitEmpty(e)
}

function decodeLink(buf: Buffer): NonNullable<Span['links']>[number] {
  const l: NonNullable<Span['links']>[number] = {traceId: '', spanId: '', attributes: repeated(buf, 4, decodeKeyValue)}
  for (const f of fields(buf)) {
    if (f.no === 1) l.traceId = hex(f)
    else if (f.no === 2) l.spanId = hex(f)
    else if (f.no === 3) l.traceState = text(f)
    else if (f.no === 6) l.flags = fixed32(f)
  }
  return omitEmpty(l)
}

function decodeStatus(buf: Buffer): NonNullable<Span['status']> {
  const s: NonNullable<Span['status']> = {}
  for (const f of fields(buf)) {
    if (f.no === 2) s.message = text(f)
    else if (f.no === 3) s.code = uint(f)
  }
  return s
}

// ---------------------------------------------------------------- client (OTLP/HTTP JSON)

/** POST an OTLP/HTTP JSON request (to a collector's otlp receiver, or straight to a fake). */
export async function postOtlpJson(url: string, request: LogsRequest | TracesRequest): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {'content-type': 'application/json'},
    body: JSON.stringify(request),
    signal: AbortSignal.timeout(10_000),
  })
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${await response.text()}`)
  await response.arrayBuffer()
}

export function nowNanos(offsetMs = 0): string {
  return (BigInt(Date.now() + offsetMs) * 1_000_000n).toString()
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex')
}

const SEVERITY: Record<string, number> = {TRACE: 1, DEBUG: 5, INFO: 9, WARN: 13, ERROR: 17, FATAL: 21}

/** Log lines from one resource, stamped now (one per millisecond so their order is kept). */
export function logsRequest(resource: Record<string, string>, lines: Array<string | {body: string; attributes?: Record<string, string>; severityText?: string}>): LogsRequest {
  const start = Date.now() - lines.length
  return {
    resourceLogs: [
      {
        resource: {attributes: attributes(resource)},
        scopeLogs: [
          {
            scope: {name: 'fedobs-telemetry-test'},
            logRecords: lines.map((line, i) => {
              const l = typeof line === 'string' ? {body: line} : line
              return {
                timeUnixNano: nowNanos(i - lines.length),
                observedTimeUnixNano: (BigInt(start + i) * 1_000_000n).toString(),
                severityNumber: SEVERITY[l.severityText ?? 'INFO'] ?? 9,
                severityText: l.severityText ?? 'INFO',
                body: {stringValue: l.body},
                attributes: attributes(l.attributes ?? {}),
              }
            }),
          },
        ],
      },
    ],
  }
}

/** A trace of `spans` spans (a root and its children) from one resource; returns the trace id too. */
export function traceRequest(resource: Record<string, string>, options: {spans?: number; name?: string; traceId?: string} = {}): {request: TracesRequest; traceId: string} {
  const traceId = options.traceId ?? randomHex(16)
  const rootId = randomHex(8)
  const count = options.spans ?? 3
  const start = Date.now() - 50
  const spans: Span[] = Array.from({length: count}, (_, i) => ({
    traceId,
    spanId: i === 0 ? rootId : randomHex(8),
    ...(i === 0 ? {} : {parentSpanId: rootId}),
    name: i === 0 ? (options.name ?? 'POST /v1/predict') : `tokenize-${i}`,
    kind: i === 0 ? 2 : 1,
    startTimeUnixNano: (BigInt(start + i) * 1_000_000n).toString(),
    endTimeUnixNano: (BigInt(start + 40 - i) * 1_000_000n).toString(),
    attributes: attributes(i === 0 ? {'http.request.method': 'POST', 'http.route': '/v1/predict', 'http.response.status_code': 200} : {step: i}),
    status: {code: 1},
  }))
  return {traceId, request: {resourceSpans: [{resource: {attributes: attributes(resource)}, scopeSpans: [{scope: {name: 'fedobs-telemetry-test'}, spans}]}]}}
}
