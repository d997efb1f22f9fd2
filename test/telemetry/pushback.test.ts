import {mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {REPO} from '../helpers/cli.js'
import {configOf} from '../helpers/federation.js'
import {requireBinaries} from '../helpers/testbed.js'
import {Accountant, Monitor, round, selfMetricsUrl, Traffic} from './accounting.js'
import {sleep, waitFor} from '../../src/sandbox/telemetry/net.js'
import {startPipeline, type Pipeline, pipelineBinaries} from './pipeline.js'
import {LOKI_DEFAULT_GRPC_MAX_RECV_MSG_SIZE, lokiPushLimit} from '../../src/sandbox/telemetry/pushback.js'

/**
 * The backends push back, the real collector copes: one reliability run in which the Loki and
 * Tempo fakes answer as the real backends do when their limits are hit (pushback.ts), on the real
 * pipeline with logs stored and counted in the real log store (VictoriaLogs).
 *
 *   1. 429 Too Many Requests with Retry-After from Loki and Tempo for 30 s (ingestion rate limits):
 *      the gateway's exporters keep the data in their persistent queues, retry no faster than
 *      Retry-After says, and deliver everything afterwards: served == stored, exactly.
 *   2. 413 Request Entity Too Large: the OTLP exporter treats it as permanent and drops the push.
 *      What a demanding user needs is (a) that it cannot happen with the rendered configuration —
 *      every request the gateway forwards is bounded by its receiver's limit, well below the limit
 *      the rendered Loki config sets (which the fake enforces in every pipeline run) —
 *      and (b) that if a backend's limit is set lower than that, the loss is reported exactly:
 *      the dropped records are the gateway's otelcol_exporter_send_failed_log_records, and served
 *      minus stored is exactly that number.
 */
const binaries = requireBinaries(['FEDOBS_OTELCOL', 'FEDOBS_PROMETHEUS', 'FEDOBS_VICTORIALOGS'])
const THROTTLE_MS = 30_000
const RETRY_AFTER_S = 10
const RESULTS = path.join(REPO, 'test-results', 'pushback.json')

describe.skipIf(!binaries.ok)('Loki and Tempo push back (429 Retry-After, 413) on the real collector', () => {
  let p: Pipeline
  let monitor: Monitor
  let traffic: Traffic
  let accounts: Accountant
  const notes: Record<string, unknown> = {}

  beforeAll(async () => {
    p = await startPipeline({
      ...pipelineBinaries(binaries),
    })
    monitor = new Monitor({gateway: p.gatewayMetricsUrl, 'edge-agent': selfMetricsUrl(p, 'edge-agent'), 'hub-agent': selfMetricsUrl(p, 'hub-agent')})
    monitor.start()
    traffic = new Traffic([p.hub, p.edge])
    accounts = new Accountant(p, monitor, traffic)
    await accounts.begin()
    traffic.start()
    await accounts.flowing()
  }, 120_000)

  afterAll(async () => {
    monitor?.stop()
    await traffic?.stop()
    await p?.stop()
    mkdirSync(path.dirname(RESULTS), {recursive: true})
    writeFileSync(RESULTS, `${JSON.stringify({at: new Date().toISOString(), scenarios: accounts?.results ?? [], notes}, null, 2)}\n`)
  })

  it('1. Loki and Tempo answer 429 (Retry-After) for 30 s: the gateway retries no faster than told and loses nothing', async () => {
    const begin = Date.now()
    await sleep(3000)
    monitor.takePeaks()
    p.loki.pushBack.throttle(THROTTLE_MS, RETRY_AFTER_S)
    p.tempo.pushBack.throttle(THROTTLE_MS, RETRY_AFTER_S)
    const throttleStart = Date.now()
    // From 2 s in (a push admitted just before the throttle may still be on its way to the store)
    // to 1 s before the end, nothing is stored.
    await sleep(2000)
    const atStart = {logs: await p.logStore!.count(), spans: p.tempo.spanCount}
    await sleep(THROTTLE_MS - 3000)
    const duringThrottle = {logRows: (await p.logStore!.count()).total - atStart.logs.total, spans: p.tempo.spanCount - atStart.spans}
    await waitFor('the throttle to end', () => !p.loki.pushBack.throttling && !p.tempo.pushBack.throttling, {timeoutMs: 5000, intervalMs: 100})
    const throttleEnd = Date.now()
    const throttled = {loki: p.loki.pushBack.stats.throttled, tempo: p.tempo.pushBack.stats.throttled}
    const result = await accounts.checkpoint('backend-429', `Loki and Tempo answer 429, Retry-After ${RETRY_AFTER_S} s, for ${round((throttleEnd - throttleStart) / 1000)} s`, begin, throttleEnd, {
      throttled,
      duringThrottle,
      lokiFront: p.lokiFront!.stats,
    })
    // The push-back was real: pushes were refused, nothing was stored while it lasted, and the
    // data waited in the gateway's queues.
    expect(throttled.loki).toBeGreaterThan(0)
    expect(throttled.tempo).toBeGreaterThan(0)
    expect(duringThrottle).toEqual({logRows: 0, spans: 0})
    expect(result.queuePeaks['gateway otlp_http/loki']).toBeGreaterThan(0)
    expect(result.queuePeaks['gateway otlp_http/tempo']).toBeGreaterThan(0)
    // Retry-After was obeyed: each of an exporter's 4 queue consumers retries at most once per
    // Retry-After (exponential backoff from 1 s would retry ~8 times in 30 s).
    const consumers = 4
    const maxRefusals = consumers * (Math.ceil(THROTTLE_MS / 1000 / RETRY_AFTER_S) + 1)
    expect(throttled.loki).toBeLessThanOrEqual(maxRefusals)
    expect(throttled.tempo).toBeLessThanOrEqual(maxRefusals)
    expect(result.logs.hub!.served + result.logs.edge!.served).toBeGreaterThan(50)
    accounts.expectZeroLost(result)
  }, 300_000)

  it("2a. no request the gateway forwards can reach Loki's message size limit (no 413 in normal operation)", () => {
    const hub = configOf(p.hub.rendering.objects, 'otel-gateway-config', 'config.yaml')
    // Agents and scrapers ship over OTLP/gRPC; the gateway's gRPC receiver refuses anything larger.
    const grpcLimit = hub.receivers.otlp.protocols.grpc.max_recv_msg_size_mib * 2 ** 20
    expect(grpcLimit).toBeGreaterThan(0)
    for (const cluster of [p.hub, p.edge]) {
      const agent = configOf(cluster.rendering.objects, 'otel-agent-config', 'config.yaml')
      expect(Object.keys(agent.exporters)).toEqual(['otlp_grpc/gateway'])
    }
    // The gateway forwards what it received as it is: no batch processor in the logs pipeline and
    // no batching in the Loki exporter's queue, so a forwarded push is one received push plus the
    // few resource attributes the gateway adds (hub.received_at, the cluster identity).
    expect(hub.service.pipelines.logs.processors.some((name: string) => name.startsWith('batch'))).toBe(false)
    expect(hub.exporters['otlp_http/loki'].sending_queue.batch).toBeUndefined()
    // Loki's limit as the rendered config sets it — the fake enforces it in every pipeline run —
    // leaves room for twice that (Loki repeats structured metadata on every line). With Loki's
    // default gRPC limit (4 MiB, distributor → ingester) it would not.
    const lokiLimit = lokiPushLimit(configOf(p.hub.rendering.objects, 'loki-config', 'loki.yaml'))
    expect(p.loki.pushBack.maxBytes).toBe(lokiLimit)
    expect(grpcLimit * 2).toBeLessThanOrEqual(lokiLimit)
    expect(grpcLimit).toBeGreaterThan(LOKI_DEFAULT_GRPC_MAX_RECV_MSG_SIZE)
    // And so far (scenario 1 and the flow before it) nothing was refused for its size.
    expect(p.loki.pushBack.stats.tooLarge).toBe(0)
    expect(p.loki.pushBack.stats.largestAccepted).toBeGreaterThan(0)
    expect(p.loki.pushBack.stats.largestAccepted).toBeLessThan(grpcLimit)
    notes.sizes = {
      gatewayGrpcLimitBytes: grpcLimit,
      lokiPushLimitBytes: lokiLimit,
      largestLokiPushBytes: p.loki.pushBack.stats.largestAccepted,
      largestTempoPushBytes: p.tempo.pushBack.stats.largestAccepted,
    }
  })

  it('2b. a push over a lowered limit gets 413: dropped, and the loss is reported exactly', async () => {
    await traffic.stop()
    const served = (): Promise<Array<[string, number, number]>> =>
      Promise.all([p.hub, p.edge].map(async (c) => [c.role, c.sent.logRecords + c.sent.podLogLines, (await p.logStore!.countCluster(c.id)).unique] as [string, number, number]))
    await waitFor('every log record sent so far to be stored', async () => ((await served()).every(([, s, st]) => s === st) ? true : undefined), {timeoutMs: 60_000, intervalMs: 1000})
    const failedKey = 'gateway otelcol_exporter_send_failed_log_records{otlp_http/loki}'
    const failedBefore = monitor.failures()[failedKey] ?? 0
    const limit = 16 * 1024
    const configured = p.loki.pushBack.maxBytes
    p.loki.pushBack.maxBytes = limit
    const dropped = 40
    // 40 records of ~1 KiB in one push from a workload: one agent batch, one gateway request of ~40 KiB.
    await p.hub.sendLogs(Array.from({length: dropped}, (_, i) => `oversize push record ${i} ${'x'.repeat(1000)}`))
    const failed = await waitFor(
      'the gateway to report the dropped records',
      () => {
        const n = (monitor.failures()[failedKey] ?? 0) - failedBefore
        return n >= dropped ? n : undefined
      },
      {timeoutMs: 60_000, intervalMs: 500},
    )
    await sleep(3000) // nothing else is on its way
    const counts = await served()
    p.loki.pushBack.maxBytes = configured
    notes.oversize = {limit, dropped, sendFailed: failed, counts, tooLarge: p.loki.pushBack.stats.tooLarge}
    expect(p.loki.pushBack.stats.tooLarge).toBe(1)
    expect(failed).toBe(dropped)
    expect(Object.fromEntries(counts.map(([role, s, st]) => [role, s - st]))).toEqual({hub: dropped, edge: 0})
    expect(p.gateway.log()).toMatch(/413/)
  }, 180_000)
})
