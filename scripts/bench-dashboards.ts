// Dashboard query benchmark (measure and print; not a test):
//   npm run bench:dashboards          (needs the test-bed Prometheus and, without a sandbox, `npm run build`)
//
// The time to run every Prometheus panel query of every dashboard in dashboards/ — one pass,
// $cluster = All, a range query over the last hour with Grafana's step (src/dashboards/queries.ts) —
// on a real Prometheus 3 (the test-bed binary) holding 1 cluster vs 100 clusters.
//
// The data: one hub's and one edge's series as the sandbox's real pipeline produces them (every
// label set, with its current value) are taken from a running sandbox hub (FEDOBS_PROMETHEUS_URL,
// e.g. after `eval "$(fedobs sandbox env)"` and `fedobs up -f examples/fedobs.yaml`), or, without
// one, from a private sandbox this script starts, `up`s and stops. "1 cluster" is the hub alone;
// "100 clusters" is the hub and 99 copies of the edge (its name replaced in every label value). Each
// series gets a sample every scrape interval (telemetry.scrapeInterval, 30 s) for the last 65
// minutes — counters rising towards their captured value, gauges wobbling around it — written with
// the remote-write protocol (protobuf, snappy) into a fresh Prometheus, in time order (two time
// slices), so everything sits in the head block as on a live hub.
//
// Printed per configuration: series in the TSDB, samples written and ingest time, number of
// queries, total and p50/p95/max per-query time of one pass (after one warm-up pass; the pass with
// the median total of BENCH_PASSES, default 3, so a busy machine's hiccup does not decide the ratio),
// queries without data; then the ratio 100/1.
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
import path from 'node:path'
import {provisionedDatasources} from '../src/dashboards/datasources.js'
import {probe, type ProbeResult} from '../src/dashboards/probe.js'
import {ALL, dashboardQueries, type Dashboard} from '../src/dashboards/queries.js'
import {loadFederation} from '../src/federation/load.js'
import {parseDuration} from '../src/lib/time.js'
import {dashboards} from '../src/render/render.js'
import {freePort, getJson, httpOk, LOOPBACK, waitFor} from '../src/sandbox/telemetry/net.js'
import {ManagedProcess} from '../src/sandbox/telemetry/processes.js'
import {runCli} from '../test/helpers/cli.js'
import {requireBinaries} from '../test/helpers/testbed.js'
import {parseExportLines} from '../src/sandbox/state.js'

const CLUSTERS = [1, 100]
const HISTORY_MS = 65 * 60_000
const REQUEST_BYTES = 4 * 1024 * 1024
const PASSES = Math.max(1, Number(process.env.BENCH_PASSES ?? 3))

interface SeriesTemplate {
  labels: Record<string, string>
  value: number
}

const binaries = requireBinaries(['FEDOBS_PROMETHEUS'])
if (!binaries.ok) {
  console.error(`bench:dashboards needs the test-bed Prometheus (missing: ${binaries.missing.join(', ')}): run npm run testbed:build`)
  process.exit(2)
}
const federation = loadFederation({file: 'examples/fedobs.yaml'})
const datasources = provisionedDatasources(federation)
const scrapeMs = parseDuration(federation.telemetry.scrapeInterval)!
const DASHBOARDS = Object.entries(dashboards()).map(([file, text]) => ({file, dashboard: JSON.parse(text) as Dashboard}))

const work = mkdtempSync(path.join(tmpdir(), 'fedobs-bench-dashboards-'))

async function main(): Promise<void> {
  try {
    const {hub, edge} = await captureTemplates()
    console.error(`series per cluster: hub ${hub.length}, edge ${edge.length}; ${DASHBOARDS.length} dashboard(s): ${DASHBOARDS.map((d) => d.file).join(', ')}`)
    const results: Array<{clusters: number; total: number}> = []
    for (const clusters of CLUSTERS) results.push({clusters, total: await benchmark(clusters, hub, edge)})
    const [one, hundred] = results
    if (one && hundred) console.log(`\nratio ${hundred.clusters}/${one.clusters} clusters (time of one pass): ${(hundred.total / one.total).toFixed(2)}×`)
  } finally {
    rmSync(work, {recursive: true, force: true})
  }
}

// ---------------------------------------------------------------- the series of one hub and one edge

async function captureTemplates(): Promise<{hub: SeriesTemplate[]; edge: SeriesTemplate[]}> {
  const url = process.env.FEDOBS_PROMETHEUS_URL
  if (url) return captureFrom(url)
  console.error('FEDOBS_PROMETHEUS_URL is not set: starting a private sandbox to take the series from (a few minutes)')
  const testbedDir = process.env.FEDOBS_TESTBED_DIR ?? path.join(homedir(), '.cache/fedobs/testbed')
  const env = {HOME: path.join(work, 'home'), FEDOBS_TESTBED_DIR: testbedDir, FEDOBS_SANDBOX_DIR: path.join(work, 'sandbox'), LINODE_TOKEN: undefined, LINODE_URL: undefined, KUBECONFIG: undefined}
  try {
    const started = await runCli(['sandbox', 'start', '--no-build'], {env})
    if (started.code !== 0) throw new Error(`fedobs sandbox start failed: ${started.stderr.slice(-2000)}`)
    const exported = parseExportLines(started.stdout)
    const file = path.join(work, 'fedobs.yaml')
    writeFileSync(file, readFileSync('examples/fedobs.yaml', 'utf8'))
    const up = await runCli(['up', '-f', file, '--yes', '--verify-wait', '5m'], {env: {...env, ...exported}})
    if (up.code !== 0) throw new Error(`fedobs up failed: ${up.stderr.slice(-2000)}`)
    // Two scrapes, so that every series of every job is there.
    await new Promise((resolve) => setTimeout(resolve, 2 * scrapeMs + 5000))
    return await captureFrom(exported.FEDOBS_PROMETHEUS_URL!)
  } finally {
    await runCli(['sandbox', 'stop'], {env})
  }
}

async function captureFrom(prometheus: string): Promise<{hub: SeriesTemplate[]; edge: SeriesTemplate[]}> {
  const instant = async (query: string): Promise<Array<{metric: Record<string, string>; value: [number, string]}>> => {
    const {status, body} = await getJson(`${prometheus}/api/v1/query?${new URLSearchParams({query})}`)
    if (status !== 200) throw new Error(`${prometheus}: ${query}: HTTP ${status} ${JSON.stringify(body).slice(0, 300)}`)
    return body.data.result
  }
  const roles = await instant('group by (cluster_id, cluster_role) (up)')
  const hubId = roles.find((r) => r.metric.cluster_role === 'hub')?.metric.cluster_id
  const edgeId = roles.find((r) => r.metric.cluster_role === 'edge')?.metric.cluster_id
  if (!hubId || !edgeId) throw new Error(`${prometheus} has no hub and edge cluster yet (up by cluster: ${JSON.stringify(roles.map((r) => r.metric))})`)
  const series = async (id: string, renameTo: string): Promise<SeriesTemplate[]> =>
    (await instant(`{cluster_id="${id}"}`)).map((r) => ({
      labels: Object.fromEntries(Object.entries(r.metric).map(([k, v]) => [k, v.split(id).join(renameTo)])),
      value: Number(r.value[1]),
    }))
  // Placeholders in every label value that named the cluster, so copies get their own names.
  return {hub: await series(hubId, 'hub-001'), edge: await series(edgeId, '\u0000EDGE\u0000')}
}

// ---------------------------------------------------------------- one configuration

async function benchmark(clusters: number, hub: SeriesTemplate[], edge: SeriesTemplate[]): Promise<number> {
  const dir = mkdtempSync(path.join(work, `prometheus-${clusters}-`))
  writeFileSync(path.join(dir, 'prometheus.yml'), `global:\n  scrape_interval: ${federation.telemetry.scrapeInterval}\nscrape_configs: []\n`)
  const port = await freePort()
  const url = `http://${LOOPBACK}:${port}`
  const prometheus = new ManagedProcess({
    name: `prometheus-${clusters}`,
    command: binaries.ok ? binaries.paths.FEDOBS_PROMETHEUS! : '',
    args: [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=${LOOPBACK}:${port}`,
      '--web.enable-remote-write-receiver',
      '--storage.tsdb.retention.time=1d',
    ],
    logFile: path.join(dir, 'prometheus.log'),
    ready: () => httpOk(`${url}/-/ready`),
    readyTimeoutMs: 60_000,
  })
  await prometheus.start()
  try {
    const now = Date.now()
    const names = Array.from({length: clusters - 1}, (_, i) => `edge-${String(i + 1).padStart(3, '0')}`)
    const all = [
      ...hub,
      ...names.flatMap((name) => edge.map((s) => ({labels: Object.fromEntries(Object.entries(s.labels).map(([k, v]) => [k, v.split('\u0000EDGE\u0000').join(name)])), value: s.value}))),
    ]
    const ingestStart = performance.now()
    const samples = await ingest(url, all, now)
    const ingestMs = performance.now() - ingestStart
    const tsdb = await waitFor('the TSDB to count every series', async () => {
      const {body} = await getJson(`${url}/api/v1/status/tsdb`)
      const n = Number(body?.data?.headStats?.numSeries ?? 0)
      return n >= all.length ? n : undefined
    })

    const queries = DASHBOARDS.flatMap(({dashboard}) => dashboardQueries(dashboard, {datasources, variables: {cluster: ALL}, now}).queries).filter((q) => q.request.backend === 'prometheus')
    const skipped = DASHBOARDS.flatMap(({dashboard}) => dashboardQueries(dashboard, {datasources, variables: {cluster: ALL}, now}).queries).length - queries.length
    const urls = Object.fromEntries(datasources.map((d) => [d.uid, url]))
    const pass = async (): Promise<ProbeResult[]> => {
      const out: ProbeResult[] = []
      for (const q of queries) out.push(await probe(q, urls, 120_000))
      return out
    }
    const warm = await pass()
    const passes: ProbeResult[][] = []
    for (let i = 0; i < PASSES; i++) passes.push(await pass())
    const sum = (p: ProbeResult[]): number => p.reduce((a, r) => a + r.ms, 0)
    const measured = [...passes].sort((a, b) => sum(a) - sum(b))[Math.floor(passes.length / 2)]!
    const times = measured.map((r) => r.ms).sort((a, b) => a - b)
    const total = times.reduce((a, b) => a + b, 0)
    const empty = measured.filter((r) => r.error !== undefined || r.series === 0)
    console.log(`\n${clusters} cluster(s): ${tsdb} series in the TSDB, ${samples} samples written in ${(ingestMs / 1000).toFixed(1)} s`)
    console.log(
      `  ${queries.length} Prometheus queries (${skipped} Loki/Tempo targets not timed): one pass ${total.toFixed(0)} ms (median of ${PASSES}: ${passes.map((p) => sum(p).toFixed(0)).join(', ')} ms; warm-up pass ${warm.reduce((a, r) => a + r.ms, 0).toFixed(0)} ms), per query p50 ${pct(times, 0.5)} ms, p95 ${pct(times, 0.95)} ms, max ${times.at(-1)!.toFixed(1)} ms`,
    )
    const slowest = [...measured].sort((a, b) => b.ms - a.ms).slice(0, 3)
    console.log(`  slowest: ${slowest.map((r) => `${r.query.dashboard} › ${r.query.panel} › ${r.query.refId} ${r.ms.toFixed(0)} ms`).join('; ')}`)
    if (empty.length > 0)
      console.log(`  without data (${empty.length}): ${empty.map((r) => `${r.query.dashboard} › ${r.query.panel} › ${r.query.refId}${r.error ? ` (${r.error.slice(0, 120)})` : ''}`).join('; ')}`)
    return total
  } finally {
    await prometheus.stop()
  }
}

function pct(sorted: number[], p: number): string {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1)
}

// ---------------------------------------------------------------- remote write (protobuf + snappy)

/** Every series, a sample per scrape interval over HISTORY_MS up to `now`; two time slices, each in time order. */
async function ingest(url: string, series: SeriesTemplate[], now: number): Promise<number> {
  const steps = Math.floor(HISTORY_MS / scrapeMs)
  const times = Array.from({length: steps + 1}, (_, i) => now - (steps - i) * scrapeMs)
  const half = Math.ceil(times.length / 2)
  let written = 0
  for (const slice of [times.slice(0, half), times.slice(half)]) {
    let batch: Buffer[] = []
    let bytes = 0
    const pending: Array<Promise<void>> = []
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return
      const body = snappyLiterals(Buffer.concat(batch))
      batch = []
      bytes = 0
      pending.push(send(url, body))
      // Two requests in flight at most.
      if (pending.length >= 2) await pending.shift()
    }
    for (const [index, s] of series.entries()) {
      const encoded = timeSeries(s, index, slice, now)
      batch.push(encoded)
      bytes += encoded.length
      written += slice.length
      if (bytes >= REQUEST_BYTES) await flush()
    }
    await flush()
    await Promise.all(pending)
  }
  return written
}

async function send(url: string, body: Buffer): Promise<void> {
  const response = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    body,
    headers: {'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0'},
  })
  if (!response.ok) throw new Error(`remote write: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`)
}

const COUNTER = /(_total|_count|_sum|_bucket)$/

/** prometheus.WriteRequest field 1 (TimeSeries): labels sorted by name, then the samples. */
function timeSeries(s: SeriesTemplate, index: number, times: number[], now: number): Buffer {
  const labels = Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const parts: Buffer[] = []
  for (const [name, value] of labels) parts.push(field(1, Buffer.concat([field(1, Buffer.from(name)), field(2, Buffer.from(value))])))
  const counter = COUNTER.test(s.labels.__name__ ?? '')
  const phase = (index % 97) / 7
  for (const t of times) {
    // Position of t in the whole history, 0..1: counters rise to their captured value, gauges wobble ±5 %.
    const at = 1 - (now - t) / HISTORY_MS
    const value = counter ? s.value * (0.5 + 0.5 * at) : s.value * (1 + 0.05 * Math.sin(at * 40 + phase))
    const sample = Buffer.allocUnsafe(9 + 1 + 10)
    sample[0] = 0x09 // field 1, fixed64: value
    sample.writeDoubleLE(value, 1)
    sample[9] = 0x10 // field 2, varint: timestamp (ms)
    const end = writeVarint(sample, 10, t)
    parts.push(field(2, sample.subarray(0, end)))
  }
  return field(1, Buffer.concat(parts))
}

function field(no: number, payload: Buffer): Buffer {
  const head = Buffer.allocUnsafe(11)
  head[0] = (no << 3) | 2
  const end = writeVarint(head, 1, payload.length)
  return Buffer.concat([head.subarray(0, end), payload])
}

function writeVarint(buf: Buffer, offset: number, value: number): number {
  let v = value
  let at = offset
  while (v > 0x7f) {
    buf[at++] = (v % 128) | 0x80
    v = Math.floor(v / 128)
  }
  buf[at++] = v
  return at
}

/**
 * Snappy's block format with literals only (valid snappy that any decoder reads; no compression):
 * the uncompressed length as a varint, then literal elements of at most 64 KiB (tag 61: two bytes
 * of length - 1 follow).
 */
function snappyLiterals(data: Buffer): Buffer {
  const head = Buffer.allocUnsafe(10)
  const parts: Buffer[] = [head.subarray(0, writeVarint(head, 0, data.length))]
  for (let at = 0; at < data.length; at += 65_536) {
    const chunk = data.subarray(at, Math.min(data.length, at + 65_536))
    const tag = Buffer.from([61 << 2, (chunk.length - 1) & 0xff, ((chunk.length - 1) >> 8) & 0xff])
    parts.push(tag, chunk)
  }
  return Buffer.concat(parts)
}

// Last: the constants above are initialised by now.
await main()
