/**
 * A contract fake of Tempo 2 (Tempo is AGPL: nothing of it is built or copied here): it ingests
 * OTLP/HTTP traces at POST /v1/traces (its distributor's OTLP receiver; protobuf or JSON, gzip/
 * zstd) and answers the query API fedobs uses with Tempo's response shapes:
 *   GET /ready
 *   GET /api/search?q=<TraceQL>&limit=&start=&end=&spss=   → {traces: [{traceID, rootServiceName,
 *       rootTraceName, startTimeUnixNano, durationMs, spanSet, spanSets}], metrics}
 *   GET /api/traces/<traceID>                                → {batches: [...]} (ids base64, as Tempo's jsonpb)
 *   GET /api/search/tags, /api/v2/search/tags
 *   GET /api/search/tag/<tag>/values                         → {tagValues: ["..."]}
 *   GET /api/v2/search/tag/<scope.tag>/values                → {tagValues: [{type, value}]}
 * Search results give trace ids in hex without leading zeros, as Tempo does.
 */
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {closeServer, guarded, HttpError, listen, LOOPBACK, receiveOtlp, sendJson, sendText} from './net.js'
import {attributeMap, parseTracesRequest, type KeyValue, type Resource, type Scope, type Span, type TracesRequest} from './otlp.js'
import {parseTraceQL, type SpanContext} from './traceql.js'
import {PushBack} from './pushback.js'

interface StoredSpan {
  span: Span
  resource: Resource
  scope: Scope | undefined
}

export interface TempoStats {
  requests: number
  /** Spans accepted (duplicates included). */
  spans: number
  /** Spans whose trace and span id were already stored: Tempo's combiner shows them once. */
  duplicates: number
  rejected: number
  bytes: number
  /** Accepted requests by encoding, e.g. {"application/x-protobuf; gzip": 3}. */
  formats: Record<string, number>
}

const STATUS = ['unset', 'ok', 'error']
const KIND = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer']

export class FakeTempo {
  private server: Server | undefined
  port = 0
  /** Answer pushes with this status instead of storing them: a backend outage. */
  fault: number | undefined
  /** Tempo's limits: 429 with Retry-After while throttled, 413 above a request size (pushback.ts). */
  readonly pushBack: PushBack = new PushBack((bytes, max) => `request body of ${bytes} bytes too large (max: ${max})`)
  readonly stats: TempoStats = {requests: 0, spans: 0, duplicates: 0, rejected: 0, bytes: 0, formats: {}}
  /** Every query-API request received (not pushes, not /ready), in order: what a client asked at the wire. */
  readonly apiRequests: Array<{method: string; path: string; params: URLSearchParams}> = []
  private readonly traces = new Map<string, Map<string, StoredSpan>>()

  get url(): string {
    return `http://${LOOPBACK}:${this.port}`
  }

  /** The OTLP traces endpoint, as the gateway's otlp_http/tempo exporter is configured. */
  get otlpTracesUrl(): string {
    return `${this.url}/v1/traces`
  }

  async start(port = this.port): Promise<this> {
    this.server = createServer(guarded((req, res, url) => this.route(req, res, url)))
    this.port = await listen(this.server, port)
    return this
  }

  async close(): Promise<void> {
    if (this.server) await closeServer(this.server)
  }

  /** Number of distinct spans stored. */
  get spanCount(): number {
    let n = 0
    for (const spans of this.traces.values()) n += spans.size
    return n
  }

  /** Number of distinct spans stored whose resource attributes satisfy `predicate`. */
  spanCountWhere(predicate: (resource: Record<string, string>) => boolean): number {
    let n = 0
    for (const spans of this.traces.values()) for (const stored of spans.values()) if (predicate(attributeMap(stored.resource.attributes))) n++
    return n
  }

  ingest(request: TracesRequest): number {
    let count = 0
    for (const rs of request.resourceSpans ?? []) {
      const resource = rs.resource ?? {attributes: []}
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) {
          const trace = this.traces.get(span.traceId) ?? new Map<string, StoredSpan>()
          this.traces.set(span.traceId, trace)
          if (trace.has(span.spanId)) this.stats.duplicates++
          else trace.set(span.spanId, {span, resource, scope: ss.scope})
          count++
        }
      }
    }
    this.stats.spans += count
    return count
  }

  // ---------------------------------------------------------------- HTTP

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname
    const params = url.searchParams
    if (path === '/ready') return sendText(res, 200, 'ready\n')
    if (path !== '/v1/traces') this.apiRequests.push({method: req.method ?? '', path, params: new URLSearchParams(url.searchParams)})
    if (path === '/v1/traces' && req.method === 'POST') return this.push(req, res)
    if (req.method !== 'GET') throw new HttpError(405, 'method not allowed')
    if (path === '/api/search') return sendJson(res, 200, this.search(params))
    if (path === '/api/search/tags') return sendJson(res, 200, {tagNames: this.tagNames('any'), metrics: {inspectedBytes: '0'}})
    if (path === '/api/v2/search/tags') {
      const scopes = ['resource', 'span'].map((name) => ({name, tags: this.tagNames(name as 'resource' | 'span')}))
      return sendJson(res, 200, {
        scopes: [...scopes, {name: 'intrinsic', tags: ['duration', 'kind', 'name', 'rootName', 'rootServiceName', 'status', 'statusMessage', 'traceDuration']}],
        metrics: {inspectedBytes: '0'},
      })
    }
    let m = /^\/api\/search\/tag\/([^/]+)\/values$/.exec(path)
    if (m) return sendJson(res, 200, {tagValues: this.tagValues(decodeURIComponent(m[1]!)), metrics: {inspectedBytes: '0'}})
    m = /^\/api\/v2\/search\/tag\/([^/]+)\/values$/.exec(path)
    if (m) return sendJson(res, 200, {tagValues: this.tagValues(decodeURIComponent(m[1]!)).map((value) => ({type: 'string', value})), metrics: {inspectedBytes: '0'}})
    m = /^\/api\/traces\/([0-9a-fA-F]{1,32})$/.exec(path)
    if (m) {
      const trace = this.trace(m[1]!)
      if (!trace) throw new HttpError(404, 'trace not found')
      return sendJson(res, 200, trace)
    }
    throw new HttpError(404, '404 page not found')
  }

  private async push(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = await receiveOtlp(req, this, 'traces', parseTracesRequest, (bytes) =>
      this.pushBack.refuse(res, bytes, 'RATE_LIMITED: ingestion rate limit (local: 15000000 bytes, burst size: 20000000 bytes) exceeded while adding spans'),
    )
    if (!request) return
    this.ingest(request)
    // An OTLP/HTTP receiver answers an empty ExportTraceServiceResponse in the request's encoding.
    if (/json/i.test(req.headers['content-type'] ?? '')) return sendJson(res, 200, {})
    res.writeHead(200, {'content-type': 'application/x-protobuf', 'content-length': 0}).end()
  }

  /** GET /api/search: traces with a span (per spanset) matching the TraceQL query, newest first. */
  search(params: URLSearchParams): unknown {
    const query = parseTraceQL(params.get('q') ?? '{}')
    const limit = Number(params.get('limit') ?? 20)
    const spss = Number(params.get('spss') ?? 3)
    const start = params.has('start') ? BigInt(params.get('start')!) * 1_000_000_000n : undefined
    const end = params.has('end') ? BigInt(params.get('end')!) * 1_000_000_000n : undefined
    const found: Array<{startNanos: bigint; result: unknown}> = []
    for (const [traceId, spans] of this.traces) {
      const stored = [...spans.values()]
      const startNanos = stored.reduce((min, s) => (BigInt(s.span.startTimeUnixNano) < min ? BigInt(s.span.startTimeUnixNano) : min), BigInt(stored[0]!.span.startTimeUnixNano))
      const endNanos = stored.reduce((max, s) => (BigInt(s.span.endTimeUnixNano) > max ? BigInt(s.span.endTimeUnixNano) : max), 0n)
      if ((start !== undefined && endNanos < start) || (end !== undefined && startNanos > end)) continue
      const root = stored.find((s) => !s.span.parentSpanId)
      const rootName = root?.span.name ?? ''
      const rootServiceName = root ? (attributeMap(root.resource.attributes)['service.name'] ?? '') : ''
      const contexts = stored.map((s) => ({stored: s, context: spanContext(s, rootName, rootServiceName)}))
      const matchedSets = query.spansets.map((set) => contexts.filter((c) => set.condition(c.context)))
      const hit = query.join === '&&' ? matchedSets.every((m) => m.length > 0) : matchedSets.some((m) => m.length > 0)
      if (!hit) continue
      const spanSets = matchedSets
        .filter((m) => m.length > 0)
        .map((matched) => ({
          spans: matched.slice(0, spss).map(({stored: s}) => ({
            spanID: s.span.spanId,
            name: s.span.name,
            startTimeUnixNano: s.span.startTimeUnixNano,
            durationNanos: (BigInt(s.span.endTimeUnixNano) - BigInt(s.span.startTimeUnixNano)).toString(),
            attributes: queriedAttributes(query.attributes, s),
          })),
          matched: matched.length,
        }))
      found.push({
        startNanos,
        result: {
          traceID: traceId.replace(/^0+/, ''),
          rootServiceName: root ? rootServiceName : '<root span not yet received>',
          ...(root ? {rootTraceName: rootName} : {}),
          startTimeUnixNano: startNanos.toString(),
          durationMs: Number((endNanos - startNanos) / 1_000_000n),
          spanSet: spanSets[0],
          spanSets,
        },
      })
    }
    found.sort((a, b) => (a.startNanos > b.startNanos ? -1 : a.startNanos < b.startNanos ? 1 : 0))
    return {traces: found.slice(0, limit).map((f) => f.result), metrics: {inspectedTraces: this.traces.size, inspectedBytes: String(this.stats.bytes), completedJobs: 1, totalJobs: 1}}
  }

  /** GET /api/traces/<id>: the trace as Tempo's v1 JSON, {batches: [ResourceSpans]}, or undefined. */
  trace(id: string): unknown {
    const spans = this.traces.get(id.toLowerCase().padStart(32, '0'))
    if (!spans) return undefined
    const batches = new Map<Resource, Map<Scope | undefined, Span[]>>()
    for (const s of spans.values()) {
      const scopes = batches.get(s.resource) ?? new Map<Scope | undefined, Span[]>()
      batches.set(s.resource, scopes)
      scopes.set(s.scope, [...(scopes.get(s.scope) ?? []), s.span])
    }
    const b64 = (hexId: string | undefined): string | undefined => (hexId ? Buffer.from(hexId, 'hex').toString('base64') : undefined)
    return {
      batches: [...batches].map(([resource, scopes]) => ({
        resource,
        scopeSpans: [...scopes].map(([scope, list]) => ({
          scope: scope ?? {},
          // jsonpb: bytes as base64, enums by name.
          spans: list.map((span) => ({
            ...span,
            traceId: b64(span.traceId),
            spanId: b64(span.spanId),
            ...(span.parentSpanId ? {parentSpanId: b64(span.parentSpanId)} : {}),
            kind: `SPAN_KIND_${KIND[span.kind ?? 0]!.toUpperCase()}`,
            ...(span.status ? {status: {...span.status, code: `STATUS_CODE_${STATUS[span.status.code ?? 0]!.toUpperCase()}`}} : {}),
          })),
        })),
      })),
    }
  }

  private tagNames(scope: 'resource' | 'span' | 'any'): string[] {
    const names = new Set<string>()
    for (const spans of this.traces.values()) {
      for (const s of spans.values()) {
        if (scope !== 'span') for (const kv of s.resource.attributes) names.add(kv.key)
        if (scope !== 'resource') for (const kv of s.span.attributes ?? []) names.add(kv.key)
      }
    }
    return [...names].sort()
  }

  /** Values of a tag: "resource.x" and "span.x" are scoped, a bare name looks in both scopes. */
  tagValues(tag: string): string[] {
    const scope = tag.startsWith('resource.') ? 'resource' : tag.startsWith('span.') ? 'span' : 'any'
    const name = scope === 'any' ? tag.replace(/^\./, '') : tag.slice(scope.length + 1)
    const values = new Set<string>()
    for (const spans of this.traces.values()) {
      for (const s of spans.values()) {
        const fromResource = scope !== 'span' ? attributeMap(s.resource.attributes)[name] : undefined
        const fromSpan = scope !== 'resource' ? attributeMap(s.span.attributes)[name] : undefined
        for (const v of [fromResource, fromSpan]) if (v !== undefined) values.add(v)
      }
    }
    return [...values].sort()
  }
}

function spanContext(s: StoredSpan, rootName: string, rootServiceName: string): SpanContext {
  return {
    resource: attributeMap(s.resource.attributes),
    span: attributeMap(s.span.attributes),
    name: s.span.name,
    status: STATUS[s.span.status?.code ?? 0] ?? 'unset',
    kind: KIND[s.span.kind ?? 0] ?? 'unspecified',
    durationNanos: BigInt(s.span.endTimeUnixNano) - BigInt(s.span.startTimeUnixNano),
    rootName,
    rootServiceName,
  }
}

/** The attributes a query named, from the span or its resource, as Tempo lists them on matched spans. */
function queriedAttributes(refs: Array<{scope: string; name: string}>, s: StoredSpan): KeyValue[] {
  const out: KeyValue[] = []
  for (const ref of refs) {
    if (ref.scope === 'intrinsic') continue
    const from = ref.scope === 'resource' ? s.resource.attributes : ref.scope === 'span' ? (s.span.attributes ?? []) : [...(s.span.attributes ?? []), ...s.resource.attributes]
    const kv = from.find((a) => a.key === ref.name)
    if (kv && !out.some((o) => o.key === kv.key)) out.push(kv)
  }
  return out
}
