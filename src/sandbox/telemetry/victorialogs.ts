/**
 * The test bed's real log store: VictoriaLogs (Apache-2.0, built by scripts/testbed/build-logs.sh).
 * Loki itself is AGPL and on this machine's not-to-use list, so nothing of it is built; the
 * pipeline's logs are stored and counted in a real store instead, and only Loki's LogQL query API
 * (which VictoriaLogs does not serve) stays a contract fake (fake-loki.ts).
 *
 * The gateway's rendered `otlp_http/loki` exporter posts to `<loki>/otlp/v1/logs`; VictoriaLogs
 * ingests OTLP at `/insert/opentelemetry/v1/logs`. Rather than rewrite the rendered endpoint (the
 * config under test), LokiFront stands at the Loki Service address and maps that one path:
 *
 *   gateway ─ POST /otlp/v1/logs ─▶ LokiFront ─▶ fake Loki  (Loki's limits: 429/413; LogQL copy)
 *                                         └─ accepted ─▶ VictoriaLogs /insert/opentelemetry/v1/logs
 *                                                          (its answer goes back to the gateway)
 *   anything else (GET /loki/api/v1/…) ─▶ fake Loki (the LogQL contract `fedobs verify` speaks)
 *
 * The body and its Content-Type/Content-Encoding pass through untouched.
 */
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {mkdirSync} from 'node:fs'
import path from 'node:path'
import {closeServer, freePort, guarded, getJson, httpOk, listen, LOOPBACK, readBody} from './net.js'
import {ManagedProcess} from './processes.js'

export interface LogCount {
  /** Rows stored. */
  total: number
  /** Distinct (stream, timestamp, line): what Loki would show (it drops exact duplicates). */
  unique: number
}

/** A VictoriaLogs single-node process on loopback with its own data directory. */
export class VictoriaLogs {
  readonly process: ManagedProcess
  readonly url: string

  private constructor(
    binary: string,
    dir: string,
    readonly port: number,
  ) {
    this.url = `http://${LOOPBACK}:${port}`
    mkdirSync(path.join(dir, 'data'), {recursive: true})
    this.process = new ManagedProcess({
      name: 'victorialogs',
      command: binary,
      args: [
        `-httpListenAddr=${LOOPBACK}:${port}`,
        `-storageDataPath=${path.join(dir, 'data')}`,
        // Records up to a week old are accepted (the default); tests stamp "now".
        '-retentionPeriod=7d',
        '-loggerLevel=INFO',
      ],
      logFile: path.join(dir, 'victorialogs.log'),
      ready: () => httpOk(`${this.url}/health`),
      readyTimeoutMs: 60_000,
    })
  }

  static async start(binary: string, dir: string): Promise<VictoriaLogs> {
    const store = new VictoriaLogs(binary, dir, await freePort())
    await store.process.start()
    return store
  }

  /** The OTLP/HTTP logs ingest endpoint. */
  get otlpLogsUrl(): string {
    return `${this.url}/insert/opentelemetry/v1/logs`
  }

  /** Make everything ingested so far searchable now (VictoriaLogs otherwise flushes every few seconds). */
  async flush(): Promise<void> {
    const response = await fetch(`${this.url}/internal/force_flush`, {signal: AbortSignal.timeout(10_000)})
    await response.arrayBuffer()
    if (!response.ok) throw new Error(`VictoriaLogs force_flush: ${response.status}`)
  }

  /** A LogsQL query over all stored time: the result rows (JSON lines). */
  async query(logsql: string, limit?: number): Promise<Array<Record<string, string>>> {
    const params = new URLSearchParams({query: logsql, ...(limit !== undefined ? {limit: String(limit)} : {})})
    const response = await fetch(`${this.url}/select/logsql/query`, {method: 'POST', body: params, signal: AbortSignal.timeout(30_000)})
    const text = await response.text()
    if (!response.ok) throw new Error(`LogsQL ${logsql}: ${response.status} ${text}`)
    return text
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as Record<string, string>)
  }

  /**
   * Log records stored for a LogsQL filter (e.g. `"cluster.id":="fed-observability-remote"`),
   * after a flush: all rows, and the distinct (stream, time, line) ones.
   */
  async count(filter = '*'): Promise<LogCount> {
    await this.flush()
    const rows = await this.query(`${filter} | stats count() as total, count_uniq(_stream_id, _time, _msg) as uniq`)
    const row = rows[0] ?? {}
    return {total: Number(row.total ?? 0), unique: Number(row.uniq ?? 0)}
  }

  /** Log records stored for one cluster (its `cluster.id` resource attribute). */
  countCluster(clusterId: string): Promise<LogCount> {
    return this.count(`${JSON.stringify('cluster.id')}:=${JSON.stringify(clusterId)}`)
  }

  /** Requests VictoriaLogs answered on its OTLP endpoint, from its own /metrics. */
  async otlpRequests(): Promise<number> {
    const {body} = await getJson(`${this.url}/metrics`)
    const m = /^vl_http_requests_total\{path="\/insert\/opentelemetry\/v1\/logs",format="protobuf"\} (\d+)/m.exec(String(body))
    return m ? Number(m[1]) : 0
  }

  async close(): Promise<void> {
    await this.process.stop(10_000)
  }
}

export interface LokiFrontStats {
  /** Pushes received at /otlp/v1/logs. */
  pushes: number
  /** Pushes the fake Loki refused (its answer, e.g. 429 or 413, went back to the sender). */
  refusedByLoki: Record<string, number>
  /** Pushes forwarded to VictoriaLogs, by its answer ("204", "502 unreachable" ...). */
  stored: Record<string, number>
}

/** The transparent front at the Loki Service address (see the file comment). */
export class LokiFront {
  private server: Server | undefined
  port = 0
  readonly stats: LokiFrontStats = {pushes: 0, refusedByLoki: {}, stored: {}}

  constructor(
    /** Base URL of the fake Loki (Loki's limits and the LogQL contract). */
    private readonly lokiUrl: string,
    private readonly store: VictoriaLogs,
  ) {}

  get url(): string {
    return `http://${LOOPBACK}:${this.port}`
  }

  async start(port = this.port): Promise<this> {
    this.server = createServer(guarded((req, res, url) => this.route(req, res, url)))
    this.port = await listen(this.server, port)
    return this
  }

  async close(): Promise<void> {
    if (this.server) await closeServer(this.server)
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req)
    const headers = pick(req.headers, ['content-type', 'content-encoding', 'x-loki-response-encoding-flags', 'accept'])
    const toLoki = await forward(`${this.lokiUrl}${url.pathname}${url.search}`, req.method ?? 'GET', headers, body)
    if (url.pathname !== '/otlp/v1/logs' || req.method !== 'POST') return reply(res, toLoki)
    this.stats.pushes++
    if (toLoki.status < 200 || toLoki.status > 299) {
      this.stats.refusedByLoki[toLoki.status] = (this.stats.refusedByLoki[toLoki.status] ?? 0) + 1
      return reply(res, toLoki)
    }
    const stored = await forward(this.store.otlpLogsUrl, 'POST', headers, body)
    const key = stored.unreachable ? `${stored.status} unreachable` : String(stored.status)
    this.stats.stored[key] = (this.stats.stored[key] ?? 0) + 1
    reply(res, stored)
  }
}

interface Forwarded {
  status: number
  headers: Record<string, string>
  body: Buffer
  unreachable?: boolean
}

async function forward(url: string, method: string, headers: Record<string, string>, body: Buffer | undefined): Promise<Forwarded> {
  try {
    const response = await fetch(url, {method, headers, body, signal: AbortSignal.timeout(30_000)})
    const out: Record<string, string> = {}
    for (const name of ['content-type', 'retry-after']) {
      const value = response.headers.get(name)
      if (value) out[name] = value
    }
    return {status: response.status, headers: out, body: Buffer.from(await response.arrayBuffer())}
  } catch (error) {
    // What a reverse proxy answers when its upstream is down: the collector retries a 502.
    return {status: 502, headers: {'content-type': 'text/plain'}, body: Buffer.from(`upstream ${url}: ${(error as Error).message}\n`), unreachable: true}
  }
}

function reply(res: ServerResponse, forwarded: Forwarded): void {
  res.writeHead(forwarded.status, {...forwarded.headers, 'content-length': forwarded.body.length})
  res.end(forwarded.body)
}

function pick(headers: IncomingMessage['headers'], names: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of names) {
    const value = headers[name]
    if (typeof value === 'string') out[name] = value
  }
  return out
}
