/**
 * Drift between what the federation file asks for and what the Linode API has: pools (type, count,
 * autoscaler), Kubernetes version, region and tags. Pure: the caller fetches both sides.
 */
import type {ApiCluster, ApiPool, ClusterPayload, PoolPayload} from '../linode/types.js'

export interface DriftItem {
  /** What differs, e.g. `pools[g6-standard-4].count`, `k8sVersion`, `tags`. */
  field: string
  /** The file's value, as text ("" when the file has no such pool). */
  file: string
  /** The cloud's value, as text ("" when the cloud has no such pool). */
  cloud: string
  message: string
}

export interface LiveCluster {
  cluster: Pick<ApiCluster, 'region' | 'k8s_version' | 'tags'>
  pools: Array<Pick<ApiPool, 'type' | 'count' | 'autoscaler'>>
}

function autoscalerText(a: {enabled: boolean; min: number; max: number} | undefined): string {
  return a?.enabled ? `${a.min}-${a.max}` : 'off'
}

/** Every difference, in a stable order: region, version, pools by type, tags. Empty when the cloud matches the file. */
export function clusterDrift(desired: ClusterPayload, live: LiveCluster): DriftItem[] {
  const drift: DriftItem[] = []
  if (desired.region !== live.cluster.region) {
    drift.push({field: 'region', file: desired.region, cloud: live.cluster.region, message: `region is ${live.cluster.region}, the file says ${desired.region} (a cluster cannot move: recreate it)`})
  }
  if (desired.k8s_version !== live.cluster.k8s_version) {
    drift.push({field: 'k8sVersion', file: desired.k8s_version, cloud: live.cluster.k8s_version, message: `Kubernetes ${live.cluster.k8s_version}, the file says ${desired.k8s_version}`})
  }
  const types = [...new Set([...desired.node_pools.map((p) => p.type), ...live.pools.map((p) => p.type)])].sort()
  for (const type of types) {
    // Several pools of one type pair up by count, so the order of pools never counts as drift.
    const want = desired.node_pools.filter((p) => p.type === type).sort((a, b) => a.count - b.count)
    const have = live.pools.filter((p) => p.type === type).sort((a, b) => a.count - b.count)
    for (let i = 0; i < Math.max(want.length, have.length); i++) {
      const field = want.length > 1 || have.length > 1 ? `pools[${type}#${i + 1}]` : `pools[${type}]`
      const w = want[i]
      const h = have[i]
      if (w && !h) drift.push({field, file: `${w.count}`, cloud: '', message: `pool ${type} × ${w.count} is in the file but not in the cloud`})
      else if (h && !w) drift.push({field, file: '', cloud: `${h.count}`, message: `pool ${type} × ${h.count} is in the cloud but not in the file`})
      else if (w && h) drift.push(...poolDrift(field, w, h))
    }
  }
  const missing = desired.tags.filter((t) => !live.cluster.tags.includes(t))
  const extra = live.cluster.tags.filter((t) => !desired.tags.includes(t))
  if (missing.length > 0 || extra.length > 0) {
    const parts = [...(missing.length > 0 ? [`missing ${missing.join(', ')}`] : []), ...(extra.length > 0 ? [`not in the file: ${extra.join(', ')}`] : [])]
    drift.push({field: 'tags', file: [...desired.tags].sort().join(','), cloud: [...live.cluster.tags].sort().join(','), message: `tags differ: ${parts.join('; ')}`})
  }
  return drift
}

function poolDrift(field: string, want: PoolPayload, have: Pick<ApiPool, 'type' | 'count' | 'autoscaler'>): DriftItem[] {
  const drift: DriftItem[] = []
  const wantScaler = want.autoscaler?.enabled ? want.autoscaler : undefined
  const haveScaler = have.autoscaler.enabled ? have.autoscaler : undefined
  if (autoscalerText(wantScaler) !== autoscalerText(haveScaler)) {
    drift.push({
      field: `${field}.autoscaler`,
      file: autoscalerText(wantScaler),
      cloud: autoscalerText(haveScaler),
      message: `pool ${want.type}: autoscaler ${autoscalerText(haveScaler)}, the file says ${autoscalerText(wantScaler)}`,
    })
  }
  // With an autoscaler the count moves by itself: only a count outside its range is drift.
  const countDrifts = wantScaler ? have.count < wantScaler.min || have.count > wantScaler.max : have.count !== want.count
  if (countDrifts) {
    drift.push({
      field: `${field}.count`,
      file: `${want.count}`,
      cloud: `${have.count}`,
      message: `pool ${want.type}: ${have.count} node(s), the file says ${want.count}${wantScaler ? ` (autoscaler ${wantScaler.min}-${wantScaler.max})` : ''}`,
    })
  }
  return drift
}
