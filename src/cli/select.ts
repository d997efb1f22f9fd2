import {clusterOverrides, federationOverrides, type PendingOverride} from '../federation/flags.js'
import {loadFederation, resolveFederationFile} from '../federation/load.js'
import {allClusters, findCluster, type ClusterSpec, type Federation} from '../federation/model.js'
import {UsageError} from '../lib/errors.js'
import {closest} from '../lib/suggest.js'
import {FEDOBS_TAG} from '../federation/identity.js'
import type {LinodeApi} from '../linode/client.js'
import type {ApiCluster} from '../linode/types.js'
import {findByLabel} from '../services/clusters.js'

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
      suggestions: closest(name!, ['hub', ...names]),
      hint: 'Add it to the federation file, or check the spelling.',
      code: 'unknown-cluster',
    })
  }
  return {federation, clusters: [cluster]}
}

/** ` -f FILE` when the user named the file, so that a suggested command works from the same place. */
export function fileArgument(flags: {file?: string}): string {
  return flags.file === undefined ? '' : ` -f ${shellWord(flags.file)}`
}

export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

/** A name typed on a cluster command, resolved the one way every cluster command resolves it. */
export interface ResolvedName {
  /** The LKE label: the name of the federation's cluster, or the name as typed. */
  label: string
  /** The federation's cluster it names, if any. */
  spec?: ClusterSpec
  federation?: Federation
}

/**
 * `hub` (the word) and the federation file's names resolve to the file's cluster; without a
 * federation file (no -f, no ./fedobs.yaml) a name is an LKE label. "hub" without a file is a usage
 * error that says how to name the file, never a lookup of a cluster labelled "hub".
 */
export function resolveClusterName(flags: {file?: string}, name: string): ResolvedName {
  const file = resolveFederationFile(flags.file)
  const federation = file ? loadFederation({file}) : undefined
  const spec = federation ? findCluster(federation, name) : undefined
  if (spec) return {label: spec.name, spec, federation: federation!}
  if (name === 'hub') {
    throw new UsageError('"hub" names the hub of a federation file, and there is none here (no -f FILE, no ./fedobs.yaml)', {
      hint: 'Pass -f FILE, run where fedobs.yaml is, or name the cluster by its LKE label (see `fedobs cluster list`).',
      code: 'no-federation',
    })
  }
  return {label: name, ...(federation ? {federation} : {})}
}

/**
 * An unknown cluster name: exit 2, with suggestions only among names that resolve (the file's
 * clusters, "hub", and LKE clusters fedobs manages) and a hint whose command works as written.
 */
export function unknownClusterError(name: string, context: {flags: {file?: string}; federation?: Federation; cloudLabels: string[]}): UsageError {
  const fileNames = context.federation ? ['hub', ...allClusters(context.federation).map((c) => c.name)] : []
  const candidates = [...new Set([...fileNames, ...context.cloudLabels])]
  const where = context.federation ? 'in the federation file or among the LKE clusters' : 'among the LKE clusters'
  return new UsageError(`no cluster named "${name}" ${where}`, {
    suggestions: closest(name, candidates),
    hint: `See the clusters with \`fedobs cluster list${fileArgument(context.flags)}\`${context.federation ? '' : '; to name them by role ("hub") pass the federation file with -f FILE'}.`,
    code: 'unknown-cluster',
  })
}

/** The names of the LKE clusters fedobs manages (for suggestions); none when the list cannot be read. */
export async function managedLabels(api: LinodeApi): Promise<string[]> {
  try {
    return (await api.clustersByTag(FEDOBS_TAG)).map((c) => c.label)
  } catch {
    return []
  }
}

/**
 * The LKE cluster a resolved name stands for. Not there: a cluster of the federation file that was
 * never created says how to create it (a command that works as written); any other name is unknown.
 */
export async function requireExisting(api: LinodeApi, flags: {file?: string}, resolved: ResolvedName): Promise<ApiCluster> {
  const found = await findByLabel(api, resolved.label)
  if (found) return found
  if (resolved.spec) {
    throw new UsageError(`${resolved.spec.role} ${resolved.label} of the federation has not been created (no LKE cluster with that label)`, {
      hint: `Create it: \`fedobs cluster create ${resolved.label}${fileArgument(flags)}\`.`,
      code: 'not-created',
    })
  }
  return Promise.reject(unknownClusterError(resolved.label, {flags, ...(resolved.federation ? {federation: resolved.federation} : {}), cloudLabels: await managedLabels(api)}))
}

/** Refuse the hub (by "hub" or its name) where an edge is wanted, pointing at the command for the hub. */
export function refuseHubAsEdge(federation: Federation, name: string, hubCommand: string): void {
  if (findCluster(federation, name)?.role !== 'hub') return
  const edges = federation.edges.map((e) => e.name)
  throw new UsageError(`"${name}" is the hub (${federation.hub.name}), not an edge`, {
    hint: `For the hub: \`${hubCommand}\`${edges.length > 0 ? `. Edges: ${edges.join(', ')}` : ''}.`,
    code: 'not-an-edge',
  })
}
