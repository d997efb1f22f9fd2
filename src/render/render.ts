import {createHash} from 'node:crypto'
import {readdirSync, readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {UsageError} from '../lib/errors.js'
import {parseDuration} from '../lib/time.js'
import {closest} from '../lib/suggest.js'
import {clusterTag, FEDOBS_TAG, federationTag} from '../federation/identity.js'
import {findCluster, isGpuPlan, type ClusterSpec, type Federation} from '../federation/model.js'
import {emitYaml} from '../lib/emit-yaml.js'
import {IMAGES} from './images.js'
import {networkPolicies} from './network-policies.js'
import type {K8sObject} from './objects.js'
import {piiProcessor} from './pii.js'
import {clientSecurity, gatewaySecurity, SECRETS, type ClientSecurity} from './security.js'
import {renderTemplate, type Values} from './template.js'

export type {K8sObject} from './objects.js'

/** One file of the rendered directory: a component and its objects. */
export interface RenderedFile {
  name: string
  objects: K8sObject[]
}

export interface Rendering {
  cluster: ClusterSpec
  /** Where the edge's agents send telemetry; undefined while an edge is not connected. */
  hubEndpoint?: string
  files: RenderedFile[]
  /** Every object, in apply order (namespaces and RBAC first, workloads last). */
  objects: K8sObject[]
  /** Secrets the workloads mount that fedobs creates outside the manifests (keys are never rendered). */
  secrets: Array<{namespace: string; name: string; createdBy: string}>
  /** What a person should know about this rendering (insecure settings, an open gateway, ...). */
  warnings: string[]
}

export interface EdgeRenderOptions {
  /** host:port of the hub gateway's OTLP/gRPC endpoint. */
  hubEndpoint?: string
}

export interface HubRenderOptions {
  /**
   * Public addresses (CIDRs) of each edge's nodes, as `connect` recorded them: with
   * telemetry.gateway.allowedSources, the only sources the gateway's Cloud Firewall lets in.
   */
  edgeSources?: Record<string, string[]>
}

export const NAMESPACES = {
  monitoring: 'monitoring',
  observability: 'observability',
  hub: 'observability-hub',
  inference: 'bert-inference',
} as const

export const FIELD_MANAGER = 'fedobs'
export const STORAGE_CLASS = 'fedobs-block-storage'
export const LABELS = {
  name: 'app.kubernetes.io/name',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  federation: 'fedobs.io/federation',
  cluster: 'fedobs.io/cluster',
  role: 'fedobs.io/role',
} as const
export const ANNOTATIONS = {
  configHash: 'fedobs.io/config-hash',
  hubEndpoint: 'fedobs.io/hub-endpoint',
} as const

const GATEWAY_SERVICE = `otel-gateway.${NAMESPACES.hub}.svc.cluster.local:4317`
const QUEUE_DIRECTORY = '/var/lib/otelcol/queue'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const TEMPLATES = `${ROOT}templates/`
const DASHBOARDS = `${ROOT}dashboards/`

/** Kinds in the order they must exist: what others refer to comes first. */
const KIND_ORDER = [
  'Namespace',
  'StorageClass',
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'ConfigMap',
  'Secret',
  'PersistentVolumeClaim',
  'Service',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
  'NetworkPolicy',
]

export function kindRank(kind: string): number {
  const rank = KIND_ORDER.indexOf(kind)
  return rank === -1 ? KIND_ORDER.length : rank
}

export function sortForApply(objects: K8sObject[]): K8sObject[] {
  return [...objects].sort((a, b) => kindRank(a.kind) - kindRank(b.kind))
}

// ---------------------------------------------------------------- public entry points

export function renderHub(federation: Federation, options: HubRenderOptions = {}): Rendering {
  return renderCluster(federation, federation.hub, options)
}

export function renderEdge(federation: Federation, name: string, options: EdgeRenderOptions = {}): Rendering {
  const edge = federation.edges.find((e) => e.name === name)
  if (!edge) {
    const known = federation.edges.map((e) => e.name)
    const isHub = findCluster(federation, name)?.role === 'hub'
    throw new UsageError(isHub ? `"${name}" is the hub, not an edge` : `no edge named "${name}" in the federation${known.length > 0 ? ` (edges: ${known.join(', ')})` : ''}`, {
      suggestions: closest(name, known),
      hint: isHub ? 'Use `fedobs render hub`.' : 'Add it under edges: in the federation file, or check the spelling.',
      code: 'unknown-cluster',
    })
  }
  return renderCluster(federation, edge, options)
}

export function renderCluster(federation: Federation, cluster: ClusterSpec, options: EdgeRenderOptions & HubRenderOptions): Rendering {
  const isHub = cluster.role === 'hub'
  const hubEndpoint = isHub ? GATEWAY_SERVICE : options.hubEndpoint
  const gatewayAllowList = isHub ? gatewaySources(federation, options.edgeSources ?? {}) : undefined
  const values = clusterValues(federation, cluster, hubEndpoint, gatewayAllowList?.cidrs ?? [])

  const files: RenderedFile[] = []
  const add = (name: string, objects: unknown[]): void => {
    files.push({name, objects: objects as K8sObject[]})
  }

  const namespaces: string[] = isHub ? [NAMESPACES.monitoring, NAMESPACES.observability, NAMESPACES.hub] : [NAMESPACES.observability]
  const inference = federation.inference.enabled && cluster.gpu
  if (inference) namespaces.push(NAMESPACES.inference)
  add(
    'namespaces.yaml',
    namespaces.flatMap((namespace) => renderTemplate(`${TEMPLATES}cluster/namespace.yaml`, {namespace})),
  )

  // Every cluster has volumes (the scraper's queue; on the hub the stores and the gateway's queues).
  if (federation.telemetry.storageClass === STORAGE_CLASS) add('storage-class.yaml', [storageClass(federation, cluster)])
  if (isHub) {
    add('prometheus.yaml', renderTemplate(`${TEMPLATES}hub/prometheus.yaml`, values))
    add('loki.yaml', renderTemplate(`${TEMPLATES}hub/loki.yaml`, values))
    add('tempo.yaml', renderTemplate(`${TEMPLATES}hub/tempo.yaml`, values))
    add('grafana.yaml', renderTemplate(`${TEMPLATES}hub/grafana.yaml`, values))
    const gateway = renderTemplate(`${TEMPLATES}hub/otel-gateway.yaml`, values)
    if (federation.telemetry.gateway.autoscaling.enabled) gateway.push(...renderTemplate(`${TEMPLATES}hub/otel-gateway-hpa.yaml`, values))
    add('otel-gateway.yaml', gateway)
  }
  add('otel-agent.yaml', renderTemplate(`${TEMPLATES}cluster/otel-agent.yaml`, values))
  add('otel-scraper.yaml', renderTemplate(`${TEMPLATES}cluster/otel-scraper.yaml`, values))
  add('kube-state-metrics.yaml', renderTemplate(`${TEMPLATES}cluster/kube-state-metrics.yaml`, values))
  if (cluster.gpu) {
    add('dcgm-exporter.yaml', renderTemplate(`${TEMPLATES}cluster/dcgm-exporter.yaml`, values))
    add('nvidia-device-plugin.yaml', renderTemplate(`${TEMPLATES}cluster/nvidia-device-plugin.yaml`, values))
  }
  if (inference) add('bert-inference.yaml', renderTemplate(`${TEMPLATES}cluster/bert-inference.yaml`, values))
  const policies = networkPolicies(federation, cluster, namespaces, hubEndpoint)
  if (policies.length > 0) add('network-policies.yaml', policies)

  const all = files.flatMap((f) => f.objects)
  for (const object of all) applyCommonMetadata(object, federation, cluster)
  stampConfigHashes(all)
  const configMap = all.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'otel-agent-config')
  if (configMap) (configMap.metadata.annotations ??= {})[ANNOTATIONS.hubEndpoint] = hubEndpoint ?? ''
  for (const file of files) file.objects = sortForApply(file.objects)

  const secrets: Rendering['secrets'] = []
  if (federation.security.mtls && hubEndpoint) {
    secrets.push({namespace: NAMESPACES.observability, name: SECRETS.client, createdBy: isHub ? 'fedobs deploy hub' : `fedobs connect ${cluster.name} hub`})
  }
  if (isHub) secrets.push({namespace: NAMESPACES.monitoring, name: SECRETS.grafanaAdmin, createdBy: 'fedobs deploy hub'})
  if (federation.security.mtls && isHub) {
    secrets.push({namespace: NAMESPACES.hub, name: SECRETS.gatewayTls, createdBy: 'fedobs deploy hub'}, {namespace: NAMESPACES.hub, name: SECRETS.gatewayTrust, createdBy: 'fedobs deploy hub'})
  }
  const warnings = [...securityWarnings(federation, cluster), ...(gatewayAllowList?.warnings ?? [])]
  return {cluster, ...(hubEndpoint ? {hubEndpoint} : {}), files, objects: sortForApply(all), secrets, warnings}
}

function securityWarnings(federation: Federation, cluster: ClusterSpec): string[] {
  if (federation.security.mtls) return []
  return [
    cluster.role === 'hub'
      ? 'security.mtls is off: the gateway accepts plaintext OTLP from anyone who reaches it, and trusts the cluster.id each sender claims'
      : `security.mtls is off: ${cluster.name} sends its telemetry in plaintext, unauthenticated, over the internet`,
  ]
}

/** IPv4 and IPv6 "everywhere". */
const OPEN = new Set(['0.0.0.0/0', '::/0'])

/**
 * Who may reach the gateway LoadBalancer: every edge's nodes (as recorded at connect) and the
 * allowedSources of the file, nothing else; with nobody known yet, nobody. Warns when that is
 * everyone, and names the edges of the file that are not in it.
 */
export function gatewaySources(federation: Federation, edgeSources: Record<string, string[]>): {cidrs: string[]; warnings: string[]} {
  const edges = federation.edges.map((e) => e.name)
  const cidrs = [...new Set([...edges.flatMap((e) => edgeSources[e] ?? []), ...federation.telemetry.gateway.allowedSources].map(normalizeCidr))].sort()
  const warnings: string[] = []
  if (cidrs.some((c) => OPEN.has(c))) {
    warnings.push(
      `the gateway LoadBalancer is open to everyone (telemetry.gateway.allowedSources holds ${cidrs.filter((c) => OPEN.has(c)).join(' and ')})${federation.security.mtls ? '; mTLS still refuses clients without a federation certificate' : ' and mTLS is off: anyone can write data'}`,
    )
    return {cidrs, warnings}
  }
  const missing = edges.filter((e) => (edgeSources[e] ?? []).length === 0)
  if (missing.length > 0) {
    warnings.push(
      `the gateway firewall does not let in ${missing.join(', ')} yet (its nodes' addresses are added by \`fedobs connect <edge> hub\`)${cidrs.length === 0 ? '; until then it admits nobody' : ''}`,
    )
  }
  return {cidrs, warnings}
}

function normalizeCidr(source: string): string {
  if (source.includes('/')) return source
  return source.includes(':') ? `${source}/128` : `${source}/32`
}

// ---------------------------------------------------------------- values

function clusterValues(federation: Federation, cluster: ClusterSpec, hubEndpoint: string | undefined, gatewayAllowList: string[]): Values {
  const {telemetry} = federation
  const isHub = cluster.role === 'hub'
  const base: Values = {
    cluster: {id: cluster.name, role: cluster.role},
    federation: {name: federation.name},
    images: IMAGES,
    telemetry,
    inference: {...federation.inference, gpusPerReplica: String(federation.inference.gpusPerReplica)},
    dcgmNamespace: isHub ? NAMESPACES.monitoring : NAMESPACES.observability,
    queueDirectory: QUEUE_DIRECTORY,
    // The scraper's queue volume: twice the budget, since compaction writes a copy of the queue file.
    scraperQueueVolume: `${(quantityBytes(telemetry.storage.agentQueue) / 2 ** 20) * 2}Mi`,
    gateway: {
      ...telemetry.gateway,
      // With an HPA, the replica count belongs to the HPA: leave it out so apply never fights it.
      ...(telemetry.gateway.autoscaling.enabled ? {replicas: undefined} : {}),
    },
    tempoRetention: toGoDuration(telemetry.retention),
    prometheusRetentionSize: retentionSize(telemetry.storage.prometheus),
    gatewayLbTags: [FEDOBS_TAG, federationTag(federation.name), clusterTag(cluster.name)].join(','),
    gatewayFirewallAcl: firewallAcl(gatewayAllowList),
    security: isHub ? gatewaySecurity(federation) : {},
    gpuNodeAffinity: gpuNodeAffinity(cluster),
    backends: {
      prometheus: `http://prometheus.${NAMESPACES.monitoring}.svc.cluster.local:9090/api/v1/otlp/v1/metrics`,
      loki: `http://loki.${NAMESPACES.monitoring}.svc.cluster.local:3100/otlp/v1/logs`,
      tempo: `http://tempo.${NAMESPACES.monitoring}.svc.cluster.local:4318/v1/traces`,
    },
  }
  // Agents and scrapers mount their client certificate and token only once they ship somewhere.
  const client: ClientSecurity | Record<string, never> = hubEndpoint ? clientSecurity(federation) : {}
  const exporter = collectorExporter(hubEndpoint, quantityBytes(telemetry.storage.agentQueue), client)
  const scrubber = piiProcessorOf(federation)
  const pii = scrubber ? {name: scrubber.name, config: scrubber.config, featureGatesArg: `--feature-gates=${scrubber.featureGates.join(',')}`} : {}
  const collectorValues: Values = {...base, client, pii, exporters: exporter.exporters, exporterName: exporter.name}
  const values: Values = {
    ...base,
    client,
    pii,
    agentConfig: collectorConfig('agent', collectorValues),
    scraperConfig: scraperConfig(collectorValues, federation, cluster),
  }
  if (isHub) {
    Object.assign(values, {
      gatewayConfig: collectorConfig('gateway', base),
      prometheusConfig: configText('prometheus', base),
      lokiConfig: configText('loki', base),
      tempoConfig: configText('tempo', base),
      grafanaDatasources: configText('grafana-datasources', base),
      grafanaProviders: configText('grafana-dashboard-providers', base),
      grafanaDashboards: dashboards(),
    })
  }
  return values
}

const piiProcessors = new WeakMap<Federation, ReturnType<typeof piiProcessor>>()

/** The PII processor of a federation, built once per render of many clusters. */
function piiProcessorOf(federation: Federation): ReturnType<typeof piiProcessor> {
  if (!piiProcessors.has(federation)) piiProcessors.set(federation, piiProcessor(federation.security.pii))
  return piiProcessors.get(federation)
}

/**
 * The agents' and scrapers' exporter to the hub gateway. Its queue is on disk (file_storage/queue:
 * a hostPath for the agent, a volume for the scraper), so an agent killed or a hub out of reach
 * for hours loses nothing until the queue's byte budget is full; then new data is refused (the
 * collector has no drop-oldest) and the oldest kept. Retries never give up: a batch waits in the
 * queue however long the outage lasts. There is no batch processor in front of it (templates/
 * collector/agent.yaml): what the agent accepted is on disk, not in a batch in memory.
 */
function collectorExporter(endpoint: string | undefined, queueBytes: number, client: Partial<ClientSecurity>): {name: string; exporters: Record<string, unknown>} {
  if (!endpoint) {
    // Not connected yet: say so in the collector's log rather than pretend to ship anywhere.
    return {name: 'debug/unconnected', exporters: {'debug/unconnected': {verbosity: 'basic'}}}
  }
  return {
    name: 'otlp_grpc/gateway',
    exporters: {
      'otlp_grpc/gateway': {
        endpoint,
        tls: client.tls ?? {insecure: true},
        ...(client.auth ? {auth: client.auth} : {}),
        sending_queue: {
          enabled: true,
          storage: 'file_storage/queue',
          sizer: 'bytes',
          queue_size: queueBytes,
          // Batches are formed from the queue (a queued request leaves the disk once its batch is
          // delivered), as the batch processor formed them before the queue.
          batch: {sizer: 'items', flush_timeout: '5s', min_size: 1000, max_size: 1500},
        },
        retry_on_failure: {enabled: true, initial_interval: '5s', max_interval: '30s', max_elapsed_time: '0s'},
      },
    },
  }
}

function yamlText(value: unknown): string {
  return emitYaml(value)
}

function collectorConfig(name: 'agent' | 'gateway', values: Values): string {
  const [config] = renderTemplate(`${TEMPLATES}collector/${name}.yaml`, values)
  return yamlText(config)
}

function configText(name: string, values: Values): string {
  const [config] = renderTemplate(`${TEMPLATES}config/${name}.yaml`, values)
  return yamlText(config)
}

/** The scrape jobs that apply to this cluster. */
export function scrapeJobs(federation: Federation, cluster: ClusterSpec): string[] {
  const jobs = ['kube-state-metrics']
  if (cluster.gpu) jobs.push('dcgm-exporter')
  if (cluster.gpu && federation.inference.enabled) jobs.push('bert-inference')
  if (cluster.role === 'hub') jobs.push('otel-gateway', 'prometheus')
  return jobs
}

function scraperConfig(values: Values, federation: Federation, cluster: ClusterSpec): string {
  const [config] = renderTemplate(`${TEMPLATES}collector/scraper.yaml`, values) as Array<{
    receivers: {prometheus: {config: {scrape_configs: Array<{job_name: string}>}}}
  }>
  const wanted = new Set(scrapeJobs(federation, cluster))
  const scrape = config!.receivers.prometheus.config
  scrape.scrape_configs = scrape.scrape_configs.filter((job) => wanted.has(job.job_name))
  return yamlText(config)
}

let dashboardCache: Record<string, string> | undefined

/** Dashboards from dashboards/*.json, compacted, keyed by file name. */
export function dashboards(): Record<string, string> {
  if (!dashboardCache) {
    dashboardCache = {}
    for (const file of readdirSync(DASHBOARDS)
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      dashboardCache[file] = JSON.stringify(JSON.parse(readFileSync(`${DASHBOARDS}${file}`, 'utf8')))
    }
  }
  return dashboardCache
}

/**
 * The Linode CCM's Cloud Firewall annotation: an allow list, everything else dropped. The API
 * refuses an empty address list, so "nobody yet" is a deny list of everything.
 */
export function firewallAcl(sources: string[]): string {
  if (sources.length === 0) return JSON.stringify({denyList: {ipv4: ['0.0.0.0/0'], ipv6: ['::/0']}})
  const ipv4 = sources.filter((s) => !s.includes(':'))
  const ipv6 = sources.filter((s) => s.includes(':'))
  return JSON.stringify({allowList: {...(ipv4.length > 0 ? {ipv4} : {}), ...(ipv6.length > 0 ? {ipv6} : {})}})
}

function gpuNodeAffinity(cluster: ClusterSpec): unknown {
  const types = [...new Set(cluster.pools.map((p) => p.type).filter(isGpuPlan))]
  if (types.length === 0) return undefined
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{matchExpressions: [{key: 'node.kubernetes.io/instance-type', operator: 'In', values: types}]}],
      },
    },
  }
}

function storageClass(federation: Federation, cluster: ClusterSpec): K8sObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {name: STORAGE_CLASS, labels: {[LABELS.name]: STORAGE_CLASS, [LABELS.component]: 'storage'}},
    provisioner: 'linodebs.csi.linode.com',
    // Retain: deleting a PVC by mistake keeps the data; `fedobs teardown` sweeps volumes by these tags.
    reclaimPolicy: 'Retain',
    allowVolumeExpansion: true,
    volumeBindingMode: 'WaitForFirstConsumer',
    parameters: {'linodebs.csi.linode.com/volumeTags': [FEDOBS_TAG, federationTag(federation.name), clusterTag(cluster.name)].join(',')},
  }
}

/**
 * Prometheus's size-based retention for a PVC of `quantity` (512Mi, 50Gi, 1Ti): 85% of it, in
 * Prometheus's MB (2^20 bytes), so the oldest blocks go before the volume is full.
 */
export function retentionSize(quantity: string): string {
  const match = /^([1-9][0-9]*)(Mi|Gi|Ti)$/.exec(quantity)
  if (!match) throw new Error(`not a storage quantity: ${quantity}`)
  const mebibytes = Number(match[1]) * {Mi: 1, Gi: 1024, Ti: 1024 * 1024}[match[2] as 'Mi' | 'Gi' | 'Ti']
  return `${Math.floor(mebibytes * 0.85)}MB`
}

/** A storage quantity (512Mi, 1Gi, 1Ti) in bytes. */
export function quantityBytes(quantity: string): number {
  const match = /^([1-9][0-9]*)(Mi|Gi|Ti)$/.exec(quantity)
  if (!match) throw new Error(`not a storage quantity: ${quantity}`)
  return Number(match[1]) * {Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40}[match[2] as 'Mi' | 'Gi' | 'Ti']
}

/** Prometheus-style durations (15d, 1w) as Go durations (360h, 168h) for Tempo. */
export function toGoDuration(duration: string): string {
  const seconds = Math.round((parseDuration(duration) ?? 0) / 1000)
  return seconds % 3600 === 0 ? `${seconds / 3600}h` : `${seconds}s`
}

// ---------------------------------------------------------------- metadata

function applyCommonMetadata(object: K8sObject, federation: Federation, cluster: ClusterSpec): void {
  const common = {
    [LABELS.partOf]: 'fedobs',
    [LABELS.managedBy]: 'fedobs',
    [LABELS.federation]: federation.name,
    [LABELS.cluster]: cluster.name,
    [LABELS.role]: cluster.role,
  }
  object.metadata.labels = {...object.metadata.labels, ...common}
  const spec = object.spec as {template?: {metadata?: {labels?: Record<string, string>}}; volumeClaimTemplates?: Array<{metadata?: {labels?: Record<string, string>}}>} | undefined
  if (spec?.template) {
    spec.template.metadata ??= {}
    spec.template.metadata.labels = {...spec.template.metadata.labels, ...common}
  }
  for (const claim of spec?.volumeClaimTemplates ?? []) {
    claim.metadata ??= {}
    claim.metadata.labels = {...claim.metadata.labels, ...common}
  }
}

/**
 * Pods restart when their configuration changes: each pod template carries a hash of the
 * ConfigMaps it mounts (the seed restarted agents by hand after every config edit).
 */
function stampConfigHashes(objects: K8sObject[]): void {
  const configMaps = new Map(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]))
  for (const object of objects) {
    const spec = object.spec as {template?: {metadata?: {annotations?: Record<string, string>}; spec?: {volumes?: Array<{configMap?: {name: string}}>}}} | undefined
    const template = spec?.template
    if (!template) continue
    const names = (template.spec?.volumes ?? []).flatMap((v) => (v.configMap ? [v.configMap.name] : [])).sort()
    if (names.length === 0) continue
    const hash = createHash('sha256')
    for (const name of names)
      hash
        .update(name)
        .update('\0')
        .update(JSON.stringify(configMaps.get(`${object.metadata.namespace}/${name}`)?.data ?? null))
    template.metadata ??= {}
    template.metadata.annotations = {...template.metadata.annotations, [ANNOTATIONS.configHash]: hash.digest('hex').slice(0, 16)}
  }
}
