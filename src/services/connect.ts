import type {Kube} from '../kube/api.js'
import {OperationError} from '../lib/errors.js'
import type {Report} from '../lib/progress.js'
import {formatDuration, type Clock} from '../lib/time.js'
import {formatEndpoint, normalizeEndpoint, OTLP_GRPC_PORT} from '../federation/endpoint.js'
import type {ClusterSpec, Federation} from '../federation/model.js'
import {ANNOTATIONS, LABELS, NAMESPACES} from '../render/render.js'
import {gatewayAddress} from './deploy/gateway.js'
import {deployEdge, type EdgeAddresses, type EdgeDeployResult} from './hub.js'
import type {FirewallUpdate} from './gateway-firewall.js'
import type {CredentialsResult} from './pki.js'
import {claimClusterId, clusterUid} from './registry.js'

/** The edge-local stack of the seed (Prometheus/Loki/Tempo/Grafana in `monitoring`), by kind and name. */
const LOCAL_STACK: Array<{apiVersion: string; kind: string; name: string}> = [
  {apiVersion: 'apps/v1', kind: 'Deployment', name: 'prometheus'},
  {apiVersion: 'apps/v1', kind: 'Deployment', name: 'grafana'},
  {apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'loki'},
  {apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'tempo'},
]

export interface LocalStackPlan {
  /** Objects fedobs can attribute to the seed's edge-local stack. */
  remove: Array<{apiVersion: string; kind: string; name: string; namespace: string}>
}

export interface ConnectOptions {
  timeoutMs: number
  removeLocalStack: 'yes' | 'ask' | 'no'
  confirm: (question: string) => Promise<boolean>
  report: Report
  signal: AbortSignal
  clock: Clock
  forceConflicts: boolean
  /** The public addresses of the edge's nodes (the Linode API, or the nodes' ExternalIPs). */
  addresses: (edge: Kube) => Promise<EdgeAddresses>
}

export interface ConnectResult {
  edge: string
  hub: string
  hubEndpoint: string
  previousEndpoint?: string
  changed: boolean
  deploy: EdgeDeployResult
  localStack: {found: string[]; removed: string[]; kept: string[]}
  /** With mTLS: the edge's client certificate (issued now or still valid). */
  credentials?: CredentialsResult
  firewall: FirewallUpdate
}

export async function hubEndpoint(federation: Federation, hub: Kube, options: {timeoutMs: number; report: Report; signal: AbortSignal; clock: Clock}): Promise<string> {
  const fixed = federation.telemetry.gateway.endpoint
  if (fixed) return normalizeEndpoint(fixed)
  const deadline = options.clock.now() + options.timeoutMs
  for (let reported = false; ;) {
    const address = await gatewayAddress(hub)
    if (address) return formatEndpoint({host: address, port: OTLP_GRPC_PORT})
    if (options.clock.now() + 2000 > deadline) {
      throw new OperationError(`the hub gateway has no external address after ${formatDuration(options.timeoutMs)}`, {
        hint: 'Run `fedobs deploy hub` first; the LoadBalancer Service observability-hub/otel-gateway-external needs its NodeBalancer.',
      })
    }
    if (!reported) options.report('waiting for the hub gateway address')
    reported = true
    await options.clock.sleep(2000, options.signal)
  }
}

export async function currentEndpoint(edge: Kube): Promise<string | undefined> {
  const config = await edge.read({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'otel-agent-config', namespace: NAMESPACES.observability}})
  return config?.metadata?.annotations?.[ANNOTATIONS.hubEndpoint] || undefined
}

/**
 * Where a deployed edge ships: the federation's fixed endpoint, else the one it was connected to
 * (undefined before `fedobs connect`), in its normal form.
 */
export async function edgeEndpoint(federation: Federation, edge: Kube): Promise<string | undefined> {
  const endpoint = federation.telemetry.gateway.endpoint ?? (await currentEndpoint(edge))
  return endpoint ? normalizeEndpoint(endpoint) : undefined
}

/** The part of a workload's pod template that findLocalStack reads. */
interface PodTemplate {
  metadata?: {labels?: Record<string, string>}
  spec?: {volumes?: Array<{configMap?: {name?: string}}>}
}

/** The seed's edge-local stack, and what its workloads use (Services selecting them, ConfigMaps they mount). */
export async function findLocalStack(edge: Kube): Promise<LocalStackPlan> {
  const namespace = NAMESPACES.monitoring
  const remove: LocalStackPlan['remove'] = []
  const podLabels: Array<Record<string, string>> = []
  const configMaps = new Set<string>()
  for (const item of LOCAL_STACK) {
    const live = await edge.read({apiVersion: item.apiVersion, kind: item.kind, metadata: {name: item.name, namespace}})
    if (!live || live.metadata?.labels?.[LABELS.managedBy] === 'fedobs') continue
    remove.push({...item, namespace})
    const template = (live.spec as {template?: PodTemplate} | undefined)?.template
    podLabels.push(template?.metadata?.labels ?? {})
    for (const volume of template?.spec?.volumes ?? []) if (volume.configMap?.name) configMaps.add(volume.configMap.name)
  }
  if (remove.length === 0) return {remove}
  const services = await edge.list({apiVersion: 'v1', kind: 'Service'}, {namespace, what: 'listing services in monitoring'})
  for (const service of services) {
    const selector = (service.spec as {selector?: Record<string, string>} | undefined)?.selector ?? {}
    const selects = Object.keys(selector).length > 0 && podLabels.some((labels) => Object.entries(selector).every(([k, v]) => labels[k] === v))
    if (selects && service.metadata?.labels?.[LABELS.managedBy] !== 'fedobs') remove.push({apiVersion: 'v1', kind: 'Service', name: service.metadata!.name!, namespace})
  }
  for (const name of configMaps) remove.push({apiVersion: 'v1', kind: 'ConfigMap', name, namespace})
  return {remove}
}

/**
 * Point an edge at the hub: wait for the hub gateway address, render the edge's exporters to it
 * (cluster.id/cluster.role on every signal), apply and wait (changed configuration rolls the agent
 * and scraper), then remove the seed's edge-local stack when confirmed.
 */
export async function connectEdge(federation: Federation, edgeSpec: ClusterSpec, edge: Kube, hub: Kube, options: ConnectOptions): Promise<ConnectResult> {
  const endpoint = await hubEndpoint(federation, hub, options)
  await claimClusterId(hub, edgeSpec.name, await clusterUid(edge))
  const previous = await currentEndpoint(edge)
  options.report(previous === endpoint ? `already points at ${endpoint}` : previous ? `re-pointing from ${previous} to ${endpoint}` : `pointing at ${endpoint}`)
  const deploy = await deployEdge(edge, federation, edgeSpec, {
    dryRun: false,
    forceConflicts: options.forceConflicts,
    prune: true,
    wait: true,
    timeoutMs: options.timeoutMs,
    report: options.report,
    signal: options.signal,
    clock: options.clock,
    endpoint,
    hub,
    addresses: options.addresses,
  })
  const {credentials, firewall} = deploy

  const plan = await findLocalStack(edge)
  const found = plan.remove.map((o) => `${o.kind} ${o.namespace}/${o.name}`)
  const removed: string[] = []
  let kept: string[] = []
  if (found.length > 0) {
    const go =
      options.removeLocalStack === 'yes' || (options.removeLocalStack === 'ask' && (await options.confirm(`Remove the edge-local monitoring stack of ${edgeSpec.name}?\n  ${found.join('\n  ')}\n`)))
    if (go) {
      for (const object of plan.remove) {
        await edge.delete({apiVersion: object.apiVersion, kind: object.kind, metadata: {name: object.name, namespace: object.namespace}}, {what: `deleting ${object.kind} ${object.name}`})
        removed.push(`${object.kind} ${object.namespace}/${object.name}`)
        options.report(`removed ${object.kind} ${object.namespace}/${object.name}`)
      }
    } else {
      kept = found
    }
  }
  return {
    edge: edgeSpec.name,
    hub: federation.hub.name,
    hubEndpoint: endpoint,
    ...(previous ? {previousEndpoint: previous} : {}),
    changed: previous !== endpoint || deploy.counts.created + deploy.counts.configured > 0 || Boolean(credentials?.issued) || Boolean(firewall?.changed),
    deploy,
    localStack: {found, removed, kept},
    ...(credentials ? {credentials} : {}),
    firewall: firewall!,
  }
}
