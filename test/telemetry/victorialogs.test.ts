import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {gzipSync} from 'node:zlib'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {requireBinaries} from '../helpers/testbed.js'
import {FakeLoki} from '../../src/sandbox/telemetry/fake-loki.js'
import {fixed64, kv, len, str} from '../../src/sandbox/telemetry/protobuf.js'
import {LokiFront, VictoriaLogs} from '../../src/sandbox/telemetry/victorialogs.js'

/**
 * The real log store of the test bed (VictoriaLogs, built by scripts/testbed/build-logs.sh) and the
 * LokiFront that puts it behind Loki's OTLP path: what the gateway's otlp_http/loki exporter posts
 * to /otlp/v1/logs is stored, byte for byte, in VictoriaLogs; Loki's limits (the fake's 429/413)
 * are answered before anything is stored; Loki's LogQL API is served by the contract fake.
 */
const binaries = requireBinaries(['FEDOBS_VICTORIALOGS'])

/** An OTLP ExportLogsServiceRequest in protobuf (what the collector sends), one resource per entry. */
function otlpLogs(resources: Array<{attributes: Record<string, string>; lines: Array<{body: string; ns: bigint}>}>): Buffer {
  return Buffer.concat(
    resources.map((r) => {
      const resource = Buffer.concat(Object.entries(r.attributes).map(([k, v]) => len(1, kv(k, v))))
      // LogRecord: time_unix_nano (1, fixed64), body (5, AnyValue{string_value: 1}).
      const records = r.lines.map((l) => len(2, Buffer.concat([fixed64(1, l.ns), len(5, str(1, l.body))])))
      const scopeLogs = len(2, Buffer.concat([len(1, str(1, 'fedobs-test')), ...records]))
      return len(1, Buffer.concat([len(1, resource), scopeLogs]))
    }),
  )
}

async function push(url: string, body: Buffer): Promise<{status: number; retryAfter: string | null; text: string}> {
  const response = await fetch(url, {method: 'POST', headers: {'content-type': 'application/x-protobuf', 'content-encoding': 'gzip'}, body: gzipSync(body), signal: AbortSignal.timeout(10_000)})
  return {status: response.status, retryAfter: response.headers.get('retry-after'), text: await response.text()}
}

describe.skipIf(!binaries.ok)("VictoriaLogs behind Loki's OTLP path (real log store)", () => {
  let dir: string
  let store: VictoriaLogs
  let loki: FakeLoki
  let front: LokiFront
  const now = BigInt(Date.now()) * 1_000_000n
  const request = otlpLogs([
    {
      attributes: {'cluster.id': 'c-one', 'cluster.role': 'hub', 'service.name': 'bert-inference'},
      lines: [
        {body: 'one a', ns: now},
        {body: 'one b', ns: now + 1000n},
        {body: 'one c', ns: now + 2000n},
      ],
    },
    {
      attributes: {'cluster.id': 'c-two', 'cluster.role': 'edge', 'service.name': 'bert-inference'},
      lines: [
        {body: 'two a', ns: now},
        {body: 'two b', ns: now + 1000n},
      ],
    },
  ])

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fedobs-victorialogs-'))
    store = await VictoriaLogs.start(binaries.ok ? binaries.paths.FEDOBS_VICTORIALOGS! : '', dir)
    loki = await new FakeLoki({indexAttributes: ['cluster.id', 'cluster.role']}).start()
    front = await new LokiFront(loki.url, store).start()
  }, 90_000)

  afterAll(async () => {
    await front?.close()
    await loki?.close()
    await store?.close()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it("stores an OTLP push made to Loki's path in VictoriaLogs, fields intact, and counts it per cluster", async () => {
    const answer = await push(`${front.url}/otlp/v1/logs`, request)
    expect(answer.status).toBeGreaterThanOrEqual(200)
    expect(answer.status).toBeLessThan(300)
    expect(await store.countCluster('c-one')).toEqual({total: 3, unique: 3})
    expect(await store.countCluster('c-two')).toEqual({total: 2, unique: 2})
    expect(await store.countCluster('c-three')).toEqual({total: 0, unique: 0})
    const rows = await store.query('"cluster.id":="c-two" | sort by (_time) | fields _msg, cluster.id, cluster.role, service.name')
    expect(rows).toEqual([
      {_msg: 'two a', 'cluster.id': 'c-two', 'cluster.role': 'edge', 'service.name': 'bert-inference'},
      {_msg: 'two b', 'cluster.id': 'c-two', 'cluster.role': 'edge', 'service.name': 'bert-inference'},
    ])
    expect(await store.otlpRequests()).toBe(1)
    // The copy for the LogQL contract, queried through the front as `fedobs verify` would.
    const lokiAnswer = await fetch(`${front.url}/loki/api/v1/label/cluster_id/values`)
    expect(((await lokiAnswer.json()) as {data: string[]}).data).toEqual(['c-one', 'c-two'])
  })

  it('counts a retried push once as Loki would show it, and its copies as duplicates', async () => {
    const answer = await push(`${front.url}/otlp/v1/logs`, request)
    expect(answer.status).toBeLessThan(300)
    expect(await store.countCluster('c-one')).toEqual({total: 6, unique: 3})
    expect(loki.stats.duplicates).toBe(5)
  })

  it("answers Loki's 429 (Retry-After) and 413 before storing anything", async () => {
    const before = await store.count()
    loki.pushBack.throttle(60_000, 3)
    const throttled = await push(`${front.url}/otlp/v1/logs`, otlpLogs([{attributes: {'cluster.id': 'c-three'}, lines: [{body: 'three', ns: now}]}]))
    expect(throttled).toMatchObject({status: 429, retryAfter: '3'})
    expect(throttled.text).toMatch(/Ingestion rate limit exceeded/)
    loki.pushBack.throttle(0)
    loki.pushBack.maxBytes = 64
    const big = otlpLogs([{attributes: {'cluster.id': 'c-three'}, lines: [{body: 'x'.repeat(200), ns: now}]}])
    const tooLarge = await push(`${front.url}/otlp/v1/logs`, big)
    expect(tooLarge.status).toBe(413)
    expect(tooLarge.text).toContain(`message size ${big.length} bytes too large (max: 64)`)
    loki.pushBack.maxBytes = undefined
    expect(await store.count()).toEqual(before)
    expect(await store.countCluster('c-three')).toEqual({total: 0, unique: 0})
    expect(front.stats.refusedByLoki).toEqual({413: 1, 429: 1})
    expect(loki.pushBack.stats).toMatchObject({throttled: 1, tooLarge: 1})
  })

  it("maps only Loki's OTLP path: other pushes go to the fake (404) and store nothing", async () => {
    const before = await store.count()
    expect((await push(`${front.url}/otlp/v1/logs/extra`, request)).status).toBe(404)
    expect((await push(`${front.url}/insert/opentelemetry/v1/logs`, request)).status).toBe(404)
    expect(await store.count()).toEqual(before)
  })

  it('answers 502 while the store is down (a retryable status for the OTLP exporter), and stores again when it is back', async () => {
    await store.process.stop()
    const down = await push(`${front.url}/otlp/v1/logs`, otlpLogs([{attributes: {'cluster.id': 'c-four'}, lines: [{body: 'four', ns: now}]}]))
    expect(down.status).toBe(502)
    await store.process.start()
    expect((await push(`${front.url}/otlp/v1/logs`, otlpLogs([{attributes: {'cluster.id': 'c-four'}, lines: [{body: 'four', ns: now}]}]))).status).toBeLessThan(300)
    // Stored once in VictoriaLogs (its data survived the restart); the fake holds a second copy of
    // the push it accepted before the store failed, and shows it once.
    expect(await store.countCluster('c-four')).toEqual({total: 1, unique: 1})
    expect(await store.countCluster('c-one')).toEqual({total: 6, unique: 3})
    expect(front.stats.stored['502 unreachable']).toBe(1)
  }, 90_000)
})
