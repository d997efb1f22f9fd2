import {isIP} from 'node:net'
import {OTLP_GRPC_PORT, parseEndpoint} from '../federation/endpoint.js'
import type {ClusterSpec, Federation} from '../federation/model.js'
import type {K8sObject} from './objects.js'

// Literal names, not render.ts's constants: render.ts imports this module, and FLOWS is built
// while render.ts is still loading. A unit test checks they are the same names.
const APP_LABEL = 'app.kubernetes.io/name'
const NAMESPACE_LABEL = 'kubernetes.io/metadata.name'
const FEDOBS_NAMESPACES = ['monitoring', 'observability', 'observability-hub', 'bert-inference']
const GATEWAY_PORT = OTLP_GRPC_PORT

// ---------------------------------------------------------------- the intended flows

/**
 * One end of a flow:
 * - `pods`: pods in `namespace`, those with `app.kubernetes.io/name: app`, or with `labels`
 *   (pods fedobs does not render, e.g. CoreDNS), or all of them when neither is given;
 * - `other-namespaces`: any pod in a namespace that fedobs does not own on this cluster;
 * - `anywhere`: any address, inside or outside the cluster;
 * - `hub-gateway`: the hub gateway's external address, as the edge was given it.
 */
export type Peer = {kind: 'pods'; namespace: string; app?: string; labels?: Record<string, string>} | {kind: 'other-namespaces'} | {kind: 'anywhere'} | {kind: 'hub-gateway'}

export interface PortSpec {
  /** `hub-endpoint`: the port of the edge's hub endpoint (4317 unless it says otherwise). */
  port: number | 'hub-endpoint'
  protocol: 'TCP' | 'UDP'
}

/** Where a flow exists: every condition must hold (none: every cluster). */
export type Condition = 'hub' | 'edge' | 'gpu' | 'inference' | 'connected'

/**
 * Traffic allowed from any of `from` to `to` on any of `ports`. A flow opens the egress of the
 * fedobs pods it names in `from` and the ingress of the fedobs pods it names as `to`; everything
 * else to or from a pod in a namespace fedobs owns is denied.
 */
export interface Flow {
  from: Peer[]
  to: Peer
  ports: PortSpec[]
  when: Condition[]
  why: string
}

const pods = (namespace: string, app?: string): Peer => ({kind: 'pods', namespace, ...(app ? {app} : {})})
const labelled = (namespace: string, labels: Record<string, string>): Peer => ({kind: 'pods', namespace, labels})
const tcp = (...ports: number[]): PortSpec[] => ports.map((port) => ({port, protocol: 'TCP'}))
const ANYWHERE: Peer = {kind: 'anywhere'}

const AGENT = pods('observability', 'otel-agent')
const SCRAPER = pods('observability', 'otel-scraper')
const GATEWAY = pods('observability-hub', 'otel-gateway')
const PROMETHEUS = pods('monitoring', 'prometheus')
const GRAFANA = pods('monitoring', 'grafana')
const BERT = pods('bert-inference', 'bert-inference')
// The API server's service proxy (`fedobs verify`) reaches pods through these agents.
const KONNECTIVITY = labelled('kube-system', {'k8s-app': 'konnectivity-agent'})

/** Every flow the system needs; the README's "Network policies" table is made from this one. */
export const FLOWS: Flow[] = [
  {
    from: FEDOBS_NAMESPACES.map((namespace) => pods(namespace)),
    to: labelled('kube-system', {'k8s-app': 'kube-dns'}),
    ports: [
      {port: 53, protocol: 'UDP'},
      {port: 53, protocol: 'TCP'},
    ],
    when: [],
    why: 'Name resolution (CoreDNS).',
  },
  {
    from: [ANYWHERE],
    to: GATEWAY,
    ports: tcp(4317, 4318),
    when: ['hub'],
    why: 'OTLP from the edges through the NodeBalancer: the Cloud Firewall filters the sources, and the pod only sees NodeBalancer and node addresses.',
  },
  {from: [AGENT, SCRAPER], to: GATEWAY, ports: tcp(GATEWAY_PORT), when: ['hub'], why: "The hub's own agents and scraper ship to the gateway Service."},
  {
    from: [AGENT, SCRAPER],
    to: {kind: 'hub-gateway'},
    ports: [{port: 'hub-endpoint', protocol: 'TCP'}],
    when: ['edge', 'connected'],
    why: "An edge ships to the hub gateway's external address: that IP alone when the endpoint is an IP, anywhere when it is a host name.",
  },
  {from: [GATEWAY], to: PROMETHEUS, ports: tcp(9090), when: ['hub'], why: 'The gateway writes metrics (OTLP/HTTP).'},
  {from: [GATEWAY], to: pods('monitoring', 'loki'), ports: tcp(3100), when: ['hub'], why: 'The gateway writes logs (OTLP/HTTP).'},
  {from: [GATEWAY], to: pods('monitoring', 'tempo'), ports: tcp(4318), when: ['hub'], why: 'The gateway writes traces (OTLP/HTTP).'},
  {
    from: [GRAFANA, KONNECTIVITY],
    to: PROMETHEUS,
    ports: tcp(9090),
    when: ['hub'],
    why: "Queries: Grafana's datasource, and `fedobs verify` through the API server's service proxy.",
  },
  {from: [GRAFANA, KONNECTIVITY], to: pods('monitoring', 'loki'), ports: tcp(3100), when: ['hub'], why: 'Queries, as for Prometheus.'},
  {from: [GRAFANA, KONNECTIVITY], to: pods('monitoring', 'tempo'), ports: tcp(3200), when: ['hub'], why: 'Queries, as for Prometheus.'},
  {from: [SCRAPER], to: pods('observability', 'kube-state-metrics'), ports: tcp(8080), when: [], why: 'Scrape kube-state-metrics.'},
  {from: [SCRAPER], to: pods('monitoring', 'dcgm-exporter'), ports: tcp(9400), when: ['hub', 'gpu'], why: 'Scrape dcgm-exporter (in monitoring on the hub).'},
  {from: [SCRAPER], to: pods('observability', 'dcgm-exporter'), ports: tcp(9400), when: ['edge', 'gpu'], why: 'Scrape dcgm-exporter (in observability on an edge).'},
  {from: [SCRAPER], to: BERT, ports: tcp(8080), when: ['inference'], why: 'Scrape the inference demo.'},
  {from: [SCRAPER], to: GATEWAY, ports: tcp(8888), when: ['hub'], why: "Scrape the gateway's own metrics."},
  {from: [SCRAPER], to: PROMETHEUS, ports: tcp(9090), when: ['hub'], why: "Scrape Prometheus's own metrics."},
  {
    from: [AGENT],
    to: ANYWHERE,
    ports: tcp(10250),
    when: [],
    why: "kubelet stats at the node's IP, which is not known at render time.",
  },
  {
    from: [AGENT, SCRAPER, pods('observability', 'kube-state-metrics')],
    to: ANYWHERE,
    ports: tcp(443, 6443),
    when: [],
    why: 'The Kubernetes API (pod metadata, service discovery, kube-state-metrics). On LKE it is outside the cluster, at an address not known at render time; policies see the address behind the `kubernetes` Service (port 443 or 6443).',
  },
  {
    from: [{kind: 'other-namespaces'}, BERT],
    to: AGENT,
    ports: tcp(4317, 4318),
    when: [],
    why: "Workloads send OTLP to the agent on their node (the Service's internalTrafficPolicy is Local).",
  },
  {
    from: [ANYWHERE],
    to: BERT,
    ports: tcp(8080),
    when: ['inference'],
    why: "The inference demo's serving port: its users are not known, so it is open (its Service is a ClusterIP).",
  },
]

/**
 * Container ports that no flow opens, and why. With the flows above, this accounts for every
 * port fedobs renders (a unit test checks it).
 */
export const CLOSED_PORTS: Array<{namespace: string; app: string; port: number; why: string}> = [
  {namespace: 'observability-hub', app: 'otel-gateway', port: 13133, why: 'health: only the kubelet probes it (always allowed).'},
  {namespace: 'observability', app: 'otel-agent', port: 13133, why: 'health: only the kubelet probes it.'},
  {namespace: 'observability', app: 'otel-scraper', port: 13133, why: 'health: only the kubelet probes it.'},
  {namespace: 'observability', app: 'kube-state-metrics', port: 8081, why: "kube-state-metrics' own metrics: only the kubelet probes it."},
  {namespace: 'monitoring', app: 'loki', port: 9095, why: 'gRPC between Loki components: one process here, it never leaves the pod.'},
  {namespace: 'monitoring', app: 'tempo', port: 4317, why: 'OTLP/gRPC: the gateway writes over OTLP/HTTP (4318).'},
  {namespace: 'monitoring', app: 'grafana', port: 3000, why: 'the UI: reached with `kubectl port-forward`, which NetworkPolicy does not see.'},
]

// ---------------------------------------------------------------- NetworkPolicy objects

interface Context {
  conditions: Set<Condition>
  /** The namespaces this cluster's rendering creates. */
  owned: string[]
  hubEndpoint: {host: string; port: number} | undefined
}

type NetworkPolicyPeer = Record<string, unknown>
interface Rule {
  peers: NetworkPolicyPeer[] | 'all'
  ports: Array<{protocol: string; port: number}>
}
interface Target {
  namespace: string
  /** The app (`app.kubernetes.io/name`), or undefined for every pod of the namespace. */
  app: string | undefined
  direction: 'ingress' | 'egress'
  rules: Rule[]
}

/**
 * The NetworkPolicies of one cluster: in each namespace it owns, a default deny of ingress and
 * egress, then one policy per workload and direction that allows exactly the flows above.
 * `hubEndpoint` (host:port) is where an edge ships; undefined while it is not connected, and
 * ignored on the hub (whose collectors use the gateway Service).
 */
export function networkPolicies(federation: Federation, cluster: ClusterSpec, namespaces: string[], hubEndpoint?: string): K8sObject[] {
  const context: Context = {
    conditions: clusterConditions(federation, cluster, hubEndpoint),
    owned: namespaces,
    hubEndpoint: cluster.role === 'edge' && hubEndpoint ? hubAddress(hubEndpoint) : undefined,
  }
  const targets = new Map<string, Target>()
  const targetFor = (peer: Peer & {kind: 'pods'}, direction: Target['direction']): Target => {
    const key = `${peer.namespace}/${peer.app ?? '*'}/${direction}`
    let target = targets.get(key)
    if (!target) targets.set(key, (target = {namespace: peer.namespace, app: peer.app, direction, rules: []}))
    return target
  }

  for (const flow of applicableFlows(context)) {
    const ports = flow.ports.map((p) => ({protocol: p.protocol, port: p.port === 'hub-endpoint' ? (context.hubEndpoint?.port ?? GATEWAY_PORT) : p.port}))
    const from = flow.from.filter((peer) => exists(peer, context))
    if (from.length === 0 || !exists(flow.to, context)) continue
    for (const source of from) {
      if (isOwnedPods(source, context)) targetFor(source, 'egress').rules.push({peers: toPeers([flow.to], context), ports})
    }
    if (isOwnedPods(flow.to, context)) targetFor(flow.to, 'ingress').rules.push({peers: toPeers(from, context), ports})
  }

  const denies = namespaces.map((namespace) => policy(namespace, 'default-deny', {podSelector: {}, policyTypes: ['Ingress', 'Egress']}))
  const sorted = [...targets.values()].sort((a, b) => `${a.namespace}/${a.app ?? ''}/${a.direction}`.localeCompare(`${b.namespace}/${b.app ?? ''}/${b.direction}`))
  const allows = sorted.map((target) => {
    const rules = target.rules.map((rule) => ({...(rule.peers === 'all' ? {} : {[target.direction === 'ingress' ? 'from' : 'to']: rule.peers}), ports: rule.ports}))
    return policy(target.namespace, `${target.app ?? 'all-pods'}-${target.direction}`, {
      podSelector: target.app ? {matchLabels: {[APP_LABEL]: target.app}} : {},
      policyTypes: [target.direction === 'ingress' ? 'Ingress' : 'Egress'],
      [target.direction]: rules,
    })
  })
  return [...denies, ...allows]
}

/** The flows that exist on a cluster with these conditions. */
function applicableFlows(context: {conditions: Set<Condition>}): Flow[] {
  return FLOWS.filter((flow) => flow.when.every((condition) => context.conditions.has(condition)))
}

function clusterConditions(federation: Federation, cluster: ClusterSpec, hubEndpoint?: string): Set<Condition> {
  const conditions = new Set<Condition>([cluster.role])
  if (cluster.gpu) conditions.add('gpu')
  if (cluster.gpu && federation.inference.enabled) conditions.add('inference')
  if (cluster.role === 'edge' && hubEndpoint) conditions.add('connected')
  return conditions
}

/**
 * The endpoint as src/federation/endpoint.ts reads it. Rendering never refuses a value (the schema
 * and the callers check them): one it cannot read is taken for a host name, reached anywhere.
 */
function hubAddress(endpoint: string): {host: string; port: number} {
  try {
    return parseEndpoint(endpoint)
  } catch {
    return {host: endpoint, port: GATEWAY_PORT}
  }
}

/** A pods peer in a fedobs namespace that this cluster does not have selects nothing: dropped. */
function exists(peer: Peer, context: Context): boolean {
  if (peer.kind === 'pods') return !FEDOBS_NAMESPACES.includes(peer.namespace) || context.owned.includes(peer.namespace)
  if (peer.kind === 'hub-gateway') return context.hubEndpoint !== undefined
  return true
}

function isOwnedPods(peer: Peer, context: Context): peer is Peer & {kind: 'pods'} {
  return peer.kind === 'pods' && context.owned.includes(peer.namespace) && !peer.labels
}

function toPeers(peers: Peer[], context: Context): NetworkPolicyPeer[] | 'all' {
  const out: NetworkPolicyPeer[] = []
  for (const peer of peers) {
    switch (peer.kind) {
      case 'anywhere':
        return 'all'
      case 'other-namespaces':
        out.push({namespaceSelector: {matchExpressions: [{key: NAMESPACE_LABEL, operator: 'NotIn', values: [...context.owned].sort()}]}})
        break
      case 'hub-gateway': {
        const host = context.hubEndpoint!.host
        const family = isIP(host)
        // A host name resolves to addresses NetworkPolicy cannot name: any address, that port.
        if (family === 0) return 'all'
        out.push({ipBlock: {cidr: `${host}/${family === 4 ? 32 : 128}`}})
        break
      }
      case 'pods': {
        const labels = peer.labels ?? (peer.app ? {[APP_LABEL]: peer.app} : undefined)
        out.push({namespaceSelector: {matchLabels: {[NAMESPACE_LABEL]: peer.namespace}}, ...(labels ? {podSelector: {matchLabels: labels}} : {})})
        break
      }
    }
  }
  return out
}

function policy(namespace: string, name: string, spec: Record<string, unknown>): K8sObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {name, namespace, labels: {[APP_LABEL]: name, 'app.kubernetes.io/component': 'network-policy'}},
    spec,
  }
}

// ---------------------------------------------------------------- the README table

const CONDITION_WORDS: Record<Condition, string> = {hub: 'hub', edge: 'edge', gpu: 'GPU', inference: 'inference', connected: 'connected'}

export function peerText(peer: Peer): string {
  switch (peer.kind) {
    case 'anywhere':
      return 'anywhere'
    case 'other-namespaces':
      return 'other namespaces'
    case 'hub-gateway':
      return 'hub gateway address'
    case 'pods': {
      const selector = peer.labels
        ? Object.entries(peer.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(',')
        : (peer.app ?? '*')
      return `\`${peer.namespace}/${selector}\``
    }
  }
}

function portText(port: PortSpec): string {
  return port.port === 'hub-endpoint' ? `${GATEWAY_PORT}/${port.protocol} (the endpoint's port)` : `${port.port}/${port.protocol}`
}

/** FLOWS as the Markdown table of the README's "Network policies" section. */
export function flowsTable(): string {
  const rows = FLOWS.map((flow) => [
    flow.from.map(peerText).join(', '),
    peerText(flow.to),
    flow.ports.map(portText).join(', '),
    flow.when.length === 0 ? 'all' : flow.when.map((c) => CONDITION_WORDS[c]).join(' + '),
    flow.why,
  ])
  return [['from', 'to', 'ports', 'where', 'why'], ['---', '---', '---', '---', '---'], ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n')
}
