/**
 * The real-parts telemetry pipeline on loopback: the collector and Prometheus configs fedobs
 * renders for the example federation, run by the real otelcol and Prometheus binaries (minimally
 * adapted by loopbackVariant), fed by synthetic sources and draining into Prometheus and the
 * Loki/Tempo contract fakes:
 *
 *   edge: sources ─ scraper ─┐                      ┌─ Prometheus (OTLP receiver)
 *         kubelet ─ agent ───┼─ OTLP/gRPC ─ gateway ┼─ fake Loki  (/otlp/v1/logs)
 *   hub:  sources ─ scraper ─┤   (hub.received_at,  └─ fake Tempo (/v1/traces)
 *         kubelet ─ agent ───┘    file_storage queues)
 *
 * Each cluster is also a test-bed API server holding its rendered objects (src/sandbox/telemetry/kube.ts):
 * the agents and scrapers run as its pods (k8s_attributes, Kubernetes discovery, the rendered
 * ServiceAccounts' RBAC), and the sources listen on the IPs of the pods they play.
 *
 * With PipelineOptions.victoriaLogs, the Loki address is a LokiFront: the logs are stored in the
 * real log store VictoriaLogs (and copied to the fake for its LogQL API), see victorialogs.ts.
 *
 * Every process can be stopped, SIGKILLed and restarted (same ports, same queue directories), and
 * every source and sink counts what it served or stored, for loss accounting.
 */
import {mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {federationOverrides} from '../../src/federation/flags.js'
import {loadFederation} from '../../src/federation/load.js'
import type {Federation} from '../../src/federation/model.js'
import {emitYaml} from '../../src/lib/emit-yaml.js'
import {renderEdge, renderHub, type K8sObject, type Rendering} from '../../src/render/render.js'
import {configOf, EXAMPLE} from '../helpers/federation.js'
import {TestPki} from '../helpers/pki.js'
import {FakeLoki, indexAttributesOf} from '../../src/sandbox/telemetry/fake-loki.js'
import {FakeTempo} from '../../src/sandbox/telemetry/fake-tempo.js'
import {startTestbed, TESTBED_BINARIES, type Testbed} from '../../src/sandbox/testbed/testbed.js'
import {gaugeRequest, postJsonFrom, startKubeCluster, type KubeCluster, type KubePod} from '../../src/sandbox/telemetry/kube.js'
import {loopbackVariant, type LoopbackEndpoints} from '../../src/sandbox/telemetry/loopback.js'
import {freePorts, getJson, httpOk, LOOPBACK} from '../../src/sandbox/telemetry/net.js'
import {logsRequest, traceRequest} from '../../src/sandbox/telemetry/otlp.js'
import {ManagedProcess} from '../../src/sandbox/telemetry/processes.js'
import {lokiPushLimit} from '../../src/sandbox/telemetry/pushback.js'
import {LokiFront, VictoriaLogs} from '../../src/sandbox/telemetry/victorialogs.js'
import {BertInferenceSource, DcgmExporterSource, KubeletSource, KubeStateMetricsSource, type NodeShape, type PodRef, type Source} from '../../src/sandbox/telemetry/sources.js'

export {loopbackVariant} from '../../src/sandbox/telemetry/loopback.js'
export type {LoopbackEndpoints} from '../../src/sandbox/telemetry/loopback.js'

export const EDGE = 'fed-observability-remote'
/**
 * Series the prometheus receiver creates per target (not served by the source): a matcher to
 * exclude them when counting a source's samples, e.g. {job="bert-inference", <this>}.
 */
export const RECEIVER_SERIES_EXCLUDED = '__name__!~"up|scrape_.+|target_info"'
export const GATEWAY_POD = 'otel-gateway-0'
/** What requireBinaries() takes for a test that starts a pipeline: collectors, Prometheus and the test bed. */
export const PIPELINE_BINARIES = ['FEDOBS_OTELCOL', 'FEDOBS_PROMETHEUS', 'FEDOBS_VICTORIALOGS', ...TESTBED_BINARIES]

/** The binaries startPipeline runs, from requireBinaries(PIPELINE_BINARIES); empty when missing (the suite is skipped then, or fails under CI). */
export function pipelineBinaries(binaries: {ok: true; paths: Record<string, string>} | {ok: false}): {otelcol: string; prometheus: string; victoriaLogs: string} {
  const path = (name: string): string => (binaries.ok ? (binaries.paths[name] ?? '') : '')
  return {otelcol: path('FEDOBS_OTELCOL'), prometheus: path('FEDOBS_PROMETHEUS'), victoriaLogs: path('FEDOBS_VICTORIALOGS')}
}

export interface PipelineOptions {
  /** otelcol and prometheus binaries (scripts/testbed/build.sh --print-env). */
  otelcol: string
  prometheus: string
  /** telemetry.scrapeInterval, set through the federation like `--scrape-interval` (default 2s). */
  scrapeInterval?: string
  /** Keep the temp directory (configs, logs, TSDB, queues) after stop, for debugging. */
  keepDir?: boolean
  /**
   * The hub endpoint the edge's agent and scraper ship to (its rendered otlp_grpc/gateway
   * endpoint), given the gateway's OTLP/gRPC address: e.g. a TCP relay in front of the gateway
   * that a test can cut to partition the edge from the hub. Default: the gateway itself. The hub's
   * own collectors always ship to the gateway directly.
   */
  edgeGatewayAddress?: (gatewayAddress: string) => Promise<string> | string
  /**
   * host:port of a real kube-state-metrics (e.g. the test-bed binary watching a test-bed cluster)
   * to scrape as the cluster's kube-state-metrics instead of the synthetic source.
   */
  kubeStateMetrics?: Partial<Record<'hub' | 'edge', string>>
  /**
   * The VictoriaLogs binary (FEDOBS_VICTORIALOGS): the gateway's logs are then stored in this real
   * log store, through a LokiFront at the Loki Service address that maps Loki's OTLP path and
   * keeps a copy in the fake Loki for the LogQL API (victorialogs.ts). Without it, the fake only.
   */
  victoriaLogs?: string
  /**
   * The test bed whose API servers play the hub and edge clusters (two clusters are added to it);
   * default: one of its own, stopped with the pipeline. Needs the TESTBED_BINARIES.
   */
  testbed?: Testbed
  /** Change the federation before it is rendered, as an edit of the federation file would. */
  federation?: (federation: Federation) => Federation
}

/** One cluster's synthetic world and collectors. */
export interface ClusterHandle {
  id: string
  role: 'hub' | 'edge'
  rendering: Rendering
  /** The GPU node the agent runs on (K8S_NODE_NAME) and its pods, as the cluster's API server lists them. */
  node: NodeShape
  /** The cluster's API server (a test-bed control plane holding the rendered objects). */
  kube: KubeCluster
  /** The pod sendLogs/sendTrace/sendMetrics connect from (its 127.x IP): the bert-inference pod. */
  workload: KubePod
  sources: {bert: BertInferenceSource; dcgm: DcgmExporterSource; ksm: KubeStateMetricsSource; kubelet: KubeletSource}
  agent: ManagedProcess
  scraper: ManagedProcess
  /** The agent's OTLP/HTTP receiver, e.g. http://127.0.0.1:PORT. */
  agentOtlpHttp: string
  /** What the test put into this cluster's agent, for loss accounting. */
  sent: {logRecords: number; spans: number; podLogLines: number}
  /** Send log records (OTLP/HTTP JSON) into the agent, as a workload's SDK would. */
  sendLogs(lines: string[], resource?: Record<string, string>): Promise<void>
  /** Send one gauge point per name (OTLP/HTTP JSON) into the agent, as a workload's SDK would. */
  sendMetrics(names: string[], resource?: Record<string, string>): Promise<void>
  /** Send one trace of `spans` spans into the agent; returns its trace id. */
  sendTrace(options?: {spans?: number; name?: string; resource?: Record<string, string>}): Promise<string>
  /** Append CRI-formatted lines to a pod's container log under the agent's pod-log directory. */
  writePodLog(pod: PodRef, container: string, lines: string[]): void
}

export interface Pipeline {
  dir: string
  federation: Federation
  /** The federation's CA and the Secret volumes the collectors mount (rotate, revoke, ...). */
  pki: TestPki
  prometheus: ManagedProcess
  gateway: ManagedProcess
  loki: FakeLoki
  tempo: FakeTempo
  /** The real log store and its front, when PipelineOptions.victoriaLogs is given. */
  logStore?: VictoriaLogs
  lokiFront?: LokiFront
  hub: ClusterHandle
  edge: ClusterHandle
  prometheusUrl: string
  /** Self-metrics of the gateway (its pull reader), e.g. for otelcol_exporter_queue_size. */
  gatewayMetricsUrl: string
  /** The gateway's OTLP/HTTP receiver, https (mTLS): e.g. https://127.0.0.1:PORT. */
  gatewayOtlpHttpUrl: string
  /** The gateway's OTLP/gRPC address, 127.0.0.1:PORT. */
  gatewayOtlpGrpcAddress: string
  /** Base URLs of the Loki and Tempo fakes (what --loki-url / --tempo-url take). */
  lokiApiUrl: string
  tempoApiUrl: string
  processes(): ManagedProcess[]
  /** PromQL instant query: the result vector. */
  query(expr: string, time?: number): Promise<Array<{metric: Record<string, string>; value: [number, string]}>>
  /** Names of all metrics Prometheus holds. */
  metricNames(): Promise<string[]>
  /**
   * Samples Prometheus holds for a series selector over the last `range`: the sink side of loss
   * accounting (compare with Source.samplesServed). Add RECEIVER_SERIES_EXCLUDED to leave out what
   * the prometheus receiver adds itself.
   */
  storedSamples(selector: string, range?: string): Promise<number>
  /** GET against the fake Loki / fake Tempo, JSON parsed. */
  lokiApi(pathAndQuery: string): Promise<{status: number; body: any}>
  tempoApi(pathAndQuery: string): Promise<{status: number; body: any}>
  stop(): Promise<void>
}

// ---------------------------------------------------------------- rendering

/** The example federation with a short interval, rendered for the hub and the edge. */
export function renderForLoopback(
  scrapeInterval: string,
  gatewayAddress: string,
  edgeHubEndpoint = gatewayAddress,
  flags: Record<string, unknown> = {},
  edit: (f: Federation) => Federation = (f) => f,
): {federation: Federation; hub: Rendering; edge: Rendering} {
  const federation = edit(loadFederation({file: EXAMPLE, overrides: federationOverrides({'scrape-interval': scrapeInterval, ...flags})}))
  return {federation, hub: renderHub(federation), edge: renderEdge(federation, EDGE, {hubEndpoint: edgeHubEndpoint})}
}

function containerArgs(objects: K8sObject[], kind: string, name: string): string[] {
  const workload = objects.find((o) => o.kind === kind && o.metadata.name === name) as any
  return workload.spec.template.spec.containers[0].args as string[]
}

// ---------------------------------------------------------------- the synthetic world

/** Node names of each cluster (the GPU node's says gpu, as the synthetic kube-state-metrics expects). */
function nodeNames(cluster: 'hub' | 'edge'): {gpuNode: string; otherNode: string} {
  const prefix = cluster === 'hub' ? 'lke100001' : 'lke200002'
  return {gpuNode: `${prefix}-gpu-${cluster === 'hub' ? '7f3a1c' : '2b9e4d'}`, otherNode: `${prefix}-std-${cluster === 'hub' ? '1d4e6a' : '9c2b7e'}`}
}

// ---------------------------------------------------------------- start

export async function startPipeline(options: PipelineOptions): Promise<Pipeline> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-telemetry-'))
  const started: Array<{close(): Promise<void>} | ManagedProcess> = []
  try {
    const pipeline = await build(dir, options, started)
    return pipeline
  } catch (error) {
    await stopAll(started)
    if (!options.keepDir && !process.env.FEDOBS_KEEP_TELEMETRY) rmSync(dir, {recursive: true, force: true})
    throw error
  }
}

async function stopAll(started: Array<{close(): Promise<void>} | ManagedProcess>): Promise<void> {
  // Collectors first (they drain into the backends), then the backends, then the sources.
  const processes = started.filter((s): s is ManagedProcess => s instanceof ManagedProcess).reverse()
  for (const p of processes) await p.stop(5000)
  await Promise.all(started.filter((s): s is {close(): Promise<void>} => !(s instanceof ManagedProcess)).map((s) => s.close()))
}

/** Addresses every cluster's collectors need: the gateway, Prometheus, and the Service map. */
interface Shared {
  dir: string
  pki: TestPki
  otelcol: string
  services: Record<string, string>
  promPort: number
  gatewayMetricsPort: number
  started: Array<{close(): Promise<void>} | ManagedProcess>
}

async function build(dir: string, options: PipelineOptions, started: Shared['started']): Promise<Pipeline> {
  const [promPort, gwGrpc, gwHttp, gwHealth, gwMetrics] = (await freePorts(5)) as [number, number, number, number, number]
  const gatewayAddress = `${LOOPBACK}:${gwGrpc}`
  const edgeHubEndpoint = options.edgeGatewayAddress ? await options.edgeGatewayAddress(gatewayAddress) : gatewayAddress
  const {federation, hub, edge} = renderForLoopback(options.scrapeInterval ?? '2s', gatewayAddress, edgeHubEndpoint, {}, options.federation)

  // The clusters' API servers, holding what fedobs renders for each (started first: the sources
  // bind their pods' IPs).
  const testbed = options.testbed ?? (await startTestbed())
  if (!options.testbed) started.push({close: () => testbed.stop()})
  const suffix = path
    .basename(dir)
    .replace(/[^a-z0-9]/gi, '')
    .toLowerCase()
    .slice(-6)
  const kubeOf = (role: 'hub' | 'edge', rendering: Rendering): Promise<KubeCluster> =>
    startKubeCluster(testbed, {role, name: `pipeline-${role}-${suffix}`, rendering, ...nodeNames(role), dir: path.join(dir, `${role}-kube`)})
  const [hubKube, edgeKube] = await Promise.all([kubeOf('hub', hub), kubeOf('edge', edge)])
  started.push(hubKube, edgeKube)

  // Sinks: fake Loki indexes what the rendered Loki config indexes.
  const loki = await new FakeLoki({indexAttributes: indexAttributesOf(configOf(hub.objects, 'loki-config', 'loki.yaml'))}).start()
  // Loki's size limits as the rendered config sets them: a larger push is refused (pushback.ts).
  loki.pushBack.maxBytes = lokiPushLimit(configOf(hub.objects, 'loki-config', 'loki.yaml'))
  const tempo = await new FakeTempo().start()
  started.push(loki, tempo)
  let logStore: VictoriaLogs | undefined
  let lokiFront: LokiFront | undefined
  if (options.victoriaLogs) {
    logStore = await VictoriaLogs.start(options.victoriaLogs, path.join(dir, 'victorialogs'))
    started.push(logStore)
    lokiFront = await new LokiFront(loki.url, logStore).start()
    started.push(lokiFront)
  }

  // Prometheus 3 with the rendered prometheus.yml and the rendered container args.
  const promDir = path.join(dir, 'prometheus')
  mkdirSync(path.join(promDir, 'data'), {recursive: true})
  writeFileSync(path.join(promDir, 'prometheus.yml'), emitYaml(configOf(hub.objects, 'prometheus-config', 'prometheus.yml')))
  const promArgs = containerArgs(hub.objects, 'Deployment', 'prometheus').map((arg) =>
    arg.startsWith('--config.file=') ? `--config.file=${promDir}/prometheus.yml` : arg.startsWith('--storage.tsdb.path=') ? `--storage.tsdb.path=${promDir}/data` : arg,
  )
  const prometheusUrl = `http://${LOOPBACK}:${promPort}`
  const prometheus = new ManagedProcess({
    name: 'prometheus',
    command: options.prometheus,
    args: [...promArgs, `--web.listen-address=${LOOPBACK}:${promPort}`],
    logFile: path.join(dir, 'prometheus.log'),
    ready: () => httpOk(`${prometheusUrl}/-/ready`),
  })

  // The federation's CA, as `fedobs deploy hub` and `fedobs connect` would set it up: the gateway's
  // certificate for its address here, and the hub's and the edge's client credentials.
  const pki = await TestPki.create(path.join(dir, 'pki'), federation.name, {
    gatewayAddresses: [LOOPBACK],
    clusters: [
      {name: hub.cluster.name, role: 'hub'},
      {name: edge.cluster.name, role: 'edge'},
    ],
  })

  // The gateway: rendered config, backends at the loopback sinks.
  const shared: Shared = {
    dir,
    pki,
    otelcol: options.otelcol,
    promPort,
    gatewayMetricsPort: gwMetrics,
    started,
    services: {
      'otel-gateway.observability-hub.svc.cluster.local:4317': gatewayAddress,
      'prometheus.monitoring.svc.cluster.local:9090': `${LOOPBACK}:${promPort}`,
      'loki.monitoring.svc.cluster.local:3100': `${LOOPBACK}:${lokiFront?.port ?? loki.port}`,
      'tempo.monitoring.svc.cluster.local:4318': `${LOOPBACK}:${tempo.port}`,
    },
  }
  const gateway = await collector(
    options.otelcol,
    dir,
    'gateway',
    configOf(hub.objects, 'otel-gateway-config', 'config.yaml'),
    {
      ports: {4317: gwGrpc, 4318: gwHttp, 13133: gwHealth, 8888: gwMetrics},
      services: shared.services,
      dataDir: path.join(dir, 'gateway'),
      mounts: pki.gatewayMounts(),
    },
    {POD_NAME: GATEWAY_POD},
    gwHealth,
  )

  const hubCluster = await buildCluster('hub', hub, hubKube, shared, options.kubeStateMetrics?.hub)
  const edgeCluster = await buildCluster('edge', edge, edgeKube, shared, options.kubeStateMetrics?.edge)

  // Start in dependency order: backends, gateway, then the collectors that ship to it.
  started.push(prometheus)
  await prometheus.start()
  started.push(gateway)
  await gateway.start()
  const shippers = [hubCluster.agent, hubCluster.scraper, edgeCluster.agent, edgeCluster.scraper]
  started.push(...shippers)
  await Promise.all(shippers.map((p) => p.start()))

  return {
    dir,
    federation,
    pki,
    prometheus,
    gateway,
    loki,
    tempo,
    ...(logStore && lokiFront ? {logStore, lokiFront} : {}),
    hub: hubCluster,
    edge: edgeCluster,
    prometheusUrl,
    gatewayMetricsUrl: `http://${LOOPBACK}:${gwMetrics}/metrics`,
    gatewayOtlpHttpUrl: `https://${LOOPBACK}:${gwHttp}`,
    gatewayOtlpGrpcAddress: gatewayAddress,
    lokiApiUrl: loki.url,
    tempoApiUrl: tempo.url,
    processes: () => [prometheus, gateway, ...shippers],
    async query(expr, time) {
      const params = new URLSearchParams({query: expr, ...(time !== undefined ? {time: String(time)} : {})})
      const {status, body} = await getJson(`${prometheusUrl}/api/v1/query?${params}`)
      if (status !== 200 || body.status !== 'success') throw new Error(`PromQL ${expr}: ${status} ${JSON.stringify(body)}`)
      return body.data.result
    },
    async storedSamples(selector, range = '1h') {
      // A range selector as an instant query returns the raw samples; count_over_time would drop
      // __name__ and fail ("same labelset") when the selector spans several metrics.
      const params = new URLSearchParams({query: `${selector}[${range}]`})
      const {status, body} = await getJson(`${prometheusUrl}/api/v1/query?${params}`)
      if (status !== 200 || body.status !== 'success') throw new Error(`PromQL ${selector}: ${status} ${JSON.stringify(body)}`)
      return (body.data.result as Array<{values?: unknown[]; histograms?: unknown[]}>).reduce((n, s) => n + (s.values?.length ?? 0) + (s.histograms?.length ?? 0), 0)
    },
    async metricNames() {
      const {body} = await getJson(`${prometheusUrl}/api/v1/label/__name__/values`)
      return body.data as string[]
    },
    lokiApi: (pathAndQuery) => getJson(`${loki.url}${pathAndQuery}`),
    tempoApi: (pathAndQuery) => getJson(`${tempo.url}${pathAndQuery}`),
    async stop() {
      await stopAll(started)
      if (!options.keepDir && !process.env.FEDOBS_KEEP_TELEMETRY) rmSync(dir, {recursive: true, force: true})
    },
  }
}

/** One cluster: its synthetic sources and fake kubelet (started), its agent and scraper (not yet). */
async function buildCluster(role: 'hub' | 'edge', rendering: Rendering, kube: KubeCluster, shared: Shared, realKsm?: string): Promise<ClusterHandle> {
  const {gpuNode, otherNode} = kube
  const [bertPod, dcgmPod] = gpuNode.pods as [KubePod, KubePod, KubePod]
  const dcgmNamespace = dcgmPod.namespace
  const sources = {
    bert: new BertInferenceSource({seed: `bert-${role}`}),
    dcgm: new DcgmExporterSource({node: gpuNode.node, allocatedTo: {namespace: bertPod.namespace, pod: bertPod.name, container: bertPod.containers[0]!}}),
    ksm: new KubeStateMetricsSource([gpuNode, otherNode]),
    kubelet: new KubeletSource(gpuNode),
  }
  // Each Service port the scraper discovers is served at the ip:port its endpoints say: a source
  // binds its pod's IP; a process that listens elsewhere (Prometheus, the gateway's self-metrics,
  // a real kube-state-metrics) gets a forwarder on its pod's IP.
  const serve = async (source: Source, namespace: string, service: string, port: string): Promise<void> => {
    const [address, ...more] = await kube.endpoints(namespace, service, port)
    if (more.length > 0) throw new Error(`${role}: ${namespace}/${service}:${port} has ${more.length + 1} endpoints, one process serves it`)
    const [host, portNumber] = address!.split(':') as [string, string]
    source.host = host
    shared.started.push(await source.start(Number(portNumber)))
  }
  const forward = async (namespace: string, service: string, port: string, upstream: string): Promise<void> => {
    for (const address of await kube.endpoints(namespace, service, port)) await kube.forward(address, upstream)
  }
  await serve(sources.bert, 'bert-inference', 'bert-inference', 'http')
  await serve(sources.dcgm, dcgmNamespace, 'dcgm-exporter', 'metrics')
  if (realKsm) await forward('observability', 'kube-state-metrics', 'http-metrics', realKsm)
  else await serve(sources.ksm, 'observability', 'kube-state-metrics', 'http-metrics')
  shared.started.push(await sources.kubelet.start())
  if (role === 'hub') {
    await forward('observability-hub', 'otel-gateway', 'metrics', `${LOOPBACK}:${shared.gatewayMetricsPort}`)
    await forward('monitoring', 'prometheus', 'web', `${LOOPBACK}:${shared.promPort}`)
  }
  const [agGrpc, agHttp, agHealth, agMetrics, scHealth, scMetrics] = (await freePorts(6)) as [number, number, number, number, number, number]
  const clusterDir = path.join(shared.dir, role)
  mkdirSync(clusterDir, {recursive: true})
  const podLogs = new PodLogDir(path.join(clusterDir, 'var-log-pods'))
  // The containers have been running and logging before the agent starts, as on a real node:
  // file_log (start_at: end) registers each file at its end on its first poll and reads every
  // line written after (the agent counts as ready only after that poll, see collector()).
  for (const pod of gpuNode.pods) for (const container of pod.containers) podLogs.append(pod, container, [`${container} started before the agent; never shipped`])

  const agentConfig = configOf(rendering.objects, 'otel-agent-config', 'config.yaml')
  const agent = await collector(
    shared.otelcol,
    shared.dir,
    `${role}-agent`,
    agentConfig,
    {
      ports: {4317: agGrpc, 4318: agHttp, 13133: agHealth, 8888: agMetrics},
      services: shared.services,
      dataDir: path.join(clusterDir, 'agent'),
      podLogDir: podLogs.dir,
      kubeletPort: sources.kubelet.port,
      mounts: shared.pki.clientMounts(rendering.cluster.name),
    },
    // The downward-API environment of the rendered DaemonSet (the pod's own name, namespace and node).
    {
      K8S_NODE_IP: LOOPBACK,
      K8S_NODE_NAME: gpuNode.node,
      K8S_POD_NAME: `otel-agent-${role}`,
      K8S_POD_NAMESPACE: 'observability',
    },
    agHealth,
    tailedByAgent(agentConfig, gpuNode.pods),
    extraCollectorArgs(rendering.objects, 'DaemonSet', 'otel-agent'),
    {kube, serviceAccount: 'observability/otel-agent', podsOnNode: {metricsPort: agMetrics, count: gpuNode.pods.length}},
  )

  const scraperConfig = configOf(rendering.objects, 'otel-scraper-config', 'config.yaml')
  const scraper = await collector(
    shared.otelcol,
    shared.dir,
    `${role}-scraper`,
    scraperConfig,
    {
      ports: {13133: scHealth, 8888: scMetrics},
      services: shared.services,
      dataDir: path.join(clusterDir, 'scraper'),
      mounts: shared.pki.clientMounts(rendering.cluster.name),
    },
    // The downward-API environment of the rendered Deployment.
    {K8S_POD_NAME: `otel-scraper-${role}`, K8S_POD_NAMESPACE: 'observability', K8S_NODE_NAME: gpuNode.node},
    scHealth,
    0,
    [],
    {kube, serviceAccount: 'observability/otel-scraper'},
  )

  const agentOtlpHttp = `http://${LOOPBACK}:${agHttp}`
  const sent = {logRecords: 0, spans: 0, podLogLines: 0}
  return {
    id: rendering.cluster.name,
    role,
    rendering,
    node: gpuNode,
    kube,
    workload: bertPod,
    sources,
    agent,
    scraper,
    agentOtlpHttp,
    sent,
    async sendLogs(lines, resource = {'service.name': 'bert-inference'}) {
      await postJsonFrom(bertPod.ip, `${agentOtlpHttp}/v1/logs`, logsRequest(resource, lines))
      sent.logRecords += lines.length
    },
    async sendTrace({spans = 3, name, resource = {'service.name': 'bert-inference'}} = {}) {
      const {request, traceId} = traceRequest(resource, {spans, ...(name ? {name} : {})})
      await postJsonFrom(bertPod.ip, `${agentOtlpHttp}/v1/traces`, request)
      sent.spans += spans
      return traceId
    },
    async sendMetrics(names, resource = {'service.name': 'bert-inference'}) {
      await postJsonFrom(bertPod.ip, `${agentOtlpHttp}/v1/metrics`, gaugeRequest(resource, names))
    },
    writePodLog(pod, container, lines) {
      podLogs.append(pod, container, lines)
      sent.podLogLines += lines.length
    },
  }
}

/** /var/log/pods as the kubelet lays it out: <namespace>_<pod>_<uid>/<container>/<restart>.log, CRI format. */
class PodLogDir {
  constructor(readonly dir: string) {}

  append(pod: PodRef, container: string, lines: string[]): void {
    const file = path.join(this.dir, `${pod.namespace}_${pod.name}_${pod.uid}`, container, '0.log')
    mkdirSync(path.dirname(file), {recursive: true})
    // <RFC3339Nano> <stream> <F|P> <line>, as containerd writes it.
    appendFileSync(file, lines.map((line) => `${new Date().toISOString().replace('Z', '000000Z')} stdout F ${line}\n`).join(''))
  }
}

/** The rendered container's arguments besides --config (e.g. the agent's --feature-gates). */
export function extraCollectorArgs(objects: K8sObject[], kind: string, name: string): string[] {
  return containerArgs(objects, kind, name).filter((arg) => !arg.startsWith('--config='))
}

async function collector(
  otelcol: string,
  dir: string,
  name: string,
  rendered: unknown,
  endpoints: LoopbackEndpoints,
  env: Record<string, string>,
  healthPort: number,
  tailedFiles = 0,
  extraArgs: string[] = [],
  pod?: {kube: KubeCluster; serviceAccount: string; podsOnNode?: {metricsPort: number; count: number}},
): Promise<ManagedProcess> {
  const file = path.join(dir, `${name}.yaml`)
  writeFileSync(file, emitYaml(loopbackVariant(rendered, endpoints)))
  const args = [`--config=${file}`, ...extraArgs]
  // A collector that talks to the Kubernetes API runs as a pod of its cluster (in-cluster config).
  const launch = pod ? await pod.kube.asPod(pod.serviceAccount, otelcol, args) : {command: otelcol, args, env: {}}
  return new ManagedProcess({
    name,
    command: launch.command,
    args: launch.args,
    env: {...env, ...launch.env},
    logFile: path.join(dir, `${name}.log`),
    // Healthy, and (for an agent's first start) file_log has made its first poll: the health
    // check turns green ~200 ms before it, and a line written in between would count as
    // "already there". After a restart file_log resumes from the offsets in file_storage.
    // An agent is ready once k8s_attributes has listed its node's pods too: it does not wait for
    // them (wait_for_metadata is not set), and what arrives before is passed on without pod metadata.
    ready: async (proc) =>
      (await httpOk(`http://${LOOPBACK}:${healthPort}/`)) &&
      (proc.starts > 1 || proc.logSinceStart().split('Started watching file').length - 1 >= tailedFiles) &&
      (!pod?.podsOnNode || (await podTableSize(pod.podsOnNode.metricsPort)) >= pod.podsOnNode.count),
  })
}

/** k8s_attributes' pod table size (otelcol_otelsvc_k8s_pod_table_size*), from a collector's self-metrics; 0 when not there yet. */
async function podTableSize(metricsPort: number): Promise<number> {
  const text = await fetch(`http://${LOOPBACK}:${metricsPort}/metrics`)
    .then((r) => r.text())
    .catch(() => '')
  const sample = /^otelcol_otelsvc_k8s_pod_table_size\w*(?:\{[^}]*\})? (\S+)/m.exec(text)
  return sample ? Number(sample[1]) : 0
}

/** How many of the pods' container log files the agent's file_log tails (include minus exclude). */
function tailedByAgent(agentConfig: any, pods: PodRef[]): number {
  const glob = (pattern: string): RegExp =>
    new RegExp(
      `^${pattern
        .replace(/^\/var\/log\/pods\//, '')
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*')}$`,
    )
  const include = (agentConfig.receivers.file_log.include as string[]).map(glob)
  const exclude = ((agentConfig.receivers.file_log.exclude ?? []) as string[]).map(glob)
  const files = pods.flatMap((pod) => pod.containers.map((container) => `${pod.namespace}_${pod.name}_${pod.uid}/${container}/0.log`))
  return files.filter((f) => include.some((r) => r.test(f)) && !exclude.some((r) => r.test(f))).length
}
