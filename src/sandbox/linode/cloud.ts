/**
 * The fake account's resources and how they change: LKE clusters with pools and nodes on the
 * simulated timeline, the Linodes behind those nodes, NodeBalancers, volumes and Cloud Firewalls.
 * No HTTP here; views are the API's JSON.
 */
import {createHash, randomBytes} from 'node:crypto'
import {isIP} from 'node:net'
import {isGpuType, type Fixtures} from './fixtures.js'
import type {ApiError} from './spec.js'
import {nodeState, resolveTimeline, seededRandom, type Clock, type ResolvedTimeline, type Timeline} from './timeline.js'

/** A semantic rejection, answered in the API's error shape. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly errors: ApiError[],
  ) {
    super(errors.map((e) => (e.field ? `${e.field}: ${e.reason}` : e.reason)).join('; '))
  }
}

export const notFound = (): ApiFailure => new ApiFailure(404, [{reason: 'Not found'}])

export interface ControlPlane {
  high_availability: boolean
  acl: {enabled: boolean; addresses: {ipv4: string[]; ipv6: string[]}; 'revision-id': string}
}

export interface PoolInput {
  type: string
  count: number
  autoscaler?: {enabled?: boolean; min?: number; max?: number}
  tags?: string[]
  labels?: Record<string, string>
  taints?: {key: string; value: string; effect: string}[]
  disks?: {size: number; type: string}[]
}

export interface ClusterInput {
  label: string
  region: string
  k8s_version: string
  node_pools: PoolInput[]
  tags?: string[]
  control_plane?: {high_availability?: boolean; acl?: {enabled?: boolean; addresses?: {ipv4?: string[]; ipv6?: string[]}; 'revision-id'?: string}}
}

export interface ClusterRecord {
  id: number
  label: string
  region: string
  k8sVersion: string
  tags: string[]
  controlPlane: ControlPlane
  /** Simulated seconds (clock.now()) when it was created: the timeline runs from here. */
  createdAt: number
  created: string
  updated: string
  timeline: ResolvedTimeline
  /** The bearer token inside its kubeconfig (not the API token). */
  kubeToken: string
}

export interface PoolRecord {
  id: number
  clusterId: number
  type: string
  count: number
  autoscaler: {enabled: boolean; min: number; max: number}
  tags: string[]
  labels: Record<string, string>
  taints: {key: string; value: string; effect: string}[]
  disks: {size: number; type: string}[]
  nodes: NodeRecord[]
}

export interface NodeRecord {
  id: string
  instanceId: number
  /** Simulated seconds when a node added to a live pool was planned; nodes of the create run from the cluster's creation. */
  createdAt?: number
  /** Its Linode's addresses, fixed when the node is planned (see addressesOf). */
  slot: number
}

export interface ApiCluster {
  control_plane: ControlPlane
  created: string
  id: number
  k8s_version: string
  label: string
  region: string
  status: 'ready' | 'not_ready'
  tags: string[]
  updated: string
}

export interface ApiPool {
  autoscaler: {enabled: boolean; min: number; max: number}
  count: number
  disks: {size: number; type: string}[]
  id: number
  labels: Record<string, string>
  nodes: {id: string; instance_id: number | null; status: 'ready' | 'not_ready'}[]
  tags: string[]
  taints: {key: string; value: string; effect: string}[]
  type: string
}

export interface ApiNodeBalancer {
  client_conn_throttle: number
  created: string
  hostname: string
  id: number
  ipv4: string
  ipv6: string | null
  label: string
  lke_cluster: {id: number; label: string; type: 'lkecluster'; url: string} | null
  region: string
  tags: string[]
  transfer: {in: number | null; out: number | null; total: number | null}
  updated: string
}

export interface ApiVolume {
  created: string
  encryption: 'enabled' | 'disabled'
  filesystem_path: string
  hardware_type: 'hdd' | 'nvme'
  id: number
  label: string
  linode_id: number | null
  linode_label: string | null
  region: string
  size: number
  status: 'creating' | 'active' | 'resizing' | 'key_rotating'
  tags: string[]
  updated: string
}

/** A Linode as GET /linode/instances/{linodeId} shows it (the fields of the spec, no more). */
export interface ApiInstance {
  alerts: {cpu: number; io: number; network_in: number; network_out: number; transfer_quota: number}
  backups: {available: boolean; enabled: boolean; last_successful: string | null; schedule: {day: string | null; window: string | null}}
  capabilities: string[]
  created: string
  group: string
  has_user_data: boolean
  host_uuid: string
  hypervisor: 'kvm'
  id: number
  image: string | null
  /** The public IPv4, then the private 192.168.128.0/17 one (LKE nodes have both). */
  ipv4: string[]
  /** SLAAC address with its /128. */
  ipv6: string | null
  label: string
  lke_cluster_id: number | null
  placement_group: null
  region: string
  specs: {disk: number; gpus: number; memory: number; transfer: number; vcpus: number}
  status: 'running'
  tags: string[]
  type: string
  updated: string
  watchdog_enabled: boolean
}

export type FirewallAction = 'ACCEPT' | 'DROP'
export type FirewallProtocol = 'TCP' | 'UDP' | 'ICMP' | 'IPENCAP'

/** One rule as sent and as answered: fields left out stay out (the API does not fill them in). */
export interface FirewallRule {
  action: FirewallAction
  addresses: {ipv4?: string[]; ipv6?: string[]}
  description?: string
  label?: string
  ports?: string | null
  protocol: FirewallProtocol
}

export interface FirewallRulesInput {
  inbound?: FirewallRule[] | null
  inbound_policy?: FirewallAction
  outbound?: FirewallRule[] | null
  outbound_policy?: FirewallAction
}

export interface ApiFirewallRules {
  fingerprint: string
  inbound: FirewallRule[] | null
  inbound_policy: FirewallAction
  outbound: FirewallRule[] | null
  outbound_policy: FirewallAction
  version: number
}

export interface FirewallInput {
  label: string
  rules: FirewallRulesInput & {inbound_policy: FirewallAction; outbound_policy: FirewallAction}
  tags?: string[]
  devices?: {linodes?: number[]; nodebalancers?: number[]}
}

export type DeviceType = 'linode' | 'nodebalancer'

export interface FirewallDeviceRecord {
  id: number
  type: DeviceType
  entityId: number
  created: string
  updated: string
}

export interface FirewallRecord {
  id: number
  label: string
  status: 'enabled' | 'disabled'
  tags: string[]
  rules: ApiFirewallRules
  devices: FirewallDeviceRecord[]
  created: string
  updated: string
}

/** What a device is attached to; `url` is relative, as the API writes it. */
export interface ApiFirewallEntity {
  id: number
  label: string | null
  parent_entity: null
  type: DeviceType
  url: string
}

export interface ApiFirewall {
  created: string
  entities: ApiFirewallEntity[]
  id: number
  label: string
  rules: ApiFirewallRules
  status: 'enabled' | 'disabled'
  tags: string[]
  updated: string
}

export interface ApiFirewallDevice {
  created: string
  entity: ApiFirewallEntity
  id: number
  updated: string
}

/** Limits the API states for firewall rules (spec: put-firewall-rules). */
export const FIREWALL_LIMITS = {rules: 25, addressesPerRule: 255, portPieces: 15} as const

/** Documentation ranges (RFC 5737) for the Linodes' public IPv4; 192.0.2.0/24 is the NodeBalancers'. */
const PUBLIC_BLOCKS = ['203.0.113', '198.51.100'] as const
const SLOTS = PUBLIC_BLOCKS.length * 254

/** A node's Linode addresses from its slot: public IPv4, private IPv4 (192.168.128.0/17), SLAAC IPv6. */
export function addressesOf(slot: number, instanceId: number): {publicIPv4: string; privateIPv4: string; ipv6: string} {
  const block = PUBLIC_BLOCKS[Math.floor(slot / 254)]
  if (block === undefined) throw new Error(`fake-linode: address slot ${slot} out of range`)
  const host = (slot % 254) + 1
  const hex = (n: number) => n.toString(16)
  // EUI-64 style (…ff:fe…) like a real SLAAC address, unique per instance id.
  const ipv6 = `2001:db8::f03c:95ff:fe${hex((instanceId >>> 16) & 0xff).padStart(2, '0')}:${hex(instanceId & 0xffff)}`
  return {publicIPv4: `${block}.${host}`, privateIPv4: `192.168.${128 + Math.floor(slot / 254)}.${host}`, ipv6}
}

export interface CloudOptions {
  clock: Clock
  fixtures: Fixtures
  timeline: Timeline
  timelineFor?: (input: ClusterInput) => Partial<Timeline> | undefined
  seed: number
}

export class FakeCloud {
  readonly clusters = new Map<number, ClusterRecord>()
  readonly pools = new Map<number, PoolRecord>()
  readonly nodeBalancers = new Map<number, ApiNodeBalancer>()
  readonly volumes = new Map<number, ApiVolume>()
  readonly firewalls = new Map<number, FirewallRecord>()
  private readonly random: () => number
  private next = {cluster: 301_000, pool: 452_000, instance: 71_000_000, nodeBalancer: 180_000, volume: 900_000, firewall: 2_400_000, device: 7_700_000}
  private nextSlot = 0

  constructor(readonly options: CloudOptions) {
    this.random = seededRandom(options.seed)
  }

  private get clock(): Clock {
    return this.options.clock
  }

  private hex(length: number): string {
    return Array.from({length}, () => Math.floor(this.random() * 16).toString(16)).join('')
  }

  // ------------------------------------------------------------ clusters

  /** The checks the API makes beyond the schema: the region, version and plans must exist. */
  checkClusterInput(input: ClusterInput): void {
    const {fixtures} = this.options
    const errors: ApiError[] = []
    const region = fixtures.regions.find((r) => r.id === input.region)
    if (!region) errors.push({field: 'region', reason: 'region is not valid'})
    else if (!region.capabilities.includes('Kubernetes')) errors.push({field: 'region', reason: `Kubernetes is not available in ${region.id}`})
    if (!fixtures.kubernetesVersions.some((v) => v.id === input.k8s_version)) errors.push({field: 'k8s_version', reason: 'k8s_version is not valid'})
    if (input.node_pools.length === 0) errors.push({field: 'node_pools', reason: 'At least one node pool is required'})
    input.node_pools.forEach((pool, i) => {
      const type = fixtures.linodeTypes.find((t) => t.id === pool.type)
      if (!type) errors.push({field: `node_pools[${i}].type`, reason: 'type is not valid'})
      else if (type.class === 'gpu' && region && !region.capabilities.includes('GPU Linodes')) {
        errors.push({field: `node_pools[${i}].type`, reason: `${pool.type} is not available in ${region.id}`})
      }
      const {min, max} = pool.autoscaler ?? {}
      if (min !== undefined && max !== undefined && min > max) errors.push({field: `node_pools[${i}].autoscaler.min`, reason: 'min must not exceed max'})
    })
    if (errors.length > 0) throw new ApiFailure(400, errors)
  }

  createCluster(input: ClusterInput, ageSeconds = 0): ClusterRecord {
    this.checkClusterInput(input)
    const now = this.clock.now() - ageSeconds
    const timeline = resolveTimeline({...this.options.timeline, ...this.options.timelineFor?.(input)}, this.random)
    const acl = input.control_plane?.acl
    const cluster: ClusterRecord = {
      id: this.next.cluster++,
      label: input.label,
      region: input.region,
      k8sVersion: input.k8s_version,
      tags: [...new Set(input.tags ?? [])],
      controlPlane: {
        high_availability: input.control_plane?.high_availability ?? false,
        acl: {
          enabled: acl?.enabled ?? false,
          addresses: {ipv4: acl?.addresses?.ipv4 ?? [], ipv6: acl?.addresses?.ipv6 ?? []},
          'revision-id': acl?.['revision-id'] ?? this.hex(12),
        },
      },
      createdAt: now,
      created: this.clock.timestamp(ageSeconds),
      updated: this.clock.timestamp(ageSeconds),
      timeline,
      kubeToken: randomBytes(24).toString('hex'),
    }
    this.clusters.set(cluster.id, cluster)
    for (const pool of input.node_pools) this.addPool(cluster.id, pool)
    return cluster
  }

  /** POST /lke/clusters/{id}/pools: a pool added to a live cluster; its nodes start their timeline now. */
  createPool(clusterId: number, input: PoolInput): PoolRecord {
    const cluster = this.cluster(clusterId)
    this.checkPoolInput(cluster, input, '')
    const pool = this.addPool(clusterId, input)
    for (const node of pool.nodes) node.createdAt = this.clock.now()
    cluster.updated = this.clock.timestamp()
    return pool
  }

  /** PUT /lke/clusters/{id}/pools/{poolId}: count (nodes added start now; the newest go first) and autoscaler. */
  updatePool(clusterId: number, poolId: number, change: {count?: number; autoscaler?: PoolInput['autoscaler']; tags?: string[]; labels?: Record<string, string>}): PoolRecord {
    const pool = this.pool(clusterId, poolId)
    const autoscaler = {...pool.autoscaler, ...change.autoscaler}
    if (autoscaler.min > autoscaler.max) throw new ApiFailure(400, [{field: 'autoscaler.min', reason: 'min must not exceed max'}])
    pool.autoscaler = autoscaler
    if (change.count !== undefined && change.count !== pool.count) {
      if (change.count > pool.count) {
        const taken = new Set([...this.pools.values()].flatMap((p) => p.nodes.map((n) => n.slot)))
        for (let i = pool.count; i < change.count; i++) {
          const slot = this.freeSlot(taken)
          taken.add(slot)
          pool.nodes.push({id: `${pool.id}-${this.hex(10)}`, instanceId: this.next.instance++, slot, createdAt: this.clock.now()})
        }
      } else {
        for (const node of pool.nodes.splice(change.count)) this.detachEverywhere('linode', node.instanceId)
      }
      pool.count = change.count
    }
    if (change.tags !== undefined) pool.tags = [...change.tags]
    if (change.labels !== undefined) pool.labels = {...change.labels}
    this.cluster(clusterId).updated = this.clock.timestamp()
    return pool
  }

  /** DELETE /lke/clusters/{id}/pools/{poolId}: its Linodes go; the API refuses to delete a cluster's last pool. */
  deletePool(clusterId: number, poolId: number): void {
    const pool = this.pool(clusterId, poolId)
    if (this.clusterPools(clusterId).length === 1) throw new ApiFailure(400, [{reason: 'A cluster must have at least one node pool'}])
    for (const node of pool.nodes) this.detachEverywhere('linode', node.instanceId)
    this.pools.delete(poolId)
  }

  pool(clusterId: number, poolId: number): PoolRecord {
    this.cluster(clusterId)
    const pool = this.pools.get(poolId)
    if (!pool || pool.clusterId !== clusterId) throw notFound()
    return pool
  }

  /** The checks the API makes on a pool beyond the schema (as in checkClusterInput). */
  private checkPoolInput(cluster: ClusterRecord, pool: PoolInput, prefix: string): void {
    const {fixtures} = this.options
    const region = fixtures.regions.find((r) => r.id === cluster.region)
    const type = fixtures.linodeTypes.find((t) => t.id === pool.type)
    const errors: ApiError[] = []
    if (!type) errors.push({field: `${prefix}type`, reason: 'type is not valid'})
    else if (type.class === 'gpu' && region && !region.capabilities.includes('GPU Linodes')) errors.push({field: `${prefix}type`, reason: `${pool.type} is not available in ${region.id}`})
    const {min, max} = pool.autoscaler ?? {}
    if (min !== undefined && max !== undefined && min > max) errors.push({field: `${prefix}autoscaler.min`, reason: 'min must not exceed max'})
    if (errors.length > 0) throw new ApiFailure(400, errors)
  }

  private addPool(clusterId: number, input: PoolInput): PoolRecord {
    const id = this.next.pool++
    const pool: PoolRecord = {
      id,
      clusterId,
      type: input.type,
      count: input.count,
      autoscaler: {enabled: input.autoscaler?.enabled ?? false, min: input.autoscaler?.min ?? input.count, max: input.autoscaler?.max ?? input.count},
      tags: input.tags ?? [],
      labels: input.labels ?? {},
      taints: input.taints ?? [],
      disks: input.disks ?? [],
      nodes: [],
    }
    const taken = new Set([...this.pools.values()].flatMap((p) => p.nodes.map((n) => n.slot)))
    for (let i = 0; i < input.count; i++) {
      const slot = this.freeSlot(taken)
      taken.add(slot)
      pool.nodes.push({id: `${id}-${this.hex(10)}`, instanceId: this.next.instance++, slot})
    }
    this.pools.set(id, pool)
    return pool
  }

  /** The next address slot no live node holds (there are 508: two documentation /24s). */
  private freeSlot(taken: Set<number>): number {
    for (let i = 0; i < SLOTS; i++) {
      const slot = (this.nextSlot + i) % SLOTS
      if (taken.has(slot)) continue
      this.nextSlot = slot + 1
      return slot
    }
    throw new Error(`fake-linode: more than ${SLOTS} nodes at once; the documentation ranges have no more public addresses`)
  }

  cluster(id: number): ClusterRecord {
    const cluster = this.clusters.get(id)
    if (!cluster) throw notFound()
    return cluster
  }

  clusterPools(clusterId: number): PoolRecord[] {
    return [...this.pools.values()].filter((p) => p.clusterId === clusterId)
  }

  updateCluster(id: number, change: {label?: string; tags?: string[]; k8s_version?: string; control_plane?: ClusterInput['control_plane']}): ClusterRecord {
    const cluster = this.cluster(id)
    const {fixtures} = this.options
    if (change.k8s_version !== undefined) {
      if (!fixtures.kubernetesVersions.some((v) => v.id === change.k8s_version)) throw new ApiFailure(400, [{field: 'k8s_version', reason: 'k8s_version is not valid'}])
      if (Number(change.k8s_version.split('.')[1]) < Number(cluster.k8sVersion.split('.')[1])) {
        throw new ApiFailure(400, [{field: 'k8s_version', reason: 'k8s_version cannot be downgraded'}])
      }
      cluster.k8sVersion = change.k8s_version
    }
    if (change.control_plane?.high_availability === false && cluster.controlPlane.high_availability) {
      throw new ApiFailure(400, [{field: 'control_plane.high_availability', reason: 'High availability cannot be disabled'}])
    }
    if (change.control_plane?.high_availability) cluster.controlPlane.high_availability = true
    const acl = change.control_plane?.acl
    if (acl) {
      cluster.controlPlane.acl = {
        enabled: acl.enabled ?? cluster.controlPlane.acl.enabled,
        addresses: {ipv4: acl.addresses?.ipv4 ?? cluster.controlPlane.acl.addresses.ipv4, ipv6: acl.addresses?.ipv6 ?? cluster.controlPlane.acl.addresses.ipv6},
        'revision-id': acl['revision-id'] ?? this.hex(12),
      }
    }
    if (change.label !== undefined) cluster.label = change.label
    if (change.tags !== undefined) cluster.tags = [...new Set(change.tags)]
    cluster.updated = this.clock.timestamp()
    return cluster
  }

  /**
   * Like LKE: the pools and their Linodes go (volumes on them are detached), the cluster's
   * NodeBalancers and volumes stay.
   */
  deleteCluster(id: number): void {
    this.cluster(id)
    const instances = new Set<number>()
    for (const pool of this.clusterPools(id)) {
      for (const node of pool.nodes) instances.add(node.instanceId)
      this.pools.delete(pool.id)
    }
    for (const volume of this.volumes.values()) {
      if (volume.linode_id !== null && instances.has(volume.linode_id)) Object.assign(volume, {linode_id: null, linode_label: null, updated: this.clock.timestamp()})
    }
    for (const instanceId of instances) this.detachEverywhere('linode', instanceId)
    this.clusters.delete(id)
  }

  /** A node's age: from the cluster's creation, or from when it was added to a live pool. */
  nodeAge(cluster: ClusterRecord, node: NodeRecord): number {
    return node.createdAt === undefined ? this.ageOf(cluster) : this.clock.now() - node.createdAt
  }

  ageOf(cluster: ClusterRecord): number {
    return this.clock.now() - cluster.createdAt
  }

  kubeconfigReady(cluster: ClusterRecord): boolean {
    return this.ageOf(cluster) >= cluster.timeline.kubeconfigReadySeconds
  }

  clusterView(cluster: ClusterRecord): ApiCluster {
    return {
      control_plane: structuredClone(cluster.controlPlane),
      created: cluster.created,
      id: cluster.id,
      k8s_version: cluster.k8sVersion,
      label: cluster.label,
      region: cluster.region,
      status: this.ageOf(cluster) >= cluster.timeline.clusterReadySeconds ? 'ready' : 'not_ready',
      tags: [...cluster.tags],
      updated: cluster.updated,
    }
  }

  poolView(pool: PoolRecord): ApiPool {
    const cluster = this.cluster(pool.clusterId)
    const stateOf = (node: NodeRecord) => nodeState(cluster.timeline, this.nodeAge(cluster, node), isGpuType(pool.type))
    return {
      autoscaler: {...pool.autoscaler},
      count: pool.count,
      disks: structuredClone(pool.disks),
      id: pool.id,
      labels: {...pool.labels},
      nodes: pool.nodes.map((n) => ({id: n.id, instance_id: stateOf(n).instanceAssigned ? n.instanceId : null, status: stateOf(n).ready ? 'ready' : 'not_ready'})),
      tags: [...pool.tags],
      taints: structuredClone(pool.taints),
      type: pool.type,
    }
  }

  /** The node behind a Linode that exists by now (what a volume or a firewall can be attached to). */
  liveInstance(instanceId: number): {cluster: ClusterRecord; pool: PoolRecord; node: NodeRecord} | undefined {
    for (const pool of this.pools.values()) {
      const node = pool.nodes.find((n) => n.instanceId === instanceId)
      if (!node) continue
      const cluster = this.cluster(pool.clusterId)
      if (nodeState(cluster.timeline, this.nodeAge(cluster, node), isGpuType(pool.type)).instanceAssigned) return {cluster, pool, node}
    }
    return undefined
  }

  // ------------------------------------------------------------ Linodes

  /** LKE names a node's Linode lke<cluster>-<node id>, the node id being <pool>-<hex>. */
  instanceLabel(cluster: ClusterRecord, node: NodeRecord): string {
    return `lke${cluster.id}-${node.id}`
  }

  /** Every Linode that exists by now: one per pool node whose instance is assigned. */
  instances(): ApiInstance[] {
    const views: ApiInstance[] = []
    for (const pool of this.pools.values()) {
      const cluster = this.cluster(pool.clusterId)
      for (const node of pool.nodes) {
        if (nodeState(cluster.timeline, this.nodeAge(cluster, node), isGpuType(pool.type)).instanceAssigned) views.push(this.instanceView(cluster, pool, node))
      }
    }
    return views.sort((a, b) => a.id - b.id)
  }

  instance(instanceId: number): ApiInstance {
    const live = this.liveInstance(instanceId)
    if (!live) throw notFound()
    return this.instanceView(live.cluster, live.pool, live.node)
  }

  private instanceView(cluster: ClusterRecord, pool: PoolRecord, node: NodeRecord): ApiInstance {
    const type = this.options.fixtures.linodeTypes.find((t) => t.id === pool.type)
    const {publicIPv4, privateIPv4, ipv6} = addressesOf(node.slot, node.instanceId)
    return {
      alerts: {cpu: (type?.vcpus ?? 1) * 90, io: 10_000, network_in: 10, network_out: 10, transfer_quota: 80},
      backups: {available: false, enabled: false, last_successful: null, schedule: {day: null, window: null}},
      capabilities: ['Block Storage Encryption', 'SMTP Enabled'],
      created: cluster.created,
      group: '',
      has_user_data: false,
      host_uuid: createHash('sha1').update(`host-${node.instanceId}`).digest('hex'),
      hypervisor: 'kvm',
      id: node.instanceId,
      image: null,
      ipv4: [publicIPv4, privateIPv4],
      ipv6: `${ipv6}/128`,
      label: this.instanceLabel(cluster, node),
      lke_cluster_id: cluster.id,
      placement_group: null,
      region: cluster.region,
      specs: {disk: type?.disk ?? 0, gpus: type?.gpus ?? 0, memory: type?.memory ?? 0, transfer: type?.transfer ?? 0, vcpus: type?.vcpus ?? 0},
      status: 'running',
      tags: [...pool.tags],
      type: pool.type,
      updated: cluster.updated,
      watchdog_enabled: true,
    }
  }

  // ------------------------------------------------------------ NodeBalancers and volumes

  addNodeBalancer(input: {clusterId: number | null; label?: string; tags?: string[]; region?: string}): ApiNodeBalancer {
    const cluster = input.clusterId === null ? undefined : this.clusters.get(input.clusterId)
    if (input.clusterId !== null && !cluster) throw new Error(`addNodeBalancer: no cluster ${input.clusterId}`)
    const id = this.next.nodeBalancer++
    const n = id % 250
    const region = input.region ?? cluster?.region ?? 'us-ord'
    const now = this.clock.timestamp()
    const nodeBalancer: ApiNodeBalancer = {
      client_conn_throttle: 0,
      created: now,
      hostname: `nb-192-0-2-${n}.${region}.nodebalancer.linode.com`,
      id,
      ipv4: `192.0.2.${n}`,
      ipv6: `2001:db8::${n.toString(16)}`,
      label: input.label ?? `ccm-${this.hex(24)}`,
      lke_cluster: cluster ? {id: cluster.id, label: cluster.label, type: 'lkecluster', url: `/v4/lke/clusters/${cluster.id}`} : null,
      region,
      tags: input.tags ?? [],
      transfer: {in: null, out: null, total: null},
      updated: now,
    }
    this.nodeBalancers.set(id, nodeBalancer)
    return nodeBalancer
  }

  addVolume(input: {label: string; tags?: string[]; linodeId: number | null; size: number; region?: string}): ApiVolume {
    const attached = input.linodeId === null ? undefined : this.liveInstance(input.linodeId)
    const id = this.next.volume++
    const now = this.clock.timestamp()
    const volume: ApiVolume = {
      created: now,
      encryption: 'enabled',
      filesystem_path: `/dev/disk/by-id/scsi-0Linode_Volume_${input.label}`,
      hardware_type: 'nvme',
      id,
      label: input.label,
      linode_id: input.linodeId,
      linode_label: input.linodeId === null ? null : attached ? this.instanceLabel(attached.cluster, attached.node) : `linode${input.linodeId}`,
      region: input.region ?? attached?.cluster.region ?? 'us-ord',
      size: input.size,
      status: 'active',
      tags: input.tags ?? [],
      updated: now,
    }
    this.volumes.set(id, volume)
    return volume
  }

  /** Its firewall device goes with it (the firewall stays). */
  deleteNodeBalancer(id: number): void {
    if (!this.nodeBalancers.delete(id)) throw notFound()
    this.detachEverywhere('nodebalancer', id)
  }

  deleteVolume(id: number): void {
    const volume = this.volumes.get(id)
    if (!volume) throw notFound()
    if (volume.linode_id !== null) throw new ApiFailure(400, [{reason: 'Volume must be detached before it can be deleted.'}])
    this.volumes.delete(id)
  }

  // ------------------------------------------------------------ Cloud Firewalls

  firewall(id: number): FirewallRecord {
    const firewall = this.firewalls.get(id)
    if (!firewall) throw notFound()
    return firewall
  }

  /** Firewalls a NodeBalancer or Linode is a device of (404 when the entity does not exist). */
  firewallsOf(type: DeviceType, entityId: number): FirewallRecord[] {
    if (!this.entityExists(type, entityId)) throw notFound()
    return [...this.firewalls.values()].filter((f) => f.devices.some((d) => d.type === type && d.entityId === entityId))
  }

  createFirewall(input: FirewallInput): FirewallRecord {
    const errors = [...this.labelProblems(input.label), ...checkRules(input.rules, 'rules.')]
    const wanted: {id: number; type: DeviceType; field: string}[] = [
      ...(input.devices?.linodes ?? []).map((id, i) => ({id, type: 'linode' as const, field: `devices.linodes[${i}]`})),
      ...(input.devices?.nodebalancers ?? []).map((id, i) => ({id, type: 'nodebalancer' as const, field: `devices.nodebalancers[${i}]`})),
    ]
    const seen = new Set<string>()
    for (const device of wanted) {
      const key = `${device.type} ${device.id}`
      if (seen.has(key)) errors.push({field: device.field, reason: `${device.type} ${device.id} is listed twice`})
      else errors.push(...this.deviceProblems(device.type, device.id, device.field))
      seen.add(key)
    }
    if (errors.length > 0) throw new ApiFailure(400, errors)
    const now = this.clock.timestamp()
    const firewall: FirewallRecord = {
      id: this.next.firewall++,
      label: input.label,
      status: 'enabled',
      tags: [...new Set(input.tags ?? [])],
      rules: storedRules(input.rules, 1),
      devices: [],
      created: now,
      updated: now,
    }
    firewall.devices = wanted.map((d) => ({id: this.next.device++, type: d.type, entityId: d.id, created: now, updated: now}))
    this.firewalls.set(firewall.id, firewall)
    return firewall
  }

  updateFirewall(id: number, change: {label?: string; status?: 'enabled' | 'disabled'; tags?: string[]}): FirewallRecord {
    const firewall = this.firewall(id)
    if (change.label !== undefined && change.label !== firewall.label) {
      const errors = this.labelProblems(change.label)
      if (errors.length > 0) throw new ApiFailure(400, errors)
      firewall.label = change.label
    }
    if (change.status !== undefined) firewall.status = change.status
    if (change.tags !== undefined) firewall.tags = [...new Set(change.tags)]
    firewall.updated = this.clock.timestamp()
    return firewall
  }

  /** Its devices are detached with it. */
  deleteFirewall(id: number): void {
    this.firewall(id)
    this.firewalls.delete(id)
  }

  /** PUT .../rules replaces every rule; the version goes up by one. */
  replaceRules(id: number, input: FirewallRulesInput): FirewallRecord {
    const firewall = this.firewall(id)
    const merged = {inbound_policy: firewall.rules.inbound_policy, outbound_policy: firewall.rules.outbound_policy, ...input}
    const errors = checkRules(merged, '')
    if (errors.length > 0) throw new ApiFailure(400, errors)
    firewall.rules = storedRules(merged, firewall.rules.version + 1)
    firewall.updated = this.clock.timestamp()
    return firewall
  }

  addDevice(firewallId: number, device: {id: number; type: DeviceType}): FirewallDeviceRecord {
    const firewall = this.firewall(firewallId)
    const errors = this.deviceProblems(device.type, device.id, 'id')
    if (errors.length > 0) throw new ApiFailure(400, errors)
    const now = this.clock.timestamp()
    const record: FirewallDeviceRecord = {id: this.next.device++, type: device.type, entityId: device.id, created: now, updated: now}
    firewall.devices.push(record)
    firewall.updated = now
    return record
  }

  device(firewallId: number, deviceId: number): FirewallDeviceRecord {
    const device = this.firewall(firewallId).devices.find((d) => d.id === deviceId)
    if (!device) throw notFound()
    return device
  }

  removeDevice(firewallId: number, deviceId: number): void {
    const firewall = this.firewall(firewallId)
    this.device(firewallId, deviceId)
    firewall.devices = firewall.devices.filter((d) => d.id !== deviceId)
    firewall.updated = this.clock.timestamp()
  }

  firewallView(firewall: FirewallRecord): ApiFirewall {
    return {
      created: firewall.created,
      entities: firewall.devices.map((d) => this.entityView(d)),
      id: firewall.id,
      label: firewall.label,
      rules: structuredClone(firewall.rules),
      status: firewall.status,
      tags: [...firewall.tags],
      updated: firewall.updated,
    }
  }

  deviceView(device: FirewallDeviceRecord): ApiFirewallDevice {
    return {created: device.created, entity: this.entityView(device), id: device.id, updated: device.updated}
  }

  private entityView(device: FirewallDeviceRecord): ApiFirewallEntity {
    const url = device.type === 'nodebalancer' ? `/v4/nodebalancers/${device.entityId}` : `/v4/linode/instances/${device.entityId}`
    const label = device.type === 'nodebalancer' ? (this.nodeBalancers.get(device.entityId)?.label ?? null) : (this.liveInstanceLabel(device.entityId) ?? null)
    return {id: device.entityId, label, parent_entity: null, type: device.type, url}
  }

  private liveInstanceLabel(instanceId: number): string | undefined {
    const live = this.liveInstance(instanceId)
    return live ? this.instanceLabel(live.cluster, live.node) : undefined
  }

  private entityExists(type: DeviceType, entityId: number): boolean {
    return type === 'nodebalancer' ? this.nodeBalancers.has(entityId) : this.liveInstance(entityId) !== undefined
  }

  /** Why this entity cannot become a device: it does not exist, or another firewall has it. */
  private deviceProblems(type: DeviceType, entityId: number, field: string): ApiError[] {
    const noun = type === 'nodebalancer' ? 'NodeBalancer' : 'Linode'
    if (!this.entityExists(type, entityId)) return [{field, reason: `${noun} ${entityId} not found`}]
    const holder = [...this.firewalls.values()].find((f) => f.devices.some((d) => d.type === type && d.entityId === entityId))
    return holder ? [{field, reason: `${noun} ${entityId} already has a firewall assigned (${holder.id}); only one can be attached`}] : []
  }

  private labelProblems(label: string): ApiError[] {
    return [...this.firewalls.values()].some((f) => f.label === label) ? [{field: 'label', reason: 'Label must be unique among your Cloud Firewalls'}] : []
  }

  /** A deleted NodeBalancer or Linode leaves every firewall it was a device of. */
  private detachEverywhere(type: DeviceType, entityId: number): void {
    for (const firewall of this.firewalls.values()) {
      const kept = firewall.devices.filter((d) => !(d.type === type && d.entityId === entityId))
      if (kept.length === firewall.devices.length) continue
      firewall.devices = kept
      firewall.updated = this.clock.timestamp()
    }
  }
}

/** Rules as the API keeps them: a null list stays null, a missing one is empty. */
function storedRules(input: FirewallRulesInput & {inbound_policy: FirewallAction; outbound_policy: FirewallAction}, version: number): ApiFirewallRules {
  const rules = {
    inbound: input.inbound === undefined ? [] : structuredClone(input.inbound),
    inbound_policy: input.inbound_policy,
    outbound: input.outbound === undefined ? [] : structuredClone(input.outbound),
    outbound_policy: input.outbound_policy,
  }
  const fingerprint = createHash('sha256').update(JSON.stringify(rules)).digest('hex').slice(0, 8)
  return {fingerprint, ...rules, version}
}

/**
 * What the API checks on a rule set beyond the schema (spec, put-firewall-rules): at most 25 rules;
 * each rule's addresses hold ipv4, ipv6 or both, neither an empty list, every entry in IP/mask
 * format, at most 255 in all; ports only for TCP and UDP, each 1-65535 without leading zeros,
 * ranges rising, at most 15 pieces (a range counts two).
 */
export function checkRules(rules: FirewallRulesInput, prefix: string): ApiError[] {
  const errors: ApiError[] = []
  const all = [...(rules.inbound ?? []).map((rule, i) => ({rule, field: `${prefix}inbound[${i}]`})), ...(rules.outbound ?? []).map((rule, i) => ({rule, field: `${prefix}outbound[${i}]`}))]
  if (all.length > FIREWALL_LIMITS.rules) {
    const reason = `A firewall may have at most ${FIREWALL_LIMITS.rules} rules across its inbound and outbound rulesets`
    errors.push(prefix ? {field: prefix.slice(0, -1), reason} : {reason})
  }
  for (const {rule, field} of all) {
    const {ipv4, ipv6} = rule.addresses
    if (ipv4 === undefined && ipv6 === undefined) errors.push({field: `${field}.addresses`, reason: 'Must contain ipv4, ipv6, or both'})
    for (const [family, list] of [
      [4, ipv4],
      [6, ipv6],
    ] as const) {
      if (list === undefined) continue
      const where = `${field}.addresses.ipv${family}`
      if (list.length === 0) errors.push({field: where, reason: 'Must not be an empty list'})
      list.forEach((address, i) => {
        if (!isCidr(address, family)) errors.push({field: `${where}[${i}]`, reason: `${address} is not a valid IPv${family} address in IP/mask format`})
      })
    }
    if ((ipv4?.length ?? 0) + (ipv6?.length ?? 0) > FIREWALL_LIMITS.addressesPerRule) {
      errors.push({field: `${field}.addresses`, reason: `A rule may have at most ${FIREWALL_LIMITS.addressesPerRule} addresses across ipv4 and ipv6`})
    }
    if (rule.ports !== undefined && rule.ports !== null && rule.ports !== '') {
      if (rule.protocol !== 'TCP' && rule.protocol !== 'UDP') errors.push({field: `${field}.ports`, reason: `Ports are not allowed for the ${rule.protocol} protocol`})
      else {
        const problem = portsProblem(rule.ports)
        if (problem) errors.push({field: `${field}.ports`, reason: problem})
      }
    }
  }
  return errors
}

function isCidr(text: string, family: 4 | 6): boolean {
  const match = /^([^/%]+)\/(\d{1,3})$/.exec(text)
  if (!match) return false
  const bits = Number(match[2])
  return isIP(match[1]!) === family && bits <= (family === 4 ? 32 : 128) && String(bits) === match[2]
}

/** The problem with a ports string, or undefined: "22-24, 80, 443" is four pieces. */
export function portsProblem(ports: string): string | undefined {
  let pieces = 0
  for (const part of ports.split(/, ?/)) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part)
    if (!range) return `${JSON.stringify(part)} is not a port or a port range`
    const numbers = [range[1]!, ...(range[2] === undefined ? [] : [range[2]])]
    for (const n of numbers) {
      if (/^0/.test(n) || Number(n) < 1 || Number(n) > 65_535) return `${n} is not a port from 1 to 65535 without leading zeros`
    }
    if (numbers.length === 2 && Number(numbers[1]) <= Number(numbers[0])) return `in ${part} the end of the range must be greater than its start`
    pieces += numbers.length
  }
  return pieces > FIREWALL_LIMITS.portPieces ? `ports may have at most ${FIREWALL_LIMITS.portPieces} pieces (a range counts two), not ${pieces}` : undefined
}
