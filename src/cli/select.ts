import {clusterOverrides, federationOverrides, type PendingOverride} from '../federation/flags.js'
import {loadFederation} from '../federation/load.js'
import {allClusters, findCluster, type ClusterSpec, type Federation} from '../federation/model.js'
import {UsageError} from '../lib/errors.js'
import {closest} from '../lib/suggest.js'

/**
 * Load the federation for a command about one named cluster (or all of them), applying the
 * cluster flags to that cluster. Without a federation file, flags alone describe it.
 */
export function loadForClusters(flags: Record<string, unknown> & {file?: string}, name: string | undefined, all: boolean): {federation: Federation; clusters: ClusterSpec[]} {
  if (!name && !all) throw new UsageError('name a cluster, or pass --all', {hint: 'For example: fedobs cluster create hub', code: 'missing-name'})
  if (name && all) throw new UsageError('pass a cluster name or --all, not both', {code: 'bad-usage'})
  const overrides: PendingOverride[] = [...federationOverrides(flags)]
  const clusterFlags = clusterOverrides(flags, {role: 'hub'})
  if (all && clusterFlags.length > 0) {
    throw new UsageError(`${clusterFlags.map((o) => o.flag).join(', ')} describe one cluster and cannot be used with --all`, {code: 'bad-usage'})
  }
  if (name) {
    // Decide which cluster the flags are about: the hub (by name or the word "hub") or an edge.
    const probe = loadFederation({file: flags.file, overrides, fallbackEdges: name === 'hub' ? [] : [name]})
    const target = findCluster(probe, name)
    if (target) overrides.push(...clusterOverrides(flags, target.role === 'hub' ? {role: 'hub'} : {role: 'edge', name: target.name}))
  }
  const federation = loadFederation({file: flags.file, overrides, fallbackEdges: name && name !== 'hub' ? [name] : []})
  if (all) return {federation, clusters: allClusters(federation)}
  const cluster = findCluster(federation, name!)
  if (!cluster) {
    const names = allClusters(federation).map((c) => c.name)
    throw new UsageError(`no cluster named "${name}" in the federation (clusters: ${names.join(', ')})`, {
      suggestions: closest(name!, names),
      hint: 'Add it to the federation file, or check the spelling.',
      code: 'unknown-cluster',
    })
  }
  return {federation, clusters: [cluster]}
}
