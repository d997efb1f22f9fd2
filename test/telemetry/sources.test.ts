import {spawnSync} from 'node:child_process'
import {X509Certificate} from 'node:crypto'
import {get as httpGet} from 'node:http'
import {get} from 'node:https'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {requireBinaries} from '../helpers/testbed.js'
import {BertInferenceSource, DcgmExporterSource, KubeletSource, KubeStateMetricsSource, parseExposition, type NodeShape, type Source} from '../../src/sandbox/telemetry/sources.js'

const NODE: NodeShape = {
  node: 'lke1-gpu-a',
  pods: [
    {namespace: 'bert-inference', name: 'bert-inference-6d9f8b7c5-x2k4p', uid: '3c0e29cd-3e2b-4b38-a3a3-0ffa4417931a', containers: ['bert-inference']},
    {namespace: 'observability', name: 'otel-agent-k5j8d', uid: 'c5ff8478-dc17-4785-851a-5cf3094e2df1', containers: ['otel-agent', 'sidecar']},
  ],
}

/** Status of a GET on a fresh connection (no keep-alive socket left from before a restart). */
const status = (url: string): Promise<number> =>
  new Promise((resolve, reject) => {
    httpGet(url, {agent: false}, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    }).on('error', reject)
  })

/** Sample lines of a text exposition (what Prometheus counts as samples). */
const sampleLines = (text: string): string[] => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))
const names = (text: string): Set<string> => new Set(parseExposition(text).map((s) => s.name))
const value = (text: string, series: string): number =>
  Number(
    sampleLines(text)
      .find((l) => l.startsWith(series))!
      .split(' ')
      .at(-1),
  )

describe('parseExposition (the toolkit reads what sources and collectors serve)', () => {
  it('reads names, unescaped label values and special values, and skips comments and blank lines', () => {
    const text = [
      '# HELP up whether the target is up',
      '# TYPE up gauge',
      'up 1',
      '',
      'http_requests_total{route="/v1/predict",quote="say \\"hi\\"",path="C:\\\\tmp",multi="a\\nb"} 1027 1718450000000',
      'latency_bucket{le="+Inf"} +Inf',
      'temperature{gpu="0"} -3.5e-2',
    ].join('\n')
    expect(parseExposition(text)).toEqual([
      {name: 'up', labels: {}, value: 1},
      {name: 'http_requests_total', labels: {route: '/v1/predict', quote: 'say "hi"', path: 'C:\\tmp', multi: 'a\nb'}, value: 1027},
      {name: 'latency_bucket', labels: {le: '+Inf'}, value: Number.POSITIVE_INFINITY},
      {name: 'temperature', labels: {gpu: '0'}, value: -0.035},
    ])
  })
})

describe('synthetic Prometheus sources', () => {
  const bert = new BertInferenceSource()
  const dcgm = new DcgmExporterSource({node: NODE.node, allocatedTo: {namespace: 'bert-inference', pod: 'bert-inference-6d9f8b7c5-x2k4p', container: 'bert-inference'}})
  const ksm = new KubeStateMetricsSource([NODE])
  const all: Source[] = [bert, dcgm, ksm]
  const promtool = requireBinaries(['FEDOBS_PROMTOOL'])

  beforeAll(async () => {
    for (const s of all) await s.start()
  })
  afterAll(async () => {
    for (const s of all) await s.close()
  })

  it('serve the text format and count every scrape and sample', async () => {
    for (const source of all) {
      const response = await fetch(source.url)
      expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
      const text = await response.text()
      expect(source.scrapes).toBe(1)
      expect(source.samples).toBe(sampleLines(text).length)
      expect(parseExposition(text)).toHaveLength(source.samples)
      expect(source.samplesServed(0, source.served[0]!.at)).toBe(source.samples)
      if (promtool.ok) {
        // Exit 0 (clean) or 3 (lint findings: dcgm-exporter's camelCase labels and counters
        // without _total are real); a parse error is exit 1 "error while linting".
        const check = spawnSync(promtool.paths.FEDOBS_PROMTOOL!, ['check', 'metrics'], {input: text, encoding: 'utf8'})
        expect(`${check.stdout}${check.stderr}`, source.name).not.toMatch(/error while linting|parsing error/)
        expect([0, 3], source.name).toContain(check.status)
      }
    }
  })

  it('BERT inference: the families a Python inference server exposes, counters moving', async () => {
    const first = await (await fetch(bert.url)).text()
    const second = await (await fetch(bert.url)).text()
    expect([...names(first)]).toEqual(
      expect.arrayContaining([
        'inference_requests_total',
        'inference_request_duration_seconds_bucket',
        'inference_request_duration_seconds_sum',
        'inference_request_duration_seconds_count',
        'inference_tokens_processed_total',
        'inference_batch_size_bucket',
        'inference_model_load_seconds',
        'inference_queue_depth',
        'inference_gpu_memory_allocated_bytes',
        'process_resident_memory_bytes',
        'python_info',
      ]),
    )
    expect(first).toContain('inference_requests_total{model="bert-base-uncased",status="success"}')
    expect(first).toContain('inference_request_duration_seconds_bucket{model="bert-base-uncased",le="+Inf"}')
    const ok = 'inference_requests_total{model="bert-base-uncased",status="success"}'
    expect(value(second, ok)).toBeGreaterThan(value(first, ok))
    expect(value(second, 'inference_request_duration_seconds_count')).toBe(value(second, 'inference_request_duration_seconds_bucket{model="bert-base-uncased",le="+Inf"}'))
  })

  it('dcgm-exporter: DCGM_FI_* per GPU with its labels and the pod mapping', async () => {
    const text = await (await fetch(dcgm.url)).text()
    for (const field of ['DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_FB_USED', 'DCGM_FI_DEV_FB_FREE', 'DCGM_FI_DEV_POWER_USAGE', 'DCGM_FI_DEV_GPU_TEMP', 'DCGM_FI_DEV_SM_CLOCK', 'DCGM_FI_DEV_XID_ERRORS']) {
      expect(names(text)).toContain(field)
    }
    expect(text).toContain('# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter')
    const util = sampleLines(text).find((l) => l.startsWith('DCGM_FI_DEV_GPU_UTIL'))!
    expect(util).toMatch(
      /gpu="0",UUID="GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",pci_bus_id="00000000:00:05.0",device="nvidia0",modelName="NVIDIA RTX 4000 Ada Generation",Hostname="lke1-gpu-a"/,
    )
    expect(util).toContain('namespace="bert-inference",pod="bert-inference-6d9f8b7c5-x2k4p",container="bert-inference"')
  })

  it('kube-state-metrics: node and pod families for the cluster shape', async () => {
    const text = await (await fetch(ksm.url)).text()
    expect(text).toContain('kube_node_info{node="lke1-gpu-a"')
    expect(text).toContain('kube_pod_status_phase{namespace="observability",pod="otel-agent-k5j8d",uid="c5ff8478-dc17-4785-851a-5cf3094e2df1",phase="Running"} 1')
    expect(text).toContain('kube_pod_container_status_restarts_total{namespace="observability",pod="otel-agent-k5j8d",uid="c5ff8478-dc17-4785-851a-5cf3094e2df1",container="sidecar"} 0')
    expect(text).toContain('kube_node_status_capacity{node="lke1-gpu-a",resource="nvidia_com_gpu",unit="integer"} 1')
  })

  it('answer an injected fault without counting it, and keep their port across restarts', async () => {
    const before = bert.scrapes
    bert.fault = 503
    expect(await status(bert.url)).toBe(503)
    expect(bert.scrapes).toBe(before)
    bert.fault = undefined
    const port = bert.port
    await bert.close()
    await expect(status(bert.url)).rejects.toThrow(/ECONNREFUSED/)
    await bert.start()
    expect(bert.port).toBe(port)
    expect(await status(bert.url)).toBe(200)
    expect(bert.scrapes).toBe(before + 1)
  })
})

describe('fake kubelet', () => {
  const kubelet = new KubeletSource(NODE)
  beforeAll(() => kubelet.start())
  afterAll(() => kubelet.close())

  const getTrusting = (url: string): Promise<{status: number; body: string}> =>
    new Promise((resolve, reject) => {
      // Verify against the fake's own CA: its serving certificate is valid for 127.0.0.1.
      get(url, {ca: kubelet.certificate}, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (d: string) => (body += d))
        res.on('end', () => resolve({status: res.statusCode ?? 0, body}))
      }).on('error', reject)
    })

  it('serves HTTPS with a certificate for 127.0.0.1 from its own CA (made with the PKI code fedobs uses)', () => {
    const ca = new X509Certificate(kubelet.certificate)
    const serving = new X509Certificate(kubelet.servingCertificate)
    expect(serving.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1')
    expect(serving.verify(ca.publicKey)).toBe(true)
    expect(ca.ca).toBe(true)
    expect(kubelet.url).toMatch(/^https:\/\/127\.0\.0\.1:[0-9]+\/stats\/summary$/)
  })

  it('answers /stats/summary shaped like the kubelet summary API, and counts entities', async () => {
    const {status, body} = await getTrusting(kubelet.url)
    expect(status).toBe(200)
    const summary = JSON.parse(body)
    expect(summary.node).toMatchObject({
      nodeName: 'lke1-gpu-a',
      startTime: expect.any(String),
      cpu: {usageNanoCores: expect.any(Number), usageCoreNanoSeconds: expect.any(Number)},
      memory: {workingSetBytes: expect.any(Number), availableBytes: expect.any(Number)},
      fs: {capacityBytes: expect.any(Number)},
      network: {interfaces: [expect.objectContaining({name: 'eth0'})]},
    })
    expect(summary.pods.map((p: any) => p.podRef)).toEqual(NODE.pods.map(({namespace, name, uid}) => ({name, namespace, uid})))
    expect(summary.pods[1].containers.map((c: any) => c.name)).toEqual(['otel-agent', 'sidecar'])
    expect(summary.pods[0].containers[0]).toMatchObject({
      cpu: {usageNanoCores: expect.any(Number)},
      memory: {rssBytes: expect.any(Number)},
      rootfs: {usedBytes: expect.any(Number)},
      logs: {usedBytes: expect.any(Number)},
    })
    expect(kubelet.scrapes).toBe(1)
    expect(kubelet.samples).toBe(1 + 2 + 3) // node + pods + containers
    const pods = JSON.parse((await getTrusting(kubelet.url.replace('/stats/summary', '/pods'))).body)
    expect(pods).toMatchObject({kind: 'PodList', items: [{metadata: {name: 'bert-inference-6d9f8b7c5-x2k4p'}}, {metadata: {name: 'otel-agent-k5j8d'}}]})
  })
})
