import {mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {REPO} from '../helpers/cli.js'
import {requireBinaries} from '../helpers/testbed.js'
import {Accountant, Monitor, round, selfMetricsUrl, Traffic} from './accounting.js'
import {sleep, waitFor} from '../../src/sandbox/telemetry/net.js'
import {EDGE, startPipeline, type Pipeline, PIPELINE_BINARIES, pipelineBinaries} from './pipeline.js'
import {TcpRelay} from './relay-tcp.js'

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
const binaries = requireBinaries(PIPELINE_BINARIES)
const OUTAGE_MS = 60_000
const RESULTS = path.join(REPO, 'test-results', 'reliability.json')

describe.skipIf(!binaries.ok)('reliability on the real collector: zero data points lost through outages', () => {
  let p: Pipeline
  let relay: TcpRelay
  let monitor: Monitor
  let traffic: Traffic
  let accounts: Accountant
  const started = Date.now()

  const checkpoint: Accountant['checkpoint'] = (...args) => accounts.checkpoint(...args)
  const expectZeroLost = (result: Parameters<Accountant['expectZeroLost']>[0]): void => accounts.expectZeroLost(result)
  const flowing = (): Promise<void> => accounts.flowing()

  async function queueDrained(exporter: string, timeoutMs: number): Promise<number | undefined> {
    return waitFor(`gateway ${exporter} queue empty`, async () => (monitor.queue('gateway', exporter) === 0 ? Date.now() : undefined), {timeoutMs, intervalMs: 500}).catch(() => undefined)
  }

  beforeAll(async () => {
    p = await startPipeline({
      ...pipelineBinaries(binaries),
      edgeGatewayAddress: async (gateway) => (relay = await new TcpRelay(gateway).start()).address,
    })
    monitor = new Monitor({gateway: p.gatewayMetricsUrl, 'edge-agent': selfMetricsUrl(p, 'edge-agent'), 'edge-scraper': selfMetricsUrl(p, 'edge-scraper')})
    monitor.start()
    traffic = new Traffic([p.hub, p.edge])
    accounts = new Accountant(p, monitor, traffic)
    await accounts.begin() // the baseline: what was served before, once stored
    traffic.start()
    await flowing()
  }, 120_000)

  afterAll(async () => {
    monitor?.stop()
    await traffic?.stop()
    await p?.stop()
    await relay?.close()
    mkdirSync(path.dirname(RESULTS), {recursive: true})
    const results = accounts?.results ?? []
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
    const queued = await waitFor(
      'the gateway queue to fill',
      () => ((monitor.queue('gateway', 'otlp_http/prometheus') ?? 0) >= 10 && Date.now() - promDown > 10_000 ? monitor.queue('gateway', 'otlp_http/prometheus') : undefined),
      {timeoutMs: 30_000, intervalMs: 250},
    ).catch(() => monitor.queue('gateway', 'otlp_http/prometheus'))
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
    const result = await checkpoint(
      'gateway-sigkill',
      `Prometheus SIGKILL (down ${round((up - promDown) / 1000)} s), gateway SIGKILL at queue ${queued}, down ${round((gatewayBack - killed) / 1000)} s`,
      begin,
      up,
      {
        gatewayExits: p.gateway.exits,
        prometheusExits: p.prometheus.exits,
        queueBeforeKill: queued,
        queueAfterRestart: replayed,
        queueDrainedS: drained ? round((drained - up) / 1000) : undefined,
      },
    )
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
    const result = await checkpoint(
      'edge-partition',
      `edge ↔ hub relay blackholed for ${round((healed - cut) / 1000)} s`,
      begin,
      healed,
      {
        relay: {bytesUpBeforeCut: bytesBefore, atHeal, final: relay.stats},
        edgeQueuePeaksDuringCut: Object.fromEntries(Object.entries(edgeQueues).filter(([k]) => k.startsWith('edge'))),
        edgeNewestSampleAgeAtHealS: edgeNewest[0] ? round(healed / 1000 - Number(edgeNewest[0].value[1])) : undefined,
      },
      true,
    )
    // The cut was real: the edge's data waited in the edge's queues.
    expect(
      Math.max(
        ...Object.entries(edgeQueues)
          .filter(([k]) => k.startsWith('edge'))
          .map(([, v]) => v),
      ),
    ).toBeGreaterThan(0)
    expect(Number(edgeNewest[0]?.value[1] ?? 0)).toBeLessThan(cut / 1000 + 5)
    expect(atHeal.bytesUp, 'no byte crossed the cut').toBe(bytesBefore)
    expect(relay.stats.bytesUp).toBeGreaterThan(bytesBefore)
    expect(result.drainS, 'the edge backlog arrived after the cut healed').toBeDefined()
    expectZeroLost(result)
  }, 300_000)
})
