// PII processor cost on this machine (measure and print; not a test).
//   node --import tsx scripts/bench-pii.ts        (needs the test-bed collector: npm run testbed:build)
//
// Two real collectors, same binary and same feature gates, one with the transform/pii processor
// fedobs renders for the agents and one without it: OTLP/HTTP receiver -> [transform/pii] -> a
// debug exporter that discards (basic verbosity, sampled down to nothing). Concurrent senders
// post OTLP/HTTP protobuf requests of 500 log records, as fast as the collector accepts them, for
// BENCH_PII_SECONDS per measurement; the collector's CPU seconds (utime + stime from /proc/<pid>/stat)
// and the records it exported (its own otelcol_exporter_sent_log_records) give log records/s per
// core. Two streams: "mixed" (application logs, 1 record in 10 carrying personal data) and
// "PII-dense" (every record from the labelled PII corpus). The difference of CPU per record with
// and without the processor is the processor's own cost.
//
// Every loop is bounded in count and time; both collectors are stopped at the end.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, tmpdir} from 'node:os'
import path from 'node:path'
import {emitYaml} from '../src/lib/emit-yaml.js'
import {piiProcessor} from '../src/render/pii.js'
import {requireBinaries} from '../test/helpers/testbed.js'
import {freePorts, httpOk, LOOPBACK, sleep} from '../src/sandbox/telemetry/net.js'
import {PiiCorpus, textOf} from '../test/telemetry/pii-corpus.js'
import {ManagedProcess} from '../src/sandbox/telemetry/processes.js'
import {attributes, encodeLogsRequest} from '../src/sandbox/telemetry/otlp.js'

const SECONDS = Number(process.env.BENCH_PII_SECONDS ?? 8)
const SENDERS = Number(process.env.BENCH_PII_SENDERS ?? 4)
const REPS = Number(process.env.BENCH_PII_REPS ?? 2)
const RECORDS_PER_REQUEST = 500
const REQUESTS_PER_STREAM = 40
const SEED = 20261128

// ---------------------------------------------------------------- OTLP logs

interface LogLine {
  body: string
  attributes: Record<string, string>
}

/** ExportLogsServiceRequest in protobuf (the shared OTLP toolkit): one resource, one scope, the records. */
function logsRequest(resource: Record<string, string>, records: LogLine[], start: bigint): Buffer {
  const logRecords = records.map((r, i) => {
    const time = (start + BigInt(i) * 1_000_000n).toString()
    return {timeUnixNano: time, severityNumber: 9, severityText: 'INFO', body: {stringValue: r.body}, attributes: attributes(r.attributes), observedTimeUnixNano: time}
  })
  return encodeLogsRequest({resourceLogs: [{resource: {attributes: attributes(resource)}, scopeLogs: [{scope: {name: 'fedobs-bench'}, logRecords}]}]})
}

// ---------------------------------------------------------------- streams

/** Application logs without personal data, built from the corpus's look-alikes. */
function ordinaryRecord(c: PiiCorpus, i: number): LogLine {
  const status = c.status().text
  const duration = c.duration().text
  const bodies = [
    () => `${c.ip().text} - - [${c.timestamp().text}] "GET /api/v1/items/${c.order().text} HTTP/1.1" ${status} ${c.other().text} ${duration}`,
    () => `{"level":"info","msg":"request served","request_id":"${c.uuid().text}","duration":"${duration}","status":${status}}`,
    () => `reconciled ${c.pod().text} in ${duration} (generation ${i % 97}, version ${c.version().text})`,
    () => `cache miss for key ${c.hex().text}; fetched in ${duration} at ${c.epoch().text}`,
  ]
  return {
    body: bodies[i % bodies.length]!(),
    attributes: {'http.request.method': 'GET', 'http.route': '/api/v1/items/{id}', 'http.response.status_code': status, 'request.id': c.uuid().text, duration},
  }
}

function corpusRecord(c: PiiCorpus): LogLine {
  const r = c.records(1)[0]!
  return {body: textOf(r.body), attributes: Object.fromEntries(Object.entries(r.attributes).map(([k, v]) => [k, textOf(v)]))}
}

interface Stream {
  name: string
  requests: Buffer[]
}

function stream(name: string, piiShare: number): Stream {
  const c = new PiiCorpus(SEED)
  const resource = {
    'service.name': 'checkout',
    'k8s.namespace.name': 'shop',
    'k8s.pod.name': 'checkout-7d9f8b7c5-x2k4p',
    'k8s.pod.uid': '3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60',
    'k8s.node.name': 'lke200002-std-9c2b7e',
    'k8s.deployment.name': 'checkout',
    'cluster.id': 'fed-observability-remote',
    'cluster.role': 'edge',
  }
  let n = 0
  const requests = Array.from({length: REQUESTS_PER_STREAM}, (_, q) => {
    const records = Array.from({length: RECORDS_PER_REQUEST}, () => {
      n++
      // Every 1/piiShare-th record carries personal data.
      return piiShare > 0 && n % Math.round(1 / piiShare) === 0 ? corpusRecord(c) : ordinaryRecord(c, n)
    })
    return logsRequest(resource, records, 1_718_450_000_000_000_000n + BigInt(q) * 1_000_000_000n)
  })
  return {name, requests}
}

// ---------------------------------------------------------------- collectors

interface Collector {
  label: string
  process: ManagedProcess
  otlp: string
  metrics: string
}

async function startCollector(otelcol: string, dir: string, label: string, withPii: boolean): Promise<Collector> {
  const processor = piiProcessor({enabled: true, allowKeys: [], patterns: []})!
  const [http, health, metrics] = (await freePorts(3)) as [number, number, number]
  const config = {
    extensions: {health_check: {endpoint: `${LOOPBACK}:${health}`}},
    receivers: {otlp: {protocols: {http: {endpoint: `${LOOPBACK}:${http}`}}}},
    processors: withPii ? {[processor.name]: processor.config} : {},
    exporters: {debug: {verbosity: 'basic', sampling_initial: 1, sampling_thereafter: 1_000_000}},
    service: {
      extensions: ['health_check'],
      telemetry: {logs: {level: 'warn'}, metrics: {level: 'normal', readers: [{pull: {exporter: {prometheus: {host: LOOPBACK, port: metrics}}}}]}},
      pipelines: {logs: {receivers: ['otlp'], processors: withPii ? [processor.name] : [], exporters: ['debug']}},
    },
  }
  const slug = label.replace(/\W+/g, '-')
  const file = path.join(dir, `${slug}.yaml`)
  writeFileSync(file, emitYaml(config))
  const process = new ManagedProcess({
    name: label,
    command: otelcol,
    // The same feature gates for both, so only the processor differs.
    args: [`--config=${file}`, `--feature-gates=${processor.featureGates.join(',')}`],
    logFile: path.join(dir, `${slug}.log`),
    ready: () => httpOk(`http://${LOOPBACK}:${health}/`),
  })
  await process.start()
  return {label, process, otlp: `http://${LOOPBACK}:${http}/v1/logs`, metrics: `http://${LOOPBACK}:${metrics}/metrics`}
}

/** CPU seconds (user + system) a process has used. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** Log records the collector's exporters sent (its own counter). */
async function exported(collector: Collector): Promise<number> {
  const text = await (await fetch(collector.metrics, {signal: AbortSignal.timeout(5000)})).text()
  return text
    .split('\n')
    .filter((l) => l.startsWith('otelcol_exporter_sent_log_records'))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0)
}

interface Measurement {
  records: number
  cpu: number
  wall: number
  refused: number
}

/** SENDERS closed-loop senders for `seconds`; what the collector exported and the CPU it used. */
async function measure(collector: Collector, s: Stream, seconds: number): Promise<Measurement> {
  const pid = collector.process.pid!
  const [records0, cpu0, start] = [await exported(collector), cpuSeconds(pid), Date.now()]
  const end = start + seconds * 1000
  let refused = 0
  let next = 0
  await Promise.all(
    Array.from({length: SENDERS}, async () => {
      while (Date.now() < end) {
        const body = s.requests[next++ % s.requests.length]!
        const response = await fetch(collector.otlp, {method: 'POST', headers: {'content-type': 'application/x-protobuf'}, body, signal: AbortSignal.timeout(30_000)}).catch(() => undefined)
        await response?.arrayBuffer()
        if (!response?.ok) refused++
      }
    }),
  )
  const [records1, cpu1, wall] = [await exported(collector), cpuSeconds(pid), (Date.now() - start) / 1000]
  return {records: records1 - records0, cpu: cpu1 - cpu0, wall, refused}
}

// ---------------------------------------------------------------- main

const binaries = requireBinaries(['FEDOBS_OTELCOL'])
if (!binaries.ok) {
  console.error(`bench-pii: test-bed binaries missing (${binaries.missing.join(', ')}): run npm run testbed:build`)
  process.exit(1)
}
const otelcol = binaries.paths.FEDOBS_OTELCOL!
const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-bench-pii-'))
const collectors: Collector[] = []
try {
  console.error('bench-pii: encoding the streams…')
  const streams = [stream('mixed (1 in 10 with PII)', 0.1), stream('PII-dense (corpus)', 1)]
  const without = await startCollector(otelcol, dir, 'without transform/pii', false)
  collectors.push(without)
  const withPii = await startCollector(otelcol, dir, 'with transform/pii', true)
  collectors.push(withPii)

  const totals = new Map<string, Measurement>()
  const add = (key: string, m: Measurement): void => {
    const t = totals.get(key) ?? {records: 0, cpu: 0, wall: 0, refused: 0}
    totals.set(key, {records: t.records + m.records, cpu: t.cpu + m.cpu, wall: t.wall + m.wall, refused: t.refused + m.refused})
  }
  for (let rep = 0; rep < REPS; rep++) {
    for (const s of streams) {
      // Interleaved, so drift of the machine (other load, thermal) hits both alike.
      for (const c of rep % 2 === 0 ? [without, withPii] : [withPii, without]) {
        await measure(c, s, 1) // warm-up
        const m = await measure(c, s, SECONDS)
        add(`${s.name}|${c.label}`, m)
        console.error(`bench-pii: ${s.name}, ${c.label}: ${m.records} records, ${m.cpu.toFixed(2)} CPU s in ${m.wall.toFixed(1)} s`)
        await sleep(200)
      }
    }
  }

  const version = execFileSync(otelcol, ['--version'], {encoding: 'utf8'}).trim()
  const lines = [
    `PII processor cost: ${version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${SENDERS} senders, ${RECORDS_PER_REQUEST} records per request, ${REPS} x ${SECONDS} s per figure`,
    `  stream                      pipeline                 records   CPU s   records/s per core   µs CPU per record   records/s (wall)`,
  ]
  for (const s of streams) {
    const base = totals.get(`${s.name}|${without.label}`)!
    const pii = totals.get(`${s.name}|${withPii.label}`)!
    for (const [label, m] of [
      [without.label, base],
      [withPii.label, pii],
    ] as const) {
      lines.push(
        `  ${s.name.padEnd(27)} ${label.padEnd(24)} ${String(m.records).padStart(8)} ${m.cpu.toFixed(2).padStart(7)} ${Math.round(m.records / m.cpu)
          .toLocaleString('en-US')
          .padStart(20)} ${((m.cpu / m.records) * 1e6).toFixed(2).padStart(19)} ${Math.round(m.records / m.wall)
          .toLocaleString('en-US')
          .padStart(18)}${m.refused ? `  (${m.refused} requests refused)` : ''}`,
      )
    }
    const own = pii.cpu / pii.records - base.cpu / base.records
    lines.push(
      `  ${''.padEnd(27)} ${'transform/pii alone'.padEnd(24)} ${''.padStart(8)} ${''.padStart(7)} ${Math.round(1 / own)
        .toLocaleString('en-US')
        .padStart(20)} ${(own * 1e6).toFixed(2).padStart(19)}`,
    )
  }
  console.log(lines.join('\n'))
} finally {
  for (const c of collectors) await c.process.stop()
  rmSync(dir, {recursive: true, force: true})
}
