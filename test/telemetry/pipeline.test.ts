import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {scrapeJobs} from '../../src/render/render.js'
import {requireBinaries} from '../helpers/testbed.js'
import {waitFor} from '../../src/sandbox/telemetry/net.js'
import {EDGE, GATEWAY_POD, RECEIVER_SERIES_EXCLUDED, startPipeline, type ClusterHandle, type Pipeline, PIPELINE_BINARIES, pipelineBinaries} from './pipeline.js'

const binaries = requireBinaries(PIPELINE_BINARIES)
const HUB = 'fed-observability-test'

/**
 * The jobs whose `up` a cluster reports. The gateway names its own telemetry resource
 * (service.name otel-gateway): the prometheus receiver folds the collector's target_info into the
 * resource, and Prometheus derives job and instance from it.
 */
function expectedJobs(cluster: ClusterHandle, pipeline: Pipeline): string[] {
  const clusterSpec = cluster.role === 'hub' ? pipeline.federation.hub : pipeline.federation.edges.find((e) => e.name === EDGE)!
  // Plus the agent's and the scraper's scrape of their own self-metrics (job otel-collector).
  return [...scrapeJobs(pipeline.federation, clusterSpec), 'otel-collector', 'otel-collector'].sort()
}

describe.skipIf(!binaries.ok)('telemetry on loopback: rendered edge and hub collectors → gateway → Prometheus, Loki, Tempo', () => {
  let p: Pipeline
  const marker = `run-${Date.now()}`
  const traceIds: Record<string, string> = {}

  beforeAll(async () => {
    p = await startPipeline({
      ...pipelineBinaries(binaries),
    })
    for (const cluster of [p.hub, p.edge]) {
      await cluster.sendLogs([`${marker} ${cluster.role} request ok`, `${marker} ${cluster.role} request done`])
      traceIds[cluster.id] = await cluster.sendTrace({spans: 3})
      await cluster.sendMetrics(['fedobs_probe_ready'], {'service.name': 'fedobs-probe'})
      cluster.writePodLog(cluster.node.pods[0]!, cluster.node.pods[0]!.containers[0]!, [`${marker} ${cluster.role} pod log line`])
    }
  })
  afterAll(async () => {
    await p?.stop()
  })

  it('brings every scrape job of both clusters to Prometheus, each target up', async () => {
    for (const cluster of [p.hub, p.edge]) {
      const jobs = await waitFor(
        `every ${cluster.role} job up`,
        async () => {
          const up = await p.query(`up{cluster_id="${cluster.id}"} == 1`)
          const jobs = up.map((s) => s.metric.job!).sort()
          return jobs.length === expectedJobs(cluster, p).length ? jobs : undefined
        },
        {timeoutMs: 40_000},
      )
      expect(jobs).toEqual(expectedJobs(cluster, p))
    }
    // No other target was scraped: the rendered relabel_configs dropped every other Service port.
    expect(await p.query('up != 1')).toEqual([])
    expect(await p.query(`up{cluster_id="${EDGE}"}`)).toHaveLength(3 + 2)
  })

  it('labels every series at the hub with cluster_id, cluster_role and hub_received_at', async () => {
    await waitFor('kubelet stats from both clusters', async () => (await p.query('count by (cluster_id) (k8s_node_memory_working_set_bytes)')).length === 2)
    for (const label of ['cluster_id', 'cluster_role', 'hub_received_at']) {
      expect(await p.query(`count({__name__=~".+", ${label}=""})`), label).toEqual([])
    }
    // Including what the prometheus receiver and Prometheus create themselves: up, scrape_*, target_info.
    const synthetic = await p.query('count by (cluster_id, cluster_role, hub_received_at) ({__name__=~"up|scrape_.+|target_info"})')
    expect(synthetic.map((s) => s.metric).sort((a, b) => a.cluster_id!.localeCompare(b.cluster_id!))).toEqual([
      {cluster_id: EDGE, cluster_role: 'edge', hub_received_at: GATEWAY_POD},
      {cluster_id: HUB, cluster_role: 'hub', hub_received_at: GATEWAY_POD},
    ])
  })

  it('has DCGM GPU metrics from the hub and the edge', async () => {
    const result = await p.query('count(DCGM_FI_DEV_GPU_UTIL) by (cluster_id, cluster_role)')
    expect(result.map((r) => r.metric).sort((a, b) => a.cluster_role!.localeCompare(b.cluster_role!))).toEqual([
      {cluster_id: EDGE, cluster_role: 'edge'},
      {cluster_id: HUB, cluster_role: 'hub'},
    ])
    const [edgeGpu] = await p.query(`DCGM_FI_DEV_GPU_UTIL{cluster_id="${EDGE}"}`)
    const gpuPod = p.edge.node.pods[0]!
    // The job's relabelling sets pod (the dcgm-exporter pod); dcgm-exporter's own pod label, the
    // GPU's workload, is kept as exported_pod.
    expect(edgeGpu!.metric).toMatchObject({
      job: 'dcgm-exporter',
      gpu: '0',
      modelName: 'NVIDIA RTX 4000 Ada Generation',
      Hostname: p.edge.node.node,
      node: p.edge.node.node,
      pod: p.edge.node.pods[1]!.name,
      exported_pod: gpuPod.name,
      namespace: gpuPod.namespace,
      container: gpuPod.containers[0],
    })
    // dcgm-exporter's counters have no _total; Prometheus's OTLP translation adds it.
    expect(await p.query('count by (__name__) ({__name__=~"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION.*|DCGM_FI_DEV_PCIE_REPLAY_COUNTER.*"})')).toEqual(
      expect.arrayContaining([{metric: {__name__: 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION_total'}, value: [expect.any(Number), '2']}]),
    )
  })

  it('keeps the names and relabelled labels of the BERT inference metrics', async () => {
    const names = (await p.query(`count by (__name__) ({job="bert-inference", cluster_id="${EDGE}", ${RECEIVER_SERIES_EXCLUDED}})`)).map((r) => r.metric.__name__).sort()
    expect(names).toEqual([
      'inference_batch_size_bucket',
      'inference_batch_size_count',
      'inference_batch_size_sum',
      'inference_gpu_memory_allocated_bytes',
      'inference_model_info',
      'inference_model_load_seconds',
      'inference_queue_depth',
      'inference_request_duration_seconds_bucket',
      'inference_request_duration_seconds_count',
      'inference_request_duration_seconds_sum',
      'inference_requests_total',
      'inference_tokens_processed_total',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'python_info',
    ])
    const [requests] = await p.query(`inference_requests_total{cluster_id="${EDGE}", status="success"}`)
    const bertPod = p.edge.node.pods[0]!
    expect(requests!.metric).toEqual({
      __name__: 'inference_requests_total',
      model: 'bert-base-uncased',
      status: 'success',
      job: 'bert-inference',
      // Kubernetes discovery: the endpoint the controller published for the pod (its IP, the
      // rendered containerPort), which the source listens on.
      instance: `${p.edge.workload.ip}:8080`,
      namespace: 'bert-inference',
      pod: bertPod.name,
      service: 'bert-inference',
      // The prometheus receiver sets k8s.* resource attributes from the discovery labels; Prometheus promotes them.
      k8s_namespace_name: 'bert-inference',
      k8s_pod_name: bertPod.name,
      k8s_node_name: p.edge.node.node,
      k8s_container_name: 'bert-inference',
      cluster_id: EDGE,
      cluster_role: 'edge',
      hub_received_at: GATEWAY_POD,
    })
    expect(p.edge.sources.bert.target).toBe(requests!.metric.instance)
    const buckets = await p.query(`inference_request_duration_seconds_bucket{cluster_id="${EDGE}"}`)
    expect(buckets.map((b) => b.metric.le)).toContain('+Inf')
  })

  it("enriches a workload's OTLP metrics with its pod's metadata from the API server (k8s_attributes)", async () => {
    for (const cluster of [p.hub, p.edge]) {
      const [probe] = await waitFor(`${cluster.role} OTLP metric at the hub`, async () => {
        const found = await p.query(`fedobs_probe_ready{cluster_id="${cluster.id}"}`)
        return found.length > 0 ? found : undefined
      })
      // The test sent only service.name, from the bert-inference pod's IP: the rest is what
      // k8s_attributes looked up (connection IP → pod) with the agent's service account.
      expect(probe!.metric).toEqual({
        __name__: 'fedobs_probe_ready',
        job: 'fedobs-probe',
        k8s_namespace_name: 'bert-inference',
        k8s_pod_name: cluster.workload.name,
        k8s_node_name: cluster.node.node,
        k8s_deployment_name: 'bert-inference',
        cluster_id: cluster.id,
        cluster_role: cluster.role,
        hub_received_at: GATEWAY_POD,
      })
    }
  })

  it('brings kubelet stats with job="kubeletstats" and the node of each cluster', async () => {
    const names = (await p.query('count by (__name__) ({job="kubeletstats"})')).map((r) => r.metric.__name__)
    expect(names).toEqual(
      expect.arrayContaining([
        'k8s_node_cpu_usage',
        'k8s_node_cpu_time_seconds_total',
        'k8s_node_memory_working_set_bytes',
        'k8s_node_filesystem_usage_bytes',
        'k8s_node_network_io_bytes_total',
        'k8s_pod_cpu_usage',
        'k8s_pod_memory_working_set_bytes',
        'container_cpu_usage',
        'container_memory_working_set_bytes',
        'target_info',
      ]),
    )
    for (const cluster of [p.hub, p.edge]) {
      const [node] = await p.query(`k8s_node_memory_working_set_bytes{cluster_id="${cluster.id}"}`)
      expect(node!.metric).toEqual({
        __name__: 'k8s_node_memory_working_set_bytes',
        job: 'kubeletstats',
        k8s_node_name: cluster.node.node,
        cluster_id: cluster.id,
        cluster_role: cluster.role,
        hub_received_at: GATEWAY_POD,
      })
      const containers = await p.query(`container_memory_working_set_bytes{cluster_id="${cluster.id}"}`)
      expect(containers.map((c) => c.metric.k8s_container_name).sort()).toEqual(cluster.node.pods.flatMap((pod) => pod.containers).sort())
    }
  })

  it('makes logs selectable in Loki by {cluster_id="..."}, from OTLP and from pod log files', async () => {
    for (const cluster of [p.hub, p.edge]) {
      const query = encodeURIComponent(`{cluster_id="${cluster.id}"} |= "${marker}"`)
      const result = await waitFor(`${cluster.role} logs in Loki`, async () => {
        const {body} = await p.lokiApi(`/loki/api/v1/query_range?direction=forward&query=${query}`)
        return body.data.result.reduce((n: number, r: {values: unknown[]}) => n + r.values.length, 0) === 3 ? body.data.result : undefined
      })
      const byLine = Object.fromEntries(result.flatMap((r: any) => r.values.map((v: string[]) => [v[1], r.stream])))
      expect(Object.keys(byLine).sort()).toEqual([`${marker} ${cluster.role} pod log line`, `${marker} ${cluster.role} request done`, `${marker} ${cluster.role} request ok`])
      // OTLP from the workload: its pod's metadata added by k8s_attributes (by connection IP).
      expect(byLine[`${marker} ${cluster.role} request ok`]).toMatchObject({
        cluster_id: cluster.id,
        cluster_role: cluster.role,
        service_name: 'bert-inference',
        hub_received_at: GATEWAY_POD,
        k8s_namespace_name: 'bert-inference',
        k8s_pod_name: cluster.workload.name,
        k8s_deployment_name: 'bert-inference',
      })
      const pod = cluster.node.pods[0]!
      // Pod log file: namespace/pod/container from its path, the deployment by k8s_attributes (by the path's pod uid).
      expect(byLine[`${marker} ${cluster.role} pod log line`]).toMatchObject({
        cluster_id: cluster.id,
        k8s_namespace_name: pod.namespace,
        k8s_pod_name: pod.name,
        k8s_container_name: pod.containers[0],
        k8s_deployment_name: 'bert-inference',
        service_name: pod.containers[0],
        log_iostream: 'stdout',
      })
    }
    const {body} = await p.lokiApi(`/loki/api/v1/query?query=${encodeURIComponent(`sum by (cluster_id) (count_over_time({cluster_role=~".+"} |= "${marker}" [10m]))`)}`)
    expect(Object.fromEntries(body.data.result.map((r: any) => [r.metric.cluster_id, r.value[1]]))).toEqual({[HUB]: '3', [EDGE]: '3'})
    expect((await p.lokiApi('/loki/api/v1/label/cluster_role/values')).body.data).toEqual(['edge', 'hub'])
  })

  it('makes traces searchable in Tempo by {resource.cluster.id="..."}', async () => {
    const search = encodeURIComponent(`{resource.cluster.id="${EDGE}"}`)
    const traces = await waitFor('the edge trace in Tempo', async () => {
      const {body} = await p.tempoApi(`/api/search?q=${search}`)
      return body.traces.length > 0 ? body.traces : undefined
    })
    expect(traces.map((t: any) => t.traceID)).toEqual([traceIds[EDGE]!.replace(/^0+/, '')])
    expect(traces[0]).toMatchObject({rootServiceName: 'bert-inference', spanSet: {matched: 3}})
    const {body} = await p.tempoApi(`/api/traces/${traceIds[EDGE]}`)
    expect(body.batches[0].resource.attributes).toEqual(
      expect.arrayContaining([
        {key: 'cluster.id', value: {stringValue: EDGE}},
        {key: 'cluster.role', value: {stringValue: 'edge'}},
        {key: 'hub.received_at', value: {stringValue: GATEWAY_POD}},
        // k8s_attributes' extract list, looked up from the connection's pod IP.
        {key: 'k8s.namespace.name', value: {stringValue: 'bert-inference'}},
        {key: 'k8s.pod.name', value: {stringValue: p.edge.workload.name}},
        {key: 'k8s.pod.uid', value: {stringValue: p.edge.workload.uid}},
        {key: 'k8s.node.name', value: {stringValue: p.edge.node.node}},
        {key: 'k8s.deployment.name', value: {stringValue: 'bert-inference'}},
      ]),
    )
    await waitFor('the hub trace in Tempo', async () => (await p.tempoApi(`/api/traces/${traceIds[HUB]}`)).status === 200)
    expect((await p.tempoApi('/api/search/tag/resource.cluster.id/values')).body.tagValues).toEqual([EDGE, HUB])
  })

  it('accounts for every sample, log record and span the edge sent: none lost, none doubled', async () => {
    // A graceful stop flushes the batch processor and the in-memory sending queue; then what the
    // sources served must be what the sinks hold.
    await Promise.all([p.edge.scraper.stop(), p.edge.agent.stop()])
    for (const source of [p.edge.sources.bert, p.edge.sources.dcgm, p.edge.sources.ksm]) {
      const selector = `{job="${source.name}", cluster_id="${EDGE}", ${RECEIVER_SERIES_EXCLUDED}}`
      const stored = await waitFor(
        `${source.name}: ${source.samples} samples in Prometheus`,
        async () => {
          const n = await p.storedSamples(selector)
          return n === source.samples ? n : undefined
        },
        {timeoutMs: 15_000},
      )
      expect(stored).toBeGreaterThan(0)
      expect(await p.storedSamples(`up{job="${source.name}", cluster_id="${EDGE}"}`)).toBe(source.scrapes)
    }
    // One node-level point per kubelet summary served.
    expect(await p.storedSamples(`k8s_node_memory_working_set_bytes{cluster_id="${EDGE}"}`)).toBe(p.edge.sources.kubelet.scrapes)
    const edgeLogs = p.loki
      .allStreams()
      .filter((s) => s.labels.cluster_id === EDGE)
      .reduce((n, s) => n + s.entries.length, 0)
    expect(edgeLogs).toBe(p.edge.sent.logRecords + p.edge.sent.podLogLines)
    // The same records in the real log store the gateway's Loki exporter wrote to, each once.
    expect(await p.logStore!.countCluster(EDGE)).toEqual({total: edgeLogs, unique: edgeLogs})
    expect(p.loki.stats.duplicates).toBe(0)
    expect(p.tempo.stats).toMatchObject({spans: p.hub.sent.spans + p.edge.sent.spans, duplicates: 0})
  })
})
