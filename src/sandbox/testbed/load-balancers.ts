/**
 * A stand-in for the LoadBalancer part of Linode's cloud controller: a Service of type LoadBalancer
 * gets the cleanup finalizer, a NodeBalancer in the fake Linode (tags from its annotation) and that
 * NodeBalancer's IPv4 as its ingress IP. Deleting the Service (or changing its type) deletes the
 * NodeBalancer, then lets the Service go.
 *
 * The firewall-acl annotation is honoured as the CCM does it (linode-cloud-controller-manager
 * cloud/linode/services/firewalls.go, loadbalancers.go), through the fake's HTTP API so every call is
 * checked against the spec: one Cloud Firewall per NodeBalancer, its rules replaced when the lists or
 * the Service ports change, detached (and deleted when nothing else uses it) when the annotation goes,
 * deleted before the NodeBalancer when the Service goes. A failed sync is recorded as the service
 * controller records it (a Warning event SyncLoadBalancerFailed on the Service) and kept as the
 * controller's lastError() until a sync of that Service succeeds; the same inputs are retried with
 * back-off, changed ones at once.
 */
import type {V1Service} from '@kubernetes/client-node'
import type {ApiFirewall, ApiFirewallDevice, ApiNodeBalancer, FakeLinode, FirewallRule} from '../linode/server.js'
import type {TestCluster} from './cluster.js'
import {ignoreStatus, reconcileLoop} from './kube.js'

export const LB_FINALIZER = 'service.kubernetes.io/load-balancer-cleanup'
export const LB_TAGS_ANNOTATION = 'service.beta.kubernetes.io/linode-loadbalancer-tags'
export const LB_FIREWALL_ACL_ANNOTATION = 'service.beta.kubernetes.io/linode-loadbalancer-firewall-acl'

/** Derived from the Service's UID, so a restarted controller finds its NodeBalancers again. */
export const nodeBalancerLabel = (service: V1Service): string => `ccm-${service.metadata!.uid!.replaceAll('-', '')}`.slice(0, 32)

function tagsOf(service: V1Service): string[] {
  const raw = service.metadata?.annotations?.[LB_TAGS_ANNOTATION] ?? ''
  return [
    ...new Set(
      raw
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  ]
}

// ---------------------------------------------------------------- the CCM's firewall logic

export const ERR_INVALID_FW_CONFIG = 'specify either an allowList or a denyList for a firewall'
export const ERR_TOO_MANY_IPS = 'too many IPs in this ACL, will exceed rules per firewall limit'
export const ERR_TOO_MANY_NB_FIREWALLS = 'too many firewalls attached to a nodebalancer'
const MAX_RULE_LABEL = 32
const MAX_RULE_DESCRIPTION = 100
const MAX_IPS_PER_RULE = 255
const MAX_RULES = 25

/** linodego NetworkAddresses: a list left out stays undefined; `[]` stays an (invalid) empty list. */
export interface AddressLists {
  ipv4?: string[]
  ipv6?: string[]
}

export interface AclConfig {
  allowList?: AddressLists
  denyList?: AddressLists
}

/** What the CCM sends to POST /networking/firewalls (linodego FirewallCreateOptions, as it serializes). */
export interface FirewallCreateOptions {
  label: string
  rules: {inbound: FirewallRule[]; inbound_policy: 'ACCEPT' | 'DROP'; outbound: null; outbound_policy: 'ACCEPT'}
  tags: string[]
}

/** Go's encoding/json matches keys case-insensitively (an exact match wins). */
function field(object: Record<string, unknown>, name: string): unknown {
  if (name in object) return object[name]
  const key = Object.keys(object).find((k) => k.toLowerCase() === name.toLowerCase())
  return key === undefined ? undefined : object[key]
}

/** The annotation as json.Unmarshal reads it into the CCM's aclConfig: null or absent is "not set", unknown keys are ignored. */
export function parseAcl(text: string): AclConfig {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new Error(`invalid firewall ACL annotation: ${(error as Error).message}`, {cause: error})
  }
  const typeError = (what: string): Error => new Error(`json: cannot unmarshal ${Array.isArray(raw) ? 'array' : typeof raw} into Go value of type ${what}`)
  if (raw === null) return {}
  if (typeof raw !== 'object' || Array.isArray(raw)) throw typeError('services.aclConfig')
  const acl: AclConfig = {}
  for (const name of ['allowList', 'denyList'] as const) {
    const list = field(raw as Record<string, unknown>, name)
    if (list === undefined || list === null) continue
    if (typeof list !== 'object' || Array.isArray(list))
      throw new Error(`json: cannot unmarshal ${Array.isArray(list) ? 'array' : typeof list} into Go struct field aclConfig.${name} of type linodego.NetworkAddresses`)
    const addresses: AddressLists = {}
    for (const family of ['ipv4', 'ipv6'] as const) {
      const value = field(list as Record<string, unknown>, family)
      if (value === undefined || value === null) continue
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' || v === null)) {
        throw new Error(`json: cannot unmarshal into Go struct field aclConfig.${name}.${family} of type []string`)
      }
      addresses[family] = value.map((v) => (v === null ? '' : (v as string)))
    }
    acl[name] = addresses
  }
  return acl
}

const servicePorts = (service: V1Service): number[] => (service.spec?.ports ?? []).map((p) => p.port)

function truncateDescription(description: string): string {
  return description.length > MAX_RULE_DESCRIPTION ? `${description.slice(0, MAX_RULE_DESCRIPTION - 3)}...` : description
}

/** The CCM's chunkIPs: 255 per rule; note that no addresses at all still make one (empty) chunk. */
function chunk(ips: string[] | undefined): (string[] | undefined)[] {
  if ((ips?.length ?? 0) <= MAX_IPS_PER_RULE) return [ips]
  const chunks: string[][] = []
  for (let i = 0; i < ips!.length; i += MAX_IPS_PER_RULE) chunks.push(ips!.slice(i, i + MAX_IPS_PER_RULE))
  return chunks
}

/** A rule as linodego serializes it: description and ports omitted when empty, an address family omitted when nil. */
function rule(action: 'ACCEPT' | 'DROP', label: string, description: string, ports: string, addresses: AddressLists): FirewallRule {
  return {
    action,
    label,
    ...(description ? {description} : {}),
    ...(ports ? {ports} : {}),
    protocol: 'TCP', // NodeBalancers take TCP only
    addresses: {...(addresses.ipv4 !== undefined ? {ipv4: addresses.ipv4} : {}), ...(addresses.ipv6 !== undefined ? {ipv6: addresses.ipv6} : {})},
  }
}

/** CreateFirewallOptsForSvc + processACL: one inbound rule on the Service's ports, or chunks of 255 addresses per family. */
export function firewallOptionsFor(label: string, tags: string[], service: V1Service): FirewallCreateOptions {
  const acl = parseAcl(service.metadata?.annotations?.[LB_FIREWALL_ACL_ANNOTATION] ?? '')
  if ((acl.allowList !== undefined) === (acl.denyList !== undefined)) throw new Error(ERR_INVALID_FW_CONFIG)
  const action = acl.allowList ? 'ACCEPT' : 'DROP'
  const ips = (acl.allowList ?? acl.denyList)!
  const serviceName = service.metadata?.name ?? ''
  const ruleLabel = `${action}-${serviceName}`.slice(0, MAX_RULE_LABEL)
  const ports = servicePorts(service).join(',')
  const inbound: FirewallRule[] = []
  if ((ips.ipv4?.length ?? 0) + (ips.ipv6?.length ?? 0) > MAX_IPS_PER_RULE) {
    for (const family of ['ipv4', 'ipv6'] as const) {
      chunk(ips[family]).forEach((part, i) => {
        const description = truncateDescription(`Rule ${i}, Created by linode-ccm: ${label}, for ${serviceName}`)
        inbound.push(rule(action, ruleLabel, description, ports, {[family]: part}))
      })
    }
  } else {
    inbound.push(rule(action, ruleLabel, truncateDescription(`Created by linode-ccm: ${label}, for ${serviceName}`), ports, ips))
  }
  if (inbound.length > MAX_RULES) throw new Error(ERR_TOO_MANY_IPS)
  // An allow list drops everything else; a deny list accepts everything else.
  return {label, rules: {inbound, inbound_policy: action === 'ACCEPT' ? 'DROP' : 'ACCEPT', outbound: null, outbound_policy: 'ACCEPT'}, tags}
}

/** The CCM's parsePorts: "4317,4318" or ranges "8000-8002"; undefined when it cannot read them. */
function parsePorts(ports: string): number[] | undefined {
  const result: number[] = []
  for (const part of ports.split(',').map((p) => p.trim())) {
    const range = part.split('-')
    if (range.length > 2) return undefined
    const numbers = range.map((n) => (/^[+-]?\d+$/.test(n) ? Number(n) : Number.NaN))
    if (numbers.some(Number.isNaN)) return undefined
    if (numbers.length === 1) result.push(numbers[0]!)
    else {
      if (numbers[0]! > numbers[1]!) return undefined
      for (let p = numbers[0]!; p <= numbers[1]!; p++) result.push(p)
    }
  }
  return result
}

/** isPortsChanged: only the first rule's ports count (all rules carry the same). */
function portsChanged(rules: FirewallRule[], service: V1Service): boolean {
  const old = rules[0]?.ports
  if (!old) return true
  const oldPorts = parsePorts(old)
  if (!oldPorts) return true
  const wanted = new Set(servicePorts(service))
  return servicePorts(service).some((p) => !oldPorts.includes(p)) || oldPorts.some((p) => !wanted.has(p))
}

/** ipsChanged: the addresses of every rule together against the list (a list not given is not compared). */
function addressesChanged(ips: AddressLists | undefined, rules: FirewallRule[]): boolean {
  if (!ips) return false
  const ruleIPv4 = rules.flatMap((r) => r.addresses.ipv4 ?? [])
  const ruleIPv6 = rules.flatMap((r) => r.addresses.ipv6 ?? [])
  if (ruleIPv4.length > 0 && ips.ipv4 === undefined) return true
  if (ruleIPv6.length > 0 && ips.ipv6 === undefined) return true
  for (const [wanted, have] of [
    [ips.ipv4, ruleIPv4],
    [ips.ipv6, ruleIPv6],
  ] as const) {
    if (wanted === undefined) continue
    if (wanted.length !== have.length || wanted.some((ip) => !have.includes(ip))) return true
  }
  return false
}

/** ruleChanged: would the annotation (and the Service ports) give this firewall other rules? */
export function ruleChanged(old: ApiFirewall['rules'], acl: AclConfig, service: V1Service): boolean {
  const inbound = old.inbound ?? []
  let ips: AddressLists | undefined
  for (const [list, policy] of [
    [acl.allowList, 'DROP'],
    [acl.denyList, 'ACCEPT'],
  ] as const) {
    if (list === undefined) continue
    if (old.inbound_policy !== policy) return true
    if ((list.ipv4 !== undefined || list.ipv6 !== undefined) && inbound.length === 0) return true
    ips = list
  }
  return addressesChanged(ips, inbound) || portsChanged(inbound, service)
}

// ---------------------------------------------------------------- the controller

/** A Linode API error the way linodego prints it: `[400] [field] reason`. */
export class LinodeCallError extends Error {
  constructor(
    readonly status: number,
    readonly errors: {field?: string; reason: string}[],
    readonly call: string,
  ) {
    super(`[${String(status).padStart(3, '0')}] ${errors.map((e) => (e.field ? `[${e.field}] ${e.reason}` : e.reason)).join('; ') || 'no reason given'}`)
  }
}

export interface ControllerOptions {
  cluster: TestCluster
  fake: FakeLinode
  /** The LKE cluster id in the fake that owns what this controller creates. */
  lkeClusterId: number
  intervalMs?: number
}

export interface ServiceSyncError {
  namespace: string
  name: string
  message: string
  attempts: number
}

export interface LoadBalancerController {
  stop(): Promise<void>
  /** The last round's error, else the oldest standing sync failure of a Service. */
  lastError(): unknown
  /** Services whose last sync failed, with the error the CCM would report. */
  syncErrors(): ServiceSyncError[]
}

interface Failure extends ServiceSyncError {
  key: string
  retryAt: number
}

const BACKOFF_MS = {first: 1000, max: 30_000}

export function startLoadBalancerController(options: ControllerOptions): LoadBalancerController {
  const {fake, lkeClusterId} = options
  const {core} = options.cluster.clients()
  /** Per Service UID: the inputs (annotation, ports) its firewall last synced from. */
  const synced = new Map<string, string>()
  const failures = new Map<string, Failure>()

  const find = (service: V1Service): ApiNodeBalancer | undefined => {
    const label = nodeBalancerLabel(service)
    return [...fake.state.nodeBalancers.values()].find((nb) => nb.label === label && nb.lke_cluster?.id === lkeClusterId)
  }

  async function linode<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${fake.url}/v4${path}`, {
      method,
      headers: {Authorization: `Bearer ${fake.token}`, 'User-Agent': 'linode-cloud-controller-manager (fedobs test bed)', ...(body === undefined ? {} : {'Content-Type': 'application/json'})},
      ...(body === undefined ? {} : {body: JSON.stringify(body)}),
    })
    const text = await response.text()
    const parsed = text === '' ? undefined : (JSON.parse(text) as {errors?: {field?: string; reason: string}[]})
    if (!response.ok) throw new LinodeCallError(response.status, parsed?.errors ?? [], `${method} ${path}`)
    return parsed as T
  }

  async function listAll<T>(path: string): Promise<T[]> {
    const items: T[] = []
    for (let page = 1, pages = 1; page <= pages; page++) {
      const answer = await linode<{data: T[]; pages: number}>('GET', `${path}?page=${page}&page_size=500`)
      items.push(...answer.data)
      pages = answer.pages
    }
    return items
  }

  /** A fresh label like the CCM's GetLoadBalancerName (ccm-<12 hex digits of the time>). */
  const freshLabel = (): string => `ccm-${process.hrtime.bigint().toString(16).slice(-12)}`

  async function createFirewall(label: string, service: V1Service, nodeBalancerId?: number): Promise<ApiFirewall> {
    const firewall = await linode<ApiFirewall>('POST', '/networking/firewalls', firewallOptionsFor(label, tagsOf(service), service))
    if (nodeBalancerId !== undefined) await linode('POST', `/networking/firewalls/${firewall.id}/devices`, {id: nodeBalancerId, type: 'nodebalancer'})
    return firewall
  }

  /** UpdateNodeBalancerFirewall (the ACL part): create and attach, replace the rules, or detach and clean up. */
  async function syncFirewall(service: V1Service, nodeBalancer: ApiNodeBalancer): Promise<void> {
    const acl = service.metadata?.annotations?.[LB_FIREWALL_ACL_ANNOTATION]
    const firewalls = await listAll<ApiFirewall>(`/nodebalancers/${nodeBalancer.id}/firewalls`)
    if (firewalls.length > 1) throw new Error(ERR_TOO_MANY_NB_FIREWALLS)
    const [firewall] = firewalls
    if (acl !== undefined) {
      if (!firewall) {
        await createFirewall(freshLabel(), service, nodeBalancer.id)
        return
      }
      if (!ruleChanged(firewall.rules, parseAcl(acl), service)) return
      const {rules} = firewallOptionsFor(firewall.label, [''], service)
      await linode('PUT', `/networking/firewalls/${firewall.id}/rules`, rules)
      return
    }
    if (!firewall) return
    const device = (await listAll<ApiFirewallDevice>(`/networking/firewalls/${firewall.id}/devices`)).find((d) => d.entity.id === nodeBalancer.id)
    if (device) await linode('DELETE', `/networking/firewalls/${firewall.id}/devices/${device.id}`)
    // Nothing else attached: clean it up; otherwise let it linger.
    if ((await listAll(`/networking/firewalls/${firewall.id}/devices`)).length === 0) await linode('DELETE', `/networking/firewalls/${firewall.id}`)
  }

  /** DeleteNodeBalancerFirewall: only with the annotation; a firewall that has other devices stays. */
  async function deleteFirewall(service: V1Service, nodeBalancer: ApiNodeBalancer): Promise<void> {
    if (service.metadata?.annotations?.[LB_FIREWALL_ACL_ANNOTATION] === undefined) return
    const firewalls = await listAll<ApiFirewall>(`/nodebalancers/${nodeBalancer.id}/firewalls`)
    if (firewalls.length > 1) throw new Error(ERR_TOO_MANY_NB_FIREWALLS)
    const [firewall] = firewalls
    if (!firewall) return
    if ((await listAll(`/networking/firewalls/${firewall.id}/devices`)).length > 1) return
    await linode('DELETE', `/networking/firewalls/${firewall.id}`)
  }

  /**
   * Run one Linode-side sync of a Service unless the same inputs failed and their back-off has not
   * passed. A failure becomes a Warning event on the Service, as the service controller records it.
   */
  async function sync(service: V1Service, key: string, operation: 'ensure' | 'delete', work: () => Promise<void>): Promise<boolean> {
    const {name, namespace, uid} = service.metadata as {name: string; namespace: string; uid: string}
    const failed = failures.get(uid)
    if (failed && failed.key === key && Date.now() < failed.retryAt) return false
    try {
      await work()
      failures.delete(uid)
      synced.set(uid, key)
      return true
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      const attempts = failed && failed.key === key ? failed.attempts + 1 : 1
      failures.set(uid, {namespace, name, message, attempts, key, retryAt: Date.now() + Math.min(BACKOFF_MS.max, BACKOFF_MS.first * 2 ** (attempts - 1))})
      await recordFailure(service, `failed to ${operation} load balancer: ${message}`)
      return false
    }
  }

  async function recordFailure(service: V1Service, detail: string): Promise<void> {
    const {name, namespace, uid} = service.metadata as {name: string; namespace: string; uid: string}
    const now = new Date()
    await ignoreStatus(
      core.createNamespacedEvent({
        namespace,
        body: {
          metadata: {generateName: `${name}.`, namespace},
          involvedObject: {apiVersion: 'v1', kind: 'Service', name, namespace, uid, ...(service.metadata?.resourceVersion ? {resourceVersion: service.metadata.resourceVersion} : {})},
          type: 'Warning',
          reason: 'SyncLoadBalancerFailed',
          message: `Error syncing load balancer: ${detail}`,
          source: {component: 'service-controller'},
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      }),
      404,
    )
  }

  const inputs = (service: V1Service): string => JSON.stringify([service.metadata?.annotations?.[LB_FIREWALL_ACL_ANNOTATION] ?? null, servicePorts(service)])

  async function release(service: V1Service): Promise<void> {
    const nodeBalancer = find(service)
    if (nodeBalancer) {
      const deleted = await sync(service, `delete ${inputs(service)}`, 'delete', () => deleteFirewall(service, nodeBalancer))
      if (!deleted) return // the finalizer stays until the firewall is gone
      fake.removeNodeBalancer(nodeBalancer.id)
    }
    const {name, namespace, uid} = service.metadata as {name: string; namespace: string; uid: string}
    const finalizers = (service.metadata!.finalizers ?? []).filter((f) => f !== LB_FINALIZER)
    const updated = await ignoreStatus(core.replaceNamespacedService({name, namespace, body: {...service, metadata: {...service.metadata!, finalizers}}}), 404)
    if (updated && service.spec?.type !== 'LoadBalancer' && updated.status?.loadBalancer?.ingress?.length) {
      await core.replaceNamespacedServiceStatus({name, namespace, body: {...updated, status: {...updated.status, loadBalancer: {}}}})
    }
    if (!updated || service.spec?.type !== 'LoadBalancer') {
      synced.delete(uid)
      failures.delete(uid)
    }
  }

  async function ensure(service: V1Service): Promise<void> {
    const {name, namespace} = service.metadata as {name: string; namespace: string}
    let current = service
    if (!current.metadata!.finalizers?.includes(LB_FINALIZER)) {
      const finalizers = [...(current.metadata!.finalizers ?? []), LB_FINALIZER]
      current = await core.replaceNamespacedService({name, namespace, body: {...current, metadata: {...current.metadata!, finalizers}}})
    }
    const key = inputs(current)
    let nodeBalancer = find(current)
    if (!nodeBalancer) {
      // As createNodeBalancer: the firewall first (with the NodeBalancer's label and tags); if that
      // fails there is no NodeBalancer. The fake has no POST /nodebalancers, so attach it after.
      await sync(current, key, 'ensure', async () => {
        const withFirewall = current.metadata?.annotations?.[LB_FIREWALL_ACL_ANNOTATION] !== undefined
        const firewall = withFirewall ? await createFirewall(nodeBalancerLabel(current), current) : undefined
        nodeBalancer = fake.addNodeBalancer({clusterId: lkeClusterId, label: nodeBalancerLabel(current), tags: tagsOf(current)})
        if (firewall) await linode('POST', `/networking/firewalls/${firewall.id}/devices`, {id: nodeBalancer.id, type: 'nodebalancer'})
      })
    } else if (synced.get(current.metadata!.uid!) !== key) {
      const existing = nodeBalancer
      await sync(current, key, 'ensure', () => syncFirewall(current, existing))
    }
    if (!nodeBalancer) return
    if (current.status?.loadBalancer?.ingress?.[0]?.ip !== nodeBalancer.ipv4) {
      await core.replaceNamespacedServiceStatus({name, namespace, body: {...current, status: {...(current.status ?? {}), loadBalancer: {ingress: [{ip: nodeBalancer.ipv4, ipMode: 'VIP'}]}}}})
    }
  }

  const loop = reconcileLoop(async () => {
    const services = await core.listServiceForAllNamespaces()
    const errors: unknown[] = []
    const present = new Set<string>()
    for (const service of services.items) {
      present.add(service.metadata!.uid!)
      const ours = service.metadata?.finalizers?.includes(LB_FINALIZER) ?? false
      const wanted = service.spec?.type === 'LoadBalancer' && !service.metadata?.deletionTimestamp
      try {
        if (wanted) await ensure(service)
        else if (ours) await release(service)
      } catch (error) {
        errors.push(error) // a conflict: the next round sees the newer object
      }
    }
    for (const uid of [...synced.keys(), ...failures.keys()]) {
      if (present.has(uid)) continue
      synced.delete(uid)
      failures.delete(uid)
    }
    const standing = [...failures.values()][0]
    if (errors.length > 0) throw errors[0]
    if (standing) throw new Error(`${standing.namespace}/${standing.name}: ${standing.message}`)
  }, options.intervalMs ?? 250)

  return {
    stop: () => loop.stop(),
    lastError: () => loop.lastError(),
    syncErrors: () => [...failures.values()].map(({namespace, name, message, attempts}) => ({namespace, name, message, attempts})),
  }
}
