import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {parse} from 'yaml'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {REPO} from '../helpers/cli.js'
import {requireBinaries} from '../helpers/testbed.js'
import {getJson, sleep, waitFor} from './net.js'
import {EDGE, RECEIVER_SERIES_EXCLUDED, startPipeline, type ClusterHandle, type Pipeline} from './pipeline.js'
import {TcpRelay} from './relay-tcp.js'
import type {Source} from './sources.js'

/**
 * Reliability of the rendered pipeline, measured on the real collector and Prometheus: three
 * outages, each ending with an exact count of what the sources served against what the sinks
 * hold. Zero lost is the only passing result.
 *
 *   1. Prometheus down for 60 s (SIGTERM, then restarted on the same TSDB and port): the gateway's
 *      persistent queue holds the metrics and replays them (out-of-order window) when it returns.
 *   2. The gateway SIGKILLed while its Prometheus queue holds data (Prometheus SIGKILLed first),
 *      restarted on the same queue directory, then Prometheus restarted: the queue replays.
 *   3. The edge partitioned from the hub for 60 s (a TCP relay between the edge's collectors and
 *      the gateway stops moving bytes): the edge's in-memory sending queue and retries hold it.
 *
 * Logs and spans are sent into both agents every second throughout, and counted the same way.
 *
 * Accounting: one pipeline runs the three scenarios in turn. Each ends at a checkpoint: traffic
 * stops, the backlog is delivered, the sources answer 503 for a scrape interval (so no scrape is in
 * flight), the agents and scrapers stop gracefully (flushing their batches), and then every source
 * must find exactly its served samples in Prometheus. The scenario's numbers are the differences
 * between consecutive checkpoints; the shippers start again for the next scenario.
 */
const binaries = requireBinaries(['FEDOBS_OTELCOL', 'FEDOBS_PROMETHEUS'])
const OUTAGE_MS = 60_000
const RESULTS = path.join(REPO, 'test-results', 'reliability.json')

// ---------------------------------------------------------------- self-metrics of the collectors

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** The samples of a Prometheus text exposition (what the collectors' pull readers serve). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line)
    if (!m) continue
    const labels: Record<string, string> = {}
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!
    out.push({name: m[1]!, labels, value: Number(m[3])})
  }
  return out
}

const COUNTED = /^otelcol_(exporter_send_failed|exporter_enqueue_failed|receiver_refused|receiver_failed|processor_refused|processor_dropped)_/

/**
 * Polls the self-metrics of the gateway (and the edge's agent and scraper) every second: the peak
 * of every exporter's queue size in the current window, and failure counters summed across
 * restarts (a SIGKILLed collector starts again from zero).
 */
class Monitor {
  private timer: NodeJS.Timeout | undefined
  private polling = false
  private peaks = new Map<string, number>()
  private readonly latest = new Map<string, number>()
  private readonly counters = new Map<string, {last: number; total: number}>()

  constructor(private readonly targets: Record<string, string>) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), 1000)
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** Queue size peaks since the last call, "target exporter" → size. */
  takePeaks(): Record<string, number> {
    const peaks = Object.fromEntries([...this.peaks].sort())
    this.peaks = new Map()
    return peaks
  }

  /** Queue size peaks of the current window, without starting a new one. */
  peaksSoFar(): Record<string, number> {
    return Object.fromEntries([...this.peaks].sort())
  }

  /** The newest queue size of one exporter of one target (undefined when not scraped yet or down). */
  queue(target: string, exporter: string): number | undefined {
    return this.latest.get(`${target} ${exporter}`)
  }

  /** Failure counters (receiver refused, exporter send/enqueue failed ...) with a non-zero total. */
  failures(): Record<string, number> {
    return Object.fromEntries([...this.counters].filter(([, c]) => c.total > 0).map(([k, c]) => [k, c.total]))
  }

  async poll(): Promise<void> {
    if (this.polling) return
    this.polling = true
    try {
      await Promise.all(Object.entries(this.targets).map(([target, url]) => this.pollOne(target, url)))
    } finally {
      this.polling = false
    }
  }

  private async pollOne(target: string, url: string): Promise<void> {
    let text: string
    try {
      const response = await fetch(url, {signal: AbortSignal.timeout(900)})
      text = await response.text()
    } catch {
      for (const key of this.latest.keys()) if (key.startsWith(`${target} `)) this.latest.delete(key)
      return // down (killed, stopped) or busy: nothing to read this time
    }
    for (const s of parseExposition(text)) {
      if (s.name === 'otelcol_exporter_queue_size') {
        const key = `${target} ${s.labels.exporter}`
        this.latest.set(key, s.value)
        this.peaks.set(key, Math.max(this.peaks.get(key) ?? 0, s.value))
      } else if (COUNTED.test(s.name)) {
        const key = `${target} ${s.name.replace(/_total$/, '')}{${s.labels.exporter ?? s.labels.receiver ?? s.labels.processor ?? ''}}`
        const c = this.counters.get(key) ?? {last: 0, total: 0}
        c.total += s.value >= c.last ? s.value - c.last : s.value
        c.last = s.value
        this.counters.set(key, c)
      }
    }
  }
}

/** The self-metrics URL of a collector the pipeline started, from its loopback config file. */
function selfMetricsUrl(p: Pipeline, name: string): string {
  const config = parse(readFileSync(path.join(p.dir, `${name}.yaml`), 'utf8'))
  const {host, port} = config.service.telemetry.metrics.readers[0].pull.exporter.prometheus
  return `http://${host}:${port}/metrics`
}

// ---------------------------------------------------------------- traffic: logs and spans

/** Every second: 2 log records and a 2-span trace into each agent, and a pod log line every 3 s. */
class Traffic {
  private running: Promise<void> | undefined
  private stopping = false
  readonly failures: string[] = []

  constructor(private readonly clusters: ClusterHandle[]) {}

  start(): void {
    this.stopping = false
    this.running = this.loop()
  }

  async stop(): Promise<void> {
    this.stopping = true
    await this.running
  }

  private async loop(): Promise<void> {
    for (let tick = 0; !this.stopping; tick++) {
      const next = sleep(1000)
      await Promise.all(
        this.clusters.map(async (cluster) => {
          try {
            await cluster.sendLogs([`reliability ${cluster.role} tick ${tick} ${Date.now()} a`, `reliability ${cluster.role} tick ${tick} ${Date.now()} b`])
            await cluster.sendTrace({spans: 2})
            if (tick % 3 === 0) cluster.writePodLog(cluster.node.pods[0]!, cluster.node.pods[0]!.containers[0]!, [`reliability ${cluster.role} pod line ${tick} ${Date.now()}`])
          } catch (error) {
            this.failures.push(`${cluster.role}: ${(error as Error).message}`)
          }
        }),
      )
      await next
    }
  }
}

// ---------------------------------------------------------------- accounting

interface Count {
  served: number
  stored: number
}

interface Snapshot {
  at: number
  /** "edge bert-inference" → samples served by the source and stored in Prometheus. */
  samples: Record<string, Count>
  /** "edge bert-inference" → scrapes served vs up == 1 samples stored. */
  scrapes: Record<string, Count>
  logs: Record<string, Count>
  spans: Count
  duplicates: {logRecords: number; spans: number}
}

interface ScenarioResult {
  name: string
  outage: string
  durationS: number
  /** Time from the end of the outage until the backlog was delivered. */
  drainS: number | undefined
  samples: Record<string, Count>
  scrapes: Record<string, Count>
  logs: Record<string, Count>
  spans: Count
  duplicates: {logRecords: number; spans: number}
  queuePeaks: Record<string, number>
  notes: Record<string, unknown>
}

function countedSources(cluster: ClusterHandle): Array<{key: string; source: Source; selector: string; up?: string}> {
  const id = cluster.id
  const scraped = [cluster.sources.bert, cluster.sources.dcgm, cluster.sources.ksm].map((source) => ({
    key: `${cluster.role} ${source.name}`,
    source,
    selector: `{job="${source.name}", cluster_id="${id}", ${RECEIVER_SERIES_EXCLUDED}}`,
    up: `up{job="${source.name}", cluster_id="${id}"}`,
  }))
  // A kubelet summary serves one entity per node, pod and container; each becomes one memory point.
  const kubelet = {
    key: `${cluster.role} kubelet`,
    source: cluster.sources.kubelet as Source,
    selector: `{__name__=~"k8s_node_memory_working_set_bytes|k8s_pod_memory_working_set_bytes|container_memory_working_set_bytes", cluster_id="${id}"}`,
  }
  return [...scraped, kubelet]
}

describe.skipIf(!binaries.ok)('reliability on the real collector: zero data points lost through outages', () => {
  let p: Pipeline
  let relay: TcpRelay
  let monitor: Monitor
  let traffic: Traffic
  let last: Snapshot
  const results: ScenarioResult[] = []
  const started = Date.now()

  const clusters = (): ClusterHandle[] => [p.hub, p.edge]
  const shippers = () => [p.hub.agent, p.hub.scraper, p.edge.agent, p.edge.scraper]
  const sources = () => clusters().flatMap((c) => Object.values(c.sources) as Source[])

  /** The values of every sample Prometheus holds for a selector over the last hour. */
  async function rawValues(selector: string): Promise<string[]> {
    const {status, body} = await getJson(`${p.prometheusUrl}/api/v1/query?${new URLSearchParams({query: `${selector}[1h]`})}`)
    if (status !== 200 || body.status !== 'success') throw new Error(`PromQL ${selector}: ${status} ${JSON.stringify(body)}`)
    return (body.data.result as Array<{values?: Array<[number, string]>}>).flatMap((s) => (s.values ?? []).map((v) => v[1]))
  }

  async function snapshot(): Promise<Snapshot> {
    const samples: Record<string, Count> = {}
    const scrapes: Record<string, Count> = {}
    const logs: Record<string, Count> = {}
    for (const cluster of clusters()) {
      for (const {key, source, selector, up} of countedSources(cluster)) {
        samples[key] = {served: source.samples, stored: await p.storedSamples(selector)}
        if (up) scrapes[key] = {served: source.scrapes, stored: (await rawValues(up)).filter((v) => v === '1').length}
      }
      logs[cluster.role] = {
        served: cluster.sent.logRecords + cluster.sent.podLogLines,
        stored: p.loki.allStreams().filter((s) => s.labels.cluster_id === cluster.id).reduce((n, s) => n + s.entries.length, 0),
      }
    }
    return {
      at: Date.now(),
      samples,
      scrapes,
      logs,
      spans: {served: p.hub.sent.spans + p.edge.sent.spans, stored: p.tempo.spanCount},
      duplicates: {logRecords: p.loki.stats.duplicates, spans: p.tempo.stats.duplicates},
    }
  }

  /**
   * Wait until everything served up to `lagMs` ago is stored (the backlog is delivered); returns
   * when, or undefined after the timeout (a loss, then shown by the exact count that follows).
   */
  async function backlogDelivered(timeoutMs: number, lagMs = 12_000): Promise<number | undefined> {
    try {
      return await waitFor(
        'the backlog to be delivered',
        async () => {
          const cutoff = Date.now() - lagMs
          for (const cluster of clusters()) {
            for (const {source, selector} of countedSources(cluster)) {
              if ((await p.storedSamples(selector)) < source.samplesServed(0, cutoff)) return undefined
            }
          }
          return Date.now()
        },
        {timeoutMs, intervalMs: 1000},
      )
    } catch {
      return undefined
    }
  }

  /**
   * The checkpoint that ends a scenario: stop traffic, let the backlog arrive, quiesce the sources,
   * stop the shippers gracefully, wait for the exact counts; then the scenario's numbers are the
   * differences to the previous checkpoint. Restarts the shippers and the traffic unless `final`.
   */
  async function checkpoint(name: string, outage: string, begin: number, outageEnd: number, notes: Record<string, unknown>, final = false): Promise<ScenarioResult> {
    await traffic.stop()
    const delivered = await backlogDelivered(120_000)
    await waitFor('logs and spans delivered', async () => {
      const s = await snapshot()
      return Object.values(s.logs).every((c) => c.stored >= c.served) && s.spans.stored >= s.spans.served
    }, {timeoutMs: delivered ? 20_000 : 1000}).catch(() => undefined)
    // No scrape in flight while the scrapers stop: a scrape served but cut off by the shutdown
    // would count as served and never be sent. 503 for one scrape interval and a half.
    for (const source of sources()) source.fault = 503
    await sleep(3000)
    await Promise.all(shippers().map((s) => s.stop()))
    for (const source of sources()) source.fault = undefined
    // Graceful stops flushed every batch; the gateway's queues may still be delivering.
    let now = await snapshot()
    const exact = (s: Snapshot): boolean => [...Object.values(s.samples), ...Object.values(s.scrapes), ...Object.values(s.logs), s.spans].every((c) => c.served === c.stored)
    const deadline = Date.now() + 30_000
    while (!exact(now) && Date.now() < deadline) {
      await sleep(1000)
      now = await snapshot()
    }
    const diff = (a: Record<string, Count>, b: Record<string, Count>): Record<string, Count> =>
      Object.fromEntries(Object.entries(a).map(([k, c]) => [k, {served: c.served - (b[k]?.served ?? 0), stored: c.stored - (b[k]?.stored ?? 0)}]))
    const result: ScenarioResult = {
      name,
      outage,
      durationS: round((Date.now() - begin) / 1000),
      drainS: delivered ? round((delivered - outageEnd) / 1000) : undefined,
      samples: diff(now.samples, last.samples),
      scrapes: diff(now.scrapes, last.scrapes),
      logs: diff(now.logs, last.logs),
      spans: diff({spans: now.spans}, {spans: last.spans}).spans!,
      duplicates: {logRecords: now.duplicates.logRecords - last.duplicates.logRecords, spans: now.duplicates.spans - last.duplicates.spans},
      queuePeaks: monitor.takePeaks(),
      notes: {...notes, collectorFailures: monitor.failures(), trafficFailures: traffic.failures.length, droppedInLogs: droppedInLogs()},
    }
    last = now
    results.push(result)
    print(result)
    if (!final) {
      await Promise.all(shippers().map((s) => s.start()))
      traffic.start()
    }
    return result
  }

  /** Lines where a collector says it dropped data (for the report when something is lost). */
  function droppedInLogs(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const proc of p.processes()) {
      const n = proc.log().split('\n').filter((l) => /Dropping data|dropped|permanent error|interrupted due to shutdown/i.test(l)).length
      if (n > 0) out[proc.name] = n
    }
    return out
  }

  function expectZeroLost(result: ScenarioResult): void {
    const lost = (counts: Record<string, Count>) => Object.fromEntries(Object.entries(counts).map(([k, c]) => [k, c.served - c.stored]))
    const none = (counts: Record<string, Count>) => Object.fromEntries(Object.keys(counts).map((k) => [k, 0]))
    const context = JSON.stringify(result)
    for (const [key, c] of Object.entries(result.samples)) expect(c.served, `${key} served nothing`).toBeGreaterThan(0)
    expect(lost(result.samples), context).toEqual(none(result.samples))
    expect(lost(result.scrapes), context).toEqual(none(result.scrapes))
    expect(lost(result.logs), context).toEqual(none(result.logs))
    expect(result.spans.served - result.spans.stored, context).toBe(0)
    expect(result.spans.served).toBeGreaterThan(0)
    expect(traffic.failures, 'every log record and span was accepted by the agents').toEqual([])
  }

  /** Everything (and especially the edge) arrives again: up == 1 for every job of both clusters. */
  async function flowing(): Promise<void> {
    await waitFor('both clusters flowing', async () => (await p.query(`count by (cluster_id) (up{cluster_id=~".+", job=~"bert-inference|dcgm-exporter|kube-state-metrics"} == 1)`)).length === 2, {timeoutMs: 40_000})
  }

  async function queueDrained(exporter: string, timeoutMs: number): Promise<number | undefined> {
    return waitFor(`gateway ${exporter} queue empty`, async () => (monitor.queue('gateway', exporter) === 0 ? Date.now() : undefined), {timeoutMs, intervalMs: 500}).catch(() => undefined)
  }

  beforeAll(async () => {
    p = await startPipeline({
      otelcol: binaries.ok ? binaries.paths.FEDOBS_OTELCOL! : '',
      prometheus: binaries.ok ? binaries.paths.FEDOBS_PROMETHEUS! : '',
      edgeGatewayAddress: async (gateway) => (relay = await new TcpRelay(gateway).start()).address,
    })
    monitor = new Monitor({gateway: p.gatewayMetricsUrl, 'edge-agent': selfMetricsUrl(p, 'edge-agent'), 'edge-scraper': selfMetricsUrl(p, 'edge-scraper')})
    monitor.start()
    traffic = new Traffic(clusters())
    last = await snapshot() // all zero: nothing served before the pipeline started
    traffic.start()
    await flowing()
  }, 120_000)

  afterAll(async () => {
    monitor?.stop()
    await traffic?.stop()
    await p?.stop()
    await relay?.close()
    mkdirSync(path.dirname(RESULTS), {recursive: true})
    writeFileSync(RESULTS, `${JSON.stringify({at: new Date().toISOString(), wallS: round((Date.now() - started) / 1000), scenarios: results}, null, 2)}\n`)
    console.log(`reliability: ${results.length} scenarios in ${round((Date.now() - started) / 1000)} s; numbers in ${path.relative(REPO, RESULTS)}`)
  })

  it('1. Prometheus stopped (SIGTERM) for 60 s while data flows: the gateway queue replays, nothing lost', async () => {
    const begin = Date.now()
    await sleep(3000)
    monitor.takePeaks()
    await p.prometheus.stop()
    const down = Date.now()
    const atDown = {spansSent: p.hub.sent.spans + p.edge.sent.spans, spansStored: p.tempo.spanCount, logsStored: p.loki.stats.records}
    await sleep(OUTAGE_MS)
    const queueAtRestart = monitor.queue('gateway', 'otlp_http/prometheus')
    // Logs and spans do not wait for Prometheus: what was sent during the outage is already there
    // (but the last batch timeout, 5 s, and a little more).
    const duringOutage = {
      spansSent: p.hub.sent.spans + p.edge.sent.spans - atDown.spansSent,
      spansStored: p.tempo.spanCount - atDown.spansStored,
      logRecordsStored: p.loki.stats.records - atDown.logsStored,
    }
    await p.prometheus.start()
    const up = Date.now()
    const drained = await queueDrained('otlp_http/prometheus', 90_000)
    const result = await checkpoint('prometheus-outage', `Prometheus SIGTERM, down ${round((up - down) / 1000)} s`, begin, up, {
      prometheusExits: p.prometheus.exits,
      queueAtRestart,
      duringOutage,
      queueDrainedS: drained ? round((drained - up) / 1000) : undefined,
    })
    // The outage was real: the metrics waited in the gateway's queue, logs and spans kept flowing.
    expect(result.queuePeaks['gateway otlp_http/prometheus']).toBeGreaterThan(0)
    expect(drained, 'the gateway queue drained after Prometheus returned').toBeDefined()
    expect(duringOutage.spansStored).toBeGreaterThan(duringOutage.spansSent * 0.8)
    expect(duringOutage.logRecordsStored).toBeGreaterThan(0)
    expectZeroLost(result)
  }, 300_000)

  it('2. the gateway SIGKILLed while its queue holds data: the persistent queue replays, nothing lost', async () => {
    const begin = Date.now()
    await flowing()
    monitor.takePeaks()
    await p.prometheus.kill()
    const promDown = Date.now()
    // Let the queue fill (at least ~10 requests, at most 30 s).
    const queued = await waitFor('the gateway queue to fill', () => ((monitor.queue('gateway', 'otlp_http/prometheus') ?? 0) >= 10 && Date.now() - promDown > 10_000 ? monitor.queue('gateway', 'otlp_http/prometheus') : undefined), {timeoutMs: 30_000, intervalMs: 250}).catch(() => monitor.queue('gateway', 'otlp_http/prometheus'))
    await p.gateway.kill()
    const killed = Date.now()
    await sleep(5000)
    await p.gateway.start()
    const gatewayBack = Date.now()
    // What the restarted gateway finds in its queue: replayed from disk, before Prometheus is back.
    const replayed = await waitFor('the restarted gateway to report its queue', () => monitor.queue('gateway', 'otlp_http/prometheus'), {timeoutMs: 10_000, intervalMs: 200}).catch(() => undefined)
    await sleep(3000)
    await p.prometheus.start()
    const up = Date.now()
    const drained = await queueDrained('otlp_http/prometheus', 90_000)
    const result = await checkpoint('gateway-sigkill', `Prometheus SIGKILL (down ${round((up - promDown) / 1000)} s), gateway SIGKILL at queue ${queued}, down ${round((gatewayBack - killed) / 1000)} s`, begin, up, {
      gatewayExits: p.gateway.exits,
      prometheusExits: p.prometheus.exits,
      queueBeforeKill: queued,
      queueAfterRestart: replayed,
      queueDrainedS: drained ? round((drained - up) / 1000) : undefined,
    })
    expect(p.gateway.exits).toContain('signal SIGKILL')
    expect(queued, 'the queue held data when the gateway was killed').toBeGreaterThan(0)
    expect(replayed, 'the restarted gateway replays its persistent queue').toBeGreaterThan(0)
    expect(drained, 'the gateway queue drained after Prometheus returned').toBeDefined()
    expectZeroLost(result)
  }, 300_000)

  it('3. the edge cut off from the hub for 60 s: the edge queue and retries hold the data, nothing lost', async () => {
    const begin = Date.now()
    await flowing()
    monitor.takePeaks()
    const bytesBefore = relay.stats.bytesUp
    relay.cut('blackhole')
    const cut = Date.now()
    await sleep(OUTAGE_MS)
    const edgeQueues = monitor.peaksSoFar()
    // Nothing of the edge reached the hub during the cut.
    const edgeNewest = await p.query(`max(timestamp(up{cluster_id="${EDGE}"}))`)
    const atHeal = {...relay.stats}
    relay.heal()
    const healed = Date.now()
    const result = await checkpoint('edge-partition', `edge ↔ hub relay blackholed for ${round((healed - cut) / 1000)} s`, begin, healed, {
      relay: {bytesUpBeforeCut: bytesBefore, atHeal, final: relay.stats},
      edgeQueuePeaksDuringCut: Object.fromEntries(Object.entries(edgeQueues).filter(([k]) => k.startsWith('edge'))),
      edgeNewestSampleAgeAtHealS: edgeNewest[0] ? round(healed / 1000 - Number(edgeNewest[0].value[1])) : undefined,
    }, true)
    // The cut was real: the edge's data waited in the edge's queues.
    expect(Math.max(...Object.entries(edgeQueues).filter(([k]) => k.startsWith('edge')).map(([, v]) => v))).toBeGreaterThan(0)
    expect(Number(edgeNewest[0]?.value[1] ?? 0)).toBeLessThan(cut / 1000 + 5)
    expect(atHeal.bytesUp, 'no byte crossed the cut').toBe(bytesBefore)
    expect(relay.stats.bytesUp).toBeGreaterThan(bytesBefore)
    expect(result.drainS, 'the edge backlog arrived after the cut healed').toBeDefined()
    expectZeroLost(result)
  }, 300_000)
})

function round(x: number): number {
  return Math.round(x * 10) / 10
}

function print(r: ScenarioResult): void {
  const rows = Object.entries(r.samples).map(([k, c]) => `  ${k.padEnd(28)} ${String(c.served).padStart(8)} ${String(c.stored).padStart(8)}   scrapes ${r.scrapes[k] ? `${r.scrapes[k]!.served}/${r.scrapes[k]!.stored}` : '-'}`)
  console.log(
    [
      `── ${r.name}: ${r.outage}; ${r.durationS} s in all, backlog delivered ${r.drainS ?? 'NEVER'} s after the outage`,
      `  ${'samples'.padEnd(28)} ${'served'.padStart(8)} ${'stored'.padStart(8)}`,
      ...rows,
      ...Object.entries(r.logs).map(([k, c]) => `  ${`${k} log records`.padEnd(28)} ${String(c.served).padStart(8)} ${String(c.stored).padStart(8)}`),
      `  ${'spans'.padEnd(28)} ${String(r.spans.served).padStart(8)} ${String(r.spans.stored).padStart(8)}   duplicates: ${JSON.stringify(r.duplicates)}`,
      `  queue peaks: ${JSON.stringify(r.queuePeaks)}`,
      `  notes: ${JSON.stringify(r.notes)}`,
    ].join('\n'),
  )
}
