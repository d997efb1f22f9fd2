// Telemetry benchmarks on this machine, loopback only (measure and print; not a test).
//   node --import tsx scripts/bench-telemetry.ts        (needs the test-bed binaries and `npm run build`)
//
// 1. Gateway throughput with the gateway config fedobs renders (persistent file_storage queues,
//    memory_limiter, identity and resource/hub processors, no batch processor) in front of real
//    Prometheus 3 and a counting Tempo sink: concurrent OTLP/HTTP protobuf senders (what an edge
//    agent's batches look like: 1000 metric points or 500 spans per request, kept-alive
//    connections) at increasing rates. A rate counts as sustained when every request was accepted
//    (HTTP 200), the senders kept up (>= 95 % of the target), and every data point or span was
//    stored within DRAIN_MS of the step's end (the queue does not keep growing). Run twice, in the
//    same process: the default (mTLS, TLS 1.3, an identity token checked on every request) and
//    security.mtls: false (plaintext); reports each highest sustained rate, their ratio (target:
//    mTLS >= 90 % of plaintext) and the gateway's peak RSS (VmHWM).
// 2. `fedobs verify --json` (the built CLI, direct backend URLs) against a hub holding 1 cluster vs
//    100 clusters: every cluster's series (shaped like the synthetic sources' expositions, kubelet
//    stats, scrape series; the hub also gateway and Prometheus self-metrics), one log record and one
//    span each, sent through the gateway, each cluster with its own client certificate and identity
//    token (the gateway takes cluster.id from the token). Median of several interleaved runs;
//    target ratio <= 1.5.
//
// Every loop is bounded in count and time; every process started here is stopped at the end.
import {execFile} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {emitYaml} from '../src/lib/emit-yaml.js'
import type {K8sObject} from '../src/render/render.js'
import {configOf} from '../test/helpers/federation.js'
import {requireBinaries} from '../test/helpers/testbed.js'
import {FakeLoki, indexAttributesOf} from '../src/sandbox/telemetry/fake-loki.js'
import {FakeTempo} from '../src/sandbox/telemetry/fake-tempo.js'
import {Agent as HttpAgent, createServer, request as httpRequest, type Server} from 'node:http'
import {Agent as HttpsAgent, request as httpsRequest} from 'node:https'
import {TestPki} from '../test/helpers/pki.js'
import {closeServer, decodeContent, freePorts, getJson, guarded, httpOk, listen, LOOPBACK, readBody, sendText, sleep, waitFor} from '../src/sandbox/telemetry/net.js'
import {attributes, encodeMetricsRequest, encodeTracesRequest, logsRequest, randomHex, traceRequest, type Metric, type Span} from '../src/sandbox/telemetry/otlp.js'
import {GATEWAY_POD, loopbackVariant, renderForLoopback} from '../test/telemetry/pipeline.js'
import {ManagedProcess} from '../src/sandbox/telemetry/processes.js'
import {f64, lengthDelimited, messages, u64} from '../src/sandbox/telemetry/protobuf.js'
import {BertInferenceSource, DcgmExporterSource, KubeStateMetricsSource, parseExposition} from '../src/sandbox/telemetry/sources.js'

const root = fileURLToPath(new URL('../', import.meta.url))
const SENDERS = Number(process.env.BENCH_SENDERS ?? 8)
const STEP_MS = Number(process.env.BENCH_STEP_MS ?? 12_000)
const DRAIN_MS = 5000
const POINTS_PER_REQUEST = 1000
const SPANS_PER_REQUEST = 500
const METRIC_RATES = [20_000, 40_000, 80_000, 160_000, 320_000, 480_000, 640_000, 960_000, 1_280_000]
const SPAN_RATES = [5000, 10_000, 20_000, 40_000, 80_000, 120_000, 160_000, 240_000, 320_000]
const VERIFY_RUNS = Number(process.env.BENCH_RUNS ?? 7)
const VERIFY_CLUSTERS = 100

// ---------------------------------------------------------------- OTLP requests (the shared toolkit, src/sandbox/telemetry/otlp.ts)

/** One gauge per metric name, its points as given; one resource and scope per entry. */
function gaugeRequest(
  resources: Array<{resource: Record<string, string>; metrics: Array<{name: string; points: Array<{attributes: Record<string, string>; timeUnixNano: string; asDouble: number}>}>}>,
): Buffer {
  return encodeMetricsRequest({
    resourceMetrics: resources.map(({resource, metrics}) => ({
      resource: {attributes: attributes(resource)},
      scopeMetrics: [{scope: {name: 'fedobs-bench'}, metrics: metrics.map((m): Metric => ({name: m.name, gauge: {dataPoints: m.points.map((p) => ({...p, attributes: attributes(p.attributes)}))}}))}],
    })),
  })
}

/** A random 64-bit value as OTLP/JSON writes it, and its little-endian bytes (what the encoder writes). */
function randomNanos(): {text: string; bytes: Buffer} {
  const value = BigInt(`0x${randomHex(8)}`)
  return {text: value.toString(), bytes: u64(value)}
}

/**
 * A request encoded once with random sentinel bytes where timestamps, values and ids go, and the
 * offsets of those sentinels: each send copies it and patches them (fast enough to drive the
 * gateway without the sender becoming the bottleneck).
 */
class Template {
  readonly offsets: number[] = []

  constructor(
    readonly body: Buffer,
    sentinels: Buffer[],
  ) {
    let from = 0
    for (const s of sentinels) {
      const at = body.indexOf(s, from)
      if (at < 0) throw new Error('template sentinel not found')
      this.offsets.push(at)
      from = at + s.length
    }
  }
}

/** POINTS_PER_REQUEST gauge points: 20 metric names x 50 series, three labels each. */
function metricTemplate(step: string, sender: number, variant: number): Template {
  const sentinels: Buffer[] = []
  const metrics = Array.from({length: 20}, (_, m) => ({
    name: `bench_load_${m}`,
    points: Array.from({length: POINTS_PER_REQUEST / 20}, (_, i) => {
      const time = randomNanos()
      const value = Math.random()
      sentinels.push(time.bytes, f64(value))
      return {attributes: {step, series: `${sender}-${variant}-${m}-${i}`, pod: `bench-pod-${i % 10}`}, timeUnixNano: time.text, asDouble: value}
    }),
  }))
  const resource = {'service.name': 'bench-load', 'service.instance.id': `sender-${sender}`, 'cluster.id': `bench-edge-${sender}`, 'cluster.role': 'edge'}
  return new Template(gaugeRequest([{resource, metrics}]), sentinels)
}

/** SPANS_PER_REQUEST spans: traces of 5 spans (a server span and 4 children). */
function spanTemplate(sender: number): Template {
  const sentinels: Buffer[] = []
  const spans: Span[] = []
  for (let i = 0; i < SPANS_PER_REQUEST; i++) {
    const child = i % 5 !== 0
    const [traceId, spanId, parentSpanId] = [randomHex(16), randomHex(8), child ? randomHex(8) : undefined]
    const [start, end] = [randomNanos(), randomNanos()]
    spans.push({
      traceId,
      spanId,
      ...(parentSpanId ? {parentSpanId} : {}),
      name: child ? `tokenize-${i % 5}` : 'POST /v1/predict',
      kind: child ? 1 : 2,
      startTimeUnixNano: start.text,
      endTimeUnixNano: end.text,
      attributes: attributes(child ? {step: String(i % 5)} : {'http.request.method': 'POST', 'http.route': '/v1/predict', 'http.response.status_code': '200'}),
      status: {code: 1},
    })
    sentinels.push(Buffer.from(traceId, 'hex'), Buffer.from(spanId, 'hex'), ...(parentSpanId ? [Buffer.from(parentSpanId, 'hex')] : []), start.bytes, end.bytes)
  }
  const resource = {'service.name': 'bert-inference', 'service.instance.id': `sender-${sender}`, 'cluster.id': `bench-edge-${sender}`, 'cluster.role': 'edge'}
  return new Template(encodeTracesRequest({resourceSpans: [{resource: {attributes: attributes(resource)}, scopeSpans: [{scope: {name: 'fedobs-bench'}, spans}]}]}), sentinels)
}

let idCounter = BigInt(Date.now()) << 20n

function fillMetrics(t: Template, timeMs: number): Buffer {
  const body = Buffer.from(t.body)
  const time = BigInt(timeMs) * 1_000_000n
  for (let i = 0; i < t.offsets.length; i += 2) {
    body.writeBigUInt64LE(time, t.offsets[i])
    body.writeDoubleLE(Math.random() * 1000, t.offsets[i + 1])
  }
  return body
}

function fillSpans(t: Template): Buffer {
  const body = Buffer.from(t.body)
  const now = BigInt(Date.now()) * 1_000_000n
  let k = 0
  let traceId = 0n
  let rootId = 0n
  for (let i = 0; i < SPANS_PER_REQUEST; i++) {
    const child = i % 5 !== 0
    const id = ++idCounter
    if (!child) {
      traceId = id
      rootId = id
    }
    body.writeBigUInt64BE(0xfed0b5n, t.offsets[k])
    body.writeBigUInt64BE(traceId, t.offsets[k++]! + 8)
    body.writeBigUInt64BE(id, t.offsets[k++])
    if (child) body.writeBigUInt64BE(rootId, t.offsets[k++])
    body.writeBigUInt64LE(now - 50_000_000n, t.offsets[k++])
    body.writeBigUInt64LE(now, t.offsets[k++])
  }
  return body
}

// ---------------------------------------------------------------- the hub: gateway, Prometheus, sinks

/** What the hub's gateway exports traces to: the FakeTempo, or the counting sink below. */
interface TracesSink {
  port: number
  url: string
  start(): Promise<unknown>
  close(): Promise<void>
}

/**
 * A Tempo stand-in for the throughput run: answers POST /v1/traces like Tempo's OTLP receiver
 * (gzip or not), counts distinct spans (trace id + span id) with a minimal protobuf walk, keeps
 * nothing else. FakeTempo would build and keep millions of span objects, and its decoder (BigInt
 * varints) would be the bottleneck instead of the gateway.
 */
class CountingTempoSink implements TracesSink {
  private server: Server | undefined
  private readonly seen = new Set<string>()
  port = 0
  distinct = 0
  duplicates = 0
  requests = 0

  get url(): string {
    return `http://${LOOPBACK}:${this.port}`
  }

  async start(): Promise<this> {
    this.server = createServer(
      guarded(async (req, res, url) => {
        if (url.pathname === '/ready') return sendText(res, 200, 'ready\n')
        if (url.pathname !== '/v1/traces' || req.method !== 'POST') return sendText(res, 404, 'not found\n')
        const body = decodeContent(await readBody(req), req.headers['content-encoding'])
        this.requests++
        for (const rs of messages(body, 1)) for (const ss of messages(rs, 2)) for (const span of messages(ss, 2)) this.count(span)
        res.writeHead(200, {'content-type': 'application/x-protobuf', 'content-length': 0}).end()
      }),
    )
    this.port = await listen(this.server)
    return this
  }

  async close(): Promise<void> {
    if (this.server) await closeServer(this.server)
  }

  private count(span: Buffer): void {
    let traceId: Buffer | undefined
    let spanId: Buffer | undefined
    for (const [no, value] of lengthDelimited(span)) {
      if (no === 1) traceId = value
      else if (no === 2) spanId = value
    }
    const key = `${traceId?.toString('latin1')}${spanId?.toString('latin1')}`
    if (this.seen.has(key)) this.duplicates++
    else {
      this.seen.add(key)
      this.distinct++
    }
  }
}

interface Hub {
  dir: string
  mtls: boolean
  gateway: ManagedProcess
  prometheus: ManagedProcess
  loki: FakeLoki
  tempo: TracesSink
  prometheusUrl: string
  gatewayMetricsUrl: string
  /**
   * POST to the gateway's OTLP/HTTP receiver as `identity` would: with mTLS, over its own kept-alive
   * TLS connections with its client certificate and identity token (issued on first use).
   */
  post(path: string, body: Buffer | string, contentType: string, identity?: {name: string; role: 'hub' | 'edge'}): Promise<{status: number; body: string}>
  /**
   * Issue these identities' credentials now, then wait until the gateway trusts their CAs: it
   * re-reads its client-CA bundle at most once a second, on a handshake (a CA added just before a
   * first connection is refused with "unknown CA", as an edge connected a moment too early would be).
   */
  admit(identities: Array<{name: string; role: 'hub' | 'edge'}>): Promise<void>
  stop(): Promise<void>
}

const BENCH_SENDER = {name: 'bench-edge', role: 'edge' as const}

/** One kept-alive connection pool per identity, as each edge's collectors keep theirs. */
function gatewayPoster(base: string, pki: TestPki | undefined): Pick<Hub, 'post' | 'admit'> {
  const pools = new Map<string, Promise<{agent: HttpAgent; token?: string}>>()
  const pool = (identity: {name: string; role: 'hub' | 'edge'}) => {
    let found = pools.get(identity.name)
    if (!found) {
      found = (async () => {
        if (!pki) return {agent: new HttpAgent({keepAlive: true, maxSockets: 64})}
        const credentials = await pki.issue(identity)
        return {agent: new HttpsAgent({keepAlive: true, maxSockets: 64, ca: credentials.caCert, cert: credentials.cert, key: credentials.key}), token: credentials.token}
      })()
      pools.set(identity.name, found)
    }
    return found
  }
  const post: Hub['post'] = async (urlPath, body, contentType, identity = BENCH_SENDER) => {
    const {agent, token} = await pool(identity)
    const send = pki ? httpsRequest : httpRequest
    return new Promise((resolve, reject) => {
      const request = send(
        `${base}${urlPath}`,
        {method: 'POST', agent, headers: {'content-type': contentType, 'content-length': Buffer.byteLength(body), ...(token ? {authorization: `Bearer ${token}`} : {})}, timeout: 10_000},
        (response) => {
          const chunks: Buffer[] = []
          response.on('data', (c: Buffer) => chunks.push(c))
          response.on('end', () => resolve({status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8')}))
          response.on('error', reject)
        },
      )
      request.on('timeout', () => request.destroy(new Error('timeout')))
      request.on('error', reject)
      request.end(body)
    })
  }
  const admit: Hub['admit'] = async (identities) => {
    for (const identity of identities) await pool(identity)
    if (pki && identities.length > 0) await sleep(1500)
  }
  return {post, admit}
}

function containerArgs(objects: K8sObject[], name: string): string[] {
  const workload = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name) as any
  return workload.spec.template.spec.containers[0].args as string[]
}

/** The hub half of test/telemetry/pipeline.ts: the rendered gateway and Prometheus, and the sinks. */
async function startHub(binaries: Record<string, string>, tempo: TracesSink, options: {mtls: boolean} = {mtls: true}): Promise<Hub> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-bench-telemetry-'))
  const [promPort, gwGrpc, gwHttp, gwHealth, gwMetrics] = (await freePorts(5)) as [number, number, number, number, number]
  const {federation, hub} = renderForLoopback('30s', `${LOOPBACK}:${gwGrpc}`, `${LOOPBACK}:${gwGrpc}`, {mtls: options.mtls})
  // With mTLS: the gateway's certificate for its loopback address; senders get theirs on first use.
  const pki = options.mtls ? await TestPki.create(path.join(dir, 'pki'), federation.name, {gatewayAddresses: [LOOPBACK], clusters: []}) : undefined
  const loki = await new FakeLoki({indexAttributes: indexAttributesOf(configOf(hub.objects, 'loki-config', 'loki.yaml'))}).start()
  await tempo.start()
  const promDir = path.join(dir, 'prometheus')
  mkdirSync(path.join(promDir, 'data'), {recursive: true})
  writeFileSync(path.join(promDir, 'prometheus.yml'), emitYaml(configOf(hub.objects, 'prometheus-config', 'prometheus.yml')))
  const args = containerArgs(hub.objects, 'prometheus').map((a) =>
    a.startsWith('--config.file=') ? `--config.file=${promDir}/prometheus.yml` : a.startsWith('--storage.tsdb.path=') ? `--storage.tsdb.path=${promDir}/data` : a,
  )
  const prometheusUrl = `http://${LOOPBACK}:${promPort}`
  const prometheus = new ManagedProcess({
    name: 'prometheus',
    command: binaries.FEDOBS_PROMETHEUS!,
    args: [...args, `--web.listen-address=${LOOPBACK}:${promPort}`],
    logFile: path.join(dir, 'prometheus.log'),
    ready: () => httpOk(`${prometheusUrl}/-/ready`),
  })
  const gatewayConfig = loopbackVariant(configOf(hub.objects, 'otel-gateway-config', 'config.yaml'), {
    ports: {4317: gwGrpc, 4318: gwHttp, 13133: gwHealth, 8888: gwMetrics},
    services: {
      'prometheus.monitoring.svc.cluster.local:9090': `${LOOPBACK}:${promPort}`,
      'loki.monitoring.svc.cluster.local:3100': `${LOOPBACK}:${loki.port}`,
      'tempo.monitoring.svc.cluster.local:4318': `${LOOPBACK}:${tempo.port}`,
    },
    dataDir: path.join(dir, 'gateway'),
    ...(pki ? {mounts: pki.gatewayMounts()} : {}),
  })
  writeFileSync(path.join(dir, 'gateway.yaml'), emitYaml(gatewayConfig))
  const gateway = new ManagedProcess({
    name: 'gateway',
    command: binaries.FEDOBS_OTELCOL!,
    args: [`--config=${path.join(dir, 'gateway.yaml')}`],
    env: {POD_NAME: GATEWAY_POD},
    logFile: path.join(dir, 'gateway.log'),
    ready: () => httpOk(`http://${LOOPBACK}:${gwHealth}/`),
  })
  await prometheus.start()
  await gateway.start()
  return {
    dir,
    gateway,
    prometheus,
    loki,
    tempo,
    prometheusUrl,
    mtls: options.mtls,
    ...gatewayPoster(`${options.mtls ? 'https' : 'http'}://${LOOPBACK}:${gwHttp}`, pki),
    gatewayMetricsUrl: `http://${LOOPBACK}:${gwMetrics}/metrics`,
    async stop() {
      await gateway.stop(10_000)
      await prometheus.stop(10_000)
      await Promise.all([loki.close(), tempo.close()])
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

async function promScalar(hub: Hub, query: string): Promise<number> {
  const {status, body} = await getJson(`${hub.prometheusUrl}/api/v1/query?${new URLSearchParams({query})}`)
  if (status !== 200 || body.status !== 'success') throw new Error(`PromQL ${query}: ${status} ${JSON.stringify(body)}`)
  return body.data.result.length === 0 ? 0 : Number(body.data.result[0].value[1])
}

/** kB of a /proc/<pid>/status field (VmRSS, VmHWM). */
function procStatus(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number {
  if (!pid) return 0
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

/** CPU seconds (user + system) a process has used. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

async function queueSize(hub: Hub, exporter: string): Promise<number> {
  try {
    const text = await (await fetch(hub.gatewayMetricsUrl, {signal: AbortSignal.timeout(2000)})).text()
    const line = text.split('\n').find((l) => l.startsWith('otelcol_exporter_queue_size{') && l.includes(`exporter="${exporter}"`))
    return line ? Number(line.split(' ').at(-1)) : 0
  } catch {
    return -1
  }
}

// ---------------------------------------------------------------- 1. throughput

interface StepResult {
  kind: 'metrics' | 'spans'
  target: number
  achieved: number
  accepted: number
  refused: number
  stored: number
  drainMs: number | undefined
  queuePeak: number
  rssPeakMiB: number
  cpu: {gateway: number; prometheus: number; bench: number}
  sustained: boolean
  note: string
}

async function step(hub: Hub, kind: 'metrics' | 'spans', rate: number, index: number): Promise<StepResult> {
  const stepLabel = `s${index}`
  const perRequest = kind === 'metrics' ? POINTS_PER_REQUEST : SPANS_PER_REQUEST
  const intervalMs = (SENDERS * perRequest * 1000) / rate
  const urlPath = `/v1/${kind === 'metrics' ? 'metrics' : 'traces'}`
  const templates = Array.from({length: SENDERS}, (_, s) => (kind === 'metrics' ? [metricTemplate(stepLabel, s, 0), metricTemplate(stepLabel, s, 1)] : [spanTemplate(s)]))
  const exporter = kind === 'metrics' ? 'otlp_http/prometheus' : 'otlp_http/tempo'
  const tempo = hub.tempo as CountingTempoSink
  const spansBefore = tempo.distinct
  let accepted = 0
  let refused = 0
  const statuses: Record<string, number> = {}
  let queuePeak = 0
  let rssPeak = 0
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      queuePeak = Math.max(queuePeak, await queueSize(hub, exporter))
      rssPeak = Math.max(rssPeak, procStatus(hub.gateway.pid, 'VmRSS'))
      await sleep(500)
    }
  })()
  const cpu0 = {gateway: cpuSeconds(hub.gateway.pid), prometheus: cpuSeconds(hub.prometheus.pid), bench: process.cpuUsage()}
  const start = Date.now()
  const end = start + STEP_MS
  await Promise.all(
    templates.map(async (mine, s) => {
      let lastMs = 0
      // Stagger the senders across one interval, so requests arrive evenly.
      for (let i = 0; ; i++) {
        const due = start + (s * intervalMs) / SENDERS + i * intervalMs
        if (due >= end || Date.now() > end + 3000) break
        const wait = due - Date.now()
        if (wait > 0) await sleep(wait)
        const template = mine[i % mine.length]!
        lastMs = Math.max(Date.now(), lastMs + 1)
        const body = kind === 'metrics' ? fillMetrics(template, lastMs) : fillSpans(template)
        try {
          const response = await hub.post(urlPath, body, 'application/x-protobuf')
          statuses[response.status] = (statuses[response.status] ?? 0) + 1
          if (response.status === 200) accepted += perRequest
          else refused += perRequest
        } catch (error) {
          const key = `${(error as Error).name}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`
          statuses[key] = (statuses[key] ?? 0) + 1
          refused += perRequest
        }
      }
    }),
  )
  const elapsed = Date.now() - start
  const benchCpu = process.cpuUsage(cpu0.bench)
  const cpu = {
    gateway: (cpuSeconds(hub.gateway.pid) - cpu0.gateway) / (elapsed / 1000),
    prometheus: (cpuSeconds(hub.prometheus.pid) - cpu0.prometheus) / (elapsed / 1000),
    bench: (benchCpu.user + benchCpu.system) / 1e6 / (elapsed / 1000),
  }
  const stored = async (): Promise<number> => (kind === 'metrics' ? promScalar(hub, `sum(count_over_time({__name__=~"bench_load_.+", step="${stepLabel}"}[1h]))`) : tempo.distinct - spansBefore)
  // Everything accepted must arrive; sustained only if it arrived within DRAIN_MS of the step's end.
  const stepEnd = Date.now()
  let count = await stored()
  while (count < accepted && Date.now() - stepEnd < 60_000) {
    await sleep(500)
    count = await stored()
  }
  const drainMs = count >= accepted ? Date.now() - stepEnd : undefined
  sampling = false
  await sampler
  const achieved = accepted / (elapsed / 1000)
  const reasons = [
    refused > 0 ? `refused ${refused} (${JSON.stringify(statuses)})` : '',
    achieved < rate * 0.95 ? `senders reached ${Math.round((achieved / rate) * 100)} %` : '',
    drainMs === undefined ? `stored ${count} of ${accepted} after 60 s` : drainMs > DRAIN_MS ? `backlog took ${(drainMs / 1000).toFixed(1)} s to drain` : '',
    count > accepted ? `stored ${count - accepted} more than accepted` : '',
  ].filter(Boolean)
  return {kind, target: rate, achieved, accepted, refused, stored: count, drainMs, queuePeak, rssPeakMiB: rssPeak / 1024, cpu, sustained: reasons.length === 0, note: reasons.join('; ')}
}

async function ramp(hub: Hub, kind: 'metrics' | 'spans', rates: number[], offset: number): Promise<StepResult[]> {
  const results: StepResult[] = []
  const print = (r: StepResult) =>
    console.log(
      `  ${kind.padEnd(7)} ${String(r.target).padStart(7)}/s  achieved ${Math.round(r.achieved).toString().padStart(7)}/s  stored ${r.stored}/${r.accepted}  drain ${r.drainMs === undefined ? '  -  ' : `${(r.drainMs / 1000).toFixed(1)} s`}  queue peak ${r.queuePeak}  gateway RSS ${r.rssPeakMiB.toFixed(0)} MiB  CPU gw ${r.cpu.gateway.toFixed(2)} prom ${r.cpu.prometheus.toFixed(2)} bench ${r.cpu.bench.toFixed(2)}  ${r.sustained ? 'ok' : `NOT SUSTAINED: ${r.note}`}`,
    )
  for (const rate of rates) {
    const r = await step(hub, kind, rate, offset + results.length)
    print(r)
    results.push(r)
    if (!r.sustained) break
    await sleep(2000)
  }
  // One bisection between the last sustained rate and the first that was not.
  const failed = results.at(-1)
  const passed = results.filter((r) => r.sustained).at(-1)
  if (failed && !failed.sustained && passed) {
    await waitFor('the queue to drain before bisecting', async () => (await queueSize(hub, kind === 'metrics' ? 'otlp_http/prometheus' : 'otlp_http/tempo')) === 0, {
      timeoutMs: 90_000,
      intervalMs: 1000,
    }).catch(() => undefined)
    await sleep(2000)
    const mid = Math.round((passed.target + failed.target) / 2 / 1000) * 1000
    const r = await step(hub, kind, mid, offset + results.length)
    print(r)
    results.push(r)
  }
  return results
}

// ---------------------------------------------------------------- 2. verify: 1 vs 100 clusters

interface Series {
  name: string
  labels: Record<string, string>
}

/** What one cluster's scrape jobs serve, from the synthetic sources (one exposition each). */
async function sourceSeries(): Promise<Record<string, Series[]>> {
  const pod = (namespace: string, name: string, containers: string[]) => ({namespace, name, uid: `${name}-uid`, containers})
  const gpuNode = {
    node: 'bench-gpu',
    pods: [pod('bert-inference', 'bert-inference-0', ['bert-inference']), pod('observability', 'dcgm-exporter-0', ['dcgm-exporter']), pod('observability', 'otel-agent-0', ['otel-agent'])],
  }
  const otherNode = {node: 'bench-std', pods: [pod('observability', 'kube-state-metrics-0', ['kube-state-metrics'])]}
  const sources = [
    new BertInferenceSource({seed: 'bench'}),
    new DcgmExporterSource({node: gpuNode.node, allocatedTo: {namespace: 'bert-inference', pod: 'bert-inference-0', container: 'bert-inference'}}),
    new KubeStateMetricsSource([gpuNode, otherNode]),
  ]
  const out: Record<string, Series[]> = {}
  for (const source of sources) {
    await source.start()
    out[source.name] = parseExposition(await (await fetch(source.url)).text()).map(({name, labels}) => ({name, labels}))
    await source.close()
  }
  return out
}

const range = (n: number) => Array.from({length: n}, (_, i) => i)

/** Every series one cluster sends (per job), as the scraper, the agent and (hub) the self-scrapes produce them. */
function clusterSeries(role: 'hub' | 'edge', scraped: Record<string, Series[]>): Record<string, Series[]> {
  const jobs: Record<string, Series[]> = {}
  const relabel: Record<string, Record<string, string>> = {
    'bert-inference': {namespace: 'bert-inference', pod: 'bert-inference-0', service: 'bert-inference'},
    'dcgm-exporter': {node: 'bench-gpu', pod: 'dcgm-exporter-0'},
    'kube-state-metrics': {},
  }
  const scrape = (series: Series[]): Series[] => [
    ...series,
    ...['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added'].map((name) => ({name, labels: {}})),
  ]
  for (const [job, series] of Object.entries(scraped)) jobs[job] = scrape(series.map((s) => ({name: s.name, labels: {...s.labels, ...relabel[job]}})))
  // kubelet stats: a node, three pods, three containers (the agent's kubelet_stats groups).
  const nodeMetrics = [
    'cpu_usage',
    'cpu_time_seconds_total',
    'memory_working_set_bytes',
    'memory_available_bytes',
    'memory_usage_bytes',
    'memory_rss_bytes',
    'memory_page_faults_ratio',
    'memory_major_page_faults_ratio',
    'filesystem_usage_bytes',
    'filesystem_capacity_bytes',
    'filesystem_available_bytes',
    'uptime_seconds',
  ]
  const kubelet: Series[] = [
    ...nodeMetrics.map((m) => ({name: `k8s_node_${m}`, labels: {k8s_node_name: 'bench-gpu'}})),
    ...['receive', 'transmit'].flatMap((direction) =>
      ['network_io_bytes_total', 'network_errors_total'].map((m) => ({name: `k8s_node_${m}`, labels: {k8s_node_name: 'bench-gpu', direction, interface: 'eth0'}})),
    ),
    ...range(3).flatMap((p) => nodeMetrics.map((m) => ({name: `k8s_pod_${m}`, labels: {k8s_pod_name: `pod-${p}`, k8s_namespace_name: 'ns'}}))),
    ...range(3).flatMap((c) => nodeMetrics.slice(0, 8).map((m) => ({name: `container_${m}`, labels: {k8s_pod_name: `pod-${c}`, k8s_container_name: `container-${c}`}}))),
  ]
  jobs.kubeletstats = kubelet
  if (role === 'hub') {
    const exporters = ['otlp_http/prometheus', 'otlp_http/loki', 'otlp_http/tempo']
    jobs['otel-gateway'] = scrape([
      ...exporters.flatMap((exporter) => ['otelcol_exporter_queue_size', 'otelcol_exporter_queue_capacity'].map((name) => ({name, labels: {exporter}}))),
      ...exporters.flatMap((exporter) =>
        ['metric_points', 'log_records', 'spans'].flatMap((signal) =>
          [`otelcol_exporter_send_failed_${signal}_total`, `otelcol_exporter_sent_${signal}_total`].map((name) => ({name, labels: {exporter}})),
        ),
      ),
      ...range(120).map((i) => ({name: `otelcol_http_server_request_duration_seconds_bucket`, labels: {le: String(2 ** (i % 15)), route: `r${Math.floor(i / 15)}`}})),
    ])
    jobs.prometheus = scrape(range(300).map((i) => ({name: `prometheus_http_request_duration_seconds_bucket`, labels: {le: String(2 ** (i % 10)), handler: `/h${Math.floor(i / 10)}`}})))
  }
  return jobs
}

/** Send `times` points of every series of these clusters through the gateway (one request per cluster). */
async function ingestClusters(hub: Hub, clusters: Array<{name: string; role: 'hub' | 'edge'}>, scraped: Record<string, Series[]>, times: number[]): Promise<number> {
  await hub.admit(clusters)
  let points = 0
  for (const cluster of clusters) {
    const jobs = clusterSeries(cluster.role, scraped)
    const resources = Object.entries(jobs).map(([job, series]) => {
      const byName = new Map<string, Array<{attributes: Record<string, string>; timeUnixNano: string; asDouble: number}>>()
      for (const s of series) {
        const value = s.name === 'up' ? 1 : s.name === 'otelcol_exporter_queue_capacity' ? 5000 : s.name.startsWith('otelcol_exporter_') ? 0 : Math.random() * 100
        for (const t of times) byName.set(s.name, [...(byName.get(s.name) ?? []), {attributes: s.labels, timeUnixNano: (BigInt(t) * 1_000_000n).toString(), asDouble: value}])
      }
      points += series.length * times.length
      return {
        resource: {'service.name': job, 'service.instance.id': `${cluster.name}-${job}`, 'cluster.id': cluster.name, 'cluster.role': cluster.role},
        metrics: [...byName].map(([name, pts]) => ({name, points: pts})),
      }
    })
    const sent = [
      await hub.post('/v1/metrics', gaugeRequest(resources), 'application/x-protobuf', cluster),
      await hub.post(
        '/v1/logs',
        JSON.stringify(logsRequest({'service.name': 'bert-inference', 'cluster.id': cluster.name, 'cluster.role': cluster.role}, [`${cluster.name} request ok`])),
        'application/json',
        cluster,
      ),
      await hub.post(
        '/v1/traces',
        JSON.stringify(traceRequest({'service.name': 'bert-inference', 'cluster.id': cluster.name, 'cluster.role': cluster.role}, {spans: 2}).request),
        'application/json',
        cluster,
      ),
    ]
    const refused = sent.find((r) => r.status !== 200)
    if (refused) throw new Error(`gateway refused ${cluster.name}'s data: ${refused.status} ${refused.body}`)
  }
  return points
}

function federationFile(dir: string, clusters: number): string {
  const pools = '    pools:\n      - {type: g6-standard-2, count: 2}\n      - {type: g2-gpu-rtx4000a1-s, count: 1}\n'
  const edges = range(clusters - 1)
    .map((i) => `  - name: bench-edge-${String(i + 1).padStart(3, '0')}\n    region: us-ord\n${pools}`)
    .join('')
  const file = path.join(dir, `fedobs-${clusters}.yaml`)
  writeFileSync(
    file,
    `apiVersion: fedobs/v1\nname: bench\nhub:\n  name: bench-hub\n  region: us-ord\n${pools.replace(/^ {2}/gm, '')}${edges ? `edges:\n${edges}` : ''}telemetry:\n  scrapeInterval: 30s\ninference: {enabled: true, image: "registry.example.com/bert:1"}\n`,
  )
  return file
}

function clusterNames(n: number): Array<{name: string; role: 'hub' | 'edge'}> {
  return [{name: 'bench-hub', role: 'hub'}, ...range(n - 1).map((i) => ({name: `bench-edge-${String(i + 1).padStart(3, '0')}`, role: 'edge' as const}))]
}

/** One `fedobs verify --json` run (asynchronous: the Loki and Tempo fakes live in this process). */
function runVerify(file: string, hub: Hub): Promise<{ms: number; code: number | null; report: any}> {
  const start = process.hrtime.bigint()
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`${root}bin/run.js`, 'verify', '-f', file, '--prometheus-url', hub.prometheusUrl, '--loki-url', hub.loki.url, '--tempo-url', hub.tempo.url, '--skip-certificates', '--json'],
      {cwd: root, env: {...process.env, NO_COLOR: '1'}, maxBuffer: 16 * 1024 * 1024, timeout: 120_000},
      (error, stdout) => {
        const ms = Number(process.hrtime.bigint() - start) / 1e6
        let report: any
        try {
          report = JSON.parse(stdout)
        } catch {
          report = undefined
        }
        const code = (error as {code?: unknown} | null)?.code
        resolve({ms, code: error ? (typeof code === 'number' ? code : null) : 0, report})
      },
    )
  })
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

// ---------------------------------------------------------------- main

const binaries = requireBinaries(['FEDOBS_OTELCOL', 'FEDOBS_PROMETHEUS'])
if (!binaries.ok) {
  console.error(`bench-telemetry: test-bed binaries missing (${binaries.missing.join(', ')}): run npm run testbed:build`)
  process.exit(1)
}
const hubs: Hub[] = []
const benchStart = Date.now()
const hardStop = setTimeout(() => {
  console.error('bench-telemetry: over 40 minutes, giving up')
  process.exit(2)
}, 40 * 60_000)
try {
  console.log(
    `fedobs telemetry benchmarks: ${new Date().toISOString()}, Node ${process.version}, otelcol ${process.env.FEDOBS_OTELCOL_VERSION ?? binaries.paths.FEDOBS_OTELCOL_VERSION}, Prometheus ${binaries.paths.FEDOBS_PROMETHEUS_VERSION}, ${(await import('node:os')).availableParallelism()} CPUs`,
  )

  // ---- 1. throughput: mTLS (the default) and plaintext, same process, one after the other
  console.log(
    `\n1. gateway throughput (rendered gateway config; ${SENDERS} OTLP/HTTP protobuf senders, ${POINTS_PER_REQUEST} points or ${SPANS_PER_REQUEST} spans per request, ${STEP_MS / 1000} s steps, sustained = all accepted, senders >= 95 %, all stored within ${DRAIN_MS / 1000} s)`,
  )
  const best = (steps: StepResult[]) => steps.filter((s) => s.sustained).sort((a, b) => b.achieved - a.achieved)[0]
  const firstFail = (steps: StepResult[]) => steps.find((s) => !s.sustained)
  const throughput: Record<'mtls' | 'plaintext', {metrics?: StepResult; spans?: StepResult}> = {mtls: {}, plaintext: {}}
  for (const mode of ['mtls', 'plaintext'] as const) {
    console.log(`  -- ${mode === 'mtls' ? 'mTLS (TLS 1.3, client certificate, identity token on every request): the default' : 'plaintext (security.mtls: false)'}`)
    const throughputHub = await startHub(binaries.paths, new CountingTempoSink(), {mtls: mode === 'mtls'})
    hubs.push(throughputHub)
    await throughputHub.admit([BENCH_SENDER])
    const metricSteps = await ramp(throughputHub, 'metrics', METRIC_RATES, 0)
    const hwmAfterMetrics = procStatus(throughputHub.gateway.pid, 'VmHWM')
    await sleep(2000)
    const spanSteps = await ramp(throughputHub, 'spans', SPAN_RATES, 100)
    const hwm = procStatus(throughputHub.gateway.pid, 'VmHWM')
    const promHwm = procStatus(throughputHub.prometheus.pid, 'VmHWM')
    const duplicates = (throughputHub.tempo as CountingTempoSink).duplicates
    await throughputHub.stop()
    hubs.pop()
    throughput[mode] = {metrics: best(metricSteps), spans: best(spanSteps)}
    const {metrics: bestMetrics, spans: bestSpans} = throughput[mode]
    console.log(
      `  highest sustained: ${bestMetrics ? `${Math.round(bestMetrics.achieved)} data points/s` : 'none'} (first not sustained: ${firstFail(metricSteps)?.target ?? 'none'}/s); ${bestSpans ? `${Math.round(bestSpans.achieved)} spans/s` : 'none'} (first not sustained: ${firstFail(spanSteps)?.target ?? 'none'}/s)`,
    )
    console.log(
      `  gateway peak RSS (VmHWM): ${(hwmAfterMetrics / 1024).toFixed(0)} MiB after the metrics ramp, ${(hwm / 1024).toFixed(0)} MiB after the spans ramp; Prometheus VmHWM ${(promHwm / 1024).toFixed(0)} MiB; duplicate spans at the sink: ${duplicates}`,
    )
  }
  const share = (kind: 'metrics' | 'spans'): number | undefined => {
    const secure = throughput.mtls[kind]?.achieved
    const plain = throughput.plaintext[kind]?.achieved
    return secure && plain ? secure / plain : undefined
  }
  const shares = {metrics: share('metrics'), spans: share('spans')}
  console.log(
    `  mTLS vs plaintext: data points ${shares.metrics ? `${(shares.metrics * 100).toFixed(0)} %` : 'n/a'}, spans ${shares.spans ? `${(shares.spans * 100).toFixed(0)} %` : 'n/a'} (target >= 90 %)`,
  )
  const bestMetrics = throughput.mtls.metrics
  const bestSpans = throughput.mtls.spans
  const tlsOk = (shares.metrics ?? 0) >= 0.9 && (shares.spans ?? 0) >= 0.9

  // ---- 2. verify 1 vs 100 clusters
  console.log(`\n2. fedobs verify --json, 1 vs ${VERIFY_CLUSTERS} clusters (median of ${VERIFY_RUNS} interleaved runs after one warm-up each)`)
  const scraped = await sourceSeries()
  const [one, hundred] = await Promise.all([startHub(binaries.paths, new FakeTempo()), startHub(binaries.paths, new FakeTempo())])
  hubs.push(one, hundred)
  const now = Date.now()
  const times = range(10).map((i) => now - (9 - i) * 30_000)
  const pointsOne = await ingestClusters(one, clusterNames(1), scraped, times)
  const pointsHundred = await ingestClusters(hundred, clusterNames(VERIFY_CLUSTERS), scraped, times)
  // Each cluster's points are one request (one append in Prometheus): all its series there, and
  // every up point, means all of it is there.
  for (const [hub, points, clusters] of [
    [one, pointsOne, 1],
    [hundred, pointsHundred, VERIFY_CLUSTERS],
  ] as const) {
    const upPoints = (5 + (clusters - 1) * 3) * times.length
    await waitFor(
      `${points / times.length} series and ${upPoints} up points in Prometheus`,
      async () => (await promScalar(hub, 'count({cluster_id=~".+", __name__!="target_info"})')) >= points / times.length && (await promScalar(hub, 'sum(count_over_time(up[10m]))')) === upPoints,
      {timeoutMs: 60_000, intervalMs: 1000},
    )
  }
  const seriesOne = await promScalar(one, 'count({__name__=~".+"})')
  const seriesHundred = await promScalar(hundred, 'count({__name__=~".+"})')
  const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-bench-verify-'))
  const files = {one: federationFile(dir, 1), hundred: federationFile(dir, VERIFY_CLUSTERS)}
  await runVerify(files.one, one)
  await runVerify(files.hundred, hundred)
  const runs = {one: [] as Array<Awaited<ReturnType<typeof runVerify>>>, hundred: [] as Array<Awaited<ReturnType<typeof runVerify>>>}
  for (let i = 0; i < VERIFY_RUNS; i++) {
    runs.one.push(await runVerify(files.one, one))
    runs.hundred.push(await runVerify(files.hundred, hundred))
  }
  rmSync(dir, {recursive: true, force: true})
  const row = (name: string, series: number, r: typeof runs.one) => {
    const report = r.at(-1)!.report
    const status = report
      ? `exit ${r.at(-1)!.code}, ${report.summary.ok} ok / ${report.summary.warn} warn / ${report.summary.fail} fail, ${report.queries} queries`
      : `no JSON report (exit ${r.at(-1)!.code})`
    console.log(
      `  ${name.padEnd(14)} ${String(series).padStart(7)} series  median ${median(r.map((x) => x.ms))
        .toFixed(0)
        .padStart(6)} ms  (min ${Math.min(...r.map((x) => x.ms)).toFixed(0)}, max ${Math.max(...r.map((x) => x.ms)).toFixed(0)})  ${status}`,
    )
  }
  row('1 cluster', seriesOne, runs.one)
  row(`${VERIFY_CLUSTERS} clusters`, seriesHundred, runs.hundred)
  const ratio = median(runs.hundred.map((x) => x.ms)) / median(runs.one.map((x) => x.ms))
  console.log(`  ratio ${ratio.toFixed(2)} (target <= 1.5)`)
  const verifyOk = runs.one.concat(runs.hundred).every((r) => r.code === 0 && r.report?.ok === true)
  if (!verifyOk) console.log('  note: some verify runs did not pass every check (see the status column)')
  console.log(`\n${ratio <= 1.5 && bestMetrics && bestSpans && tlsOk ? 'targets met' : 'TARGETS MISSED'} (${((Date.now() - benchStart) / 1000).toFixed(0)} s)`)
} finally {
  clearTimeout(hardStop)
  for (const hub of hubs) await hub.stop().catch(() => undefined)
}
