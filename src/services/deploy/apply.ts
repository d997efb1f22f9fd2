/**
 * Server-side apply of a rendering: one object (created, changed or already so), and all of them in
 * dependency order, with the conflicts a person can resolve explained.
 */
import {KubeApiError, objectKey, type Kube, type KubeObject} from '../../kube/api.js'
import {mapLimit} from '../../lib/concurrency.js'
import {OperationError} from '../../lib/errors.js'
import {FIELD_MANAGER, kindRank, type K8sObject} from '../../render/render.js'
import type {AppliedObject, DeployOptions} from './types.js'

/** Kinds whose pods fedobs waits for, and which it may replace when their selector changed. */
export const WORKLOADS = new Set(['Deployment', 'DaemonSet', 'StatefulSet'])

function comparable(object: KubeObject | undefined): string {
  if (!object) return ''
  const {metadata, status: _status, ...rest} = object
  const meta = {labels: metadata?.labels ?? {}, annotations: metadata?.annotations ?? {}}
  return JSON.stringify({...rest, meta})
}

/** Server-side apply of one object; reports whether it was created, changed or already so. */
export async function applyOne(kube: Kube, object: K8sObject, options: Pick<DeployOptions, 'dryRun' | 'forceConflicts'>, inventory?: Map<string, KubeObject>): Promise<AppliedObject> {
  const key = objectKey(object)
  // What fedobs owns is known from one list per kind; anything else (new, or made another way) is read.
  const before = inventory?.get(key) ?? (await kube.read(object))
  let after: KubeObject
  try {
    after = await kube.apply(object, {fieldManager: FIELD_MANAGER, force: options.forceConflicts, dryRun: options.dryRun})
  } catch (error) {
    throw explainApplyError(error, key)
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
    return new OperationError(
      `${key}: fields are managed by ${managers.map((m) => `"${m}"`).join(', ') || 'another field manager'}${fields.length > 0 ? ` (${fields.slice(0, 3).join(', ')}${fields.length > 3 ? ', ...' : ''})` : ''}`,
      {
        hint: 'Another tool (e.g. kubectl apply) owns these fields. Re-run with --force-conflicts to let fedobs take them over.',
        code: 'apply-conflict',
      },
    )
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
export async function applyAll(kube: Kube, objects: K8sObject[], options: DeployOptions, replaced: string[], inventory: Map<string, KubeObject>): Promise<AppliedObject[]> {
  const ranks = [...new Set(objects.map((o) => kindRank(o.kind)))].sort((a, b) => a - b)
  const results: AppliedObject[] = []
  // A server-side dry run cannot create namespaces, so objects in new namespaces cannot be checked.
  const existingNamespaces = options.dryRun ? new Set((await kube.list({apiVersion: 'v1', kind: 'Namespace'}, {what: 'listing namespaces'})).map((n) => n.metadata?.name)) : undefined
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
            await kube.delete(object, {foreground: true}).catch(() => undefined)
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
  const gone = await kube.waitFor(object, (live) => !live, {clock: options.clock, timeoutMs: 120_000, pollMs: 1000, signal: options.signal})
  if (!gone.done) throw new OperationError(`${objectKey(object)} did not go away in time`)
}
