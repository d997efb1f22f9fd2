import {randomBytes} from 'node:crypto'
import {isGpuPlan} from '../federation/model.js'
import {KubeApiError, objectKey, toKubeError, typedForApply, type Kube, type KubeObject} from '../kube/client.js'
import {OperationError} from '../lib/errors.js'
import type {Report} from '../lib/progress.js'
import {formatDuration, type Clock} from '../lib/time.js'
import {FIELD_MANAGER, LABELS, NAMESPACES, kindRank, type K8sObject, type Rendering} from '../render/render.js'
import {SECRETS} from '../render/security.js'

export type ApplyAction = 'created' | 'configured' | 'unchanged'

export interface AppliedObject {
  key: string
  action: ApplyAction
  /** Set when the server could not check it (dry run into a namespace that does not exist yet). */
  note?: string
}

export interface DeployOptions {
  dryRun: boolean
  forceConflicts: boolean
  prune: boolean
  wait: boolean
  timeoutMs: number
  report: Report
  signal: AbortSignal
  /** Every wait runs on this clock. */
  clock: Clock
  /**
   * Runs once the namespaces exist and before anything else is applied: creates what the
   * workloads need that is never rendered (Secrets with keys and passwords).
   */
  prepare?: () => Promise<void>
}

export interface DeployResult {
  cluster: string
  role: string
  context: string
  dryRun: boolean
  applied: AppliedObject[]
  counts: Record<ApplyAction, number>
  pruned: string[]
  gpuNodesLabelled: string[]
  patchedAgents: string[]
  replaced: string[]
  ready: boolean
  gatewayAddress?: string
  /** Every external address of the gateway LoadBalancer (IPv4, IPv6, hostname). */
  gatewayAddresses?: string[]
  grafanaSecretCreated?: boolean
  /** Real milliseconds: fedobs's own work (apply, prune) vs waiting for the cluster. */
  timings: {applyMs: number; pruneMs: number; waitMs: number}
}

export const GPU_LABEL = 'nvidia.com/gpu.present'
const POLL_MS = 2000

/** Kinds fedobs renders and may prune. Never PVCs (data) nor Namespaces (may hold other things). */
const PRUNABLE: Array<{apiVersion: string; kind: string}> = [
  {apiVersion: 'v1', kind: 'ConfigMap'},
  {apiVersion: 'v1', kind: 'Service'},
  {apiVersion: 'v1', kind: 'ServiceAccount'},
  {apiVersion: 'apps/v1', kind: 'Deployment'},
  {apiVersion: 'apps/v1', kind: 'DaemonSet'},
  {apiVersion: 'apps/v1', kind: 'StatefulSet'},
  {apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler'},
  {apiVersion: 'policy/v1', kind: 'PodDisruptionBudget'},
  {apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole'},
  {apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding'},
  {apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass'},
  {apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy'},
]

const WORKLOADS = new Set(['Deployment', 'DaemonSet', 'StatefulSet'])

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({length: Math.min(limit, items.length)}, async () => {
      while (next < items.length) {
        const index = next++
        results[index] = await fn(items[index]!)
      }
    }),
  )
  return results
}

async function read(kube: Kube, object: {apiVersion: string; kind: string; metadata: {name: string; namespace?: string}}): Promise<KubeObject | undefined> {
  try {
    return (await kube.objects.read(object)) as KubeObject
  } catch (error) {
    if ((error as {code?: number}).code === 404) return undefined
    throw toKubeError(error, `reading ${objectKey(object)}`)
  }
}

function comparable(object: KubeObject | undefined): string {
  if (!object) return ''
  const {metadata, status, ...rest} = object
  void status
  const meta = {labels: metadata?.labels ?? {}, annotations: metadata?.annotations ?? {}}
  return JSON.stringify({...rest, meta})
}

/** Server-side apply of one object; reports whether it was created, changed or already so. */
async function applyOne(kube: Kube, object: K8sObject, options: Pick<DeployOptions, 'dryRun' | 'forceConflicts'>, inventory?: Map<string, KubeObject>): Promise<AppliedObject> {
  const key = objectKey(object)
  // What fedobs owns is known from one list per kind; anything else (new, or made another way) is read.
  const before = inventory?.get(key) ?? (await read(kube, object))
  let after: KubeObject
  try {
    after = (await kube.objects.patch(typedForApply(kube, object as KubeObject) as K8sObject, undefined, options.dryRun ? 'All' : undefined, FIELD_MANAGER, options.forceConflicts, kube.k8s.PatchStrategy.ServerSideApply)) as KubeObject
  } catch (error) {
    throw explainApplyError(toKubeError(error, `applying ${key}`), key)
  }
  if (!before) return {key, action: 'created'}
  const changed = options.dryRun ? comparable(before) !== comparable(after) : before.metadata?.resourceVersion !== after.metadata?.resourceVersion
  return {key, action: changed ? 'configured' : 'unchanged'}
}

function explainApplyError(error: unknown, key: string): unknown {
  if (!(error instanceof KubeApiError)) return error
  if (error.status === 409) {
    const managers = [...new Set(error.causes.map((c) => /conflict with "([^"]+)"/.exec(c.message ?? '')?.[1]).filter(Boolean))]
    const fields = error.causes.map((c) => c.field).filter(Boolean)
    return new OperationError(`${key}: fields are managed by ${managers.map((m) => `"${m}"`).join(', ') || 'another field manager'}${fields.length > 0 ? ` (${fields.slice(0, 3).join(', ')}${fields.length > 3 ? ', ...' : ''})` : ''}`, {
      hint: 'Another tool (e.g. kubectl apply) owns these fields. Re-run with --force-conflicts to let fedobs take them over.',
      code: 'apply-conflict',
    })
  }
  if (error.status === 422 && /immutable/.test(error.message)) {
    return new OperationError(`${key}: ${error.message.replace(/^applying [^:]+: /, '')}`, {
      hint: 'The object was created another way with a different selector; re-run with --force-conflicts to replace it.',
      code: 'immutable',
    })
  }
  return error
}

/** Apply in dependency order: each kind rank waits for the previous one; within a rank, concurrently. */
async function applyAll(kube: Kube, objects: K8sObject[], options: DeployOptions, replaced: string[], inventory: Map<string, KubeObject>): Promise<AppliedObject[]> {
  const ranks = [...new Set(objects.map((o) => kindRank(o.kind)))].sort((a, b) => a - b)
  const results: AppliedObject[] = []
  // A server-side dry run cannot create namespaces, so objects in new namespaces cannot be checked.
  const existingNamespaces = options.dryRun ? new Set((await kube.core.listNamespace()).items.map((n) => n.metadata?.name)) : undefined
  let prepared = false
  for (const rank of ranks) {
    if (!prepared && rank > kindRank('Namespace')) {
      prepared = true
      await options.prepare?.()
    }
    const group = objects.filter((o) => kindRank(o.kind) === rank)
    results.push(
      ...(await mapLimit(group, 8, async (object) => {
        const namespace = object.metadata.namespace
        if (existingNamespaces && namespace && !existingNamespaces.has(namespace)) {
          return {key: objectKey(object), action: 'created' as const, note: `namespace ${namespace} does not exist yet: not checked by the server`}
        }
        try {
          return await applyOne(kube, object, options, inventory)
        } catch (error) {
          if (options.forceConflicts && (error as {code?: string}).code === 'immutable' && WORKLOADS.has(object.kind) && !options.dryRun) {
            // Replace a workload created another way (e.g. the seed's kubectl apply) whose selector differs.
            options.report(`replacing ${objectKey(object)} (its selector cannot change in place)`)
            await kube.objects.delete(object, undefined, undefined, undefined, undefined, 'Foreground').catch(() => undefined)
            await waitGone(kube, object, options)
            replaced.push(objectKey(object))
            const created = await applyOne(kube, object, options)
            return {...created, action: 'created' as const}
          }
          throw error
        }
      })),
    )
  }
  return results
}

async function waitGone(kube: Kube, object: K8sObject, options: DeployOptions): Promise<void> {
  const until = options.clock.now() + 120_000
  while (options.clock.now() < until) {
    if (!(await read(kube, object))) return
    await options.clock.sleep(1000, options.signal)
  }
  throw new OperationError(`${objectKey(object)} did not go away in time`)
}

/** Everything fedobs applied to this cluster, from one list per kind (rendered kinds and prunable ones). */
async function ownedObjects(kube: Kube, cluster: string, desired: K8sObject[]): Promise<Map<string, KubeObject>> {
  const selector = `${LABELS.managedBy}=fedobs,${LABELS.cluster}=${cluster}`
  const kinds = new Map<string, {apiVersion: string; kind: string}>()
  for (const k of [...PRUNABLE, ...desired.map((o) => ({apiVersion: o.apiVersion, kind: o.kind}))]) kinds.set(`${k.apiVersion}/${k.kind}`, k)
  const lists = await Promise.all(
    [...kinds.values()].map(async ({apiVersion, kind}) => {
      try {
        const list = await kube.objects.list(apiVersion, kind, undefined, undefined, undefined, undefined, undefined, selector)
        return (list.items as KubeObject[]).map((item) => ({...item, apiVersion, kind}))
      } catch (error) {
        if ((error as {code?: number}).code === 404) return []
        throw toKubeError(error, `listing ${kind}`)
      }
    }),
  )
  return new Map(lists.flat().map((o) => [objectKey(o), o]))
}

/** Objects fedobs applied to this cluster earlier and no longer renders. */
function pruneCandidates(inventory: Map<string, KubeObject>, desired: K8sObject[]): KubeObject[] {
  const wanted = new Set(desired.map((o) => objectKey(o)))
  const prunable = new Set(PRUNABLE.map((k) => k.kind))
  return [...inventory.values()].filter((o) => prunable.has(o.kind!) && !wanted.has(objectKey(o)) && !o.metadata?.deletionTimestamp)
}

// ---------------------------------------------------------------- GPU nodes and seed agents

/** LKE does not label GPU nodes; the NVIDIA stack and the inference demo select on this label. */
export async function labelGpuNodes(kube: Kube, dryRun: boolean): Promise<string[]> {
  let nodes: KubeObject[]
  try {
    nodes = (await kube.core.listNode()).items as KubeObject[]
  } catch (error) {
    throw toKubeError(error, 'listing nodes')
  }
  const labelled: string[] = []
  for (const node of nodes) {
    const capacity = Number((node.status?.capacity ?? {})['nvidia.com/gpu'] ?? 0)
    const plan = node.metadata?.labels?.['node.kubernetes.io/instance-type'] ?? ''
    if (!(capacity > 0 || isGpuPlan(plan)) || node.metadata?.labels?.[GPU_LABEL] === 'true') continue
    if (!dryRun) {
      try {
        await kube.objects.patch({apiVersion: 'v1', kind: 'Node', metadata: {name: node.metadata!.name!, labels: {[GPU_LABEL]: 'true'}}}, undefined, undefined, 'fedobs-gpu-labeler', undefined, kube.k8s.PatchStrategy.MergePatch)
      } catch (error) {
        throw toKubeError(error, `labelling node ${node.metadata?.name}`)
      }
    }
    labelled.push(node.metadata!.name!)
  }
  return labelled
}

/**
 * An agent DaemonSet deployed by hand the seed's way (not by fedobs) lacks K8S_NODE_IP, so its
 * kubelet stats fail on LKE (node names do not resolve): patch it in, like the seed's fix.
 */
async function patchSeedAgent(kube: Kube, dryRun: boolean): Promise<string[]> {
  const existing = await read(kube, {apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: {name: 'otel-agent', namespace: NAMESPACES.observability}})
  if (!existing || existing.metadata?.labels?.[LABELS.managedBy] === 'fedobs') return []
  const containers = (existing.spec?.template?.spec?.containers ?? []) as Array<{name: string; env?: Array<{name: string}>}>
  const first = containers[0]
  if (!first || (first.env ?? []).some((e) => e.name === 'K8S_NODE_IP')) return []
  const env = {name: 'K8S_NODE_IP', valueFrom: {fieldRef: {fieldPath: 'status.hostIP'}}}
  const patch = first.env ? [{op: 'add', path: '/spec/template/spec/containers/0/env/-', value: env}] : [{op: 'add', path: '/spec/template/spec/containers/0/env', value: [env]}]
  if (!dryRun) {
    try {
      await kube.apps.patchNamespacedDaemonSet({name: 'otel-agent', namespace: NAMESPACES.observability, body: patch}, kube.k8s.setHeaderOptions('Content-Type', kube.k8s.PatchStrategy.JsonPatch))
    } catch (error) {
      throw toKubeError(error, 'patching K8S_NODE_IP into DaemonSet observability/otel-agent')
    }
  }
  return [`DaemonSet ${NAMESPACES.observability}/otel-agent`]
}

// ---------------------------------------------------------------- readiness

interface Readiness {
  key: string
  ready: boolean
  summary: string
}

function readiness(object: KubeObject): Readiness {
  const key = objectKey(object)
  const s = object.status ?? {}
  const observed = (s.observedGeneration ?? 0) >= (object.metadata?.generation ?? 0)
  switch (object.kind) {
    case 'Deployment': {
      const want = object.spec?.replicas ?? 1
      const available = s.availableReplicas ?? 0
      return {key, ready: observed && (s.updatedReplicas ?? 0) >= want && available >= want && (s.replicas ?? 0) === want, summary: `${available}/${want} available`}
    }
    case 'StatefulSet': {
      const want = object.spec?.replicas ?? 1
      const ready = s.readyReplicas ?? 0
      return {key, ready: observed && ready >= want && (s.updatedReplicas ?? 0) >= want, summary: `${ready}/${want} ready`}
    }
    case 'DaemonSet': {
      const want = s.desiredNumberScheduled ?? 0
      const ready = s.numberReady ?? 0
      return {key, ready: observed && ready >= want && (s.updatedNumberScheduled ?? 0) >= want, summary: `${ready}/${want} nodes ready`}
    }
    default:
      return {key, ready: true, summary: ''}
  }
}

/** Why a workload is not ready: pending pods with the scheduler's message, and recent events. */
async function diagnose(kube: Kube, object: KubeObject): Promise<string[]> {
  const namespace = object.metadata?.namespace ?? 'default'
  const selector = Object.entries((object.spec?.selector?.matchLabels ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',')
  const lines: string[] = []
  try {
    const pods = (await kube.core.listNamespacedPod({namespace, labelSelector: selector})).items
    for (const pod of pods) {
      const phase = pod.status?.phase ?? 'Unknown'
      if (phase === 'Running' && pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue
      const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False')
      const waiting = pod.status?.containerStatuses?.map((c) => c.state?.waiting?.reason).filter(Boolean) ?? []
      lines.push(`pod ${pod.metadata?.name}: ${phase}${scheduled?.message ? ` — ${scheduled.message}` : ''}${waiting.length > 0 ? ` (${waiting.join(', ')})` : ''}`)
    }
    if (pods.length === 0) lines.push('no pods created yet')
    const events = (await kube.core.listNamespacedEvent({namespace})).items
      .filter((e) => e.type === 'Warning' && (e.involvedObject?.name === object.metadata?.name || pods.some((p) => p.metadata?.name === e.involvedObject?.name)))
      .sort((a, b) => String(b.lastTimestamp ?? b.eventTime ?? '').localeCompare(String(a.lastTimestamp ?? a.eventTime ?? '')))
      .slice(0, 3)
    for (const event of events) lines.push(`event ${event.reason}: ${event.message}`)
  } catch (error) {
    lines.push(`(could not inspect pods: ${(toKubeError(error, 'inspect') as Error).message})`)
  }
  return lines
}

async function gatewayAddress(kube: Kube): Promise<string | undefined> {
  return (await gatewayAddresses(kube))[0]
}

/** Every ingress address of the gateway LoadBalancer (what its certificate must cover). */
async function gatewayAddresses(kube: Kube): Promise<string[]> {
  const service = await read(kube, {apiVersion: 'v1', kind: 'Service', metadata: {name: 'otel-gateway-external', namespace: NAMESPACES.hub}})
  const ingress = (service?.status?.loadBalancer?.ingress ?? []) as Array<{ip?: string; hostname?: string}>
  return ingress.flatMap((i) => [i.ip, i.hostname].filter((a): a is string => Boolean(a)))
}

/**
 * Wait until every workload is ready (and, on the hub, the gateway has an external address).
 * GPU nodes that join meanwhile are labelled as they appear.
 */
async function waitReady(kube: Kube, rendering: Rendering, options: DeployOptions, labelled: string[]): Promise<{ready: boolean; address?: string}> {
  const workloads = rendering.objects.filter((o) => WORKLOADS.has(o.kind))
  const isHub = rendering.cluster.role === 'hub'
  const deadline = options.clock.now() + options.timeoutMs
  const last = new Map<string, string>()
  for (;;) {
    labelled.push(...(await labelGpuNodes(kube, false)))
    const states = await mapLimit(workloads, 8, async (w) => {
      const live = await read(kube, w)
      return {object: live ?? (w as KubeObject), state: live ? readiness({...live, kind: w.kind}) : {key: objectKey(w), ready: false, summary: 'missing'}}
    })
    for (const {state} of states) {
      if (last.get(state.key) !== state.summary) {
        options.report(`${state.key}: ${state.summary}${state.ready ? ' ✔' : ''}`)
        last.set(state.key, state.summary)
      }
    }
    const address = isHub ? await gatewayAddress(kube) : undefined
    const pending = states.filter((s) => !s.state.ready)
    if (pending.length === 0 && (!isHub || address)) return {ready: true, ...(address ? {address} : {})}
    if (options.clock.now() + POLL_MS > deadline) {
      const details: string[] = []
      for (const {object, state} of pending) {
        details.push(`${state.key}: ${state.summary}`)
        for (const line of await diagnose(kube, object)) details.push(`  ${line}`)
      }
      if (isHub && !address) details.push('Service observability-hub/otel-gateway-external has no external address yet (the cloud controller creates a NodeBalancer for it)')
      throw new OperationError(`not ready after ${formatDuration(options.timeoutMs)}:\n${details.join('\n')}`, {
        hint: 'Fix what is named above, or re-run with a longer --timeout; re-running is safe.',
        code: 'not-ready',
      })
    }
    await options.clock.sleep(POLL_MS, options.signal)
  }
}

/**
 * The Grafana admin password lives in a Secret fedobs creates once, before Grafana starts (Grafana
 * requires it: it never starts with a default password), and never prints.
 */
export async function ensureGrafanaSecret(kube: Kube, dryRun: boolean): Promise<boolean> {
  const existing = await read(kube, {apiVersion: 'v1', kind: 'Secret', metadata: {name: SECRETS.grafanaAdmin, namespace: NAMESPACES.monitoring}})
  if (existing || dryRun) return false
  try {
    await kube.core.createNamespacedSecret({
      namespace: NAMESPACES.monitoring,
      body: {
        metadata: {name: SECRETS.grafanaAdmin, labels: {[LABELS.name]: 'grafana', [LABELS.component]: 'dashboards', [LABELS.partOf]: 'fedobs'}},
        type: 'Opaque',
        stringData: {'admin-password': randomBytes(18).toString('base64url')},
      },
    })
  } catch (error) {
    if ((error as {code?: number}).code === 409) return false
    throw toKubeError(error, 'creating Secret monitoring/grafana-admin')
  }
  return true
}

// ---------------------------------------------------------------- deploy

export async function deployRendering(kube: Kube, rendering: Rendering, options: DeployOptions): Promise<DeployResult> {
  const {cluster} = rendering
  const labelled = await labelGpuNodes(kube, options.dryRun)
  for (const node of labelled) options.report(`labelled GPU node ${node} ${GPU_LABEL}=true`)
  const patchedAgents = await patchSeedAgent(kube, options.dryRun)
  for (const agent of patchedAgents) options.report(`patched K8S_NODE_IP into ${agent} (deployed without fedobs)`)

  const replaced: string[] = []
  const started = performance.now()
  const inventory = await ownedObjects(kube, cluster.name, rendering.objects)
  let grafanaSecretCreated: boolean | undefined
  const prepare = async (): Promise<void> => {
    if (cluster.role === 'hub') grafanaSecretCreated = await ensureGrafanaSecret(kube, options.dryRun)
    await options.prepare?.()
  }
  const applied = await applyAll(kube, rendering.objects, {...options, prepare}, replaced, inventory)
  const applyMs = performance.now() - started
  const counts = {created: 0, configured: 0, unchanged: 0}
  for (const a of applied) counts[a.action]++
  options.report(`${options.dryRun ? 'would apply' : 'applied'} ${applied.length} objects: ${counts.created} created, ${counts.configured} changed, ${counts.unchanged} unchanged`)

  const pruned: string[] = []
  const pruneStarted = performance.now()
  if (options.prune) {
    for (const object of pruneCandidates(inventory, rendering.objects)) {
      const key = objectKey(object)
      if (!options.dryRun) {
        try {
          await kube.objects.delete(object as never)
        } catch (error) {
          if ((error as {code?: number}).code !== 404) throw toKubeError(error, `pruning ${key}`)
        }
      }
      pruned.push(key)
      options.report(`${options.dryRun ? 'would prune' : 'pruned'} ${key} (no longer rendered)`)
    }
  }

  const pruneMs = performance.now() - pruneStarted
  let ready = false
  let address: string | undefined
  const waitStarted = performance.now()
  if (options.wait && !options.dryRun) {
    const waited = await waitReady(kube, rendering, options, labelled)
    ready = waited.ready
    address = waited.address
  }
  const addresses = cluster.role === 'hub' && !options.dryRun ? await gatewayAddresses(kube) : []
  return {
    cluster: cluster.name,
    role: cluster.role,
    context: kube.context,
    dryRun: options.dryRun,
    applied,
    counts,
    pruned,
    gpuNodesLabelled: [...new Set(labelled)],
    patchedAgents,
    replaced,
    ready,
    ...(address ? {gatewayAddress: address} : {}),
    ...(addresses.length > 0 ? {gatewayAddresses: addresses} : {}),
    ...(grafanaSecretCreated !== undefined ? {grafanaSecretCreated} : {}),
    timings: {applyMs: Math.round(applyMs), pruneMs: Math.round(pruneMs), waitMs: Math.round(performance.now() - waitStarted)},
  }
}

export {gatewayAddress, gatewayAddresses, read as readObject, applyOne}
