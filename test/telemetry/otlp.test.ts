import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {emitYaml} from '../../src/lib/emit-yaml.js'
import {requireBinaries} from '../helpers/testbed.js'
import {freePorts, httpOk, HttpError, LOOPBACK, waitFor} from '../../src/sandbox/telemetry/net.js'
import {
  attributes,
  encodeLogsRequest,
  encodeMetricsRequest,
  encodeTracesRequest,
  parseLogsRequest,
  parseMetricsRequest,
  parseTracesRequest,
  type LogsRequest,
  type MetricsRequest,
  type TracesRequest,
} from '../../src/sandbox/telemetry/otlp.js'
import {ManagedProcess} from '../../src/sandbox/telemetry/processes.js'

/**
 * The OTLP toolkit the fakes, the harness and the benchmarks share: its protobuf encoder against its
 * own decoder and JSON reading, and against a real collector, which reads what the encoder writes
 * and writes it back as OTLP/JSON (file exporter).
 */
const PROTOBUF = 'application/x-protobuf'
const binaries = requireBinaries(['FEDOBS_OTELCOL'])

const RESOURCE = {attributes: attributes({'service.name': 'bert-inference', 'cluster.id': 'edge-1', 'k8s.pod.uid': '3f1c2a9e'})}
const SCOPE = {name: 'fedobs-toolkit-test', version: '1.2.3'}

const LOGS: LogsRequest = {
  resourceLogs: [
    {
      resource: RESOURCE,
      scopeLogs: [
        {
          scope: SCOPE,
          logRecords: [
            {
              timeUnixNano: '1718450000000000000',
              observedTimeUnixNano: '1718450000000000001',
              severityNumber: 17,
              severityText: 'ERROR',
              body: {stringValue: 'inference failed: ünïcode ✓'},
              attributes: [
                {key: 'retries', value: {intValue: '-3'}},
                {key: 'big', value: {intValue: '9223372036854775807'}},
                {key: 'ratio', value: {doubleValue: 0.125}},
                {key: 'ok', value: {boolValue: false}},
                {key: 'raw', value: {bytesValue: Buffer.from([0, 1, 254, 255]).toString('base64')}},
                {key: 'list', value: {arrayValue: {values: [{stringValue: 'a'}, {intValue: '2'}]}}},
                {key: 'map', value: {kvlistValue: {values: [{key: 'k', value: {stringValue: 'v'}}]}}},
              ],
              flags: 1,
              traceId: '0102030405060708090a0b0c0d0e0f10',
              spanId: '1112131415161718',
            },
            {timeUnixNano: '1718450000001000000', severityNumber: 9, severityText: 'INFO', body: {stringValue: 'ok'}},
          ],
        },
      ],
    },
  ],
}

const TRACES: TracesRequest = {
  resourceSpans: [
    {
      resource: RESOURCE,
      scopeSpans: [
        {
          scope: SCOPE,
          spans: [
            {
              traceId: 'a1a2a3a4a5a6a7a8a9aaabacadaeaf00',
              spanId: 'b1b2b3b4b5b6b7b8',
              traceState: 'vendor=1',
              parentSpanId: 'c1c2c3c4c5c6c7c8',
              name: 'POST /v1/predict',
              kind: 2,
              startTimeUnixNano: '1718450000000000000',
              endTimeUnixNano: '1718450000040000000',
              attributes: attributes({'http.request.method': 'POST', 'http.response.status_code': 200}),
              events: [{timeUnixNano: '1718450000010000000', name: 'tokenized', attributes: attributes({tokens: 128})}],
              links: [{traceId: 'd1d2d3d4d5d6d7d8d9dadbdcdddedf00', spanId: 'e1e2e3e4e5e6e7e8', attributes: attributes({reason: 'retry'})}],
              status: {code: 2, message: 'deadline exceeded'},
            },
          ],
        },
      ],
    },
  ],
}

const METRICS: MetricsRequest = {
  resourceMetrics: [
    {
      resource: RESOURCE,
      scopeMetrics: [
        {
          scope: SCOPE,
          metrics: [
            {name: 'gpu_temperature', unit: 'Cel', description: 'GPU temperature', gauge: {dataPoints: [{attributes: attributes({gpu: '0'}), timeUnixNano: '1718450000000000000', asDouble: 61.5}]}},
            {
              name: 'requests',
              sum: {
                aggregationTemporality: 2,
                isMonotonic: true,
                dataPoints: [{attributes: attributes({route: '/v1/predict'}), startTimeUnixNano: '1718440000000000000', timeUnixNano: '1718450000000000000', asInt: '42'}],
              },
            },
          ],
        },
      ],
    },
  ],
}

describe('the OTLP toolkit on its own', () => {
  it('decodes what it encodes, to the same objects as the OTLP/JSON of the same data', () => {
    for (const [request, encode, parse] of [
      [LOGS, encodeLogsRequest, parseLogsRequest],
      [TRACES, encodeTracesRequest, parseTracesRequest],
      [METRICS, encodeMetricsRequest, parseMetricsRequest],
    ] as const) {
      const fromProtobuf = (parse as (b: Buffer, c: string) => unknown)((encode as (r: unknown) => Buffer)(request), PROTOBUF)
      expect(fromProtobuf).toEqual(request)
      expect(fromProtobuf).toEqual((parse as (b: Buffer, c: string) => unknown)(Buffer.from(JSON.stringify(request)), 'application/json'))
    }
  })

  it('refuses a truncated protobuf body with 400, as a backend would', () => {
    const body = encodeLogsRequest(LOGS)
    for (const cut of [1, 7, body.length - 1]) {
      expect(() => parseLogsRequest(body.subarray(0, cut), PROTOBUF)).toThrow(HttpError)
      try {
        parseLogsRequest(body.subarray(0, cut), PROTOBUF)
      } catch (error) {
        expect((error as HttpError).status).toBe(400)
      }
    }
  })
})

describe.skipIf(!binaries.ok)('the OTLP toolkit against the real collector', () => {
  const otelcol = binaries.ok ? binaries.paths.FEDOBS_OTELCOL! : ''
  let dir: string
  let collector: ManagedProcess
  let otlp: string
  const out = {logs: '', traces: '', metrics: ''}

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fedobs-otlp-'))
    const [http, health] = (await freePorts(2)) as [number, number]
    for (const signal of Object.keys(out) as Array<keyof typeof out>) out[signal] = path.join(dir, `${signal}.json`)
    const config = {
      extensions: {health_check: {endpoint: `${LOOPBACK}:${health}`}},
      receivers: {otlp: {protocols: {http: {endpoint: `${LOOPBACK}:${http}`}}}},
      exporters: Object.fromEntries(Object.entries(out).map(([signal, file]) => [`file/${signal}`, {path: file, format: 'json', flush_interval: '100ms'}])),
      service: {
        extensions: ['health_check'],
        telemetry: {metrics: {level: 'none'}},
        pipelines: Object.fromEntries(Object.keys(out).map((signal) => [signal, {receivers: ['otlp'], exporters: [`file/${signal}`]}])),
      },
    }
    writeFileSync(path.join(dir, 'config.yaml'), emitYaml(config))
    collector = new ManagedProcess({
      name: 'otelcol-otlp-toolkit',
      command: otelcol,
      args: [`--config=${path.join(dir, 'config.yaml')}`],
      logFile: path.join(dir, 'otelcol.log'),
      ready: () => httpOk(`http://${LOOPBACK}:${health}/`),
    })
    await collector.start()
    otlp = `http://${LOOPBACK}:${http}`
  }, 60_000)

  afterAll(async () => {
    await collector?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  /** POST the toolkit's protobuf, then read the collector's OTLP/JSON of it back through the toolkit. */
  async function throughCollector<T>(signal: keyof typeof out, body: Buffer, parse: (b: Buffer, c: string) => T): Promise<T> {
    const response = await fetch(`${otlp}/v1/${signal}`, {method: 'POST', headers: {'content-type': PROTOBUF}, body, signal: AbortSignal.timeout(10_000)})
    expect(response.status).toBe(200)
    const line = await waitFor(
      `the collector's ${signal} file`,
      () => {
        try {
          return readFileSync(out[signal], 'utf8')
            .split('\n')
            .find((l) => l.trim() !== '')
        } catch {
          return undefined
        }
      },
      {timeoutMs: 20_000, intervalMs: 100},
    )
    return parse(Buffer.from(line), 'application/json')
  }

  it('reads the logs it encodes, every value type included, as they were meant', async () => {
    expect(await throughCollector('logs', encodeLogsRequest(LOGS), parseLogsRequest)).toEqual(LOGS)
  })

  it('reads the spans it encodes (ids, events, links, status)', async () => {
    expect(await throughCollector('traces', encodeTracesRequest(TRACES), parseTracesRequest)).toEqual(TRACES)
  })

  it('reads the gauges and sums it encodes', async () => {
    expect(await throughCollector('metrics', encodeMetricsRequest(METRICS), parseMetricsRequest)).toEqual(METRICS)
  })
})
