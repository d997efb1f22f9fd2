/**
 * The fake account's resources and how they change: LKE clusters with pools and nodes on the
 * simulated timeline, NodeBalancers and volumes. No HTTP here; views are the API's JSON.
 */
import {randomBytes} from 'node:crypto'
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
  nodes: {id: string; instanceId: number}[]
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
  private readonly random: () => number
  private next = {cluster: 301_000, pool: 452_000, instance: 71_000_000, nodeBalancer: 180_000, volume: 900_000}

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
      nodes: Array.from({length: input.count}, () => ({id: `${id}-${this.hex(10)}`, instanceId: this.next.instance++})),
    }
    this.pools.set(id, pool)
    return pool
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
    this.clusters.delete(id)
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
    const state = nodeState(cluster.timeline, this.ageOf(cluster), isGpuType(pool.type))
    return {
      autoscaler: {...pool.autoscaler},
      count: pool.count,
      disks: structuredClone(pool.disks),
      id: pool.id,
      labels: {...pool.labels},
      nodes: pool.nodes.map((n) => ({id: n.id, instance_id: state.instanceAssigned ? n.instanceId : null, status: state.ready ? 'ready' : 'not_ready'})),
      tags: [...pool.tags],
      taints: structuredClone(pool.taints),
      type: pool.type,
    }
  }

  /** Instance ids of nodes that exist by now (what a volume can be attached to). */
  liveInstance(instanceId: number): {cluster: ClusterRecord; pool: PoolRecord} | undefined {
    for (const pool of this.pools.values()) {
      if (!pool.nodes.some((n) => n.instanceId === instanceId)) continue
      const cluster = this.cluster(pool.clusterId)
      if (nodeState(cluster.timeline, this.ageOf(cluster), isGpuType(pool.type)).instanceAssigned) return {cluster, pool}
    }
    return undefined
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
      linode_label: input.linodeId === null ? null : attached ? `lke${attached.cluster.id}-${attached.pool.id}-${this.hex(12)}` : `linode${input.linodeId}`,
      region: input.region ?? attached?.cluster.region ?? 'us-ord',
      size: input.size,
      status: 'active',
      tags: input.tags ?? [],
      updated: now,
    }
    this.volumes.set(id, volume)
    return volume
  }

  deleteNodeBalancer(id: number): void {
    if (!this.nodeBalancers.delete(id)) throw notFound()
  }

  deleteVolume(id: number): void {
    const volume = this.volumes.get(id)
    if (!volume) throw notFound()
    if (volume.linode_id !== null) throw new ApiFailure(400, [{reason: 'Volume must be detached before it can be deleted.'}])
    this.volumes.delete(id)
  }
}
