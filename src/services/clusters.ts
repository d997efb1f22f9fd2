import {existsSync, rmSync} from 'node:fs'
import {clusterTag, FEDOBS_TAG, federationTag, roleFromTags, roleTag} from '../federation/identity.js'
import {clusterPath, issueForField} from '../federation/load.js'
import {isGpuPlan, type ClusterSpec, type Federation} from '../federation/model.js'
import {clusterKubeconfigPath, contextAlias, contextExists, lkeIdFromKubeconfig, mergeKubeconfig, removeClusterEntries, writeClusterKubeconfig, type MergeResult} from '../kube/kubeconfig.js'
import {planRelease, release, type ReleasePlan} from '../kube/release.js'
import {ConfigError, OperationError, UsageError, type ConfigIssue} from '../lib/errors.js'
import {closest} from '../lib/suggest.js'
import {formatDuration, type Clock} from '../lib/time.js'
import {LinodeApiError, retryDelayMs, type LinodeApi} from '../linode/client.js'
import {applyPoolDrift, clusterDrift, describeDrift, hasDrift, type AppliedDrift, type ClusterDrift} from './drift.js'
import type {ApiCluster, ApiNodeBalancer, ApiPool, ApiVolume, ClusterPayload} from '../linode/types.js'

export interface ClusterContext {
  api: LinodeApi
  /** The merged kubeconfig (--kubeconfig, KUBECONFIG, ~/.kube/config). */
  kubeconfig: string
  signal: AbortSignal
  /** Every wait runs on this clock. */
  clock: Clock
}

/** Progress of one cluster, e.g. "pool g6-standard-4: 2/3 nodes ready". */
export type Report = (message: string) => void

// ---------------------------------------------------------------- payloads and checks

export function clusterPayload(federation: Federation, cluster: ClusterSpec): ClusterPayload {
  if (!cluster.region) {
    throw new ConfigError([
      issueForField(federation, [...clusterPath(federation, cluster.name), 'region'], `cluster ${cluster.name} has no region`, {
        expected: 'a Linode region id such as us-ord (region: in the file, or --region)',
      }),
    ])
  }
  if (cluster.pools.length === 0) {
    throw new ConfigError([
      issueForField(federation, [...clusterPath(federation, cluster.name), 'pools'], `cluster ${cluster.name} has no node pools`, {
        expected: 'at least one pool (pools: in the file, or --pool TYPE:COUNT[:MIN-MAX])',
      }),
    ])
  }
  const ipv4 = cluster.controlPlaneAcl.filter((a) => !a.includes(':'))
  const ipv6 = cluster.controlPlaneAcl.filter((a) => a.includes(':'))
  const controlPlane: ClusterPayload['control_plane'] = {
    high_availability: cluster.highAvailability,
    ...(cluster.controlPlaneAcl.length > 0 ? {acl: {enabled: true, addresses: {...(ipv4.length > 0 ? {ipv4} : {}), ...(ipv6.length > 0 ? {ipv6} : {})}}} : {}),
  }
  return {
    label: cluster.name,
    region: cluster.region,
    k8s_version: cluster.k8sVersion,
    node_pools: cluster.pools.map((pool) => ({
      type: pool.type,
      count: pool.count,
      ...(pool.autoscaler ? {autoscaler: {enabled: true, min: pool.autoscaler.min, max: pool.autoscaler.max}} : {}),
    })),
    tags: [...new Set([FEDOBS_TAG, federationTag(federation.name), roleTag(cluster.role), clusterTag(cluster.name), ...cluster.tags])],
    control_plane: controlPlane,
  }
}

export interface CreateRequest {
  cluster: string
  role: string
  request: {method: 'POST'; path: string; body: ClusterPayload}
}

/**
 * `cluster create --dry-run`: the exact requests it would send, checked against the API (regions,
 * versions, plans) when a client can be had; `checked` is false when there is no token.
 */
export async function planCreate(federation: Federation, clusters: ClusterSpec[], api: () => Promise<LinodeApi>): Promise<{requests: CreateRequest[]; checked: boolean}> {
  const requests = clusters.map((cluster) => ({cluster: cluster.name, role: cluster.role, request: {method: 'POST' as const, path: '/v4beta/lke/clusters', body: clusterPayload(federation, cluster)}}))
  let client: LinodeApi
  try {
    client = await api()
  } catch (error) {
    if ((error as {code?: string}).code !== 'no-token') throw error
    return {requests, checked: false}
  }
  await checkAgainstApi(client, federation, clusters)
  return {requests, checked: true}
}

/**
 * Region, Kubernetes version and plan types against the API's own lists, before anything is
 * created. Every problem is reported at once, where the value came from, with the valid values.
 */
export async function checkAgainstApi(api: LinodeApi, federation: Federation, clusters: ClusterSpec[]): Promise<void> {
  const [regions, versions, types] = await Promise.all([api.regions(), api.kubernetesVersions(), api.linodeTypes()])
  const lkeRegions = regions.filter((r) => r.capabilities.includes('Kubernetes'))
  const regionIds = lkeRegions.map((r) => r.id)
  const typeIds = types.map((t) => t.id)
  const issues: ConfigIssue[] = []
  for (const cluster of clusters) {
    const at = clusterPath(federation, cluster.name)
    const region = lkeRegions.find((r) => r.id === cluster.region)
    if (!region) {
      const exists = regions.some((r) => r.id === cluster.region)
      issues.push(
        issueForField(federation, [...at, 'region'], exists ? `region "${cluster.region}" does not offer LKE` : `region "${cluster.region}" is not a Linode region`, {
          validValues: regionIds,
          ...(closest(cluster.region ?? '', regionIds, 1)[0] ? {suggestion: closest(cluster.region ?? '', regionIds, 1)[0]} : {}),
        }),
      )
    }
    if (!versions.includes(cluster.k8sVersion)) {
      issues.push(issueForField(federation, [...at, 'k8sVersion'], `Kubernetes version "${cluster.k8sVersion}" is not offered by LKE`, {validValues: versions}))
    }
    for (const [i, pool] of cluster.pools.entries()) {
      if (!typeIds.includes(pool.type)) {
        const suggestion = closest(pool.type, typeIds, 1)[0]
        issues.push(
          issueForField(federation, [...at, 'pools', i, 'type'], `"${pool.type}" is not a Linode plan`, {
            validValues: typeIds,
            ...(suggestion ? {suggestion} : {}),
          }),
        )
      } else if (isGpuPlan(pool.type) && region && !region.capabilities.includes('GPU Linodes')) {
        const gpuRegions = lkeRegions.filter((r) => r.capabilities.includes('GPU Linodes')).map((r) => r.id)
        issues.push(
          issueForField(federation, [...at, 'pools', i, 'type'], `GPU plan "${pool.type}" is not available in ${region.id}`, {expected: 'a region with GPU Linodes', validValues: gpuRegions}),
        )
      }
    }
  }
  if (issues.length > 0) throw new ConfigError(issues)
}

// ---------------------------------------------------------------- create

export interface CreateOptions {
  wait: boolean
  timeoutMs: number
  setContext: boolean
  report: Report
  /** Told what this run knows about the cluster as it learns it (for the summary after an interrupt). */
  track?: (event: TrackedCluster) => void
  /** An existing cluster whose pools differ from the file: apply the differences (else only report them). */
  updatePools?: boolean
}

/** What one run of `cluster create` knows about a cluster of the federation. */
export interface TrackedCluster {
  name: string
  /** A create request was sent: the cluster may exist even without an answer. */
  posted: boolean
  id?: number
  status?: string
  /** This run created it (it did not exist when the run looked). */
  createdByThisRun: boolean
}

export interface PoolProgress {
  type: string
  count: number
  ready: number
}

export interface CreatedCluster {
  name: string
  id: number
  reused: boolean
  status: string
  region: string
  kubeconfig?: MergeResult & {file: string}
  pools: PoolProgress[]
  waited: boolean
  /** An existing cluster that differs from the file (pools, version, tags). */
  drift?: ClusterDrift
  /** What --update-pools changed. */
  applied?: AppliedDrift
}

export async function findByLabel(api: LinodeApi, label: string): Promise<ApiCluster | undefined> {
  const found = (await api.clustersByLabel(label)).filter((c) => c.label === label)
  if (found.length > 1) {
    throw new OperationError(`${found.length} LKE clusters are labelled ${label} (ids ${found.map((c) => c.id).join(', ')}); fedobs will not guess which is the one`, {
      hint: 'Delete or relabel the extra clusters in Cloud Manager, then run again.',
    })
  }
  return found[0]
}

/**
 * Create (or find and reuse) the cluster, then wait for its kubeconfig and nodes. Idempotent:
 * a cluster with this label is reused, also when a create request failed after the API had in
 * fact accepted it, so there is never a duplicate.
 */
export async function createCluster(ctx: ClusterContext, federation: Federation, cluster: ClusterSpec, options: CreateOptions): Promise<CreatedCluster> {
  const payload = clusterPayload(federation, cluster)
  const {api} = ctx
  let found = await findByLabel(api, cluster.name)
  let reused = Boolean(found)
  if (found) {
    options.track?.({name: cluster.name, posted: false, id: found.id, status: found.status, createdByThisRun: false})
    options.report(`exists (id ${found.id}, ${found.status}): reusing it`)
    if (!found.tags.includes(FEDOBS_TAG)) options.report(`warning: cluster ${cluster.name} was not created by fedobs (no "${FEDOBS_TAG}" tag)`)
  } else {
    options.report(`creating in ${payload.region} (Kubernetes ${payload.k8s_version})`)
    options.track?.({name: cluster.name, posted: true, createdByThisRun: true})
    found = await createOnce(ctx, payload, options.report)
    options.track?.({name: cluster.name, posted: true, id: found.id, status: found.status, createdByThisRun: true})
    reused = false
  }
  let drift: ClusterDrift | undefined
  let applied: AppliedDrift | undefined
  if (reused) {
    const compared = clusterDrift(cluster, found, await api.pools(found.id), payload.tags)
    if (hasDrift(compared)) {
      drift = compared
      options.report(`differs from the file: ${describeDrift(compared).join('; ')}`)
      if (options.updatePools) applied = await applyPoolDrift(api, compared, options.report, found.tags)
    }
  }
  const result: CreatedCluster = {
    name: cluster.name,
    id: found.id,
    reused,
    status: found.status,
    region: found.region,
    pools: [],
    waited: options.wait,
    ...(drift ? {drift} : {}),
    ...(applied ? {applied} : {}),
  }
  if (!options.wait) return result
  const deadline = ctx.clock.now() + options.timeoutMs
  const [kubeconfig, pools] = await Promise.all([waitForKubeconfig(ctx, cluster.name, found.id, deadline, options), waitForNodes(ctx, found.id, deadline, options.report)])
  return {...result, status: 'ready', kubeconfig, pools}
}

async function createOnce(ctx: ClusterContext, payload: ClusterPayload, report: Report): Promise<ApiCluster> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await ctx.api.createCluster(payload)
    } catch (error) {
      // The request may have reached the API even though it failed or timed out: look first.
      const landed = await findByLabel(ctx.api, payload.label)
      if (landed) {
        report(`the create request failed, but the cluster exists (id ${landed.id}): using it`)
        return landed
      }
      const retryable = error instanceof LinodeApiError && (error.status === undefined || error.status === 408 || error.status >= 500) && !error.maintenance
      if (!retryable || attempt >= 4) throw error
      const delay = retryDelayMs(error.retryAfterMs === undefined ? undefined : error.retryAfterMs / 1000, attempt)
      report(`create failed (${error.status ?? 'network'}); retrying in ${formatDuration(delay)}`)
      await ctx.clock.sleep(delay, ctx.signal)
    }
  }
}

async function waitForKubeconfig(ctx: ClusterContext, name: string, id: number, deadline: number, options: CreateOptions): Promise<MergeResult & {file: string}> {
  const started = ctx.clock.now()
  for (;;) {
    const answer = await ctx.api.kubeconfig(id)
    if (answer.ready) {
      const file = clusterKubeconfigPath(ctx.kubeconfig, name)
      writeClusterKubeconfig(file, answer.yaml)
      const merged = await mergeKubeconfig(ctx.kubeconfig, answer.yaml, {cluster: name, setCurrent: options.setContext})
      options.report(`kubeconfig merged: context ${merged.alias} (and ${merged.context})`)
      return {...merged, file}
    }
    const delay = kubeconfigPollDelay(answer.retryAfterMs)
    if (ctx.clock.now() + delay > deadline) {
      throw new OperationError(`timed out after ${formatDuration(ctx.clock.now() - started)} waiting for the kubeconfig of ${name} (id ${id})`, {
        hint: `The cluster exists; run \`fedobs cluster kubeconfig ${name}\` later, or re-run with a longer --timeout.`,
      })
    }
    options.report(`kubeconfig not available yet (${formatDuration(ctx.clock.now() - started)})`)
    await ctx.clock.sleep(delay, ctx.signal)
  }
}

const NODE_POLL_MS = 20_000
const KUBECONFIG_POLL_MAX_MS = 12_000

/**
 * "Not available yet" is a wait, not an error: poll at the API's Retry-After, but at least every
 * 12 s, so the kubeconfig is noticed within seconds of existing (LKE answers Retry-After: 20).
 */
function kubeconfigPollDelay(retryAfterMs: number | undefined): number {
  const base = Math.min(KUBECONFIG_POLL_MAX_MS, Math.max(3000, retryAfterMs ?? KUBECONFIG_POLL_MAX_MS))
  return Math.round(base * (0.9 + Math.random() * 0.2))
}

function poolProgress(pools: ApiPool[]): PoolProgress[] {
  return pools.map((p) => ({type: p.type, count: p.count, ready: p.nodes.filter((n) => n.status === 'ready' && n.instance_id !== null).length}))
}

async function waitForNodes(ctx: ClusterContext, id: number, deadline: number, report: Report): Promise<PoolProgress[]> {
  let last = ''
  for (;;) {
    const progress = poolProgress(await ctx.api.pools(id))
    const line = progress.map((p) => `${p.type} ${p.ready}/${p.count}`).join(', ')
    if (line !== last) {
      report(`nodes ready: ${line}`)
      last = line
    }
    if (progress.length > 0 && progress.every((p) => p.ready >= p.count)) return progress
    if (ctx.clock.now() + NODE_POLL_MS > deadline) {
      const waiting = progress.filter((p) => p.ready < p.count).map((p) => `${p.type} (${p.ready}/${p.count})`)
      throw new OperationError(`timed out waiting for nodes of cluster ${id}: ${waiting.join(', ')} not ready`, {
        hint: 'GPU pools can take several minutes; re-run the same command with a longer --timeout: it picks up where it stopped.',
      })
    }
    await ctx.clock.sleep(NODE_POLL_MS, ctx.signal)
  }
}

/**
 * After an interrupted create: each cluster as it is now. What the run tracked is re-read from the
 * API where it can be (status moves on; a create request in flight may have landed), within a short
 * budget: the user is waiting to get their prompt back.
 */
export async function interruptedState(api: LinodeApi | undefined, names: string[], tracked: Map<string, TrackedCluster>): Promise<Array<TrackedCluster & {exists: boolean | 'unknown'}>> {
  return Promise.all(
    names.map(async (name) => {
      const known = tracked.get(name) ?? {name, posted: false, createdByThisRun: false}
      let found: ApiCluster | undefined
      try {
        if (!api) throw new Error('no client')
        found = await findByLabel(api, name)
      } catch {
        return {...known, exists: known.id !== undefined ? true : known.posted ? ('unknown' as const) : false}
      }
      if (!found) return {...known, exists: false}
      return {...known, id: found.id, status: found.status, createdByThisRun: known.posted, exists: true}
    }),
  )
}

// ---------------------------------------------------------------- kubeconfig

export async function refreshKubeconfig(ctx: ClusterContext, name: string, options: {timeoutMs: number; setContext: boolean; report: Report}): Promise<MergeResult & {file: string; id: number}> {
  const found = await findByLabel(ctx.api, name)
  if (!found) throw new UsageError(`no LKE cluster labelled ${name}`, {hint: 'See the clusters with `fedobs cluster list`.', code: 'unknown-cluster'})
  const merged = await waitForKubeconfig(ctx, name, found.id, ctx.clock.now() + options.timeoutMs, {...options, wait: true})
  return {...merged, id: found.id}
}

// ---------------------------------------------------------------- list

export interface ClusterRow {
  id?: number
  label: string
  role?: string
  region?: string
  version?: string
  status: string
  nodesReady: number
  nodesTotal: number
  context?: string
}

export async function listClusters(ctx: ClusterContext, federation?: Federation): Promise<ClusterRow[]> {
  const tagged = await ctx.api.clustersByTag(federation ? federationTag(federation.name) : FEDOBS_TAG)
  const rows = await Promise.all(
    tagged.map(async (cluster): Promise<ClusterRow> => {
      const progress = poolProgress(await ctx.api.pools(cluster.id))
      const alias = contextAlias(cluster.label)
      return {
        id: cluster.id,
        label: cluster.label,
        ...(roleFromTags(cluster.tags) ? {role: roleFromTags(cluster.tags)} : {}),
        region: cluster.region,
        version: cluster.k8s_version,
        status: cluster.status,
        nodesReady: progress.reduce((n, p) => n + p.ready, 0),
        nodesTotal: progress.reduce((n, p) => n + p.count, 0),
        ...(contextExists(ctx.kubeconfig, alias) ? {context: alias} : {}),
      }
    }),
  )
  if (federation) {
    // Clusters of the file that do not exist yet are listed too.
    for (const spec of [federation.hub, ...federation.edges]) {
      if (!rows.some((r) => r.label === spec.name)) {
        rows.push({label: spec.name, role: spec.role, ...(spec.region ? {region: spec.region} : {}), version: spec.k8sVersion, status: 'not created', nodesReady: 0, nodesTotal: 0})
      }
    }
  }
  return rows.sort((a, b) => (a.role === b.role ? a.label.localeCompare(b.label) : a.role === 'hub' ? -1 : 1))
}

// ---------------------------------------------------------------- delete

export interface DeletePlan {
  name: string
  cluster?: {id: number; region: string; status: string; tags: string[]}
  /** Known LKE id even when the cluster is already gone (from the kubeconfig). */
  id?: number
  release: ReleasePlan & {reachable: boolean; error?: string}
  nodeBalancers: Array<{id: number; label: string}>
  volumes: Array<{id: number; label: string; attached: boolean}>
  kubeconfigFile?: string
}

export interface DeleteResult extends DeletePlan {
  deleted: boolean
  alreadyGone: boolean
  removedKubeconfig: {clusters: string[]; users: string[]; contexts: string[]}
  leftBehind: string[]
}

function ownVolumes(volumes: ApiVolume[], name: string): ApiVolume[] {
  return volumes.filter((v) => v.tags.includes(clusterTag(name)))
}

function clusterNodeBalancers(nodeBalancers: ApiNodeBalancer[], id: number | undefined): ApiNodeBalancer[] {
  return id === undefined ? [] : nodeBalancers.filter((nb) => nb.lke_cluster?.id === id)
}

export async function planDelete(ctx: ClusterContext, name: string, options: {force: boolean}): Promise<DeletePlan> {
  const found = await findByLabel(ctx.api, name)
  if (found && !found.tags.includes(FEDOBS_TAG) && !options.force) {
    throw new UsageError(`cluster ${name} (id ${found.id}) was not created by fedobs (no "${FEDOBS_TAG}" tag); refusing to delete it`, {
      hint: 'Pass --force to delete it anyway.',
      code: 'not-ours',
    })
  }
  const id = found?.id ?? lkeIdFromKubeconfig(ctx.kubeconfig, name)
  const file = clusterKubeconfigPath(ctx.kubeconfig, name)
  const releasePlan = found && existsSync(file) ? await planRelease(file) : {reachable: false, loadBalancers: [], claims: [], ...(found ? {error: 'no kubeconfig'} : {})}
  const [nodeBalancers, volumes] = await Promise.all([ctx.api.nodeBalancers(), ctx.api.volumes()])
  return {
    name,
    ...(found ? {cluster: {id: found.id, region: found.region, status: found.status, tags: found.tags}} : {}),
    ...(id !== undefined ? {id} : {}),
    release: releasePlan,
    nodeBalancers: clusterNodeBalancers(nodeBalancers, id).map((nb) => ({id: nb.id, label: nb.label})),
    volumes: ownVolumes(volumes, name).map((v) => ({id: v.id, label: v.label, attached: v.linode_id !== null})),
    ...(existsSync(file) ? {kubeconfigFile: file} : {}),
  }
}

const RELEASE_WAIT_MS = 3 * 60_000
const DETACH_WAIT_MS = 5 * 60_000
const SWEEP_POLL_MS = 10_000

/**
 * Delete a cluster and what LKE leaves behind: release LoadBalancers and volumes while the cluster
 * lives, delete it, sweep its NodeBalancers (by lke_cluster.id) and its detached tagged volumes,
 * and remove the kubeconfig entries fedobs added. Already gone is success.
 */
export async function executeDelete(ctx: ClusterContext, plan: DeletePlan, report: Report): Promise<DeleteResult> {
  const {api} = ctx
  const leftBehind: string[] = []
  if (plan.cluster && plan.release.reachable && plan.kubeconfigFile && (plan.release.loadBalancers.length > 0 || plan.release.claims.length > 0)) {
    report(`releasing ${plan.release.loadBalancers.length} LoadBalancer service(s) and ${plan.release.claims.length} volume claim(s)`)
    await release(plan.kubeconfigFile, plan.release)
    // Give the cloud controller time to delete the NodeBalancers it owns.
    const until = ctx.clock.now() + RELEASE_WAIT_MS
    while (ctx.clock.now() < until && clusterNodeBalancers(await api.nodeBalancers(), plan.cluster.id).length > 0) await ctx.clock.sleep(SWEEP_POLL_MS, ctx.signal)
  } else if (plan.cluster && !plan.release.reachable) {
    report(`could not reach the cluster's API server (${plan.release.error ?? 'unreachable'}); NodeBalancers and volumes will be swept after deletion`)
  }

  let deleted = false
  if (plan.cluster) {
    report(`deleting LKE cluster ${plan.cluster.id}`)
    deleted = await api.deleteCluster(plan.cluster.id)
  }

  for (const nb of clusterNodeBalancers(await api.nodeBalancers(), plan.id)) {
    report(`deleting NodeBalancer ${nb.label} (${nb.id})`)
    await api.deleteNodeBalancer(nb.id)
  }

  // Volumes detach when their nodes go away; delete only detached ones that carry our tag.
  const until = ctx.clock.now() + (plan.cluster ? DETACH_WAIT_MS : 0)
  for (;;) {
    const volumes = ownVolumes(await api.volumes(), plan.name)
    for (const volume of volumes.filter((v) => v.linode_id === null)) {
      report(`deleting volume ${volume.label} (${volume.id})`)
      await api.deleteVolume(volume.id)
    }
    const attached = volumes.filter((v) => v.linode_id !== null)
    if (attached.length === 0) break
    if (ctx.clock.now() + SWEEP_POLL_MS > until) {
      leftBehind.push(...attached.map((v) => `volume ${v.label} (${v.id}) is still attached to Linode ${v.linode_id}`))
      break
    }
    await ctx.clock.sleep(SWEEP_POLL_MS, ctx.signal)
  }

  const removal = await removeClusterEntries(ctx.kubeconfig, plan.name)
  if (plan.kubeconfigFile) rmSync(plan.kubeconfigFile, {force: true})
  return {...plan, deleted, alreadyGone: !plan.cluster, removedKubeconfig: removal.removed, leftBehind}
}
