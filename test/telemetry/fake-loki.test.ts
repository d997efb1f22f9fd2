import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {FakeLoki, indexAttributesOf} from '../../src/sandbox/telemetry/fake-loki.js'
import {lokiPushLimit} from '../../src/sandbox/telemetry/pushback.js'
import {getJson, waitFor} from '../../src/sandbox/telemetry/net.js'
import {attributes, logsRequest, nowNanos, postOtlpJson, randomHex, type LogsRequest} from '../../src/sandbox/telemetry/otlp.js'
import {startRelay, type Relay} from './relay.js'
import {renderHub} from '../../src/render/render.js'
import {configOf, exampleFederation} from '../helpers/federation.js'
import {requireBinaries} from '../helpers/testbed.js'

// Response shapes follow Loki's HTTP API reference (grafana.com/docs/loki/latest/reference/loki-http-api):
// query_range → {status, data: {resultType: "streams"|"matrix", result, stats}}, streams as
// {stream: {labels}, values: [["<ns>", "<line>"]]}, matrices as {metric, values: [[<s>, "<v>"]]},
// instant vectors as {metric, value: [<s>, "<v>"]}, labels as {status, data: [names]}.

const EDGE = {
  'cluster.id': 'edge-1',
  'cluster.role': 'edge',
  'service.name': 'bert-inference',
  'k8s.namespace.name': 'bert-inference',
  'k8s.pod.name': 'bert-0',
  'hub.received_at': 'otel-gateway-0',
  'host.name': 'node-a',
}
const HUB = {'cluster.id': 'hub-1', 'cluster.role': 'hub', 'k8s.container.name': 'prometheus'}

/** The fake configured like the rendered Loki (attributes_config indexes cluster.id and cluster.role). */
function renderedLoki(): FakeLoki {
  return new FakeLoki({indexAttributes: indexAttributesOf(configOf(renderHub(exampleFederation()).objects, 'loki-config', 'loki.yaml'))})
}

describe('fake Loki: OTLP ingestion and the query API', () => {
  const loki = renderedLoki()
  const q = (path: string, init?: RequestInit) => getJson(`${loki.url}${path}`, init)
  const enc = encodeURIComponent

  beforeAll(async () => {
    await loki.start()
    await postOtlpJson(loki.otlpLogsUrl, logsRequest(EDGE, ['request ok 1', 'request ok 2', {body: 'request failed: CUDA out of memory', severityText: 'ERROR'}]))
    await postOtlpJson(loki.otlpLogsUrl, logsRequest(HUB, ['ts=1 level=info msg="reloaded"']))
    await postOtlpJson(loki.otlpLogsUrl, logsRequest({}, ['who am i']))
  })
  afterAll(() => loki.close())

  it('takes its size limit from the rendered config: room for twice the largest push the gateway forwards', () => {
    const hub = renderHub(exampleFederation()).objects
    const limit = lokiPushLimit(configOf(hub, 'loki-config', 'loki.yaml'))
    const gatewayGrpc = configOf(hub, 'otel-gateway-config', 'config.yaml').receivers.otlp.protocols.grpc.max_recv_msg_size_mib * 2 ** 20
    expect(limit).toBe(64 * 2 ** 20)
    expect(limit).toBeGreaterThanOrEqual(2 * gatewayGrpc)
    // Loki's defaults: the ingester's gRPC limit (4 MiB) is the binding one; the distributor's is 100 MiB.
    expect(lokiPushLimit({})).toBe(4 * 2 ** 20)
    expect(lokiPushLimit({server: {grpc_server_max_recv_msg_size: 2 ** 30}})).toBe(100 * 2 ** 20)
  })

  it('is ready and indexes what the rendered config says', async () => {
    expect(indexAttributesOf(configOf(renderHub(exampleFederation()).objects, 'loki-config', 'loki.yaml'))).toEqual(['cluster.id', 'cluster.role'])
    expect(await q('/ready')).toEqual({status: 200, body: 'ready\n'})
    const {body} = await q('/loki/api/v1/labels')
    // Index labels only: default OTLP ones, cluster_id/cluster_role, and service_name; never structured metadata.
    expect(body).toEqual({status: 'success', data: ['cluster_id', 'cluster_role', 'k8s_container_name', 'k8s_namespace_name', 'k8s_pod_name', 'service_name']})
    expect((await q('/loki/api/v1/label/cluster_id/values')).body).toEqual({status: 'success', data: ['edge-1', 'hub-1']})
    expect((await q('/loki/api/v1/label/service_name/values')).body.data).toEqual(['bert-inference', 'prometheus', 'unknown_service'])
    expect((await q(`/loki/api/v1/label/cluster_id/values?query=${enc('{cluster_role="hub"}')}`)).body.data).toEqual(['hub-1'])
  })

  it('answers query_range for a stream selector with streams, newest first', async () => {
    const {status, body} = await q(`/loki/api/v1/query_range?query=${enc('{cluster_id="edge-1"}')}`)
    expect(status).toBe(200)
    expect(body.status).toBe('success')
    expect(body.data.resultType).toBe('streams')
    expect(body.data.stats.summary).toMatchObject({totalEntriesReturned: 3})
    // Without categorize-labels, structured metadata folds into the labels of each result stream.
    const lines = body.data.result.flatMap((r: any) => r.values.map((v: [string, string]) => v[1]))
    expect(lines).toEqual(['request failed: CUDA out of memory', 'request ok 2', 'request ok 1'])
    for (const r of body.data.result) {
      expect(r.stream).toMatchObject({
        cluster_id: 'edge-1',
        cluster_role: 'edge',
        service_name: 'bert-inference',
        k8s_namespace_name: 'bert-inference',
        k8s_pod_name: 'bert-0',
        hub_received_at: 'otel-gateway-0',
        host_name: 'node-a',
      })
      for (const [ts, line] of r.values) {
        expect(ts).toMatch(/^[0-9]{19}$/)
        expect(typeof line).toBe('string')
      }
    }
    const forward = await q(`/loki/api/v1/query_range?direction=forward&limit=2&query=${enc('{cluster_id="edge-1"}')}`)
    expect(forward.body.data.result.flatMap((r: any) => r.values.map((v: string[]) => v[1]))).toEqual(['request ok 1', 'request ok 2'])
  })

  it('supports =, !=, =~, !~ matchers, line filters and structured-metadata filters', async () => {
    const lines = async (query: string): Promise<string[]> => {
      const {body} = await q(`/loki/api/v1/query_range?direction=forward&query=${enc(query)}`)
      return body.data.result.flatMap((r: any) => r.values.map((v: string[]) => v[1])).sort()
    }
    expect(await lines('{cluster_id=~"edge-.*|hub-1"}')).toHaveLength(4)
    expect(await lines('{cluster_role!="edge", service_name=~".+"}')).toEqual(['ts=1 level=info msg="reloaded"', 'who am i'])
    expect(await lines('{cluster_id!~"edge.*", cluster_role=~".+"}')).toEqual(['ts=1 level=info msg="reloaded"'])
    expect(await lines('{cluster_id="edge-1"} |= "failed"')).toEqual(['request failed: CUDA out of memory'])
    expect(await lines('{cluster_id="edge-1"} != "failed" |~ "ok [0-9]"')).toEqual(['request ok 1', 'request ok 2'])
    expect(await lines('{cluster_id="edge-1"} | severity_text="ERROR"')).toEqual(['request failed: CUDA out of memory'])
    expect(await lines('{service_name="unknown_service"}')).toEqual(['who am i'])
  })

  it('puts structured metadata in a third element with categorize-labels', async () => {
    const {body} = await q(`/loki/api/v1/query_range?query=${enc('{cluster_id="edge-1"} |= "failed"')}`, {headers: {'X-Loki-Response-Encoding-Flags': 'categorize-labels'}})
    expect(body.data.encodingFlags).toEqual(['categorize-labels'])
    const [stream] = body.data.result
    expect(stream.stream).toEqual({cluster_id: 'edge-1', cluster_role: 'edge', service_name: 'bert-inference', k8s_namespace_name: 'bert-inference', k8s_pod_name: 'bert-0'})
    expect(stream.values[0][2].structuredMetadata).toMatchObject({hub_received_at: 'otel-gateway-0', host_name: 'node-a', severity_text: 'ERROR', detected_level: 'error'})
  })

  it('evaluates count_over_time and sum by (label) as instant vectors and matrices', async () => {
    const vector = await q(`/loki/api/v1/query?query=${enc('sum by (cluster_id) (count_over_time({cluster_role=~".+"}[5m]))')}`)
    expect(vector.status).toBe(200)
    expect(vector.body.data.resultType).toBe('vector')
    const byCluster = Object.fromEntries(vector.body.data.result.map((r: any) => [r.metric.cluster_id, r.value[1]]))
    expect(byCluster).toEqual({'edge-1': '3', 'hub-1': '1'})
    const [first] = vector.body.data.result
    expect(typeof first.value[0]).toBe('number')
    const total = await q(`/loki/api/v1/query?query=${enc('sum(count_over_time({service_name=~".+"}[1h]))')}`)
    expect(total.body.data.result).toEqual([{metric: {}, value: [expect.any(Number), '5']}])
    const plain = await q(`/loki/api/v1/query?query=${enc('count_over_time({cluster_id="hub-1"}[5m])')}`)
    expect(plain.body.data.result[0].metric).toMatchObject({cluster_id: 'hub-1', service_name: 'prometheus'})

    const now = Date.now()
    const matrix = await q(`/loki/api/v1/query_range?start=${(now - 60_000) * 1e6}&end=${now * 1e6}&step=15s&query=${enc('sum by (cluster_role) (count_over_time({cluster_role=~".+"}[1m]))')}`)
    expect(matrix.body.data.resultType).toBe('matrix')
    const edge = matrix.body.data.result.find((r: any) => r.metric.cluster_role === 'edge')
    expect(edge.values.at(-1)).toEqual([expect.any(Number), '3'])
  })

  it('answers errors as Loki does', async () => {
    const instantLogQuery = await q(`/loki/api/v1/query?query=${enc('{cluster_id="edge-1"}')}`)
    expect(instantLogQuery).toEqual({status: 400, body: expect.stringContaining('log queries are not supported as an instant query type')})
    const emptyCompatible = await q(`/loki/api/v1/query_range?query=${enc('{cluster_id=~".*"}')}`)
    expect(emptyCompatible).toEqual({status: 400, body: expect.stringContaining('at least one regexp or equality matcher that does not have an empty-compatible value')})
    expect((await q(`/loki/api/v1/query_range?query=${enc('{cluster_id="x"')}`)).status).toBe(400)
    expect((await q('/loki/api/v1/query_range')).status).toBe(400)
  })

  it('shows an identical replayed line once and counts it as a duplicate', async () => {
    const fake = await new FakeLoki().start()
    try {
      const request = logsRequest({'service.name': 'svc'}, ['same line'])
      await postOtlpJson(fake.otlpLogsUrl, request)
      await postOtlpJson(fake.otlpLogsUrl, request)
      expect(fake.stats).toMatchObject({requests: 2, records: 2, duplicates: 1})
      const {body} = await getJson(`${fake.url}/loki/api/v1/query?query=${enc('count_over_time({service_name="svc"}[5m])')}`)
      expect(body.data.result[0].value[1]).toBe('1')
      fake.fault = 503
      await expect(postOtlpJson(fake.otlpLogsUrl, request)).rejects.toThrow(/503/)
      expect(fake.stats.rejected).toBe(1)
    } finally {
      await fake.close()
    }
  })
})

const binaries = requireBinaries(['FEDOBS_OTELCOL'])

describe.skipIf(!binaries.ok)('fake Loki fed by a real collector (otlp_http exporter)', () => {
  const protobuf = renderedLoki()
  const json = renderedLoki()
  let relay: Relay

  beforeAll(async () => {
    await Promise.all([protobuf.start(), json.start()])
    relay = await startRelay(binaries.ok ? binaries.paths.FEDOBS_OTELCOL! : '', [
      {name: 'proto', logsEndpoint: protobuf.otlpLogsUrl},
      {name: 'json', encoding: 'json', logsEndpoint: json.otlpLogsUrl},
    ])
  })
  afterAll(async () => {
    await relay?.stop()
    await Promise.all([protobuf.close(), json.close()])
  })

  it('decodes what the exporter sends (protobuf + gzip by default, and JSON) to the same streams', async () => {
    const traceId = randomHex(16)
    const spanId = randomHex(8)
    const request: LogsRequest = {
      resourceLogs: [
        {
          resource: {attributes: attributes({...EDGE, 'k8s.node.uid': 7})},
          scopeLogs: [
            {
              scope: {name: 'inference', version: '2.1.0'},
              logRecords: [
                {
                  timeUnixNano: nowNanos(),
                  severityNumber: 17,
                  severityText: 'ERROR',
                  body: {stringValue: 'request failed'},
                  traceId,
                  spanId,
                  attributes: [
                    ...attributes({'http.route': '/v1/predict', tokens: 512, 'latency.seconds': 1.25, cached: false}),
                    {key: 'tags', value: {arrayValue: {values: [{stringValue: 'a'}, {intValue: '2'}]}}},
                    {key: 'blob', value: {bytesValue: Buffer.from('hi').toString('base64')}},
                  ],
                },
                {timeUnixNano: nowNanos(1), body: {kvlistValue: {values: attributes({event: 'loaded', ms: 4182})}}},
              ],
            },
          ],
        },
      ],
    }
    await postOtlpJson(`${relay.url}/v1/logs`, request)
    await waitFor('both fakes to receive the records', () => protobuf.stats.records === 2 && json.stats.records === 2, {timeoutMs: 15_000})

    expect(Object.keys(protobuf.stats.formats)).toEqual(['application/x-protobuf; gzip'])
    expect(Object.keys(json.stats.formats)).toEqual(['application/json; gzip'])
    expect(protobuf.allStreams()).toEqual(json.allStreams())
    const [stream] = protobuf.allStreams()
    expect(stream!.labels).toEqual({cluster_id: 'edge-1', cluster_role: 'edge', service_name: 'bert-inference', k8s_namespace_name: 'bert-inference', k8s_pod_name: 'bert-0'})
    const [failed, loaded] = stream!.entries
    expect(failed!.line).toBe('request failed')
    expect(failed!.ts).toBe(BigInt(request.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.timeUnixNano!))
    expect(failed!.metadata).toMatchObject({
      hub_received_at: 'otel-gateway-0',
      host_name: 'node-a',
      k8s_node_uid: '7',
      scope_name: 'inference',
      scope_version: '2.1.0',
      http_route: '/v1/predict',
      tokens: '512',
      latency_seconds: '1.25',
      cached: 'false',
      tags: '["a","2"]',
      blob: Buffer.from('hi').toString('base64'),
      trace_id: traceId,
      span_id: spanId,
      severity_text: 'ERROR',
      detected_level: 'error',
    })
    expect(JSON.parse(loaded!.line)).toEqual({event: 'loaded', ms: '4182'})
  })
})
