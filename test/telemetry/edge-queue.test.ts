import {mkdirSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {federationSchema} from '../../src/federation/schema.js'
import type {Federation} from '../../src/federation/model.js'
import {quantityBytes} from '../../src/render/render.js'
import {configOf} from '../helpers/federation.js'
import {REPO} from '../helpers/cli.js'
import {requireBinaries} from '../helpers/testbed.js'
import {Accountant, Monitor, round, selfMetricsUrl, Traffic, type ScenarioResult} from './accounting.js'
import {parseExposition, type Sample} from '../../src/sandbox/telemetry/sources.js'
import {sleep, waitFor} from '../../src/sandbox/telemetry/net.js'
import {logsRequest, postOtlpJson} from '../../src/sandbox/telemetry/otlp.js'
import {EDGE, PIPELINE_BINARIES, startPipeline, type Pipeline, pipelineBinaries} from './pipeline.js'
import {TcpRelay} from './relay-tcp.js'

/**
 * The edge's disk queue (telemetry.storage.agentQueue) on the real collector and Prometheus:
 *
 *   a. the edge cut off from the hub for 10 minutes — longer than any retry interval or the
 *      collector's old 5-minute retry limit — at a high rate (2 s scrapes, 15× the default, plus
 *      20 log records a second): after the cut heals, served == stored;
 *   b. the edge agent SIGKILLed while its queue holds a backlog, restarted on the same directory:
 *      the queue replays, served == stored;
 *   c. a full budget (1Mi): what is refused first — the newest data; the oldest queued is kept;
 *   d. the rendered config unchanged at the default interval (30 s): scrapes arrive, labelled;
 *   e. what limits an outage besides the budget: the hub's Prometheus accepts a replayed sample out of
 *      order only within telemetry.outOfOrderWindow, and the queues replay out of order.
 *
 * Test files run one after another here (vitest's maxWorkers is availableParallelism - 1 = 1 on two
 * cores), so the 10-minute cut runs in the background on its own pipeline while b, c and d run on
 * theirs: the file takes about as long as the cut, not the sum. The numbers (bytes per data point
 * on disk, points per second at 30 s) go to test-results/edge-queue.json for the README.
 */
const binaries = requireBinaries(PIPELINE_BINARIES)
/** The cut of scenario a. FEDOBS_EDGE_CUT_S shortens it for debugging only; CI runs 600 s. */
const CUT_MS = Number(process.env.FEDOBS_EDGE_CUT_S ?? 600) * 1000
const RESULTS = path.join(REPO, 'test-results', 'edge-queue.json')
const EXPORTER = 'otlp_grpc/gateway'

const measured: Record<string, unknown> = {}

// ---------------------------------------------------------------- helpers

async function selfMetrics(url: string): Promise<Sample[]> {
  const response = await fetch(url, {signal: AbortSignal.timeout(2000)})
  return parseExposition(await response.text())
}

/** Sum of a collector self-metric (with or without _total) over the samples matching `labels`. */
function metric(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((s) => s.name.replace(/_total$/, '') === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0)
}

/** The gateway exporter's queue of one signal, in bytes (the sizer the budget is set in). */
const queueBytes = (samples: Sample[], dataType: 'metrics' | 'logs' | 'traces'): number => metric(samples, 'otelcol_exporter_queue_size', {exporter: EXPORTER, data_type: dataType})

/**
 * Bytes the files under a directory take on disk (the bbolt files of a file_storage extension):
 * blocks allocated, as du counts them (bbolt grows its file ahead of use, sparsely).
 */
function directoryBytes(dir: string): Record<string, number> {
  return Object.fromEntries(readdirSync(dir).map((f) => [f, statSync(path.join(dir, f)).blocks * 512]))
}

/** A pipeline whose edge ships to the gateway through a relay the test can cut. */
async function partitionablePipeline(extra: {federation?: (f: Federation) => Federation} = {}): Promise<{p: Pipeline; relay: TcpRelay; monitor: Monitor; traffic: Traffic; accounts: Accountant}> {
  let relay: TcpRelay | undefined
  const p = await startPipeline({...pipelineBinaries(binaries), ...extra, edgeGatewayAddress: async (gateway) => (relay = await new TcpRelay(gateway).start()).address})
  const monitor = new Monitor({gateway: p.gatewayMetricsUrl, 'edge-agent': selfMetricsUrl(p, 'edge-agent'), 'edge-scraper': selfMetricsUrl(p, 'edge-scraper')})
  monitor.start()
  const traffic = new Traffic([p.hub, p.edge])
  // No begin(): counting starts at zero, with the pipeline. A snapshot taken now could count a
  // collection as served while its points are still on their way, and then as stored only later.
  const accounts = new Accountant(p, monitor, traffic)
  traffic.start()
  await accounts.flowing()
  return {p, relay: relay!, monitor, traffic, accounts}
}

async function stopAll(run: {p?: Pipeline; relay?: TcpRelay; monitor?: Monitor; traffic?: Traffic} | undefined): Promise<void> {
  run?.monitor?.stop()
  await run?.traffic?.stop()
  await run?.p?.stop()
  await run?.relay?.close()
}

/** Log records into the edge agent as fast as `perSecond` allows, counted like Traffic's. */
function highRateLogs(p: Pipeline, perSecond: number): {stop(): Promise<void>; failures: string[]} {
  let stopping = false
  const failures: string[] = []
  const loop = (async () => {
    for (let tick = 0; !stopping; tick++) {
      const next = sleep(1000)
      const lines = Array.from({length: perSecond}, (_, i) => `edge-queue high rate ${tick}.${i} ${'x'.repeat(120)}`)
      await p.edge.sendLogs(lines).catch((error: unknown) => failures.push(error instanceof Error ? error.message : String(error)))
      await next
    }
  })()
  return {
    failures,
    async stop() {
      stopping = true
      await loop
    },
  }
}

// ---------------------------------------------------------------- a. the 10-minute cut (background)

interface LongCut {
  result: ScenarioResult
  cutS: number
  expectZeroLost(): void
  edgeQueuesAtHeal: Record<string, number>
  highRateFailures: string[]
  relayBytesAtCut: number
  relayBytesAtHeal: number
}

async function tenMinuteCut(): Promise<LongCut> {
  const run: Partial<Awaited<ReturnType<typeof partitionablePipeline>>> = {}
  try {
    Object.assign(run, await partitionablePipeline())
    const {p, relay, monitor, accounts} = run as Awaited<ReturnType<typeof partitionablePipeline>>
    const logs = highRateLogs(p, 20)
    const begin = Date.now()
    await sleep(5000)
    monitor.takePeaks()
    const before = {agent: await selfMetrics(selfMetricsUrl(p, 'edge-agent')), scraper: await selfMetrics(selfMetricsUrl(p, 'edge-scraper'))}
    const relayBytesAtCut = relay.stats.bytesUp
    relay.cut('blackhole')
    const cut = Date.now()
    await sleep(CUT_MS)
    const after = {agent: await selfMetrics(selfMetricsUrl(p, 'edge-agent')), scraper: await selfMetrics(selfMetricsUrl(p, 'edge-scraper'))}
    const relayBytesAtHeal = relay.stats.bytesUp
    const disk = {agent: directoryBytes(path.join(p.dir, 'edge', 'agent', 'file_storage-queue')), scraper: directoryBytes(path.join(p.dir, 'edge', 'scraper', 'file_storage-queue'))}
    relay.heal()
    const healed = Date.now()
    await logs.stop()
    // Points that entered each queue during the cut: what the receivers accepted (nothing left).
    const accepted = {
      agentMetrics: metric(after.agent, 'otelcol_receiver_accepted_metric_points') - metric(before.agent, 'otelcol_receiver_accepted_metric_points'),
      agentLogs: metric(after.agent, 'otelcol_receiver_accepted_log_records') - metric(before.agent, 'otelcol_receiver_accepted_log_records'),
      scraperMetrics: metric(after.scraper, 'otelcol_receiver_accepted_metric_points') - metric(before.scraper, 'otelcol_receiver_accepted_metric_points'),
    }
    const queues = {
      agentMetrics: queueBytes(after.agent, 'metrics'),
      agentLogs: queueBytes(after.agent, 'logs'),
      agentTraces: queueBytes(after.agent, 'traces'),
      scraperMetrics: queueBytes(after.scraper, 'metrics'),
    }
    const fileOf = (files: Record<string, number>, signal: string): number =>
      Object.entries(files)
        .filter(([f]) => f.endsWith(`_${signal}`))
        .reduce((n, [, b]) => n + b, 0)
    measured.cut = {
      cutS: round((healed - cut) / 1000),
      scrapeInterval: p.federation.telemetry.scrapeInterval,
      highRateLogsPerS: 20,
      acceptedDuringCut: accepted,
      queueBytesAtHeal: queues,
      queueFilesAtHeal: disk,
      // The budget counts the sizer's bytes (the uncompressed OTLP protobuf of each request); the
      // bbolt file is what the node's disk holds.
      bytesPerPoint: {
        agentMetricsSizer: round(queues.agentMetrics / accepted.agentMetrics),
        agentMetricsFile: round(fileOf(disk.agent, 'metrics') / accepted.agentMetrics),
        scraperMetricsSizer: round(queues.scraperMetrics / accepted.scraperMetrics),
        scraperMetricsFile: round(fileOf(disk.scraper, 'metrics') / accepted.scraperMetrics),
        agentLogRecordSizer: round(queues.agentLogs / accepted.agentLogs),
      },
    }
    const result = await accounts.checkpoint(
      'edge-cut-10min',
      `edge ↔ hub relay blackholed for ${round((healed - cut) / 1000)} s at 2 s scrapes and 20 log records/s`,
      begin,
      healed,
      {measured: measured.cut},
      true,
    )
    return {
      result,
      cutS: (healed - cut) / 1000,
      expectZeroLost: () => accounts.expectZeroLost(result),
      edgeQueuesAtHeal: queues,
      highRateFailures: logs.failures,
      relayBytesAtCut,
      relayBytesAtHeal,
    }
  } finally {
    await stopAll(run)
  }
}

// ---------------------------------------------------------------- the tests

describe.skipIf(!binaries.ok)('the edge queue on disk, on the real collector: outages, a SIGKILL, a full budget, the default interval', () => {
  let long: Promise<LongCut>
  const started = Date.now()

  beforeAll(() => {
    long = tenMinuteCut()
    long.catch(() => undefined) // awaited (and reported) by its own test
  })

  afterAll(async () => {
    await long?.catch(() => undefined)
    mkdirSync(path.dirname(RESULTS), {recursive: true})
    writeFileSync(RESULTS, `${JSON.stringify({at: new Date().toISOString(), wallS: round((Date.now() - started) / 1000), ...measured}, null, 2)}\n`)
    console.log(`edge-queue: ${round((Date.now() - started) / 1000)} s; numbers in ${path.relative(REPO, RESULTS)}`)
  })

  it('b. the edge agent SIGKILLed while its queue holds a backlog, restarted on the same directory: the queue replays, nothing lost', async () => {
    const run: Partial<Awaited<ReturnType<typeof partitionablePipeline>>> = {}
    try {
      Object.assign(run, await partitionablePipeline())
      const {p, relay, accounts, traffic} = run as Awaited<ReturnType<typeof partitionablePipeline>>
      const agentUrl = selfMetricsUrl(p, 'edge-agent')
      const begin = Date.now()
      relay.cut('blackhole')
      const cut = Date.now()
      // A backlog of metrics and logs in the agent's queue (at least 15 s of it).
      const held = await waitFor(
        'a backlog in the edge agent queue',
        async () => {
          const s = await selfMetrics(agentUrl).catch(() => [])
          return Date.now() - cut > 15_000 && queueBytes(s, 'metrics') > 0 && queueBytes(s, 'logs') > 0
            ? {metrics: queueBytes(s, 'metrics'), logs: queueBytes(s, 'logs'), traces: queueBytes(s, 'traces')}
            : undefined
        },
        {timeoutMs: 60_000, intervalMs: 1000},
      )
      // Nothing is sent into the agent while it is down (a workload would retry); pod logs keep
      // being written, and file_log reads them from its stored offsets after the restart.
      await traffic.stop()
      await p.edge.agent.kill()
      const killed = Date.now()
      p.edge.writePodLog(p.edge.node.pods[0]!, p.edge.node.pods[0]!.containers[0]!, ['written while the agent was dead 1', 'written while the agent was dead 2'])
      await sleep(3000)
      await p.edge.agent.start()
      const replayed = await waitFor(
        'the restarted agent to report its queue',
        async () => {
          const s = await selfMetrics(agentUrl).catch(() => undefined)
          return s && s.some((x) => x.name === 'otelcol_exporter_queue_size') ? {metrics: queueBytes(s, 'metrics'), logs: queueBytes(s, 'logs')} : undefined
        },
        {timeoutMs: 20_000, intervalMs: 500},
      )
      traffic.start()
      await sleep(5000)
      relay.heal()
      const healed = Date.now()
      const result = await accounts.checkpoint(
        'agent-sigkill',
        `edge cut off, edge agent SIGKILLed with ${held.metrics} B of metrics and ${held.logs} B of logs queued, down ${round((Date.now() - killed) / 1000)} s`,
        begin,
        healed,
        {queueBeforeKill: held, queueAfterRestart: replayed},
        true,
      )
      measured.sigkill = {queueBeforeKill: held, queueAfterRestart: replayed, drainS: result.drainS}
      expect(p.edge.agent.exits).toContain('signal SIGKILL')
      // The restarted agent found the backlog on disk (an in-memory queue would start empty).
      expect(replayed.metrics).toBeGreaterThan(0)
      expect(replayed.logs).toBeGreaterThan(0)
      expect(result.drainS, 'the backlog arrived after the cut healed').toBeDefined()
      accounts.expectZeroLost(result)
    } finally {
      await stopAll(run)
    }
  }, 480_000)

  it('c. a full budget (1Mi): the newest data is refused, everything queued before it is delivered', async () => {
    const run: Partial<Awaited<ReturnType<typeof partitionablePipeline>>> = {}
    const budget = '1Mi'
    try {
      Object.assign(run, await partitionablePipeline({federation: (f) => ({...f, telemetry: {...f.telemetry, storage: {...f.telemetry.storage, agentQueue: budget}}})}))
      const {p, relay, traffic} = run as Awaited<ReturnType<typeof partitionablePipeline>>
      expect(configOf(p.edge.rendering.objects, 'otel-agent-config', 'config.yaml').exporters[EXPORTER].sending_queue.queue_size).toBe(quantityBytes(budget))
      await traffic.stop()
      const agentUrl = selfMetricsUrl(p, 'edge-agent')
      relay.cut('blackhole')
      // Numbered records, 50 per request, until the agent refuses some and then 10 s more.
      const outcome: Array<'accepted' | 'refused'> = []
      let firstRefusal: number | undefined
      for (let seq = 0; firstRefusal === undefined || Date.now() - firstRefusal < 10_000; seq++) {
        const lines = Array.from({length: 50}, (_, i) => `budget ${seq}.${i} ${'y'.repeat(400)}`)
        try {
          await postOtlpJson(`${p.edge.agentOtlpHttp}/v1/logs`, logsRequest({'service.name': 'budget-test'}, lines))
          outcome.push('accepted')
        } catch {
          outcome.push('refused')
          firstRefusal ??= Date.now()
        }
        if (seq > 5000) throw new Error('the 1Mi queue never filled')
        await sleep(20)
      }
      // Pod logs written while the queue is full are not dropped: file_log waits (retry_on_failure)
      // and the lines wait in the node's log file.
      const podLines = Array.from({length: 5}, (_, i) => `budget pod line ${i} while full`)
      p.edge.writePodLog(p.edge.node.pods[0]!, p.edge.node.pods[0]!.containers[0]!, podLines)
      await sleep(3000)
      const atFull = await selfMetrics(agentUrl)
      const refusedRecords = metric(atFull, 'otelcol_exporter_enqueue_failed_log_records', {exporter: EXPORTER})
      const queuedBytes = queueBytes(atFull, 'logs')
      relay.heal()
      const accepted = outcome.flatMap((o, seq) => (o === 'accepted' ? [seq] : []))
      const stored = (): Set<number> =>
        new Set(
          p.loki
            .allStreams()
            .filter((s) => s.labels.service_name === 'budget-test' || JSON.stringify(s.labels).includes('budget-test'))
            .flatMap((s) => s.entries.map((e) => Number(/^budget (\d+)\./.exec(e.line)?.[1] ?? -1))),
        )
      await waitFor('every accepted request stored', () => (accepted.every((seq) => stored().has(seq)) ? true : undefined), {timeoutMs: 120_000, intervalMs: 1000}).catch(() => undefined)
      const podLinesStored = (): string[] =>
        p.loki
          .allStreams()
          .flatMap((st) => st.entries.map((e) => e.line))
          .filter((line) => podLines.includes(line))
      await waitFor('the pod log lines written while full', () => (podLinesStored().length >= podLines.length ? true : undefined), {timeoutMs: 90_000, intervalMs: 1000}).catch(() => undefined)
      const firstRefused = outcome.indexOf('refused')
      measured.fullBudget = {
        budget,
        budgetBytes: quantityBytes(budget),
        requests: outcome.length,
        accepted: accepted.length,
        firstRefusedRequest: firstRefused,
        refusedRecords,
        queuedBytesWhenFull: queuedBytes,
      }
      // Full: the agent refused (the sender got an error: OTLP 503), counted as enqueue failures.
      expect(firstRefused).toBeGreaterThan(0)
      expect(refusedRecords).toBeGreaterThan(0)
      expect(queuedBytes).toBeGreaterThan(quantityBytes(budget) * 0.8)
      expect(queuedBytes).toBeLessThanOrEqual(quantityBytes(budget))
      // The oldest are kept: everything before the first refusal was accepted and is delivered.
      expect(outcome.slice(0, firstRefused).every((o) => o === 'accepted')).toBe(true)
      const delivered = stored()
      expect(
        accepted.filter((seq) => !delivered.has(seq)),
        'accepted but never stored',
      ).toEqual([])
      // What was refused never arrives: the newest were the ones dropped.
      expect([...delivered].filter((seq) => outcome[seq] === 'refused')).toEqual([])
      expect(podLinesStored().sort()).toEqual([...podLines].sort())
      // Scrapes hit the same wall: the scraper's 1Mi metrics queue refuses the newest scrapes too.
      const scraper = await selfMetrics(selfMetricsUrl(p, 'edge-scraper'))
      measured.fullBudget = {
        ...(measured.fullBudget as object),
        scraperMetricsQueueBytes: queueBytes(scraper, 'metrics'),
        scraperRefusedPoints: metric(scraper, 'otelcol_exporter_enqueue_failed_metric_points', {exporter: EXPORTER}),
      }
    } finally {
      await stopAll(run)
    }
  }, 480_000)

  it('d. the rendered config unchanged at the default interval (30 s): a few scrapes of every job arrive, labelled', async () => {
    let p: Pipeline | undefined
    try {
      expect(federationSchema.definitions.telemetry.properties.scrapeInterval.default).toBe('30s')
      p = await startPipeline({...pipelineBinaries(binaries), scrapeInterval: federationSchema.definitions.telemetry.properties.scrapeInterval.default})
      const scraper = configOf(p.edge.rendering.objects, 'otel-scraper-config', 'config.yaml')
      const agent = configOf(p.edge.rendering.objects, 'otel-agent-config', 'config.yaml')
      expect(new Set(scraper.receivers.prometheus.config.scrape_configs.map((j: {scrape_interval: string}) => j.scrape_interval))).toEqual(new Set(['30s']))
      expect(agent.receivers.kubelet_stats.collection_interval).toBe('30s')
      const start = Date.now()
      const before = {agent: await selfMetrics(selfMetricsUrl(p, 'edge-agent')), scraper: await selfMetrics(selfMetricsUrl(p, 'edge-scraper'))}
      const jobs = ['bert-inference', 'dcgm-exporter', 'kube-state-metrics']
      const pipeline = p
      // Three scrapes of every job of both clusters, and three kubelet collections, stored.
      const timestamps = async (selector: string): Promise<number[]> => {
        const rows = (await pipeline.query(`${selector}[10m]`)) as unknown as Array<{metric: Record<string, string>; values: Array<[number, string]>}>
        return [...new Set(rows.flatMap((r) => r.values.map((v) => v[0])))].sort((a, b) => a - b)
      }
      await waitFor(
        'three scrapes of every job at 30 s',
        async () => {
          for (const cluster of [p!.hub.id, EDGE]) {
            for (const job of jobs) if ((await timestamps(`up{job="${job}", cluster_id="${cluster}"}`)).length < 3) return undefined
            if ((await timestamps(`k8s_node_memory_working_set_bytes{cluster_id="${cluster}"}`)).length < 3) return undefined
          }
          return true
        },
        {timeoutMs: 150_000, intervalMs: 5000},
      )
      const elapsedS = (Date.now() - start) / 1000
      for (const cluster of [p.hub, p.edge]) {
        for (const job of jobs) {
          const rows = await p.query(`up{job="${job}", cluster_id="${cluster.id}"}`)
          expect(rows.length, `${job} on ${cluster.id}`).toBeGreaterThan(0)
          for (const row of rows) {
            expect(row.metric).toMatchObject({cluster_id: cluster.id, cluster_role: cluster.role, hub_received_at: 'otel-gateway-0'})
            expect(row.value[1]).toBe('1')
          }
          // 30 s apart, as rendered (the receiver's scrape times, kept by Prometheus).
          const ts = await timestamps(`up{job="${job}", cluster_id="${cluster.id}"}`)
          for (let i = 1; i < ts.length; i++) expect(ts[i]! - ts[i - 1]!).toBeCloseTo(30, 0)
        }
        const kubelet = await p.query(`k8s_node_memory_working_set_bytes{cluster_id="${cluster.id}"}`)
        expect(kubelet[0]?.metric).toMatchObject({cluster_id: cluster.id, cluster_role: cluster.role, hub_received_at: 'otel-gateway-0', job: 'kubeletstats'})
      }
      // The edge's data rate at the default interval (for the README's outage budget).
      const after = {agent: await selfMetrics(selfMetricsUrl(p, 'edge-agent')), scraper: await selfMetrics(selfMetricsUrl(p, 'edge-scraper'))}
      const points = (s: {agent: Sample[]; scraper: Sample[]}, who: 'agent' | 'scraper') => metric(s[who], 'otelcol_receiver_accepted_metric_points')
      measured.defaultInterval = {
        elapsedS: round(elapsedS),
        edgeAgentPointsPerS: round((points(after, 'agent') - points(before, 'agent')) / elapsedS),
        edgeScraperPointsPerS: round((points(after, 'scraper') - points(before, 'scraper')) / elapsedS),
        edgeScrapes: Object.fromEntries(
          [p.edge.sources.bert, p.edge.sources.dcgm, p.edge.sources.ksm, p.edge.sources.kubelet].map((s) => [
            s.name,
            {scrapes: s.scrapes, samplesPerScrape: s.scrapes ? round(s.samples / s.scrapes) : 0},
          ]),
        ),
      }
    } finally {
      await p?.stop()
    }
  }, 480_000)

  it('e. the hub refuses what is older than telemetry.outOfOrderWindow (1m here; 2d by default): the queues replay with concurrent consumers, out of order, and part of a 150 s backlog is refused; the newest is kept', async () => {
    const run: Partial<Awaited<ReturnType<typeof partitionablePipeline>>> = {}
    try {
      Object.assign(run, await partitionablePipeline({federation: (f) => ({...f, telemetry: {...f.telemetry, outOfOrderWindow: '1m'}})}))
      const {p, relay} = run as Awaited<ReturnType<typeof partitionablePipeline>>
      const scraperUrl = selfMetricsUrl(p, 'edge-scraper')
      relay.cut('blackhole')
      const cut = Date.now()
      await sleep(150_000)
      relay.heal()
      const healed = Date.now()
      await waitFor('the edge scraper queue drained', async () => (queueBytes(await selfMetrics(scraperUrl), 'metrics') === 0 ? true : undefined), {timeoutMs: 120_000, intervalMs: 1000})
      await sleep(5000)
      const rows = (await p.query(`up{job="kube-state-metrics", cluster_id="${EDGE}"}[15m]`)) as unknown as Array<{values: Array<[number, string]>}>
      const stamps = rows.flatMap((r) => r.values.map((v) => v[0] * 1000))
      const within = (from: number, to: number): number => stamps.filter((t) => t >= from && t <= to).length
      const servedDuringCut = p.edge.sources.ksm.served.filter((x) => x.at >= cut && x.at <= healed).length
      const gateway = await selfMetrics(p.gatewayMetricsUrl)
      const refused = metric(gateway, 'otelcol_exporter_send_failed_metric_points', {exporter: 'otlp_http/prometheus'})
      measured.outOfOrderWindow = {
        window: '1m',
        cutS: round((healed - cut) / 1000),
        ksmScrapesDuringCut: {served: servedDuringCut, stored: within(cut, healed)},
        storedFirst60sOfCut: within(cut, cut + 60_000),
        storedLast20sOfCut: within(healed - 20_000, healed),
        gatewayPrometheusRefusedPoints: refused,
      }
      // Before the cut: stored. Of the backlog, Prometheus refused part (the gateway counts it as
      // failed sends); the newest scrapes of the cut are there.
      expect(within(cut - 20_000, cut - 2000)).toBeGreaterThan(0)
      expect(refused).toBeGreaterThan(0)
      expect(within(cut, healed)).toBeLessThan(servedDuringCut)
      expect(within(healed - 20_000, healed)).toBeGreaterThan(0)
    } finally {
      await stopAll(run)
    }
  }, 480_000)

  it(
    `a. the edge cut off from the hub for ${CUT_MS / 60_000} minutes at a high rate: after the cut heals, served == stored`,
    async () => {
      const r = await long
      expect(r.cutS).toBeGreaterThanOrEqual(CUT_MS / 1000)
      // The cut was real: no byte crossed it, and the edge's queues held the backlog.
      expect(r.relayBytesAtHeal).toBe(r.relayBytesAtCut)
      expect(r.edgeQueuesAtHeal.agentMetrics).toBeGreaterThan(0)
      expect(r.edgeQueuesAtHeal.agentLogs).toBeGreaterThan(0)
      expect(r.edgeQueuesAtHeal.scraperMetrics).toBeGreaterThan(0)
      expect(r.highRateFailures).toEqual([])
      expect(r.result.drainS, 'the backlog arrived after the cut healed').toBeDefined()
      r.expectZeroLost()
    },
    CUT_MS + 600_000,
  )
})
