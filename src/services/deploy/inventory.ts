/** What fedobs applied to a cluster before (one list per kind), and pruning what it no longer renders. */
import {objectKey, refOf, type Kube, type KubeObject} from '../../kube/api.js'
import {LABELS, type K8sObject} from '../../render/render.js'
import type {DeployOptions} from './types.js'

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

/** Everything fedobs applied to this cluster, from one list per kind (rendered kinds and prunable ones). */
export async function ownedObjects(kube: Kube, cluster: string, desired: K8sObject[]): Promise<Map<string, KubeObject>> {
  const selector = `${LABELS.managedBy}=fedobs,${LABELS.cluster}=${cluster}`
  const kinds = new Map<string, {apiVersion: string; kind: string}>()
  for (const k of [...PRUNABLE, ...desired.map((o) => ({apiVersion: o.apiVersion, kind: o.kind}))]) kinds.set(`${k.apiVersion}/${k.kind}`, k)
  const owned = await kube.listOwned([...kinds.values()], selector)
  return new Map(owned.map((o) => [objectKey(o), o]))
}

/** Objects fedobs applied to this cluster earlier and no longer renders. */
export function pruneCandidates(inventory: Map<string, KubeObject>, desired: K8sObject[]): KubeObject[] {
  const wanted = new Set(desired.map((o) => objectKey(o)))
  const prunable = new Set(PRUNABLE.map((k) => k.kind))
  return [...inventory.values()].filter((o) => prunable.has(o.kind!) && !wanted.has(objectKey(o)) && !o.metadata?.deletionTimestamp)
}

/** Delete (or, in a dry run, name) what fedobs applied earlier and no longer renders. */
export async function prune(kube: Kube, inventory: Map<string, KubeObject>, desired: K8sObject[], options: Pick<DeployOptions, 'dryRun' | 'report'>): Promise<string[]> {
  const pruned: string[] = []
  for (const object of pruneCandidates(inventory, desired)) {
    const key = objectKey(object)
    if (!options.dryRun) await kube.delete(refOf(object as KubeObject & {apiVersion: string; kind: string}), {what: `pruning ${key}`})
    pruned.push(key)
    options.report(`${options.dryRun ? 'would prune' : 'pruned'} ${key} (no longer rendered)`)
  }
  return pruned
}
