/**
 * Loss accounting on the real pipeline (test/telemetry/pipeline.ts): what every source served
 * against what Prometheus, the log store (VictoriaLogs, behind Loki's OTLP path) and Tempo hold, the collectors' queue peaks and failure counters,
 * and a checkpoint that settles the pipeline so the two can be compared exactly. Used by the
 * reliability tests (outages) and the mTLS tests (rotation and revocation while data flows).
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {parse} from 'yaml'
import {expect} from 'vitest'
import {getJson, sleep, waitFor} from '../../src/sandbox/telemetry/net.js'
import {RECEIVER_SERIES_EXCLUDED, type ClusterHandle, type Pipeline} from './pipeline.js'
import {parseExposition, type Source} from '../../src/sandbox/telemetry/sources.js'

// ---------------------------------------------------------------- self-metrics of the collectors

const COUNTED = /^otelcol_(exporter_send_failed|exporter_enqueue_failed|receiver_refused|receiver_failed|processor_refused|processor_dropped)_/

/**
 * Polls the self-metrics of the gateway (and the edge's agent and scraper) every second: the peak
 * of every exporter's queue size in the current window, and failure counters summed across
 * restarts (a SIGKILLed collector starts again from zero).
 */
export class Monitor {
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
export function selfMetricsUrl(p: Pipeline, name: string): string {
  const config = parse(readFileSync(path.join(p.dir, `${name}.yaml`), 'utf8'))
  const {host, port} = config.service.telemetry.metrics.readers[0].pull.exporter.prometheus
  return `http://${host}:${port}/metrics`
}

// ---------------------------------------------------------------- traffic: logs and spans

/** Every second: 2 log records and a 2-span trace into each agent, and a pod log line every 3 s. */
export class Traffic {
  private running: Promise<void> | undefined
  private stopping = false
  readonly failures: string[] = []

  constructor(private clusters: ClusterHandle[]) {}

  /** Start sending (into `clusters`, when given, from now on). */
  start(clusters?: ClusterHandle[]): void {
    if (clusters) this.clusters = clusters
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

export interface Count {
  served: number
  stored: number
}

export interface Snapshot {
  at: number
  /** "edge bert-inference" → samples served by the source and stored in Prometheus. */
  samples: Record<string, Count>
  /** "edge bert-inference" → scrapes served vs up == 1 samples stored. */
  scrapes: Record<string, Count>
  logs: Record<string, Count>
  spans: Count
  duplicates: {logRecords: number; spans: number}
}

export interface ScenarioResult {
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

export function countedSources(cluster: ClusterHandle): Array<{key: string; source: Source; selector: string; up?: string}> {
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

// ---------------------------------------------------------------- the accountant

export interface AccountantOptions {
  /** The clusters whose sources, logs and spans are counted (all of the pipeline's by default). */
  counted?: () => ClusterHandle[]
}

/**
 * Checkpoints of one pipeline run: each settles the pipeline and records what was served and stored
 * since the previous one.
 */
export class Accountant {
  readonly results: ScenarioResult[] = []
  private last: Snapshot | undefined

  constructor(
    private readonly p: Pipeline,
    private readonly monitor: Monitor,
    private readonly traffic: Traffic,
    private readonly options: AccountantOptions = {},
  ) {}

  counted(): ClusterHandle[] {
    return this.options.counted?.() ?? [this.p.hub, this.p.edge]
  }

  private shippers() {
    return [this.p.hub.agent, this.p.hub.scraper, this.p.edge.agent, this.p.edge.scraper]
  }

  private sources(): Source[] {
    return [this.p.hub, this.p.edge].flatMap((c) => Object.values(c.sources) as Source[])
  }

  /** The values of every sample Prometheus holds for a selector over the last hour. */
  async rawValues(selector: string): Promise<string[]> {
    const {status, body} = await getJson(`${this.p.prometheusUrl}/api/v1/query?${new URLSearchParams({query: `${selector}[1h]`})}`)
    if (status !== 200 || body.status !== 'success') throw new Error(`PromQL ${selector}: ${status} ${JSON.stringify(body)}`)
    return (body.data.result as Array<{values?: Array<[number, string]>}>).flatMap((s) => (s.values ?? []).map((v) => v[1]))
  }

  async snapshot(): Promise<Snapshot> {
    const samples: Record<string, Count> = {}
    const scrapes: Record<string, Count> = {}
    const logs: Record<string, Count> = {}
    const clusters = this.counted()
    // Log records are counted in the real log store (VictoriaLogs), not in the Loki fake: "stored"
    // is what Loki would show (distinct stream, time and line), the rest are duplicates.
    const store = this.p.logStore
    if (!store) throw new Error('loss accounting counts log records in the real log store: start the pipeline with victoriaLogs (FEDOBS_VICTORIALOGS)')
    let logDuplicates = 0
    for (const cluster of clusters) {
      for (const {key, source, selector, up} of countedSources(cluster)) {
        samples[key] = {served: source.samples, stored: await this.p.storedSamples(selector)}
        if (up) scrapes[key] = {served: source.scrapes, stored: (await this.rawValues(up)).filter((v) => v === '1').length}
      }
      const stored = await store.countCluster(cluster.id)
      logs[cluster.role] = {served: cluster.sent.logRecords + cluster.sent.podLogLines, stored: stored.unique}
      logDuplicates += stored.total - stored.unique
    }
    const ids = new Set(clusters.map((c) => c.id))
    return {
      at: Date.now(),
      samples,
      scrapes,
      logs,
      spans: {
        served: clusters.reduce((n, c) => n + c.sent.spans, 0),
        stored: clusters.length === 2 ? this.p.tempo.spanCount : this.p.tempo.spanCountWhere((resource) => ids.has(String(resource['cluster.id']))),
      },
      duplicates: {logRecords: logDuplicates, spans: this.p.tempo.stats.duplicates},
    }
  }

  /** Start counting from here: the numbers of the next checkpoint are differences to this. */
  async begin(): Promise<void> {
    // The collectors run (and scrape, and read the kubelet) from the moment they start, so a
    // scrape served just before this point may still be on its way: once everything served
    // until now is stored, that is the baseline on both sides.
    const first = await this.snapshot()
    const settled = (now: Snapshot): boolean =>
      Object.entries(first.samples).every(([key, c]) => now.samples[key]!.stored >= c.served) && Object.entries(first.scrapes).every(([key, c]) => now.scrapes[key]!.stored >= c.served)
    const stored = await waitFor('what was served before the start to be stored', async () => (settled(await this.snapshot()) ? true : undefined), {timeoutMs: 30_000, intervalMs: 500}).catch(
      () => false,
    )
    const baseline = (counts: Record<string, Count>): Record<string, Count> => Object.fromEntries(Object.entries(counts).map(([key, c]) => [key, {served: c.served, stored: c.served}]))
    // Not stored within 30 s: the raw numbers, so the first scenario shows the loss.
    this.last = stored ? {...first, samples: baseline(first.samples), scrapes: baseline(first.scrapes)} : first
  }

  /**
   * Wait until everything served up to `lagMs` ago is stored (the backlog is delivered); returns
   * when, or undefined after the timeout (a loss, then shown by the exact count that follows).
   */
  async backlogDelivered(timeoutMs: number, lagMs = 12_000): Promise<number | undefined> {
    try {
      return await waitFor(
        'the backlog to be delivered',
        async () => {
          const cutoff = Date.now() - lagMs
          for (const cluster of this.counted()) {
            for (const {source, selector} of countedSources(cluster)) {
              if ((await this.p.storedSamples(selector)) < source.samplesServed(0, cutoff)) return undefined
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
  async checkpoint(name: string, outage: string, begin: number, outageEnd: number, notes: Record<string, unknown>, final = false): Promise<ScenarioResult> {
    const {traffic, monitor} = this
    await traffic.stop()
    const delivered = await this.backlogDelivered(120_000)
    await waitFor(
      'logs and spans delivered',
      async () => {
        const s = await this.snapshot()
        return Object.values(s.logs).every((c) => c.stored >= c.served) && s.spans.stored >= s.spans.served
      },
      {timeoutMs: delivered ? 20_000 : 1000},
    ).catch(() => undefined)
    // No scrape in flight while the scrapers stop: a scrape served but cut off by the shutdown
    // would count as served and never be sent. 503 for one scrape interval and a half.
    for (const source of this.sources()) source.fault = 503
    await sleep(3000)
    const exact = (s: Snapshot): boolean => [...Object.values(s.samples), ...Object.values(s.scrapes), ...Object.values(s.logs), s.spans].every((c) => c.served === c.stored)
    // Nothing new is served now. A batch still in a retry backoff (the exporter waits up to 30 s
    // between attempts after an outage) would be cut off by the shutdown ("interrupted due to
    // shutdown"): give the running shippers the time to deliver everything first, as a running
    // agent would. The count after the stop must still be exact.
    await waitFor('everything served to be stored before the shippers stop', async () => (exact(await this.snapshot()) ? true : undefined), {timeoutMs: 60_000, intervalMs: 1000}).catch(
      () => undefined,
    )
    await Promise.all(this.shippers().map((s) => s.stop()))
    for (const source of this.sources()) source.fault = undefined
    // Graceful stops flushed every batch; the gateway's queues may still be delivering.
    let now = await this.snapshot()
    const deadline = Date.now() + 30_000
    while (!exact(now) && Date.now() < deadline) {
      await sleep(1000)
      now = await this.snapshot()
    }
    const last = this.last ?? {samples: {}, scrapes: {}, logs: {}, spans: {served: 0, stored: 0}, duplicates: {logRecords: 0, spans: 0}}
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
      notes: {...notes, collectorFailures: monitor.failures(), trafficFailures: traffic.failures.length, droppedInLogs: this.droppedInLogs()},
    }
    this.last = now
    this.results.push(result)
    print(result)
    if (!final) {
      await Promise.all(this.shippers().map((s) => s.start()))
      traffic.start()
    }
    return result
  }

  /** Lines where a collector says it dropped data (for the report when something is lost). */
  droppedInLogs(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const proc of this.p.processes()) {
      const n = proc
        .log()
        .split('\n')
        .filter((l) => /Dropping data|dropped|permanent error|interrupted due to shutdown/i.test(l)).length
      if (n > 0) out[proc.name] = n
    }
    return out
  }

  expectZeroLost(result: ScenarioResult): void {
    const lost = (counts: Record<string, Count>) => Object.fromEntries(Object.entries(counts).map(([k, c]) => [k, c.served - c.stored]))
    const none = (counts: Record<string, Count>) => Object.fromEntries(Object.keys(counts).map((k) => [k, 0]))
    const context = JSON.stringify(result)
    for (const [key, c] of Object.entries(result.samples)) expect(c.served, `${key} served nothing`).toBeGreaterThan(0)
    expect(lost(result.samples), context).toEqual(none(result.samples))
    expect(lost(result.scrapes), context).toEqual(none(result.scrapes))
    expect(lost(result.logs), context).toEqual(none(result.logs))
    expect(result.spans.served - result.spans.stored, context).toBe(0)
    expect(result.spans.served).toBeGreaterThan(0)
    expect(this.traffic.failures, 'every log record and span was accepted by the agents').toEqual([])
  }

  /** Everything arrives again: up == 1 for every scrape job of every counted cluster. */
  async flowing(): Promise<void> {
    const ids = this.counted().map((c) => c.id)
    await waitFor(
      `${ids.join(' and ')} flowing`,
      async () => {
        const rows = await this.p.query(`count by (cluster_id) (up{cluster_id=~"${ids.join('|')}", job=~"bert-inference|dcgm-exporter|kube-state-metrics"} == 1)`)
        return rows.length === ids.length
      },
      {timeoutMs: 40_000},
    )
  }
}

export function round(x: number): number {
  return Math.round(x * 10) / 10
}

export function print(r: ScenarioResult): void {
  const rows = Object.entries(r.samples).map(
    ([k, c]) => `  ${k.padEnd(28)} ${String(c.served).padStart(8)} ${String(c.stored).padStart(8)}   scrapes ${r.scrapes[k] ? `${r.scrapes[k].served}/${r.scrapes[k].stored}` : '-'}`,
  )
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
