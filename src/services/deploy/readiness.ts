/** Waiting until a rendering's workloads are ready, and saying why when they are not. */
import {objectKey, type Kube, type KubeObject} from '../../kube/api.js'
import {mapLimit} from '../../lib/concurrency.js'
import {OperationError} from '../../lib/errors.js'
import {formatDuration} from '../../lib/time.js'
import type {Rendering} from '../../render/render.js'
import {WORKLOADS} from './apply.js'
import {gatewayAddress} from './gateway.js'
import {labelGpuNodes} from './gpu-nodes.js'
import type {DeployOptions} from './types.js'

const POLL_MS = 2000

/** The fields of a Deployment, StatefulSet or DaemonSet that readiness reads. */
interface WorkloadSpec {
  replicas?: number
  selector?: {matchLabels?: Record<string, string>}
}
interface WorkloadStatus {
  observedGeneration?: number
  replicas?: number
  availableReplicas?: number
  updatedReplicas?: number
  readyReplicas?: number
  desiredNumberScheduled?: number
  numberReady?: number
  updatedNumberScheduled?: number
}

interface Readiness {
  key: string
  ready: boolean
  summary: string
}

export function readiness(object: KubeObject): Readiness {
  const key = objectKey(object)
  const s = (object.status ?? {}) as WorkloadStatus
  const spec = object.spec as WorkloadSpec | undefined
  const observed = (s.observedGeneration ?? 0) >= (object.metadata?.generation ?? 0)
  switch (object.kind) {
    case 'Deployment': {
      const want = spec?.replicas ?? 1
      const available = s.availableReplicas ?? 0
      return {key, ready: observed && (s.updatedReplicas ?? 0) >= want && available >= want && (s.replicas ?? 0) === want, summary: `${available}/${want} available`}
    }
    case 'StatefulSet': {
      const want = spec?.replicas ?? 1
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
export async function diagnose(kube: Kube, object: KubeObject): Promise<string[]> {
  const namespace = object.metadata?.namespace ?? 'default'
  const selector = Object.entries((object.spec as WorkloadSpec | undefined)?.selector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
  const lines: string[] = []
  try {
    type Condition = {type: string; status: string; message?: string}
    const pods = (await kube.list({apiVersion: 'v1', kind: 'Pod'}, {namespace, labelSelector: selector})) as Array<{
      metadata?: {name?: string}
      status?: {phase?: string; conditions?: Condition[]; containerStatuses?: Array<{state?: {waiting?: {reason?: string}}}>}
    }>
    for (const pod of pods) {
      const phase = pod.status?.phase ?? 'Unknown'
      if (phase === 'Running' && pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue
      const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False')
      const waiting = pod.status?.containerStatuses?.map((c) => c.state?.waiting?.reason).filter(Boolean) ?? []
      lines.push(`pod ${pod.metadata?.name}: ${phase}${scheduled?.message ? ` — ${scheduled.message}` : ''}${waiting.length > 0 ? ` (${waiting.join(', ')})` : ''}`)
    }
    if (pods.length === 0) lines.push('no pods created yet')
    const when = (event: KubeObject): number => new Date((event.lastTimestamp ?? event.eventTime ?? 0) as string | number | Date).getTime() || 0
    const events = (await kube.list({apiVersion: 'v1', kind: 'Event'}, {namespace}))
      .filter(
        (e) => e.type === 'Warning' && ((e.involvedObject as {name?: string})?.name === object.metadata?.name || pods.some((p) => p.metadata?.name === (e.involvedObject as {name?: string})?.name)),
      )
      .sort((a, b) => when(b) - when(a))
      .slice(0, 3)
    for (const event of events as Array<{reason?: string; message?: string}>) lines.push(`event ${event.reason}: ${event.message}`)
  } catch (error) {
    lines.push(`(could not inspect pods: ${(error as Error).message})`)
  }
  return lines
}

/**
 * Wait until every workload is ready (and, on the hub, the gateway has an external address).
 * GPU nodes that join meanwhile are labelled as they appear.
 */
export async function waitReady(kube: Kube, rendering: Rendering, options: DeployOptions, labelled: string[]): Promise<{ready: boolean; address?: string}> {
  const workloads = rendering.objects.filter((o) => WORKLOADS.has(o.kind))
  const isHub = rendering.cluster.role === 'hub'
  const deadline = options.clock.now() + options.timeoutMs
  const last = new Map<string, string>()
  for (;;) {
    labelled.push(...(await labelGpuNodes(kube, false)))
    const states = await mapLimit(workloads, 8, async (w) => {
      const live = await kube.read(w)
      return {object: live ?? w, state: live ? readiness({...live, kind: w.kind}) : {key: objectKey(w), ready: false, summary: 'missing'}}
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
