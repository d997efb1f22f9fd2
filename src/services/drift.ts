/**
 * Drift between the federation file and an LKE cluster that already exists: node pools (type,
 * count, autoscaler), the Kubernetes version and the tags. Pure comparison here; `applyPoolDrift`
 * changes what is safe to change through the Linode API (resize, autoscaler, add a pool, add tags)
 * and never deletes a pool or upgrades Kubernetes.
 */
import type {ClusterSpec} from '../federation/model.js'
import type {LinodeApi} from '../linode/client.js'
import type {ApiCluster, ApiPool, PoolPayload} from '../linode/types.js'

type Autoscaler = {enabled: boolean; min?: number; max?: number}

export type PoolChange =
  /** A pool of the file whose count and/or autoscaler differ in the cloud. */
  | {kind: 'update'; type: string; poolId: number; from: {count: number; autoscaler: Autoscaler}; to: {count?: number; autoscaler?: Autoscaler}; nodes: number}
  /** A pool of the file that the cluster lacks. */
  | {kind: 'add'; type: string; to: PoolPayload}
  /** A pool the cluster has and the file does not: never deleted by fedobs. */
  | {kind: 'extra'; type: string; poolId: number; count: number; nodes: number}

export interface ClusterDrift {
  cluster: string
  id: number
  pools: PoolChange[]
  /** The file's version and the cloud's, when they differ. */
  version?: {file: string; cloud: string}
  /** Tags the file (and fedobs) want that the cluster lacks. */
  missingTags: string[]
}

function fileAutoscaler(pool: ClusterSpec['pools'][number]): Autoscaler {
  return pool.autoscaler ? {enabled: true, min: pool.autoscaler.min, max: pool.autoscaler.max} : {enabled: false}
}

function sameAutoscaler(want: Autoscaler, have: ApiPool['autoscaler']): boolean {
  if (!want.enabled) return !have.enabled
  return have.enabled && have.min === want.min && have.max === want.max
}

/**
 * Compare the file's pools with the cluster's. Pools pair up by type, in order (the first
 * g6-standard-4 of the file with the oldest g6-standard-4 pool). With an autoscaler, a count the
 * autoscaler chose within [min, max] is not drift.
 */
export function poolDrift(spec: ClusterSpec, pools: ApiPool[]): PoolChange[] {
  const byType = new Map<string, ApiPool[]>()
  for (const pool of [...pools].sort((a, b) => a.id - b.id)) byType.set(pool.type, [...(byType.get(pool.type) ?? []), pool])
  const changes: PoolChange[] = []
  for (const want of spec.pools) {
    const have = byType.get(want.type)?.shift()
    const autoscaler = fileAutoscaler(want)
    if (!have) {
      changes.push({
        kind: 'add',
        type: want.type,
        to: {type: want.type, count: want.count, ...(want.autoscaler ? {autoscaler: {enabled: true, min: want.autoscaler.min, max: want.autoscaler.max}} : {})},
      })
      continue
    }
    const countOk = want.autoscaler ? have.count >= want.autoscaler.min && have.count <= want.autoscaler.max : have.count === want.count
    const autoscalerOk = sameAutoscaler(autoscaler, have.autoscaler)
    if (countOk && autoscalerOk) continue
    changes.push({
      kind: 'update',
      type: want.type,
      poolId: have.id,
      from: {count: have.count, autoscaler: {...have.autoscaler}},
      // The count to set: the file's, or (autoscaled) the nearest bound of its range.
      to: {
        ...(countOk ? {} : {count: want.autoscaler ? Math.min(want.autoscaler.max, Math.max(want.autoscaler.min, have.count)) : want.count}),
        ...(autoscalerOk ? {} : {autoscaler}),
      },
      nodes: have.nodes.length,
    })
  }
  for (const [type, left] of byType) for (const pool of left) changes.push({kind: 'extra', type, poolId: pool.id, count: pool.count, nodes: pool.nodes.length})
  return changes
}

export function clusterDrift(spec: ClusterSpec, cluster: ApiCluster, pools: ApiPool[], wantedTags: string[]): ClusterDrift {
  return {
    cluster: spec.name,
    id: cluster.id,
    pools: poolDrift(spec, pools),
    ...(cluster.k8s_version !== spec.k8sVersion ? {version: {file: spec.k8sVersion, cloud: cluster.k8s_version}} : {}),
    missingTags: wantedTags.filter((t) => !cluster.tags.includes(t)),
  }
}

export function hasDrift(drift: ClusterDrift): boolean {
  return drift.pools.length > 0 || drift.version !== undefined || drift.missingTags.length > 0
}

function describeAutoscaler(a: Autoscaler): string {
  return a.enabled ? `autoscaler ${a.min}-${a.max}` : 'no autoscaler'
}

/** One line per difference, exact: what the file says and what the cloud has. */
export function describeDrift(drift: ClusterDrift): string[] {
  const lines: string[] = []
  for (const change of drift.pools) {
    if (change.kind === 'add') {
      lines.push(
        `pool ${change.type}: in the file (count ${change.to.count}${change.to.autoscaler ? `, autoscaler ${change.to.autoscaler.min}-${change.to.autoscaler.max}` : ''}), missing in the cluster`,
      )
    } else if (change.kind === 'update') {
      const parts: string[] = []
      if (change.to.count !== undefined)
        parts.push(`count ${change.from.count} → ${change.to.count}${change.to.count < change.from.count ? ` (removes ${change.from.count - change.to.count} node(s))` : ''}`)
      if (change.to.autoscaler) parts.push(`${describeAutoscaler(change.from.autoscaler)} → ${describeAutoscaler(change.to.autoscaler)}`)
      lines.push(`pool ${change.type} (${change.poolId}): ${parts.join(', ')} (cluster → file)`)
    } else {
      lines.push(`pool ${change.type} (${change.poolId}, ${change.count} node(s)): in the cluster, not in the file`)
    }
  }
  if (drift.version) lines.push(`Kubernetes ${drift.version.cloud} in the cluster, ${drift.version.file} in the file`)
  if (drift.missingTags.length > 0) lines.push(`tags missing on the cluster: ${drift.missingTags.join(', ')}`)
  return lines
}

/** What fedobs leaves to a person, with the command that does it. */
export function manualSteps(drift: ClusterDrift): string[] {
  const steps: string[] = []
  for (const change of drift.pools) {
    if (change.kind === 'extra') {
      steps.push(
        `pool ${change.poolId} (${change.type}) is left as it is: fedobs never deletes a node pool (its nodes may run workloads); if you mean to, drain it and run \`linode-cli lke pool-delete ${drift.id} ${change.poolId}\``,
      )
    }
  }
  if (drift.version) {
    const [fileMajor, fileMinor] = drift.version.file.split('.').map(Number)
    const [cloudMajor, cloudMinor] = drift.version.cloud.split('.').map(Number)
    const downgrade = fileMajor! < cloudMajor! || (fileMajor === cloudMajor && fileMinor! < cloudMinor!)
    steps.push(
      downgrade
        ? `Kubernetes cannot be downgraded on LKE: set k8sVersion: "${drift.version.cloud}" in the file`
        : `fedobs does not upgrade Kubernetes (it recycles every node): \`linode-cli lke cluster-update ${drift.id} --k8s_version ${drift.version.file}\`, then \`linode-cli lke cluster-nodes-recycle ${drift.id}\` (one minor version at a time)`,
    )
  }
  return steps
}

export interface AppliedDrift {
  updated: Array<{poolId: number; type: string; count?: number; autoscaler?: Autoscaler}>
  added: Array<{poolId: number; type: string; count: number}>
  tagsAdded: string[]
}

/**
 * Apply what `--update-pools` may change: resize pools and set their autoscaler, add the file's
 * missing pools, add missing tags (never remove one). Never deletes a pool, never upgrades Kubernetes.
 */
export async function applyPoolDrift(api: LinodeApi, drift: ClusterDrift, report: (message: string) => void, currentTags: string[]): Promise<AppliedDrift> {
  const applied: AppliedDrift = {updated: [], added: [], tagsAdded: []}
  for (const change of drift.pools) {
    if (change.kind === 'update') {
      report(`updating pool ${change.type} (${change.poolId})`)
      await api.updatePool(drift.id, change.poolId, change.to)
      applied.updated.push({poolId: change.poolId, type: change.type, ...change.to})
    } else if (change.kind === 'add') {
      report(`adding pool ${change.type} (count ${change.to.count})`)
      const pool = await api.createPool(drift.id, change.to)
      applied.added.push({poolId: pool.id, type: pool.type, count: pool.count})
    }
  }
  if (drift.missingTags.length > 0) {
    report(`adding tags ${drift.missingTags.join(', ')}`)
    await api.updateClusterTags(drift.id, [...new Set([...currentTags, ...drift.missingTags])])
    applied.tagsAdded = drift.missingTags
  }
  return applied
}
