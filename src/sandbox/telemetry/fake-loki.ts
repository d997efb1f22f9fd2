/**
 * A contract fake of Loki 3 (Loki is AGPL: nothing of it is built or copied here): it ingests
 * OTLP/HTTP logs at POST /otlp/v1/logs (protobuf or JSON, gzip/zstd) the way Loki's OTLP
 * endpoint maps them, and answers the query API fedobs uses with Loki's response shapes:
 * GET /ready, /loki/api/v1/query, /loki/api/v1/query_range, /loki/api/v1/labels and
 * /loki/api/v1/label/<name>/values.
 *
 * OTLP mapping (Loki's documented defaults): resource attributes in Loki's default index-label
 * list, plus those the config's otlp_config.resource_attributes.attributes_config marks
 * index_label, become stream labels with dots turned into underscores (cluster.id → cluster_id);
 * every other resource attribute, the scope, the log attributes, trace/span ids and severity
 * become structured metadata. service_name is always a stream label (discovered from other
 * labels, else "unknown_service"). The body is the line.
 */
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {evaluateMetric, labelKey, lineLabels, parseLogQL, parseDuration, passes, selectStreams, type Entry, type LogExpr, type MetricExpr, type Stream} from './logql.js'
import {closeServer, guarded, HttpError, listen, LOOPBACK, readBody, receiveOtlp, sendJson, sendText} from './net.js'
import {anyValueText, attributeMap, parseLogsRequest, type AnyValue, type LogsRequest} from './otlp.js'
import {PushBack} from './pushback.js'

/** Loki's default OTLP resource attributes stored as index labels (distributor otlp_config defaults). */
export const LOKI_DEFAULT_INDEX_ATTRIBUTES = [
  'cloud.availability_zone',
  'cloud.region',
  'container.name',
  'deployment.environment',
  'deployment.environment.name',
  'k8s.cluster.name',
  'k8s.container.name',
  'k8s.cronjob.name',
  'k8s.daemonset.name',
  'k8s.deployment.name',
  'k8s.job.name',
  'k8s.namespace.name',
  'k8s.pod.name',
  'k8s.replicaset.name',
  'k8s.statefulset.name',
  'service.instance.id',
  'service.name',
  'service.namespace',
]

/** limits_config.discover_service_name default: where service_name comes from without service.name. */
const DISCOVER_SERVICE_NAME = [
  'service',
  'app',
  'application',
  'app_name',
  'name',
  'app_kubernetes_io_name',
  'container',
  'container_name',
  'k8s_container_name',
  'component',
  'workload',
  'job',
  'k8s_job_name',
]

export interface FakeLokiOptions {
  /** Extra resource attributes to index (the config's attributes_config with action index_label). */
  indexAttributes?: string[]
}

/** The index_label attributes of a rendered Loki config (limits_config.otlp_config). */
export function indexAttributesOf(lokiConfig: any): string[] {
  const configs = lokiConfig?.limits_config?.otlp_config?.resource_attributes?.attributes_config ?? []
  return (configs as Array<{action: string; attributes?: string[]}>).filter((c) => c.action === 'index_label').flatMap((c) => c.attributes ?? [])
}

export interface LokiStats {
  /** Push requests accepted. */
  requests: number
  /** Log records accepted (duplicates included). */
  records: number
  /** Records identical to one already stored (same stream, timestamp and line): Loki shows them once. */
  duplicates: number
  /** Push requests answered with an error (fault injected, undecodable ...). */
  rejected: number
  bytes: number
  /** Accepted requests by encoding, e.g. {"application/x-protobuf; gzip": 3}. */
  formats: Record<string, number>
}

const labelName = (attribute: string): string => attribute.replace(/[^a-zA-Z0-9_]/g, '_')

export class FakeLoki {
  private server: Server | undefined
  port = 0
  /** Answer pushes with this status (429, 503 ...) instead of storing them: a backend outage. */
  fault: number | undefined
  /** Loki's limits: 429 with Retry-After while throttled, 413 above a message size (pushback.ts). */
  readonly pushBack: PushBack = new PushBack((bytes, max) => `message size ${bytes} bytes too large (max: ${max})`)
  readonly stats: LokiStats = {requests: 0, records: 0, duplicates: 0, rejected: 0, bytes: 0, formats: {}}
  /** Every query-API request received (not pushes, not /ready), in order: what a client asked at the wire. */
  readonly apiRequests: Array<{method: string; path: string; params: URLSearchParams}> = []
  private readonly streams = new Map<string, Stream & {seen: Set<string>}>()
  private readonly indexed: Set<string>

  constructor(options: FakeLokiOptions = {}) {
    this.indexed = new Set([...LOKI_DEFAULT_INDEX_ATTRIBUTES, ...(options.indexAttributes ?? [])])
  }

  get url(): string {
    return `http://${LOOPBACK}:${this.port}`
  }

  /** Index these resource attributes too (a Loki whose configuration is read after the start). */
  index(attributes: string[]): void {
    for (const a of attributes) this.indexed.add(a)
  }

  /** The OTLP logs endpoint, as the gateway's otlp_http/loki exporter is configured. */
  get otlpLogsUrl(): string {
    return `${this.url}/otlp/v1/logs`
  }

  async start(port = this.port): Promise<this> {
    this.server = createServer(guarded((req, res, url) => this.route(req, res, url)))
    this.port = await listen(this.server, port)
    return this
  }

  async close(): Promise<void> {
    if (this.server) await closeServer(this.server)
  }

  /** Every stored stream (labels and entries, oldest first). */
  allStreams(): Stream[] {
    return [...this.streams.values()].map(({labels, entries}) => ({labels, entries: [...entries].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0))}))
  }

  /** Store an OTLP logs request as Loki's OTLP endpoint would. */
  ingest(request: LogsRequest): number {
    let count = 0
    for (const rl of request.resourceLogs ?? []) {
      const labels: Record<string, string> = {}
      const resourceMetadata: Record<string, string> = {}
      for (const [key, value] of Object.entries(attributeMap(rl.resource?.attributes))) {
        if (this.indexed.has(key)) labels[labelName(key)] = value
        else resourceMetadata[labelName(key)] = value
      }
      if (!labels.service_name) {
        const found = DISCOVER_SERVICE_NAME.find((name) => labels[name])
        labels.service_name = found ? labels[found]! : 'unknown_service'
      }
      const stream = this.stream(labels)
      for (const sl of rl.scopeLogs ?? []) {
        const scopeMetadata: Record<string, string> = {}
        if (sl.scope?.name) scopeMetadata.scope_name = sl.scope.name
        if (sl.scope?.version) scopeMetadata.scope_version = sl.scope.version
        for (const [key, value] of Object.entries(attributeMap(sl.scope?.attributes))) scopeMetadata[labelName(key)] = value
        for (const record of sl.logRecords ?? []) {
          const metadata: Record<string, string> = {...resourceMetadata, ...scopeMetadata}
          for (const [key, value] of Object.entries(attributeMap(record.attributes))) metadata[labelName(key)] = value
          if (record.traceId) metadata.trace_id = record.traceId
          if (record.spanId) metadata.span_id = record.spanId
          if (record.severityText) metadata.severity_text = record.severityText
          if (record.severityNumber) {
            metadata.severity_number = String(record.severityNumber)
            metadata.detected_level = levelOf(record.severityNumber)
          }
          if (record.observedTimeUnixNano && record.observedTimeUnixNano !== '0') metadata.observed_timestamp = record.observedTimeUnixNano
          const ts = [record.timeUnixNano, record.observedTimeUnixNano].find((t) => t && t !== '0')
          const entry: Entry = {ts: ts ? BigInt(ts) : BigInt(Date.now()) * 1_000_000n, line: bodyLine(record.body), metadata}
          const identity = `${entry.ts}\0${entry.line}`
          if (stream.seen.has(identity)) this.stats.duplicates++
          else {
            stream.seen.add(identity)
            stream.entries.push(entry)
          }
          count++
        }
      }
    }
    this.stats.records += count
    return count
  }

  private stream(labels: Record<string, string>): Stream & {seen: Set<string>} {
    const key = labelKey(labels)
    let stream = this.streams.get(key)
    if (!stream) this.streams.set(key, (stream = {labels, entries: [], seen: new Set()}))
    return stream
  }

  // ---------------------------------------------------------------- HTTP

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname
    if (path === '/ready') return sendText(res, 200, 'ready\n')
    if (path !== '/otlp/v1/logs') this.apiRequests.push({method: req.method ?? '', path, params: new URLSearchParams(url.searchParams)})
    if (path === '/otlp/v1/logs' && req.method === 'POST') return this.push(req, res)
    if (req.method !== 'GET' && req.method !== 'POST') throw new HttpError(405, 'method not allowed')
    const params = req.method === 'POST' && /form-urlencoded/.test(req.headers['content-type'] ?? '') ? new URLSearchParams((await readBody(req)).toString()) : url.searchParams
    if (path === '/loki/api/v1/query') return sendJson(res, 200, this.query(params))
    if (path === '/loki/api/v1/query_range') return sendJson(res, 200, this.queryRange(params, categorize(req)))
    if (path === '/loki/api/v1/labels') return sendJson(res, 200, {status: 'success', data: this.labelNames(params)})
    const values = /^\/loki\/api\/v1\/label\/([^/]+)\/values$/.exec(path)
    if (values) return sendJson(res, 200, {status: 'success', data: this.labelValues(decodeURIComponent(values[1]!), params)})
    throw new HttpError(404, '404 page not found')
  }

  private async push(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = await receiveOtlp(req, this, 'logs', parseLogsRequest, (bytes) =>
      this.pushBack.refuse(
        res,
        bytes,
        'Ingestion rate limit exceeded for user fake (limit: 4194304 bytes/sec) while attempting to ingest logs, reduce log volume or contact your Loki administrator to see if the limit can be increased',
      ),
    )
    if (!request) return
    this.ingest(request)
    // Loki answers every accepted push with 204 No Content (OTLP clients take any 2xx as success).
    res.writeHead(204).end()
  }

  /** GET /loki/api/v1/query: metric queries only (Loki 3 rejects log queries as instant queries). */
  query(params: URLSearchParams): unknown {
    const expr = parseLogQL(requiredQuery(params))
    if (expr.kind === 'log') throw new HttpError(400, 'log queries are not supported as an instant query type, please change your query to a range query type')
    const atMs = params.has('time') ? parseTime(params.get('time')!) : Date.now()
    const result = evaluateMetric(expr, this.allStreams(), atMs).map((s) => ({metric: s.labels, value: [atMs / 1000, String(s.value)]}))
    return success('vector', result, result.length)
  }

  /** GET /loki/api/v1/query_range: streams for a log query, a matrix for a metric query. */
  queryRange(params: URLSearchParams, categorizeLabels = false): unknown {
    const expr = parseLogQL(requiredQuery(params))
    const endMs = params.has('end') ? parseTime(params.get('end')!) : Date.now()
    const startMs = params.has('start') ? parseTime(params.get('start')!) : endMs - (params.has('since') ? parseDuration(params.get('since')!) : 3_600_000)
    if (expr.kind === 'log') return this.logRange(expr, startMs, endMs, params, categorizeLabels)
    const stepMs = params.has('step') ? parseStep(params.get('step')!) : Math.max(1000, Math.floor((endMs - startMs) / 250 / 1000) * 1000)
    return this.matrix(expr, startMs, endMs, stepMs)
  }

  private logRange(expr: LogExpr, startMs: number, endMs: number, params: URLSearchParams, categorizeLabels: boolean): unknown {
    const limit = Number(params.get('limit') ?? 100)
    const forward = (params.get('direction') ?? 'backward').toLowerCase() === 'forward'
    const from = BigInt(startMs) * 1_000_000n
    const to = BigInt(endMs) * 1_000_000n
    const picked: Array<{stream: Stream; entry: Entry}> = []
    for (const stream of selectStreams(this.allStreams(), expr)) {
      for (const entry of stream.entries) if (entry.ts >= from && entry.ts < to && passes(expr, stream, entry)) picked.push({stream, entry})
    }
    picked.sort((a, b) => (a.entry.ts === b.entry.ts ? 0 : a.entry.ts < b.entry.ts === forward ? -1 : 1))
    // Without categorize-labels, Loki 3 folds structured metadata into the labels of each result
    // stream; with it, the stream keeps its own labels and each entry carries a third element.
    const out = new Map<string, {stream: Record<string, string>; values: unknown[]}>()
    for (const {stream, entry} of picked.slice(0, limit)) {
      const labels = categorizeLabels ? stream.labels : lineLabels(stream, entry)
      const key = labelKey(labels)
      const group = out.get(key) ?? {stream: labels, values: []}
      group.values.push(categorizeLabels ? [String(entry.ts), entry.line, Object.keys(entry.metadata).length > 0 ? {structuredMetadata: entry.metadata} : {}] : [String(entry.ts), entry.line])
      out.set(key, group)
    }
    const result = [...out.values()]
    const body = success('streams', result, Math.min(limit, picked.length)) as {data: Record<string, unknown>}
    if (categorizeLabels) body.data.encodingFlags = ['categorize-labels']
    return body
  }

  private matrix(expr: MetricExpr, startMs: number, endMs: number, stepMs: number): unknown {
    const series = new Map<string, {metric: Record<string, string>; values: Array<[number, string]>}>()
    const streams = this.allStreams()
    for (let t = startMs; t <= endMs; t += stepMs) {
      for (const sample of evaluateMetric(expr, streams, t)) {
        const key = labelKey(sample.labels)
        const s = series.get(key) ?? {metric: sample.labels, values: []}
        s.values.push([t / 1000, String(sample.value)])
        series.set(key, s)
      }
    }
    const result = [...series.values()]
    return success('matrix', result, result.length)
  }

  /** Index label names (stream labels), as /labels lists them; structured metadata is not a label here. */
  labelNames(params: URLSearchParams): string[] {
    const names = new Set<string>()
    for (const stream of this.streamsIn(params)) for (const name of Object.keys(stream.labels)) names.add(name)
    return [...names].sort()
  }

  labelValues(name: string, params: URLSearchParams): string[] {
    const values = new Set<string>()
    let streams = this.streamsIn(params)
    if (params.has('query')) {
      const expr = parseLogQL(params.get('query')!)
      if (expr.kind !== 'log') throw new HttpError(400, 'the query parameter of label values must be a stream selector')
      streams = selectStreams(streams, expr)
    }
    for (const stream of streams) if (stream.labels[name] !== undefined) values.add(stream.labels[name])
    return [...values].sort()
  }

  /** Streams with an entry in [start, end] (default: the last 6 hours, Loki's default for label queries). */
  private streamsIn(params: URLSearchParams): Stream[] {
    const endMs = params.has('end') ? parseTime(params.get('end')!) : Date.now()
    const startMs = params.has('start') ? parseTime(params.get('start')!) : endMs - 6 * 3_600_000
    const from = BigInt(startMs) * 1_000_000n
    const to = BigInt(endMs) * 1_000_000n
    return this.allStreams().filter((s) => s.entries.some((e) => e.ts >= from && e.ts <= to))
  }
}

// ---------------------------------------------------------------- helpers

function success(resultType: 'streams' | 'matrix' | 'vector', result: unknown[], entries: number): unknown {
  return {
    status: 'success',
    data: {
      resultType,
      result,
      // Loki always sends statistics; a summary is what clients read from them.
      stats: {
        summary: {
          bytesProcessedPerSecond: 0,
          linesProcessedPerSecond: 0,
          totalBytesProcessed: 0,
          totalLinesProcessed: entries,
          execTime: 0.001,
          queueTime: 0,
          subqueries: 0,
          totalEntriesReturned: entries,
          splits: 0,
          shards: 0,
          totalPostFilterLines: entries,
          totalStructuredMetadataBytesProcessed: 0,
        },
      },
    },
  }
}

function categorize(req: IncomingMessage): boolean {
  return String(req.headers['x-loki-response-encoding-flags'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .includes('categorize-labels')
}

function requiredQuery(params: URLSearchParams): string {
  const query = params.get('query')
  if (!query) throw new HttpError(400, 'query parameter is required')
  return query
}

/** Loki's time parameters: nanosecond (or second, with a fraction) Unix epochs, or RFC3339. */
export function parseTime(text: string): number {
  if (/^[0-9]+$/.test(text)) {
    const n = BigInt(text)
    if (text.length > 13) return Number(n / 1_000_000n) // nanoseconds
    return text.length > 10 ? Number(n) : Number(n) * 1000 // milliseconds / seconds
  }
  if (/^[0-9]+\.[0-9]+$/.test(text)) return Math.round(Number(text) * 1000)
  const ms = Date.parse(text)
  if (Number.isNaN(ms)) throw new HttpError(400, `cannot parse "${text}" to a valid timestamp`)
  return ms
}

function parseStep(text: string): number {
  if (/^[0-9]+(\.[0-9]+)?$/.test(text)) return Number(text) * 1000
  const ms = parseDuration(text)
  if (ms <= 0) throw new HttpError(400, `invalid step ${text}`)
  return ms
}

/** The line: a string body as it is, anything else as text (maps and arrays as JSON). */
function bodyLine(body: AnyValue | undefined): string {
  return anyValueText(body)
}

/** Loki's detected_level from an OTLP severity number. */
function levelOf(severity: number): string {
  if (severity <= 4) return 'trace'
  if (severity <= 8) return 'debug'
  if (severity <= 12) return 'info'
  if (severity <= 16) return 'warn'
  if (severity <= 20) return 'error'
  return 'critical'
}
