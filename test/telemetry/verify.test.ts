import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {Ajv} from 'ajv'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {emitYaml} from '../../src/lib/emit-yaml.js'
import {quoteLabelValue, regexAlternatives} from '../../src/verify/backends.js'
import {verifySchema} from '../../src/verify/schema.js'
import {runCli, REPO, type CliResult} from '../helpers/cli.js'
import {configOf, find} from '../helpers/federation.js'
import {postToGateway} from '../helpers/pki.js'
import {requireBinaries} from '../helpers/testbed.js'
import {startCountingProxy, type RecordedRequest} from './counting-proxy.js'
import {FakeLoki} from '../../src/sandbox/telemetry/fake-loki.js'
import {FakeTempo} from '../../src/sandbox/telemetry/fake-tempo.js'
import {freePort, getJson, httpOk, LOOPBACK, waitFor} from '../../src/sandbox/telemetry/net.js'
import {EDGE, PIPELINE_BINARIES, renderForLoopback, startPipeline, type Pipeline, pipelineBinaries} from './pipeline.js'
import {ManagedProcess} from '../../src/sandbox/telemetry/processes.js'

/**
 * `fedobs verify` (the built CLI) against a real Prometheus — empty, fed by hand, or at the end of
 * the real pipeline (rendered collectors) — and the Loki and Tempo contract fakes. Every describe
 * block owns what it starts; no `it` changes what another `it` reads (order-independent:
 * `vitest --sequence.shuffle` passes).
 */
const binaries = requireBinaries(PIPELINE_BINARIES)
const HUB = 'fed-observability-test'
const validate = new Ajv({allErrors: true, strict: false}).compile(verifySchema)

/** verify's fixed set of PromQL instant queries (jobs, targets down, series by origin, kube-state-metrics instances, queue fill, send failures). */
const PROMQL_QUERIES = 6

interface ReportCheck {
  id: string
  name: string
  status: 'ok' | 'warn' | 'fail'
  message: string
  hint?: string
  cluster?: string
}
interface Report {
  ok: boolean
  queries: number
  summary: {ok: number; warn: number; fail: number}
  groups: Array<{name: string; checks: ReportCheck[]}>
}
const checksOf = (report: Report): ReportCheck[] => report.groups.flatMap((g) => g.checks)
const checkOf = (report: Report, id: string, cluster?: string): ReportCheck | undefined => checksOf(report).find((c) => c.id === id && c.cluster === cluster)

/** The example federation file with its hub only (1 cluster), as it is (2), or with 98 more edges (100). */
function federationFile(dir: string, clusters: 1 | 2 | 100): string {
  const example = readFileSync(path.join(REPO, 'examples/fedobs.yaml'), 'utf8')
  const file = path.join(dir, `fedobs-${clusters}.yaml`)
  if (clusters === 1) writeFileSync(file, example.replace(/^edges:\n[\s\S]*?(?=^telemetry:)/m, ''))
  else if (clusters === 2) writeFileSync(file, example)
  else {
    const edges = Array.from({length: 98}, (_, i) => `  - name: extra-${i}\n    pools: [{type: g6-standard-2, count: 1}]\n`).join('')
    writeFileSync(file, example.replace(/^telemetry:/m, `${edges}telemetry:`))
  }
  return file
}

interface Backends {
  prometheusUrl: string
  loki: FakeLoki
  tempo: FakeTempo
}

interface WireRun {
  result: CliResult
  report: Report
  /** What reached each backend during this run, counted at the wire. */
  prometheus: RecordedRequest[]
  loki: FakeLoki['apiRequests']
  tempo: FakeTempo['apiRequests']
}

/**
 * One `fedobs verify --json` with Prometheus behind a counting proxy (a fresh one per run) and the
 * fakes' request logs read before and after: every request verify sends, seen by the receiver.
 */
async function verifyAtTheWire(backends: Backends, args: string[]): Promise<WireRun> {
  const proxy = await startCountingProxy(backends.prometheusUrl)
  const lokiBefore = backends.loki.apiRequests.length
  const tempoBefore = backends.tempo.apiRequests.length
  try {
    const result = await runCli(['verify', '--prometheus-url', proxy.url, '--loki-url', backends.loki.url, '--tempo-url', backends.tempo.url, '--json', ...args])
    let report: Report
    try {
      report = JSON.parse(result.stdout) as Report
    } catch {
      throw new Error(`verify printed no JSON report (exit ${result.code}): ${result.stdout}${result.stderr}`)
    }
    return {result, report, prometheus: [...proxy.requests], loki: backends.loki.apiRequests.slice(lokiBefore), tempo: backends.tempo.apiRequests.slice(tempoBefore)}
  } finally {
    await proxy.close()
  }
}

/** A real Prometheus with the hub's rendered configuration and arguments, and nothing in it. */
async function startHubPrometheus(binary: string, dir: string): Promise<{url: string; process: ManagedProcess}> {
  const {hub} = renderForLoopback('2s', `${LOOPBACK}:4317`)
  const promDir = path.join(dir, 'prometheus')
  mkdirSync(path.join(promDir, 'data'), {recursive: true})
  writeFileSync(path.join(promDir, 'prometheus.yml'), emitYaml(configOf(hub.objects, 'prometheus-config', 'prometheus.yml')))
  const workload = find(hub.objects, 'Deployment', 'prometheus') as unknown as {spec: {template: {spec: {containers: Array<{args: string[]}>}}}}
  const args = workload.spec.template.spec.containers[0]!.args.map((arg) =>
    arg.startsWith('--config.file=') ? `--config.file=${promDir}/prometheus.yml` : arg.startsWith('--storage.tsdb.path=') ? `--storage.tsdb.path=${promDir}/data` : arg,
  )
  const port = await freePort()
  const url = `http://${LOOPBACK}:${port}`
  const process = new ManagedProcess({
    name: 'prometheus',
    command: binary,
    args: [...args, `--web.listen-address=${LOOPBACK}:${port}`],
    logFile: path.join(dir, 'prometheus.log'),
    ready: () => httpOk(`${url}/-/ready`),
  })
  await process.start()
  return {url, process}
}

/** A point of an OTLP gauge or cumulative sum, as OTLP/JSON. */
interface Point {
  name: string
  value: number
  sum?: boolean
  attributes?: Record<string, string>
}

/** Write metrics straight into Prometheus's OTLP receiver (around any gateway), one resource. */
async function writeOtlp(prometheusUrl: string, resource: Record<string, string>, points: Point[], timeMs = Date.now()): Promise<void> {
  const attrs = (map: Record<string, string>) => Object.entries(map).map(([key, value]) => ({key, value: {stringValue: value}}))
  const timeUnixNano = `${timeMs}000000`
  const metrics = points.map((p) => {
    const dataPoints = [{asDouble: p.value, timeUnixNano, startTimeUnixNano: p.sum ? `${timeMs - 3_600_000}000000` : undefined, attributes: attrs(p.attributes ?? {})}]
    return p.sum ? {name: p.name, sum: {aggregationTemporality: 2, isMonotonic: true, dataPoints}} : {name: p.name, gauge: {dataPoints}}
  })
  const response = await fetch(`${prometheusUrl}/api/v1/otlp/v1/metrics`, {
    method: 'POST',
    headers: {'content-type': 'application/json'},
    body: JSON.stringify({resourceMetrics: [{resource: {attributes: attrs(resource)}, scopeMetrics: [{metrics}]}]}),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`OTLP write: ${response.status} ${text}`)
}

async function promCount(prometheusUrl: string, expr: string): Promise<number> {
  const {body} = await getJson(`${prometheusUrl}/api/v1/query?${new URLSearchParams({query: expr})}`)
  return (body?.data?.result ?? []).length
}

// ---------------------------------------------------------------- no data at all

describe.skipIf(!binaries.ok)('fedobs verify with no data at all (a real, empty Prometheus)', () => {
  let dir: string
  let prometheus: {url: string; process: ManagedProcess}
  const loki = new FakeLoki()
  const tempo = new FakeTempo()
  const backends = (): Backends => ({prometheusUrl: prometheus.url, loki, tempo})

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fedobs-verify-empty-'))
    prometheus = await startHubPrometheus(binaries.ok ? binaries.paths.FEDOBS_PROMETHEUS! : '', dir)
    await Promise.all([loki.start(), tempo.start()])
  }, 60_000)
  afterAll(async () => {
    await prometheus?.process.stop()
    await Promise.all([loki.close(), tempo.close()])
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('passes nothing: every check fails or warns with a hint, and it exits 1', async () => {
    const {result, report} = await verifyAtTheWire(backends(), ['-f', 'examples/fedobs.yaml', '--kubeconfig', path.join(dir, 'no-kubeconfig')])
    expect(result.code, result.stderr).toBe(1)
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true)
    const checks = checksOf(report)
    expect(checks.length).toBeGreaterThan(10)
    expect(checks.filter((c) => c.status === 'ok')).toEqual([])
    for (const check of checks) expect(check.hint, `${check.name}: ${check.message}`).toBeTruthy()
    expect(report.summary.ok).toBe(0)
    // The checks the issue named, and the choice made for each.
    expect(checkOf(report, 'via-gateway')).toMatchObject({status: 'fail', message: 'no scrape target reports through it (no up series with cluster_id and hub_received_at)'})
    expect(checkOf(report, 'send-failures')).toMatchObject({status: 'warn', message: 'not checked: no gateway exporter metrics'})
    expect(checkOf(report, 'queue-fill')).toMatchObject({status: 'fail'})
    expect(checkOf(report, 'clusters-report')).toMatchObject({status: 'fail', message: '2 of 2 silent: fed-observability-test, fed-observability-remote'})
    expect(checkOf(report, 'no-unknown-ids')).toMatchObject({status: 'warn', message: 'not checked: no series carries a cluster_id'})
    expect(checkOf(report, 'no-duplicate-ids')).toMatchObject({status: 'warn', message: 'not checked: no kube-state-metrics data from any cluster'})
    for (const cluster of [HUB, EDGE]) {
      expect(checkOf(report, 'role', cluster)).toMatchObject({status: 'warn', message: 'not checked: no data from it'})
      expect(checkOf(report, 'job:kube-state-metrics', cluster)).toMatchObject({status: 'fail', message: 'no data'})
      expect(checkOf(report, 'logs', cluster)).toMatchObject({status: 'fail', message: 'none in 15m'})
      expect(checkOf(report, 'traces', cluster)).toMatchObject({status: 'warn', message: 'none in 15m'})
    }
    expect(checkOf(report, 'pki')).toMatchObject({status: 'warn'})
  }, 60_000)

  it('shows no ✔ to a human either', async () => {
    const result = await runCli(['verify', '-f', 'examples/fedobs.yaml', '--prometheus-url', prometheus.url, '--loki-url', loki.url, '--tempo-url', tempo.url, '--skip-certificates'])
    expect(result.code).toBe(1)
    expect(result.stdout).not.toContain('✔')
    expect(result.stdout).toMatch(/^✖ all data via the gateway: no scrape target reports through it/m)
    expect(result.stdout).toMatch(/^‼ gateway send failures: not checked: no gateway exporter metrics$/m)
    expect(result.stdout).toMatch(/Status check results are ✖: \d+ failed, \d+ warning\(s\), 0 passed/)
  }, 60_000)

  it.each([
    ['20s', '20s', 20],
    ['90s', '1m30s', 90],
    ['1d', '24h', 86_400],
    ['1w', '168h', 604_800],
  ])(
    '--window %s asks Loki for [%s] and Tempo for %i seconds',
    async (window, range, seconds) => {
      const run = await verifyAtTheWire(backends(), ['-f', 'examples/fedobs.yaml', '--skip-certificates', '--window', window])
      expect(run.result.code).toBe(1)
      expect(run.loki).toHaveLength(1)
      expect(run.loki[0]!.params.get('query')).toBe(`sum by (cluster_id) (count_over_time({cluster_id!=""}[${range}]))`)
      expect(run.tempo).toHaveLength(1)
      const {start, end} = Object.fromEntries(run.tempo[0]!.params)
      expect(Number(end) - Number(start)).toBe(seconds)
      expect(checkOf(run.report, 'logs', EDGE)?.message).toBe(`none in ${range}`)
    },
    60_000,
  )
})

// ---------------------------------------------------------------- data written by hand

describe.skipIf(!binaries.ok)('fedobs verify decides the gateway checks on data (a real Prometheus fed by hand)', () => {
  const loki = new FakeLoki()
  const tempo = new FakeTempo()
  const started: Array<{dir: string; prometheus: ManagedProcess}> = []
  /** Each `it` gets its own empty Prometheus. */
  const freshPrometheus = async (): Promise<string> => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-verify-fed-'))
    const {url, process} = await startHubPrometheus(binaries.ok ? binaries.paths.FEDOBS_PROMETHEUS! : '', dir)
    started.push({dir, prometheus: process})
    return url
  }
  const run = (prometheusUrl: string) => verifyAtTheWire({prometheusUrl, loki, tempo}, ['-f', 'examples/fedobs.yaml', '--skip-certificates'])
  const gatewaySelf = {'service.name': 'otel-gateway', 'service.instance.id': 'otel-gateway-0'}
  const EXPORTERS = ['otlp_http/loki', 'otlp_http/prometheus', 'otlp_http/tempo']
  const queues = EXPORTERS.flatMap((exporter): Point[] => [
    {name: 'otelcol_exporter_queue_size', value: 3, attributes: {exporter}},
    {name: 'otelcol_exporter_queue_capacity', value: 1000, attributes: {exporter}},
  ])
  const counter = (outcome: 'sent' | 'send_failed', exporter: string, signal: string, value: number): Point => ({
    name: `otelcol_exporter_${outcome}_${signal}`,
    value,
    sum: true,
    attributes: {exporter},
  })
  /** Two scrapes' worth of points, 30 s apart, so increase() over 5m has something to compare. */
  const twice = async (url: string, points: (round: number) => Point[]): Promise<void> => {
    const now = Date.now()
    await writeOtlp(url, gatewaySelf, points(0), now - 30_000)
    await writeOtlp(url, gatewaySelf, points(1), now)
  }

  beforeAll(async () => {
    await Promise.all([loki.start(), tempo.start()])
  })
  afterAll(async () => {
    for (const s of started) {
      await s.prometheus.stop()
      rmSync(s.dir, {recursive: true, force: true})
    }
    await Promise.all([loki.close(), tempo.close()])
  })

  it('"all data via the gateway" passes with series that carry hub_received_at, and fails naming a cluster that writes around it', async () => {
    const url = await freshPrometheus()
    // What the gateway delivers for a scrape target: up and a sample, stamped with the cluster and hub_received_at.
    await writeOtlp(url, {'cluster.id': EDGE, 'cluster.role': 'edge', 'hub.received_at': 'otel-gateway-0', 'service.name': 'bert-inference'}, [
      {name: 'up', value: 1},
      {name: 'inference_queue_depth', value: 1},
    ])
    await waitFor('the gateway-labelled series', async () => (await promCount(url, 'inference_queue_depth')) === 1, {timeoutMs: 15_000})
    const through = await run(url)
    expect(checkOf(through.report, 'via-gateway')).toMatchObject({status: 'ok'})
    expect(checkOf(through.report, 'via-gateway')!.message).toBe('every series carries cluster_id and hub_received_at (1 scrape target through it)')
    expect(checkOf(through.report, 'no-unknown-ids')).toMatchObject({status: 'ok'})

    await writeOtlp(url, {'cluster.id': HUB, 'cluster.role': 'hub', 'service.name': 'rogue-writer'}, [{name: 'written_around_the_gateway', value: 1}])
    await waitFor('the bypassing series', async () => (await promCount(url, 'written_around_the_gateway')) === 1, {timeoutMs: 15_000})
    const around = await run(url)
    const check = checkOf(around.report, 'via-gateway')!
    expect(check.status).toBe('fail')
    expect(check.message).toMatch(new RegExp(`^\\d+ series without hub_received_at or cluster_id \\(${HUB}\\)$`))
    expect(check.hint).toBeTruthy()
  }, 90_000)

  it('"gateway send failures" is ✔ only for exporters that sent in the window, and warns with the count of failures', async () => {
    const url = await freshPrometheus()
    // Queues of all three exporters; Loki's exporter sent logs, Prometheus's sent nothing new in
    // the window (its counter stands still), Tempo's never sent (no counter).
    await twice(url, (round) => [...queues, counter('sent', 'otlp_http/loki', 'log_records', 10 + 5 * round), counter('sent', 'otlp_http/prometheus', 'metric_points', 7)])
    await waitFor('the gateway self-metrics', async () => (await promCount(url, 'otelcol_exporter_sent_metric_points_total')) === 1, {timeoutMs: 15_000})
    const partial = await run(url)
    expect(checkOf(partial.report, 'queue-fill')).toMatchObject({status: 'ok'})
    expect(checkOf(partial.report, 'queue-fill')!.message).toMatch(/^fullest queue 0\.3% \(otlp_http\/(loki|prometheus|tempo)\)$/)
    expect(checkOf(partial.report, 'send-failures')).toMatchObject({
      status: 'warn',
      message: 'not checked for otlp_http/prometheus, otlp_http/tempo: nothing sent in the last 5m; none for otlp_http/loki',
    })

    const url2 = await freshPrometheus()
    await twice(url2, (round) => [
      ...queues,
      counter('sent', 'otlp_http/loki', 'log_records', 10 + round),
      counter('sent', 'otlp_http/prometheus', 'metric_points', 100 + 50 * round),
      counter('send_failed', 'otlp_http/tempo', 'spans', 40 * round),
    ])
    await waitFor('the gateway self-metrics', async () => (await promCount(url2, 'otelcol_exporter_send_failed_spans_total')) === 1, {timeoutMs: 15_000})
    const failing = await run(url2)
    const check = checkOf(failing.report, 'send-failures')!
    expect(check.status).toBe('warn')
    expect(check.message).toMatch(/^otlp_http\/tempo: \d+$/)
    expect(Number(check.message.split(': ')[1])).toBeGreaterThanOrEqual(40)

    const url3 = await freshPrometheus()
    await twice(url3, (round) => [
      ...queues,
      counter('sent', 'otlp_http/loki', 'log_records', 10 + round),
      counter('sent', 'otlp_http/prometheus', 'metric_points', 100 + 50 * round),
      counter('sent', 'otlp_http/tempo', 'spans', 4 + round),
    ])
    await waitFor('the gateway self-metrics', async () => (await promCount(url3, 'otelcol_exporter_sent_spans_total')) === 1, {timeoutMs: 15_000})
    expect(checkOf((await run(url3)).report, 'send-failures')).toMatchObject({status: 'ok', message: 'none in the last 5m (otlp_http/loki, otlp_http/prometheus, otlp_http/tempo)'})
  }, 120_000)
})

// ---------------------------------------------------------------- the real pipeline

/** The real pipeline for one describe block: started before its tests, stopped after them. */
function withPipeline(setup?: (p: Pipeline) => Promise<void>): {pipeline: () => Pipeline; dir: () => string} {
  let p: Pipeline | undefined
  let dir: string | undefined
  beforeAll(async () => {
    // The gateway's logs go to the real log store (VictoriaLogs); `verify`'s log checks speak LogQL to
    // Loki's HTTP API, which VictoriaLogs does not serve, so --loki-url is the LogQL contract fake,
    // holding the copy of every push the LokiFront accepted (victorialogs.ts).
    p = await startPipeline({
      ...pipelineBinaries(binaries),
    })
    dir = mkdtempSync(path.join(tmpdir(), 'fedobs-verify-'))
    await setup?.(p)
  }, 120_000)
  afterAll(async () => {
    await p?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })
  return {pipeline: () => p!, dir: () => dir!}
}

const pipelineBackends = (p: Pipeline): Backends => ({prometheusUrl: p.prometheusUrl, loki: p.loki, tempo: p.tempo})
const cliBackends = (p: Pipeline): string[] => ['--prometheus-url', p.prometheusUrl, '--loki-url', p.lokiApiUrl, '--tempo-url', p.tempoApiUrl]

describe.skipIf(!binaries.ok)('fedobs verify on the real pipeline, data flowing (no test changes it)', () => {
  const {pipeline, dir} = withPipeline(async (p) => {
    for (const cluster of [p.hub, p.edge]) {
      await cluster.sendLogs([`${cluster.role} request ok`])
      await cluster.sendTrace({spans: 2})
    }
    // Data from both clusters before any test runs, whichever runs first.
    for (const cluster of [HUB, EDGE]) {
      await waitFor(`${cluster}'s kubelet stats at the hub`, async () => (await p.query(`k8s_node_memory_working_set_bytes{cluster_id=${quoteLabelValue(cluster)}}`)).length > 0, {timeoutMs: 60_000})
    }
  })

  it('--wait polls until every check passes, then exits 0 with a JSON report matching the schema', async () => {
    const junit = path.join(dir(), 'verify.xml')
    const result = await runCli(['verify', '-f', 'examples/fedobs.yaml', ...cliBackends(pipeline()), '--wait', '90s', '--json', '--junit', junit])
    expect(result.code, result.stdout + result.stderr).toBe(0)
    const report = JSON.parse(result.stdout) as Report
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true)
    expect(report.ok).toBe(true)
    expect(report.summary.fail).toBe(0)
    const names = checksOf(report)
      .filter((c) => c.status === 'ok')
      .map((c) => c.name)
    for (const expected of [
      'every cluster reports',
      'no unknown cluster ids',
      'no duplicate cluster ids',
      `${EDGE} reports as edge`,
      `${HUB} reports as hub`,
      `${EDGE}: kubeletstats`,
      `${EDGE}: dcgm-exporter`,
      `${EDGE}: bert-inference`,
      `${EDGE}: kube-state-metrics`,
      `${HUB}: otel-gateway`,
      `${HUB}: prometheus`,
      'all data via the gateway',
      'gateway queues',
      `${EDGE}: logs`,
      `${EDGE}: traces`,
    ]) {
      expect(names).toContain(expected)
    }
    expect(checkOf(report, 'via-gateway')!.message).toMatch(/^every series carries cluster_id and hub_received_at \(\d+ scrape targets through it\)$/)
    expect(checkOf(report, 'no-duplicate-ids')!.message).toBe('one kube-state-metrics per cluster_id (2 of 2)')
    const xml = readFileSync(junit, 'utf8')
    expect(xml).toContain('<testsuites name="fedobs verify"')
    expect(xml).not.toContain('<failure')
  }, 150_000)

  it('says "no send failures" for all three gateway exporters while metrics, logs and traces flow', async () => {
    // Sends count only in the window (5m): keep logs and traces flowing as workloads would, until
    // the gateway's counters (scraped every 2 s) show each exporter sending.
    let report: Report | undefined
    await waitFor(
      'send-failures decided for every exporter',
      async () => {
        await pipeline().edge.sendLogs(['edge request ok'])
        await pipeline().edge.sendTrace({spans: 1})
        report = (await verifyAtTheWire(pipelineBackends(pipeline()), ['-f', 'examples/fedobs.yaml', '--skip-certificates'])).report
        return checkOf(report, 'send-failures')?.status === 'ok'
      },
      {timeoutMs: 90_000, intervalMs: 3000},
    ).catch(() => undefined)
    expect(checkOf(report!, 'send-failures')).toMatchObject({status: 'ok', message: 'none in the last 5m (otlp_http/loki, otlp_http/prometheus, otlp_http/tempo)'})
  }, 120_000)

  it('prints checks grouped like linkerd check for humans', async () => {
    const result = await runCli(['verify', '-f', 'examples/fedobs.yaml', ...cliBackends(pipeline()), '--skip-certificates', '--wait', '90s'])
    expect(result.code, result.stdout + result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^federation\n-{10}\n✔ every cluster reports: 2\/2/m)
    expect(result.stdout).toContain(`✔ ${EDGE}: dcgm-exporter: fresh`)
    expect(result.stdout).toContain('Status check results are ✔')
  }, 150_000)

  it.each([1, 100] as const)(
    `sends exactly ${PROMQL_QUERIES} PromQL queries, 1 LogQL query and 1 Tempo request for %i cluster(s), counted at the wire`,
    async (clusters) => {
      const file = federationFile(dir(), clusters)
      const run = await verifyAtTheWire(pipelineBackends(pipeline()), ['-f', file, '--skip-certificates'])
      expect(run.prometheus.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(Array.from({length: PROMQL_QUERIES}, () => 'GET /api/v1/query 200'))
      expect(new Set(run.prometheus.map((r) => r.params.get('query'))).size).toBe(PROMQL_QUERIES)
      expect(run.loki.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /loki/api/v1/query'])
      expect(run.tempo.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/v2/search/tag/resource.cluster.id/values'])
      // The report's own count is the one the wire saw.
      expect(run.report.queries).toBe(run.prometheus.length + run.loki.length + run.tempo.length)
      // And the report covers the clusters asked for.
      const reports = checkOf(run.report, 'clusters-report')!
      if (clusters === 1) expect(reports).toMatchObject({status: 'ok', message: `1/1: ${HUB}`})
      else expect(reports.message).toMatch(/^98 of 100 silent/)
    },
    60_000,
  )
})

describe.skipIf(!binaries.ok)('fedobs verify when an edge stops sending', () => {
  const {pipeline, dir} = withPipeline(async (p) => {
    for (const cluster of [p.hub, p.edge]) {
      await cluster.sendLogs([`${cluster.role} request ok`])
      await cluster.sendTrace({spans: 2})
    }
    // The edge's data must be there before it stops, so that it is stale rather than absent.
    await waitFor('the edge kubelet stats at the hub', async () => (await p.query(`k8s_node_memory_working_set_bytes{cluster_id=${quoteLabelValue(EDGE)}}`)).length > 0, {timeoutMs: 60_000})
    await p.edge.agent.stop()
    await p.edge.scraper.stop()
  })

  it('fails (exit 1) with the edge named and the staleness in the JUnit report', async () => {
    // Everything the edge sent is older than the freshness window once it has been quiet for longer
    // than that; the hub's data (scraped every 2 s, batched up to 5 s) stays well inside it.
    await new Promise((resolve) => setTimeout(resolve, 22_000))
    const junit = path.join(dir(), 'stale.xml')
    const result = await runCli(['verify', '-f', 'examples/fedobs.yaml', ...cliBackends(pipeline()), '--freshness', '14s', '--json', '--junit', junit])
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout) as Report
    expect(report.ok).toBe(false)
    const failing = checksOf(report).filter((c) => c.status === 'fail')
    expect(failing.length).toBeGreaterThan(0)
    expect(failing.every((c) => c.cluster === EDGE)).toBe(true)
    expect(failing.map((c) => c.name)).toContain(`${EDGE}: kubeletstats`)
    expect(failing[0]!.hint).toBeTruthy()
    expect(readFileSync(junit, 'utf8')).toContain(`<failure message="stale: newest sample`)
  }, 90_000)
})

describe.skipIf(!binaries.ok)('fedobs verify when an unknown cluster id reaches the hub', () => {
  const rogue = 'a"b})'
  const {pipeline} = withPipeline(async (p) => {
    // The gateway takes cluster.id from the sender's identity token, so a rogue id reaches the hub
    // only with credentials issued for it: minted here by the federation CA (the CLI never would,
    // cluster names are validated), and sent straight at the gateway.
    const now = `${Date.now()}000000`
    const body = {
      resourceMetrics: [
        {
          resource: {
            attributes: [
              {key: 'cluster.id', value: {stringValue: rogue}},
              {key: 'cluster.role', value: {stringValue: 'edge'}},
              {key: 'service.name', value: {stringValue: 'rogue'}},
            ],
          },
          scopeMetrics: [{metrics: [{name: 'up', gauge: {dataPoints: [{asDouble: 1, timeUnixNano: now}]}}]}],
        },
      ],
    }
    const credentials = await p.pki.issue({name: rogue, role: 'edge'})
    // The gateway re-reads its client-CA bundle when the trust Secret changes (client_ca_file_reload),
    // not at once: until it has, the new cluster's handshake is refused. Post until it is accepted.
    let last: unknown
    await waitFor(
      "the gateway to accept the rogue cluster's credentials",
      async () => {
        last = await postToGateway(`${p.gatewayOtlpHttpUrl}/v1/metrics`, body, credentials)
        return (last as {status?: number}).status === 200 ? true : undefined
      },
      {timeoutMs: 60_000, intervalMs: 1000},
    ).catch((error: unknown) => {
      throw new Error(`last answer: ${JSON.stringify(last)}`, {cause: error})
    })
    await waitFor('the rogue series at the hub', async () => (await p.query(`up{cluster_id=${quoteLabelValue(rogue)}}`)).length === 1, {timeoutMs: 30_000})
  })

  it('escapes the id in queries: equality and regex select exactly the rogue series', async () => {
    expect(await pipeline().query(`up{cluster_id=${quoteLabelValue(rogue)}}`)).toHaveLength(1)
    expect(await pipeline().query(`up{cluster_id=~${regexAlternatives([rogue])}}`)).toHaveLength(1)
  })

  it('reports it (exit 1), quoted', async () => {
    const result = await runCli(['verify', '-f', 'examples/fedobs.yaml', ...cliBackends(pipeline()), '--skip-certificates', '--json'])
    expect(result.code).toBe(1)
    const unknown = checkOf(JSON.parse(result.stdout) as Report, 'no-unknown-ids')!
    expect(unknown.status).toBe('fail')
    expect(unknown.message).toContain(JSON.stringify(rogue))
  }, 60_000)
})

describe('fedobs verify durations', () => {
  it.each([
    ['--window', '1m1h'],
    ['--freshness', '1.5m'],
    ['--wait', '0s'],
  ])(
    'refuses %s %s (exit 2) with the units it takes, before asking any backend',
    async (flag, value) => {
      // A port nothing listens on: a usage error must come first.
      const result = await runCli(['verify', '-f', 'examples/fedobs.yaml', '--prometheus-url', 'http://127.0.0.1:9', '--skip-logs', '--skip-traces', '--skip-certificates', flag, value])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(`${flag} "${value}" is not a duration`)
      expect(result.stderr).toContain('(ms, s, m, h, d, w, y)')
      expect(result.stdout).toBe('')
    },
    30_000,
  )
})

describe('label value escaping', () => {
  it('keeps any string inside one PromQL/LogQL label value', () => {
    expect(quoteLabelValue('a"b})')).toBe('"a\\"b})"')
    expect(quoteLabelValue('back\\slash')).toBe('"back\\\\slash"')
    expect(quoteLabelValue('new\nline')).toBe('"new\\nline"')
    expect(regexAlternatives(['a.b', 'c|d', 'x"y'])).toBe('"a\\\\.b|c\\\\|d|x\\"y"')
  })
})
