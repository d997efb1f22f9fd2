import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {FakeTempo} from '../../src/sandbox/telemetry/fake-tempo.js'
import {getJson, waitFor} from '../../src/sandbox/telemetry/net.js'
import {attributes, postOtlpJson, traceRequest} from '../../src/sandbox/telemetry/otlp.js'
import {startRelay, type Relay} from './relay.js'
import {requireBinaries} from '../helpers/testbed.js'

// Response shapes follow Tempo's HTTP API reference (grafana.com/docs/tempo/latest/api_docs):
// /api/search → {traces: [{traceID, rootServiceName, rootTraceName, startTimeUnixNano, durationMs,
// spanSet: {spans, matched}, spanSets}], metrics}; /api/traces/<id> → {batches: [...]} (jsonpb,
// so ids are base64); /api/search/tag/<tag>/values → {tagValues: [...]}; v2 values are typed.

const EDGE = {'cluster.id': 'edge-1', 'cluster.role': 'edge', 'service.name': 'bert-inference', 'hub.received_at': 'otel-gateway-0'}
const HUB = {'cluster.id': 'hub-1', 'cluster.role': 'hub', 'service.name': 'grafana'}

describe('fake Tempo: OTLP ingestion and the query API', () => {
  const tempo = new FakeTempo()
  const q = (path: string) => getJson(`${tempo.url}${path}`)
  const search = async (traceql: string, extra = ''): Promise<any> => (await q(`/api/search?q=${encodeURIComponent(traceql)}${extra}`)).body
  let edgeTrace: string
  let hubTrace: string
  // A trace id with leading zero bytes: Tempo's search results drop the leading zeros.
  const zeroLed = `0000${'ab'.repeat(14)}`

  beforeAll(async () => {
    await tempo.start()
    const edge = traceRequest(EDGE, {spans: 3})
    const hub = traceRequest(HUB, {spans: 2, name: 'GET /api/dashboards'})
    edgeTrace = edge.traceId
    hubTrace = hub.traceId
    await postOtlpJson(tempo.otlpTracesUrl, edge.request)
    await postOtlpJson(tempo.otlpTracesUrl, hub.request)
    await postOtlpJson(tempo.otlpTracesUrl, traceRequest(EDGE, {spans: 1, traceId: zeroLed, name: 'GET /healthz'}).request)
  })
  afterAll(() => tempo.close())

  it('is ready and counts what it ingested', async () => {
    expect(await q('/ready')).toEqual({status: 200, body: 'ready\n'})
    expect(tempo.stats).toMatchObject({requests: 3, spans: 6, duplicates: 0})
    expect(tempo.spanCount).toBe(6)
  })

  it("searches by resource attributes with TraceQL, in Tempo's response shape", async () => {
    const body = await search('{resource.cluster.id="edge-1"}')
    expect(body.traces.map((t: any) => t.traceID).sort()).toEqual([edgeTrace.replace(/^0+/, ''), zeroLed.replace(/^0+/, '')].sort())
    const trace = body.traces.find((t: any) => t.traceID === edgeTrace.replace(/^0+/, ''))
    expect(trace).toMatchObject({rootServiceName: 'bert-inference', rootTraceName: 'POST /v1/predict', startTimeUnixNano: expect.stringMatching(/^[0-9]{19}$/), durationMs: expect.any(Number)})
    expect(trace.spanSet).toEqual(trace.spanSets[0])
    expect(trace.spanSet.matched).toBe(3)
    expect(trace.spanSet.spans[0]).toMatchObject({
      spanID: expect.stringMatching(/^[0-9a-f]{16}$/),
      startTimeUnixNano: expect.any(String),
      durationNanos: expect.any(String),
      attributes: [{key: 'cluster.id', value: {stringValue: 'edge-1'}}],
    })
    expect(body.metrics).toMatchObject({inspectedTraces: 3})
  })

  it('combines conditions with && and ||, and knows span attributes and intrinsics', async () => {
    const ids = async (traceql: string): Promise<string[]> => (await search(traceql)).traces.map((t: any) => t.traceID)
    expect(await ids('{resource.cluster.id="edge-1" && resource.service.name="bert-inference" && name="POST /v1/predict"}')).toEqual([edgeTrace.replace(/^0+/, '')])
    expect(await ids('{resource.cluster.id="hub-1" && resource.service.name="bert-inference"}')).toEqual([])
    expect((await ids('{resource.cluster.role="hub" || resource.cluster.id=~"edge-.*"}')).length).toBe(3)
    expect(await ids('{span.step=1 && resource.cluster.id="hub-1"}')).toEqual([hubTrace.replace(/^0+/, '')])
    expect(await ids('{resource.step=1}')).toEqual([]) // the scope matters: step is a span attribute
    expect(await ids('{.cluster.id="hub-1" && kind=server && status=ok}')).toEqual([hubTrace.replace(/^0+/, '')])
    expect((await ids('{resource.cluster.id="edge-1"} && {name=~"tokenize-.*"}')).length).toBe(1)
    expect((await ids('{duration > 1ms && resource.cluster.role="edge"}')).length).toBe(2)
    expect((await search('{}', '&limit=1')).traces).toHaveLength(1)
    const future = Math.floor(Date.now() / 1000) + 3600
    expect((await search('{}', `&start=${future}&end=${future + 60}`)).traces).toEqual([])
    expect((await q(`/api/search?q=${encodeURIComponent('{resource.cluster.id=}')}`)).status).toBe(400)
  })

  it('returns a trace by id as {batches} with base64 ids, and 404 for an unknown one', async () => {
    const {status, body} = await q(`/api/traces/${edgeTrace}`)
    expect(status).toBe(200)
    expect(body.batches).toHaveLength(1)
    const [batch] = body.batches
    expect(batch.resource.attributes).toEqual(attributes(EDGE))
    const spans = batch.scopeSpans[0].spans
    expect(spans).toHaveLength(3)
    expect(Buffer.from(spans[0].traceId, 'base64').toString('hex')).toBe(edgeTrace)
    expect(spans[0].kind).toBe('SPAN_KIND_SERVER')
    expect((await q(`/api/traces/${zeroLed.replace(/^0+/, '')}`)).status).toBe(200)
    expect((await q(`/api/traces/${'f'.repeat(32)}`)).status).toBe(404)
  })

  it('lists tag names and values (v1 and v2)', async () => {
    expect((await q('/api/search/tag/resource.cluster.id/values')).body.tagValues).toEqual(['edge-1', 'hub-1'])
    expect((await q('/api/search/tag/cluster.role/values')).body.tagValues).toEqual(['edge', 'hub'])
    expect((await q('/api/v2/search/tag/resource.service.name/values')).body.tagValues).toEqual([
      {type: 'string', value: 'bert-inference'},
      {type: 'string', value: 'grafana'},
    ])
    expect((await q('/api/search/tags')).body.tagNames).toContain('cluster.id')
    const scopes = (await q('/api/v2/search/tags')).body.scopes
    expect(scopes.find((s: any) => s.name === 'resource').tags).toEqual(['cluster.id', 'cluster.role', 'hub.received_at', 'service.name'])
  })

  it('shows a replayed span once and answers a fault status', async () => {
    const fake = await new FakeTempo().start()
    try {
      const {request} = traceRequest(EDGE, {spans: 2})
      await postOtlpJson(fake.otlpTracesUrl, request)
      await postOtlpJson(fake.otlpTracesUrl, request)
      expect(fake.stats).toMatchObject({spans: 4, duplicates: 2})
      expect(fake.spanCount).toBe(2)
      fake.fault = 429
      await expect(postOtlpJson(fake.otlpTracesUrl, request)).rejects.toThrow(/429/)
    } finally {
      await fake.close()
    }
  })

  it('pushes back as Tempo does at its limits: 429 with Retry-After while throttled, 413 over the size limit, nothing stored', async () => {
    const fake = await new FakeTempo().start()
    try {
      const {request} = traceRequest(EDGE, {spans: 2})
      const post = (body: unknown) => fetch(fake.otlpTracesUrl, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})
      fake.pushBack.throttle(60_000, 7)
      const throttled = await post(request)
      expect([throttled.status, throttled.headers.get('retry-after')]).toEqual([429, '7'])
      expect(await throttled.text()).toMatch(/RATE_LIMITED/)
      fake.pushBack.throttle(0)
      const size = Buffer.byteLength(JSON.stringify(request))
      fake.pushBack.maxBytes = size - 1
      const tooLarge = await post(request)
      expect(tooLarge.status).toBe(413)
      expect(await tooLarge.text()).toContain(`request body of ${size} bytes too large (max: ${size - 1})`)
      expect(fake.spanCount).toBe(0)
      fake.pushBack.maxBytes = size
      expect((await post(request)).status).toBe(200)
      expect(fake.spanCount).toBe(2)
      expect(fake.pushBack.stats).toEqual({throttled: 1, tooLarge: 1, largestAccepted: size})
      expect(fake.stats).toMatchObject({requests: 1, rejected: 2})
    } finally {
      await fake.close()
    }
  })
})

const binaries = requireBinaries(['FEDOBS_OTELCOL'])

describe.skipIf(!binaries.ok)('fake Tempo fed by a real collector (otlp_http exporter)', () => {
  const protobuf = new FakeTempo()
  const json = new FakeTempo()
  let relay: Relay

  beforeAll(async () => {
    await Promise.all([protobuf.start(), json.start()])
    relay = await startRelay(binaries.ok ? binaries.paths.FEDOBS_OTELCOL! : '', [
      {name: 'proto', tracesEndpoint: protobuf.otlpTracesUrl},
      {name: 'json', encoding: 'json', tracesEndpoint: json.otlpTracesUrl},
    ])
  })
  afterAll(async () => {
    await relay?.stop()
    await Promise.all([protobuf.close(), json.close()])
  })

  it('decodes what the exporter sends (protobuf + gzip by default, and JSON) to the same traces', async () => {
    const {request, traceId} = traceRequest(EDGE, {spans: 4})
    const root = request.resourceSpans[0]!.scopeSpans[0]!.spans[0]!
    root.events = [{timeUnixNano: root.startTimeUnixNano, name: 'batch.enqueued', attributes: attributes({size: 8})}]
    root.links = [{traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), attributes: attributes({reason: 'retry'})}]
    root.status = {code: 2, message: 'CUDA out of memory'}
    await postOtlpJson(`${relay.url}/v1/traces`, request)
    await waitFor('both fakes to receive the spans', () => protobuf.spanCount === 4 && json.spanCount === 4, {timeoutMs: 15_000})

    expect(Object.keys(protobuf.stats.formats)).toEqual(['application/x-protobuf; gzip'])
    expect(Object.keys(json.stats.formats)).toEqual(['application/json; gzip'])
    expect(protobuf.trace(traceId)).toEqual(json.trace(traceId))
    const spans = (protobuf.trace(traceId) as any).batches[0].scopeSpans[0].spans
    const decodedRoot = spans.find((s: any) => !s.parentSpanId)
    expect(decodedRoot).toMatchObject({
      name: 'POST /v1/predict',
      kind: 'SPAN_KIND_SERVER',
      startTimeUnixNano: root.startTimeUnixNano,
      endTimeUnixNano: root.endTimeUnixNano,
      status: {code: 'STATUS_CODE_ERROR', message: 'CUDA out of memory'},
      events: [{name: 'batch.enqueued', timeUnixNano: root.startTimeUnixNano, attributes: [{key: 'size', value: {intValue: '8'}}]}],
      links: [{traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), attributes: [{key: 'reason', value: {stringValue: 'retry'}}]}],
    })
    expect(decodedRoot.attributes).toEqual(root.attributes)
    expect((protobuf.search(new URLSearchParams({q: '{resource.cluster.id="edge-1" && status=error}'})) as any).traces).toHaveLength(1)
  })
})
