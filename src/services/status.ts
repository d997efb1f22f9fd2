/**
 * `fedobs status`: every cluster of the file as the cloud has it (role, nodes ready per pool, drift
 * from the file), the hub gateway's address, and how old each cluster's newest data at the hub is —
 * one PromQL query whatever the number of clusters.
 */
import {clusterTag, FEDOBS_TAG, roleFromTags} from '../federation/identity.js'
import {allClusters, type Federation} from '../federation/model.js'
import type {Kube} from '../kube/api.js'
import {contextAlias, contextExists} from '../kube/kubeconfig.js'
import type {LinodeApi} from '../linode/client.js'
import type {ApiCluster} from '../linode/types.js'
import {promQuery, type Backend} from '../verify/backends.js'
import {NEWEST_DATA_QUERY} from '../verify/history.js'
import {clusterPayload} from './clusters.js'
import {gatewayAddresses} from './deploy/gateway.js'
import {clusterDrift, type DriftItem} from './status-drift.js'

/** The newest sample per cluster (defined beside the report's charts, which chart its age). */
export {NEWEST_DATA_QUERY}

export interface PoolStatus {
  type: string
  count: number
  ready: number
  autoscaler?: {min: number; max: number}
}

export interface ClusterStatus {
  name: string
  role: 'hub' | 'edge'
  exists: boolean
  id?: number
  /** The LKE status (ready, not_ready), or "not created". */
  status: string
  region?: string
  k8sVersion?: string
  /** The role its tags give it, when they disagree with the file's. */
  taggedRole?: string
  createdByFedobs?: boolean
  pools: PoolStatus[]
  nodesReady: number
  nodesTotal: number
  /** The kubeconfig context fedobs merged, when it is there. */
  context?: string
  drift: DriftItem[]
  /** Newest sample at the hub (any job), when the hub was queried and had one within the last hour. */
  newestData?: {at: string; ageSeconds: number}
}

export interface StatusReport {
  federation: string
  checkedAt: string
  clusters: ClusterStatus[]
  gateway: {addresses: string[]; error?: string}
  data: {queried: boolean; query: string; queries: number; source?: string; error?: string}
  summary: {clusters: number; existing: number; ready: number; drifted: number}
}

export interface StatusDependencies {
  api: LinodeApi
  /** The kubeconfig fedobs merges into (to say which contexts exist). */
  kubeconfig: string
  /** The hub's API server, connected only when the hub exists. */
  hub(): Promise<Kube>
  /** The hub's Prometheus (a URL, else the hub API server's service proxy). */
  prometheus(hub: () => Promise<Kube>): Promise<Backend>
  now(): number
  signal?: AbortSignal
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error))

export async function federationStatus(federation: Federation, deps: StatusDependencies): Promise<StatusReport> {
  const specs = allClusters(federation)
  // The Linode API is the one thing status cannot do without: its errors propagate.
  const found = await Promise.all(
    specs.map(async (spec) => {
      const matches = (await deps.api.clustersByLabel(spec.name)).filter((c) => c.label === spec.name)
      const live: ApiCluster | undefined = matches.find((c) => c.tags.includes(clusterTag(spec.name))) ?? matches[0]
      return {spec, live, pools: live ? await deps.api.pools(live.id) : []}
    }),
  )
  const clusters: ClusterStatus[] = found.map(({spec, live, pools}) => {
    const alias = spec.context ?? contextAlias(spec.name)
    const context = contextExists(deps.kubeconfig, alias) ? {context: alias} : {}
    if (!live) return {name: spec.name, role: spec.role, exists: false, status: 'not created', pools: [], nodesReady: 0, nodesTotal: 0, ...context, drift: []}
    const poolRows: PoolStatus[] = pools.map((p) => ({
      type: p.type,
      count: p.count,
      ready: p.nodes.filter((n) => n.status === 'ready' && n.instance_id !== null).length,
      ...(p.autoscaler.enabled ? {autoscaler: {min: p.autoscaler.min, max: p.autoscaler.max}} : {}),
    }))
    const tagged = roleFromTags(live.tags)
    let drift: DriftItem[]
    try {
      drift = clusterDrift(clusterPayload(federation, spec), {cluster: live, pools})
    } catch (error) {
      // A file without a region or pools for this cluster: that is the drift worth saying.
      drift = [{field: 'file', file: '', cloud: '', message: message(error)}]
    }
    return {
      name: spec.name,
      role: spec.role,
      exists: true,
      id: live.id,
      status: live.status,
      region: live.region,
      k8sVersion: live.k8s_version,
      ...(tagged && tagged !== spec.role ? {taggedRole: tagged} : {}),
      createdByFedobs: live.tags.includes(FEDOBS_TAG),
      pools: poolRows,
      nodesReady: poolRows.reduce((n, p) => n + p.ready, 0),
      nodesTotal: poolRows.reduce((n, p) => n + p.count, 0),
      ...context,
      drift,
    }
  })

  const gateway: StatusReport['gateway'] = {addresses: []}
  const data: StatusReport['data'] = {queried: false, query: NEWEST_DATA_QUERY, queries: 0}
  const hubExists = clusters.find((c) => c.role === 'hub')?.exists ?? false
  if (hubExists) {
    let hubKube: Promise<Kube> | undefined
    const hub = (): Promise<Kube> => (hubKube ??= deps.hub())
    const [addresses, newest] = await Promise.allSettled([
      hub().then((kube) => gatewayAddresses(kube)),
      deps.prometheus(hub).then(async (prometheus) => {
        data.source = prometheus.describe
        data.queries++
        return promQuery(prometheus, NEWEST_DATA_QUERY, undefined, deps.signal)
      }),
    ])
    if (addresses.status === 'fulfilled') gateway.addresses = addresses.value
    else gateway.error = message(addresses.reason)
    if (newest.status === 'fulfilled') {
      data.queried = true
      const nowSeconds = deps.now() / 1000
      for (const sample of newest.value) {
        const cluster = clusters.find((c) => c.name === sample.metric.cluster_id)
        const seconds = Number(sample.value[1])
        if (!cluster || !Number.isFinite(seconds)) continue
        cluster.newestData = {at: new Date(seconds * 1000).toISOString(), ageSeconds: Math.max(0, Math.round(nowSeconds - seconds))}
      }
    } else {
      data.error = message(newest.reason)
    }
  } else {
    gateway.error = 'the hub does not exist yet'
    data.error = 'the hub does not exist yet'
  }
  return {
    federation: federation.name,
    checkedAt: new Date(deps.now()).toISOString(),
    clusters,
    gateway,
    data,
    summary: {
      clusters: clusters.length,
      existing: clusters.filter((c) => c.exists).length,
      ready: clusters.filter((c) => c.exists && c.nodesTotal > 0 && c.nodesReady >= c.nodesTotal).length,
      drifted: clusters.filter((c) => c.drift.length > 0).length,
    },
  }
}
