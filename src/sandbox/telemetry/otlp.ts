/**
 * The OTLP toolkit shared by the fakes, the harness and the benchmarks (scripts/bench-*.ts): the
 * data model of logs, traces and metrics in its OTLP/JSON shape (lowerCamelCase fields, hex trace
 * and span ids, 64-bit integers as decimal strings), a protobuf encoder and decoder for it (the
 * encoding the collector's otlp_http exporter sends by default), and a tiny OTLP/HTTP JSON client.
 *
 * Encoder and decoder are hand-written against the stable field numbers of opentelemetry-proto
 * (logs/v1, trace/v1, metrics/v1, common/v1, resource/v1) on the wire format of protobuf.ts: a few
 * dozen lines instead of a protobuf runtime plus vendored .proto files, and one in-memory shape
 * for both encodings. The Prometheus text exposition side of the toolkit is in sources.ts.
 */
import {randomBytes} from 'node:crypto'
import {HttpError} from './net.js'
import {double as writeDouble, fields, fixed32 as writeFixed32, fixed64 as writeFixed64, int64 as writeInt64, len, messages, ProtobufError, str, uint as writeUint, type Field} from './protobuf.js'

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

export interface NumberDataPoint {
  attributes?: KeyValue[]
  startTimeUnixNano?: string
  timeUnixNano: string
  asDouble?: number
  asInt?: string
  flags?: number
}

/** A metric: gauges and sums (what the benchmarks send; histograms are not modelled). */
export interface Metric {
  name: string
  description?: string
  unit?: string
  gauge?: {dataPoints: NumberDataPoint[]}
  sum?: {dataPoints: NumberDataPoint[]; aggregationTemporality?: number; isMonotonic?: boolean}
}

export interface ResourceMetrics {
  resource?: Resource
  scopeMetrics: Array<{scope?: Scope; metrics: Metric[]; schemaUrl?: string}>
  schemaUrl?: string
}

export interface LogsRequest {
  resourceLogs: ResourceLogs[]
}

export interface MetricsRequest {
  resourceMetrics: ResourceMetrics[]
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
  if ('intValue' in value) return value.intValue
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
  if (isProtobuf(contentType)) return badRequestIfMalformed(() => ({resourceLogs: decodeSignal(body, LOGS)}))
  throw new HttpError(415, `unsupported content type ${contentType}`)
}

export function parseTracesRequest(body: Buffer, contentType: string | undefined): TracesRequest {
  if (isJson(contentType)) return normalizeJson(JSON.parse(body.toString('utf8'))) as TracesRequest
  if (isProtobuf(contentType)) return badRequestIfMalformed(() => ({resourceSpans: decodeSignal(body, TRACES)}))
  throw new HttpError(415, `unsupported content type ${contentType}`)
}

export function parseMetricsRequest(body: Buffer, contentType: string | undefined): MetricsRequest {
  if (isJson(contentType)) return normalizeJson(JSON.parse(body.toString('utf8'))) as MetricsRequest
  if (isProtobuf(contentType)) return badRequestIfMalformed(() => ({resourceMetrics: decodeSignal(body, METRICS)}))
  throw new HttpError(415, `unsupported content type ${contentType}`)
}

function badRequestIfMalformed<T>(decode: () => T): T {
  try {
    return decode()
  } catch (error) {
    if (error instanceof ProtobufError) throw new HttpError(400, error.message)
    throw error
  }
}

const isJson = (contentType: string | undefined): boolean => /^application\/json\b/i.test(contentType ?? '')
const isProtobuf = (contentType: string | undefined): boolean => /^application\/(x-)?protobuf\b/i.test(contentType ?? '')

/** OTLP/JSON lets 64-bit integers be numbers or strings and ids any case: make them uniform. */
function normalizeJson(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => normalizeJson(v, key))
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalizeJson(v, k)]))
  }
  if (/UnixNano$|^(intValue|asInt)$/.test(key) && (typeof value === 'number' || typeof value === 'string')) return String(value)
  if (/^(traceId|spanId|parentSpanId)$/.test(key) && typeof value === 'string') return value.toLowerCase()
  if (/^(resourceLogs|scopeLogs|logRecords|resourceSpans|scopeSpans|spans|resourceMetrics|scopeMetrics|metrics|dataPoints)$/.test(key) && value === null) return []
  return value
}

// ---------------------------------------------------------------- protobuf decoding

function repeated<T>(buf: Buffer, no: number, decode: (b: Buffer) => T): T[] {
  return Array.from(messages(buf, no), decode)
}

const text = (f: Field): string => (f.value as Buffer).toString('utf8')
const hex = (f: Field): string => (f.value as Buffer).toString('hex')
const fixed64 = (f: Field): string => (f.value as Buffer).readBigUInt64LE(0).toString()
const fixed32 = (f: Field): number => (f.value as Buffer).readUInt32LE(0)
const uint = (f: Field): number => Number(f.value)

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
  return Object.fromEntries(Object.entries(message).filter(([key, value]) => !((Array.isArray(value) && value.length === 0) || (value === '' && /Id$/.test(key))))) as T
}

/**
 * Every signal has the same envelope: request { repeated Resource<Signal> = 1 }, Resource<Signal>
 * { resource = 1, repeated Scope<Signal> = 2, schema_url = 3 }, Scope<Signal> { scope = 1, repeated
 * item = 2, schema_url = 3 }. Only the names of the lists (scopeLogs/logRecords ...) and the item differ.
 */
interface Layout<R, I> {
  scopes: string
  items: string
  decode: (b: Buffer) => I
  encode: (item: I) => Buffer
  /** Never set: carries the per-resource type of the signal (ResourceLogs ...) for inference. */
  phantom?: R
}

type Entry = Record<string, unknown> & {resource?: Resource; schemaUrl?: string}

function decodeSignal<R, I>(body: Buffer, layout: Layout<R, I>): R[] {
  return repeated(body, 1, (resourceBuf) => {
    const entry: Entry = {[layout.scopes]: []}
    for (const f of fields(resourceBuf)) {
      if (f.no === 1) entry.resource = decodeResource(f.value as Buffer)
      else if (f.no === 3) entry.schemaUrl = text(f)
      else if (f.no === 2) {
        const scopeEntry: Entry = {[layout.items]: []}
        for (const g of fields(f.value as Buffer)) {
          if (g.no === 1) scopeEntry.scope = decodeScope(g.value as Buffer)
          else if (g.no === 2) (scopeEntry[layout.items] as I[]).push(layout.decode(g.value as Buffer))
          else if (g.no === 3) scopeEntry.schemaUrl = text(g)
        }
        ;(entry[layout.scopes] as Entry[]).push(scopeEntry)
      }
    }
    return entry as R
  })
}

function decodeLogRecord(buf: Buffer): LogRecord {
  const r: LogRecord = {attributes: []}
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1:
        r.timeUnixNano = fixed64(f)
        break
      case 2:
        r.severityNumber = uint(f)
        break
      case 3:
        r.severityText = text(f)
        break
      case 5:
        r.body = decodeAnyValue(f.value as Buffer)
        break
      case 6:
        r.attributes!.push(decodeKeyValue(f.value as Buffer))
        break
      case 8:
        r.flags = fixed32(f)
        break
      case 9:
        r.traceId = hex(f)
        break
      case 10:
        r.spanId = hex(f)
        break
      case 11:
        r.observedTimeUnixNano = fixed64(f)
        break
      case 12:
        r.eventName = text(f)
        break
    }
  }
  return omitEmpty(r)
}

function decodeSpan(buf: Buffer): Span {
  const s: Span = {traceId: '', spanId: '', name: '', startTimeUnixNano: '0', endTimeUnixNano: '0', attributes: [], events: [], links: []}
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1:
        s.traceId = hex(f)
        break
      case 2:
        s.spanId = hex(f)
        break
      case 3:
        s.traceState = text(f)
        break
      case 4:
        s.parentSpanId = hex(f)
        break
      case 5:
        s.name = text(f)
        break
      case 6:
        s.kind = uint(f)
        break
      case 7:
        s.startTimeUnixNano = fixed64(f)
        break
      case 8:
        s.endTimeUnixNano = fixed64(f)
        break
      case 9:
        s.attributes!.push(decodeKeyValue(f.value as Buffer))
        break
      case 11:
        s.events!.push(decodeEvent(f.value as Buffer))
        break
      case 13:
        s.links!.push(decodeLink(f.value as Buffer))
        break
      case 15:
        s.status = decodeStatus(f.value as Buffer)
        break
      case 16:
        s.flags = fixed32(f)
        break
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

function decodeMetric(buf: Buffer): Metric {
  const m: Metric = {name: ''}
  for (const f of fields(buf)) {
    if (f.no === 1) m.name = text(f)
    else if (f.no === 2) m.description = text(f)
    else if (f.no === 3) m.unit = text(f)
    else if (f.no === 5) m.gauge = {dataPoints: repeated(f.value as Buffer, 1, decodeNumberDataPoint)}
    else if (f.no === 7) {
      const sum: NonNullable<Metric['sum']> = {dataPoints: repeated(f.value as Buffer, 1, decodeNumberDataPoint)}
      for (const g of fields(f.value as Buffer)) {
        if (g.no === 2) sum.aggregationTemporality = uint(g)
        else if (g.no === 3) sum.isMonotonic = g.value !== 0n
      }
      m.sum = sum
    }
  }
  return m
}

function decodeNumberDataPoint(buf: Buffer): NumberDataPoint {
  const p: NumberDataPoint = {timeUnixNano: '0', attributes: repeated(buf, 7, decodeKeyValue)}
  for (const f of fields(buf)) {
    if (f.no === 2) p.startTimeUnixNano = fixed64(f)
    else if (f.no === 3) p.timeUnixNano = fixed64(f)
    else if (f.no === 4) p.asDouble = (f.value as Buffer).readDoubleLE(0)
    else if (f.no === 6) p.asInt = (f.value as Buffer).readBigInt64LE(0).toString()
    else if (f.no === 8) p.flags = uint(f)
  }
  return omitEmpty(p)
}

// ---------------------------------------------------------------- protobuf encoding

const concat = (parts: Array<Buffer | undefined | false>): Buffer => Buffer.concat(parts.filter((p): p is Buffer => p instanceof Buffer))
const optional = <T>(value: T | undefined, write: (v: T) => Buffer): Buffer | undefined => (value === undefined ? undefined : write(value))
const ids = (no: number, hexId: string | undefined): Buffer | undefined => (hexId ? len(no, Buffer.from(hexId, 'hex')) : undefined)
const nanos = (no: number, value: string | undefined): Buffer | undefined => optional(value, (v) => writeFixed64(no, BigInt(v)))

function encodeAnyValue(value: AnyValue): Buffer {
  if ('stringValue' in value) return str(1, value.stringValue)
  if ('boolValue' in value) return writeUint(2, value.boolValue ? 1 : 0)
  if ('intValue' in value) return writeInt64(3, BigInt(value.intValue))
  if ('doubleValue' in value) return writeDouble(4, value.doubleValue)
  if ('arrayValue' in value) return len(5, concat(value.arrayValue.values.map((v) => len(1, encodeAnyValue(v)))))
  if ('kvlistValue' in value) return len(6, concat(value.kvlistValue.values.map((kv) => len(1, encodeKeyValue(kv)))))
  if ('bytesValue' in value) return len(7, Buffer.from(value.bytesValue, 'base64'))
  return Buffer.alloc(0)
}

const encodeKeyValue = (kv: KeyValue): Buffer => concat([str(1, kv.key), len(2, encodeAnyValue(kv.value))])
const encodeAttributes = (no: number, list: KeyValue[] | undefined): Buffer[] => (list ?? []).map((kv) => len(no, encodeKeyValue(kv)))
const encodeResource = (resource: Resource | undefined): Buffer | undefined => optional(resource, (r) => len(1, concat(encodeAttributes(1, r.attributes))))
const encodeScope = (scope: Scope | undefined): Buffer | undefined =>
  optional(scope, (sc) => len(1, concat([optional(sc.name, (n) => str(1, n)), optional(sc.version, (v) => str(2, v)), ...encodeAttributes(3, sc.attributes)])))

function encodeLogRecord(r: LogRecord): Buffer {
  return concat([
    nanos(1, r.timeUnixNano),
    optional(r.severityNumber, (n) => writeUint(2, n)),
    optional(r.severityText, (t) => str(3, t)),
    optional(r.body, (b) => len(5, encodeAnyValue(b))),
    ...encodeAttributes(6, r.attributes),
    optional(r.flags, (f) => writeFixed32(8, f)),
    ids(9, r.traceId),
    ids(10, r.spanId),
    nanos(11, r.observedTimeUnixNano),
    optional(r.eventName, (n) => str(12, n)),
  ])
}

function encodeSpan(s: Span): Buffer {
  return concat([
    ids(1, s.traceId),
    ids(2, s.spanId),
    optional(s.traceState, (t) => str(3, t)),
    ids(4, s.parentSpanId),
    str(5, s.name),
    optional(s.kind, (k) => writeUint(6, k)),
    nanos(7, s.startTimeUnixNano),
    nanos(8, s.endTimeUnixNano),
    ...encodeAttributes(9, s.attributes),
    ...(s.events ?? []).map((e) => len(11, concat([nanos(1, e.timeUnixNano), str(2, e.name), ...encodeAttributes(3, e.attributes)]))),
    ...(s.links ?? []).map((l) =>
      len(13, concat([ids(1, l.traceId), ids(2, l.spanId), optional(l.traceState, (t) => str(3, t)), ...encodeAttributes(4, l.attributes), optional(l.flags, (f) => writeFixed32(6, f))])),
    ),
    optional(s.status, (st) => len(15, concat([optional(st.message, (m) => str(2, m)), optional(st.code, (c) => writeUint(3, c))]))),
    optional(s.flags, (f) => writeFixed32(16, f)),
  ])
}

function encodeNumberDataPoint(p: NumberDataPoint): Buffer {
  return concat([
    ...encodeAttributes(7, p.attributes),
    nanos(2, p.startTimeUnixNano),
    nanos(3, p.timeUnixNano),
    optional(p.asDouble, (v) => writeDouble(4, v)),
    optional(p.asInt, (v) => writeFixed64(6, BigInt(v))),
    optional(p.flags, (f) => writeUint(8, f)),
  ])
}

function encodeMetric(m: Metric): Buffer {
  const points = (list: NumberDataPoint[]) => list.map((p) => len(1, encodeNumberDataPoint(p)))
  return concat([
    str(1, m.name),
    optional(m.description, (d) => str(2, d)),
    optional(m.unit, (u) => str(3, u)),
    optional(m.gauge, (g) => len(5, concat(points(g.dataPoints)))),
    optional(m.sum, (sum) => len(7, concat([...points(sum.dataPoints), optional(sum.aggregationTemporality, (t) => writeUint(2, t)), optional(sum.isMonotonic, (b) => writeUint(3, b ? 1 : 0))]))),
  ])
}

function encodeSignal<R, I>(entries: R[], layout: Layout<R, I>): Buffer {
  return concat(
    (entries as Entry[]).map((entry) =>
      len(
        1,
        concat([
          encodeResource(entry.resource),
          ...(entry[layout.scopes] as Entry[]).map((scope) =>
            len(2, concat([encodeScope(scope.scope as Scope | undefined), ...(scope[layout.items] as I[]).map((item) => len(2, layout.encode(item))), optional(scope.schemaUrl, (u) => str(3, u))])),
          ),
          optional(entry.schemaUrl, (u) => str(3, u)),
        ]),
      ),
    ),
  )
}

const LOGS: Layout<ResourceLogs, LogRecord> = {scopes: 'scopeLogs', items: 'logRecords', decode: decodeLogRecord, encode: encodeLogRecord}
const TRACES: Layout<ResourceSpans, Span> = {scopes: 'scopeSpans', items: 'spans', decode: decodeSpan, encode: encodeSpan}
const METRICS: Layout<ResourceMetrics, Metric> = {scopes: 'scopeMetrics', items: 'metrics', decode: decodeMetric, encode: encodeMetric}

/** An ExportLogsServiceRequest in protobuf, as a collector's otlp_http exporter sends it. */
export const encodeLogsRequest = (request: LogsRequest): Buffer => encodeSignal(request.resourceLogs, LOGS)
/** An ExportTraceServiceRequest in protobuf. */
export const encodeTracesRequest = (request: TracesRequest): Buffer => encodeSignal(request.resourceSpans, TRACES)
/** An ExportMetricsServiceRequest in protobuf. */
export const encodeMetricsRequest = (request: MetricsRequest): Buffer => encodeSignal(request.resourceMetrics, METRICS)

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
