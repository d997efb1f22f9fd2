/**
 * Synthetic telemetry sources on 127.0.0.1, shaped like the real ones a fedobs cluster scrapes:
 * the seed's BERT inference server, NVIDIA dcgm-exporter, kube-state-metrics and the kubelet's
 * summary API (HTTPS). Every source counts what it served, so a test can compare what left the
 * source with what arrived at the sink (Prometheus) and name any loss.
 */
import {createHash} from 'node:crypto'
import {createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import {createRootCa, issueLeaf, type KeyMaterial} from '../../pki/x509.js'
import {closeServer, guarded, listen, LOOPBACK, sendJson, sendText} from './net.js'

/** One response a source gave: when, and how many samples (or summary entities) it held. */
export interface Served {
  at: number
  samples: number
}

export interface PodRef {
  namespace: string
  name: string
  uid: string
  containers: string[]
}

/** The node and pods one synthetic cluster member has (what the fakes describe). */
export interface NodeShape {
  node: string
  pods: PodRef[]
}

// ---------------------------------------------------------------- base

export abstract class Source {
  private server: Server | undefined
  port = 0
  /** The address it binds: loopback, or the 127.x IP of the (kwok) pod it plays. */
  host = LOOPBACK
  /** Answer every request with this HTTP status instead of data (an outage seen by the scraper). */
  fault: number | undefined
  readonly served: Served[] = []

  constructor(
    readonly name: string,
    readonly path: string,
  ) {}

  get scrapes(): number {
    return this.served.length
  }

  get samples(): number {
    return this.samplesServed()
  }

  /** Samples served in [from, to] (ms since epoch). */
  samplesServed(from = 0, to = Number.POSITIVE_INFINITY): number {
    return this.served.filter((s) => s.at >= from && s.at <= to).reduce((sum, s) => sum + s.samples, 0)
  }

  /** host:port, as a Prometheus target. */
  get target(): string {
    return `${this.host}:${this.port}`
  }

  get url(): string {
    return `${this.scheme}://${this.target}${this.path}`
  }

  protected get scheme(): string {
    return 'http'
  }

  /** Listen (again) on `port`, or on the port of the previous run, or on a free one. */
  async start(port = this.port): Promise<this> {
    this.server = this.createServer(guarded((req, res, url) => this.handle(req, res, url)))
    this.port = await listen(this.server, port, this.host)
    return this
  }

  async close(): Promise<void> {
    if (this.server) await closeServer(this.server)
  }

  protected createServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
    return createHttpServer(handler)
  }

  protected handle(_req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (url.pathname !== this.path) return sendText(res, 404, '404 page not found\n')
    if (this.fault !== undefined) return sendText(res, this.fault, 'fault injected\n')
    const {body, contentType, samples} = this.render()
    this.served.push({at: Date.now(), samples})
    sendText(res, 200, body, contentType)
  }

  protected abstract render(): {body: string; contentType: string; samples: number}
}

// ---------------------------------------------------------------- Prometheus text format (the exposition half of the toolkit; OTLP is otlp.ts)

type Labels = Record<string, string>

/** Builds a text-format (0.0.4) exposition and counts its samples. */
class Exposition {
  private lines: string[] = []
  samples = 0

  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): this {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    return this
  }

  sample(name: string, labels: Labels, value: number): this {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    this.lines.push(`${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${formatValue(value)}`)
    this.samples++
    return this
  }

  /** A cumulative histogram: one _bucket per bound plus +Inf, _sum and _count. */
  histogram(name: string, labels: Labels, bounds: number[], observations: number[]): this {
    for (const le of bounds) this.sample(`${name}_bucket`, {...labels, le: formatValue(le)}, observations.filter((o) => o <= le).length)
    this.sample(`${name}_bucket`, {...labels, le: '+Inf'}, observations.length)
    this.sample(
      `${name}_sum`,
      labels,
      observations.reduce((a, b) => a + b, 0),
    )
    this.sample(`${name}_count`, labels, observations.length)
    return this
  }

  text(): string {
    return `${this.lines.join('\n')}\n`
  }
}

function formatValue(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf'
  return Number.isInteger(value) ? `${value}` : value.toPrecision(12).replace(/\.?0+$/, '')
}

const TEXT_FORMAT = 'text/plain; version=0.0.4; charset=utf-8'

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** The samples of a Prometheus text exposition (what a source or a collector's pull reader serves). */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line)
    if (!m) continue
    const labels: Record<string, string> = {}
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = unescapeLabel(v!)
    out.push({name: m[1]!, labels, value: m[3] === '+Inf' ? Number.POSITIVE_INFINITY : m[3] === '-Inf' ? Number.NEGATIVE_INFINITY : Number(m[3])})
  }
  return out
}

const unescapeLabel = (value: string): string => value.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c))

/** Deterministic pseudo-random numbers in [0, 1): the same run serves the same values. */
function random(seed: string): () => number {
  let state = createHash('sha256').update(seed).digest().readUInt32LE(0) || 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
}

// ---------------------------------------------------------------- BERT inference

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32]

/**
 * The seed's BERT inference server (a Python service with prometheus_client): request counters by
 * model and status, a latency histogram, tokens, batch sizes, model load time, queue depth, GPU
 * memory, and the client library's process_* and python_info. Every scrape advances the counters.
 */
export class BertInferenceSource extends Source {
  private readonly rand: () => number
  private readonly requests = new Map<string, number>()
  private readonly latencies: number[] = []
  private readonly batches: number[] = []
  private tokens = 0
  private readonly started = Date.now() / 1000

  constructor(readonly options: {models?: string[]; seed?: string} = {}) {
    super('bert-inference', '/metrics')
    this.rand = random(options.seed ?? 'bert')
  }

  get models(): string[] {
    return this.options.models ?? ['bert-base-uncased']
  }

  /** Simulate the traffic between two scrapes. */
  private advance(): void {
    const count = 5 + Math.floor(this.rand() * 20)
    for (let i = 0; i < count; i++) {
      const model = this.models[i % this.models.length]!
      const status = this.rand() < 0.97 ? 'success' : 'error'
      const key = `${model}\0${status}`
      this.requests.set(key, (this.requests.get(key) ?? 0) + 1)
      this.latencies.push(0.004 + this.rand() * this.rand() * 1.2)
      this.tokens += 32 + Math.floor(this.rand() * 480)
    }
    this.batches.push(1 + Math.floor(this.rand() * 16))
  }

  protected render(): {body: string; contentType: string; samples: number} {
    this.advance()
    const e = new Exposition()
    e.family('python_info', 'gauge', 'Python platform information')
    e.sample('python_info', {implementation: 'CPython', major: '3', minor: '11', patchlevel: '9', version: '3.11.9'}, 1)
    e.family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.')
    e.sample('process_resident_memory_bytes', {}, 2_147_483_648 + Math.floor(this.rand() * 1e8))
    e.family('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.')
    e.sample('process_cpu_seconds_total', {}, Math.round((Date.now() / 1000 - this.started) * 0.8 * 100) / 100)
    e.family('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.')
    e.sample('process_start_time_seconds', {}, Math.floor(this.started))

    e.family('inference_requests_total', 'counter', 'Total inference requests')
    for (const model of this.models) {
      for (const status of ['success', 'error']) e.sample('inference_requests_total', {model, status}, this.requests.get(`${model}\0${status}`) ?? 0)
    }
    e.family('inference_request_duration_seconds', 'histogram', 'Inference request latency in seconds')
    for (const model of this.models) e.histogram('inference_request_duration_seconds', {model}, LATENCY_BUCKETS, this.latencies)
    e.family('inference_tokens_processed_total', 'counter', 'Total tokens processed')
    for (const model of this.models) e.sample('inference_tokens_processed_total', {model}, this.tokens)
    e.family('inference_batch_size', 'histogram', 'Batch size per forward pass')
    for (const model of this.models) e.histogram('inference_batch_size', {model}, BATCH_BUCKETS, this.batches)
    e.family('inference_model_load_seconds', 'gauge', 'Time taken to load the model in seconds')
    for (const model of this.models) e.sample('inference_model_load_seconds', {model}, 4.182)
    e.family('inference_queue_depth', 'gauge', 'Requests waiting for a batch slot')
    e.sample('inference_queue_depth', {}, Math.floor(this.rand() * 8))
    e.family('inference_gpu_memory_allocated_bytes', 'gauge', 'GPU memory allocated by torch')
    e.sample('inference_gpu_memory_allocated_bytes', {device: 'cuda:0'}, 1_342_177_280 + Math.floor(this.rand() * 1e7))
    e.family('inference_model_info', 'gauge', 'Model served by this replica')
    for (const model of this.models) e.sample('inference_model_info', {model, device: 'cuda', precision: 'fp16'}, 1)
    return {body: e.text(), contentType: TEXT_FORMAT, samples: e.samples}
  }
}

// ---------------------------------------------------------------- dcgm-exporter

/** Fields of dcgm-exporter's default counters file, as it exposes them (gauges and counters without _total). */
const DCGM_FIELDS: Array<{name: string; type: 'gauge' | 'counter'; help: string; value: (r: () => number, gpu: number, t: number) => number}> = [
  {name: 'DCGM_FI_DEV_SM_CLOCK', type: 'gauge', help: 'SM clock frequency (in MHz).', value: (r) => 1500 + Math.floor(r() * 675)},
  {name: 'DCGM_FI_DEV_MEM_CLOCK', type: 'gauge', help: 'Memory clock frequency (in MHz).', value: () => 8001},
  {name: 'DCGM_FI_DEV_MEMORY_TEMP', type: 'gauge', help: 'Memory temperature (in C).', value: () => 0},
  {name: 'DCGM_FI_DEV_GPU_TEMP', type: 'gauge', help: 'GPU temperature (in C).', value: (r) => 38 + Math.floor(r() * 30)},
  {name: 'DCGM_FI_DEV_POWER_USAGE', type: 'gauge', help: 'Power draw (in W).', value: (r) => 20 + r() * 110},
  {name: 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', type: 'counter', help: 'Total energy consumption since boot (in mJ).', value: (_r, _g, t) => 1_000_000 + t * 70_000},
  {name: 'DCGM_FI_DEV_PCIE_REPLAY_COUNTER', type: 'counter', help: 'Total number of PCIe retries.', value: () => 0},
  {name: 'DCGM_FI_DEV_GPU_UTIL', type: 'gauge', help: 'GPU utilization (in %).', value: (r) => Math.floor(r() * 100)},
  {name: 'DCGM_FI_DEV_MEM_COPY_UTIL', type: 'gauge', help: 'Memory utilization (in %).', value: (r) => Math.floor(r() * 60)},
  {name: 'DCGM_FI_DEV_ENC_UTIL', type: 'gauge', help: 'Encoder utilization (in %).', value: () => 0},
  {name: 'DCGM_FI_DEV_DEC_UTIL', type: 'gauge', help: 'Decoder utilization (in %).', value: () => 0},
  {name: 'DCGM_FI_DEV_XID_ERRORS', type: 'gauge', help: 'Value of the last XID error encountered.', value: () => 0},
  {name: 'DCGM_FI_DEV_FB_FREE', type: 'gauge', help: 'Frame buffer memory free (in MB).', value: (r) => 18_000 + Math.floor(r() * 1500)},
  {name: 'DCGM_FI_DEV_FB_USED', type: 'gauge', help: 'Frame buffer memory used (in MB).', value: (r) => 1200 + Math.floor(r() * 1500)},
  {name: 'DCGM_FI_DEV_FB_RESERVED', type: 'gauge', help: 'Frame buffer memory reserved (in MB).', value: () => 331},
  {name: 'DCGM_FI_DEV_VGPU_LICENSE_STATUS', type: 'gauge', help: 'vGPU License status', value: () => 0},
  {name: 'DCGM_FI_PROF_GR_ENGINE_ACTIVE', type: 'gauge', help: 'Ratio of time the graphics engine is active.', value: (r) => r()},
  {name: 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE', type: 'gauge', help: 'Ratio of cycles the tensor (HMMA) pipe is active.', value: (r) => r() * 0.5},
  {name: 'DCGM_FI_PROF_DRAM_ACTIVE', type: 'gauge', help: 'Ratio of cycles the device memory interface is active sending or receiving data.', value: (r) => r() * 0.4},
  {
    name: 'DCGM_FI_PROF_PCIE_TX_BYTES',
    type: 'gauge',
    help: 'The rate of data transmitted over the PCIe bus - including both protocol headers and data payloads - in bytes per second.',
    value: (r) => Math.floor(r() * 1e7),
  },
  {
    name: 'DCGM_FI_PROF_PCIE_RX_BYTES',
    type: 'gauge',
    help: 'The rate of data received over the PCIe bus - including both protocol headers and data payloads - in bytes per second.',
    value: (r) => Math.floor(r() * 1e7),
  },
]

export interface GpuShape {
  /** The node (Hostname label). */
  node: string
  /** GPUs on the node (an RTX 4000 Ada plan has one). */
  gpus?: number
  modelName?: string
  /** The pod a GPU is allocated to (dcgm-exporter's Kubernetes mapping adds pod/namespace/container). */
  allocatedTo?: {namespace: string; pod: string; container: string}
}

/** NVIDIA dcgm-exporter: DCGM_FI_* per GPU with gpu, UUID, pci_bus_id, device, modelName, Hostname labels. */
export class DcgmExporterSource extends Source {
  private readonly rand: () => number
  private readonly started = Date.now()

  constructor(readonly shape: GpuShape) {
    super('dcgm-exporter', '/metrics')
    this.rand = random(`dcgm-${shape.node}`)
  }

  gpuLabels(gpu: number): Labels {
    const uuid = createHash('sha1').update(`${this.shape.node}/${gpu}`).digest('hex')
    const labels: Labels = {
      gpu: String(gpu),
      UUID: `GPU-${uuid.slice(0, 8)}-${uuid.slice(8, 12)}-${uuid.slice(12, 16)}-${uuid.slice(16, 20)}-${uuid.slice(20, 32)}`,
      pci_bus_id: `00000000:00:0${5 + gpu}.0`,
      device: `nvidia${gpu}`,
      modelName: this.shape.modelName ?? 'NVIDIA RTX 4000 Ada Generation',
      Hostname: this.shape.node,
      DCGM_FI_DRIVER_VERSION: '550.127.05',
    }
    // Only the GPU handed to a pod carries the pod mapping, as with dcgm-exporter's kubernetes option.
    if (gpu === 0 && this.shape.allocatedTo) Object.assign(labels, this.shape.allocatedTo)
    return labels
  }

  protected render(): {body: string; contentType: string; samples: number} {
    const e = new Exposition()
    const seconds = (Date.now() - this.started) / 1000
    for (const field of DCGM_FIELDS) {
      e.family(field.name, field.type, field.help)
      for (let gpu = 0; gpu < (this.shape.gpus ?? 1); gpu++) {
        const labels = this.gpuLabels(gpu)
        if (field.name === 'DCGM_FI_DEV_XID_ERRORS') Object.assign(labels, {err_code: '0', err_msg: 'No Error'})
        e.sample(field.name, labels, field.value(this.rand, gpu, seconds))
      }
    }
    return {body: e.text(), contentType: TEXT_FORMAT, samples: e.samples}
  }
}

// ---------------------------------------------------------------- kube-state-metrics

/** kube-state-metrics' most used families for the nodes and pods of one cluster. */
export class KubeStateMetricsSource extends Source {
  constructor(readonly nodes: NodeShape[]) {
    super('kube-state-metrics', '/metrics')
  }

  protected render(): {body: string; contentType: string; samples: number} {
    const e = new Exposition()
    const pods = this.nodes.flatMap((n) => n.pods.map((p) => ({...p, node: n.node})))
    e.family('kube_node_info', 'gauge', 'Information about a cluster node.')
    for (const {node} of this.nodes)
      e.sample(
        'kube_node_info',
        {
          node,
          kernel_version: '6.8.0-49-generic',
          os_image: 'Debian GNU/Linux 12 (bookworm)',
          container_runtime_version: 'containerd://1.7.22',
          kubelet_version: 'v1.33.4',
          provider_id: `linode://${node}`,
          internal_ip: '192.168.0.10',
        },
        1,
      )
    e.family('kube_node_status_condition', 'gauge', 'The condition of a cluster node.')
    for (const {node} of this.nodes) for (const status of ['true', 'false', 'unknown']) e.sample('kube_node_status_condition', {node, condition: 'Ready', status}, status === 'true' ? 1 : 0)
    e.family('kube_node_status_capacity', 'gauge', 'The capacity for different resources of a node.')
    for (const {node} of this.nodes) {
      e.sample('kube_node_status_capacity', {node, resource: 'cpu', unit: 'core'}, 4)
      e.sample('kube_node_status_capacity', {node, resource: 'memory', unit: 'byte'}, 8_331_632_640)
      if (node.includes('gpu')) e.sample('kube_node_status_capacity', {node, resource: 'nvidia_com_gpu', unit: 'integer'}, 1)
    }
    e.family('kube_pod_info', 'gauge', 'Information about pod.')
    for (const p of pods) e.sample('kube_pod_info', {namespace: p.namespace, pod: p.name, uid: p.uid, node: p.node, created_by_kind: 'ReplicaSet', host_network: 'false', priority_class: ''}, 1)
    e.family('kube_pod_status_phase', 'gauge', 'The pods current phase.')
    for (const p of pods)
      for (const phase of ['Pending', 'Succeeded', 'Failed', 'Unknown', 'Running'])
        e.sample('kube_pod_status_phase', {namespace: p.namespace, pod: p.name, uid: p.uid, phase}, phase === 'Running' ? 1 : 0)
    e.family('kube_pod_container_status_restarts_total', 'counter', 'The number of container restarts per container.')
    for (const p of pods) for (const container of p.containers) e.sample('kube_pod_container_status_restarts_total', {namespace: p.namespace, pod: p.name, uid: p.uid, container}, 0)
    e.family('kube_deployment_status_replicas_available', 'gauge', 'The number of available replicas per deployment.')
    for (const namespace of new Set(pods.map((p) => p.namespace))) {
      for (const deployment of new Set(pods.filter((p) => p.namespace === namespace).map((p) => p.name.replace(/-[a-z0-9]+-[a-z0-9]+$/, '')))) {
        e.sample('kube_deployment_status_replicas_available', {namespace, deployment}, 1)
      }
    }
    return {body: e.text(), contentType: TEXT_FORMAT, samples: e.samples}
  }
}

// ---------------------------------------------------------------- kubelet /stats/summary

/**
 * The kubelet's summary API (/stats/summary, k8s.io/kubelet/pkg/apis/stats/v1alpha1) over HTTPS
 * with a serving certificate for localhost/127.0.0.1 from a CA of its own (as a kubelet's comes
 * from the cluster CA; made with the PKI code fedobs uses), and /pods (a PodList) for receivers
 * that ask for metadata. `samples` counts the entities of a summary (node + pods + containers).
 */
export class KubeletSource extends Source {
  private tls: {ca: KeyMaterial; serving: KeyMaterial} | undefined
  private readonly rand: () => number
  private readonly booted = new Date(Date.now() - 86_400_000).toISOString()
  private cpuNanoSeconds = 0

  constructor(readonly shape: NodeShape) {
    super('kubelet', '/stats/summary')
    this.rand = random(`kubelet-${shape.node}`)
  }

  protected override get scheme(): string {
    return 'https'
  }

  override async start(port = this.port): Promise<this> {
    if (!this.tls) {
      const ca = await createRootCa('fake kubelet CA', 'fedobs test bed', 7)
      const serving = await issueLeaf(ca, {commonName: this.shape.node, usage: 'server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], notAfter: new Date(Date.now() + 7 * 86_400_000)})
      this.tls = {ca, serving}
    }
    return super.start(port)
  }

  /** The CA (PEM) clients must trust to verify the kubelet; available once started. */
  get certificate(): string {
    if (!this.tls) throw new Error('the fake kubelet is not started')
    return this.tls.ca.cert
  }

  /** The certificate the kubelet serves (PEM). */
  get servingCertificate(): string {
    if (!this.tls) throw new Error('the fake kubelet is not started')
    return this.tls.serving.cert
  }

  protected override createServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
    if (!this.tls) throw new Error('the fake kubelet is not started')
    return createHttpsServer({key: this.tls.serving.key, cert: this.tls.serving.cert}, handler)
  }

  protected override handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (url.pathname === '/pods' && this.fault === undefined) return sendJson(res, 200, this.podList())
    if (url.pathname === '/healthz') return sendText(res, 200, 'ok')
    super.handle(req, res, url)
  }

  protected render(): {body: string; contentType: string; samples: number} {
    const summary = this.summary()
    const samples = 1 + summary.pods.length + summary.pods.reduce((n, p) => n + p.containers.length, 0)
    return {body: JSON.stringify(summary), contentType: 'application/json', samples}
  }

  summary(): {node: Record<string, unknown>; pods: Array<{containers: unknown[]} & Record<string, unknown>>} {
    const time = new Date().toISOString()
    const r = this.rand
    this.cpuNanoSeconds += Math.floor(2e9 + r() * 1e9)
    const cpu = (scale: number) => ({time, usageNanoCores: Math.floor((50e6 + r() * 400e6) * scale), usageCoreNanoSeconds: Math.floor(this.cpuNanoSeconds * scale)})
    const memory = (scale: number) => {
      const working = Math.floor((300e6 + r() * 200e6) * scale)
      return {
        time,
        availableBytes: Math.floor(8e9 * scale) - working,
        usageBytes: working + Math.floor(50e6 * scale),
        workingSetBytes: working,
        rssBytes: Math.floor(working * 0.8),
        pageFaults: Math.floor(1e5 * scale),
        majorPageFaults: Math.floor(100 * scale),
      }
    }
    const fs = (capacity: number, used: number) => ({time, availableBytes: capacity - used, capacityBytes: capacity, usedBytes: used, inodesFree: 5_000_000, inodes: 6_000_000, inodesUsed: 1_000_000})
    const network = () => {
      const iface = {name: 'eth0', rxBytes: Math.floor(1e9 + r() * 1e8), rxErrors: 0, txBytes: Math.floor(8e8 + r() * 1e8), txErrors: 0}
      return {time, ...iface, interfaces: [iface]}
    }
    const node = {
      nodeName: this.shape.node,
      systemContainers: [
        {name: 'kubelet', startTime: this.booted, cpu: cpu(0.05), memory: memory(0.1)},
        {name: 'runtime', startTime: this.booted, cpu: cpu(0.05), memory: memory(0.1)},
        {name: 'pods', startTime: this.booted, cpu: cpu(0.6), memory: memory(0.6)},
      ],
      startTime: this.booted,
      cpu: cpu(1),
      memory: memory(1),
      network: network(),
      fs: fs(81_000_000_000, 12_000_000_000),
      runtime: {imageFs: fs(81_000_000_000, 6_000_000_000), containerFs: fs(81_000_000_000, 6_000_000_000)},
      rlimit: {time, maxpid: 4_194_304, curproc: 412},
    }
    const pods = this.shape.pods.map((p) => ({
      podRef: {name: p.name, namespace: p.namespace, uid: p.uid},
      startTime: this.booted,
      containers: p.containers.map((name) => ({
        name,
        startTime: this.booted,
        cpu: cpu(0.1),
        memory: memory(0.05),
        rootfs: fs(81_000_000_000, 40_960),
        logs: fs(81_000_000_000, 24_576),
      })),
      cpu: cpu(0.1 * p.containers.length),
      memory: memory(0.05 * p.containers.length),
      network: network(),
      volume: [{name: 'kube-api-access', ...fs(8_000_000_000, 12_288)}],
      'ephemeral-storage': fs(81_000_000_000, 65_536),
      process_stats: {process_count: p.containers.length * 3},
    }))
    return {node, pods}
  }

  podList(): unknown {
    return {
      kind: 'PodList',
      apiVersion: 'v1',
      metadata: {},
      items: this.shape.pods.map((p) => ({
        metadata: {name: p.name, namespace: p.namespace, uid: p.uid, labels: {'app.kubernetes.io/name': p.name.replace(/-[a-z0-9]+(-[a-z0-9]+)?$/, '')}},
        spec: {nodeName: this.shape.node, containers: p.containers.map((name) => ({name, image: `example/${name}:1`}))},
        status: {
          phase: 'Running',
          containerStatuses: p.containers.map((name) => ({
            name,
            ready: true,
            restartCount: 0,
            containerID: `containerd://${createHash('sha256')
              .update(p.uid + name)
              .digest('hex')}`,
          })),
        },
      })),
    }
  }
}
