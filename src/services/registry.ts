import {type Kube, type KubeObject, type ObjectRef} from '../kube/api.js'
import {OperationError} from '../lib/errors.js'
import {UsageError} from '../lib/errors.js'
import type {ClusterSpec} from '../federation/model.js'
import {LABELS, NAMESPACES} from '../render/render.js'

/** Where the hub remembers which Kubernetes cluster holds each cluster.id. */
const REGISTRY = {name: 'fedobs-cluster-ids', namespace: NAMESPACES.hub}

/** The kube-system namespace UID identifies a Kubernetes cluster, whatever its name. */
export async function clusterUid(kube: Kube): Promise<string> {
  const namespace = await kube.read({apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'kube-system'}}, 'reading namespace kube-system')
  if (!namespace) throw new OperationError('reading namespace kube-system: not found')
  return namespace.metadata?.uid ?? ''
}

/** Refuse a cluster.id that a different Kubernetes cluster already uses; record ours. */
export async function claimClusterId(hub: Kube, clusterId: string, uid: string): Promise<void> {
  const registry = await hub.read({apiVersion: 'v1', kind: 'ConfigMap', metadata: REGISTRY})
  const owner = registry?.data?.[clusterId]
  if (owner && owner !== uid) {
    throw new UsageError(`cluster.id "${clusterId}" is already used by another cluster (kube-system uid ${owner}, this one is ${uid})`, {
      hint: 'Give this edge another name in the federation file; two clusters with one cluster.id would mix their data at the hub.',
      code: 'duplicate-cluster-id',
    })
  }
  if (owner === uid) return
  const body: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {...REGISTRY, labels: {[LABELS.name]: 'fedobs', [LABELS.component]: 'registry', [LABELS.partOf]: 'fedobs'}},
    data: {[clusterId]: uid},
  }
  // Field manager per cluster id: each edge owns its own key, so concurrent connects do not collide.
  await hub.apply(body as KubeObject & ObjectRef, {fieldManager: `fedobs-id-${clusterId}`.slice(0, 128), force: false, what: 'recording the cluster id at the hub'})
}

export async function registerHubIdentity(hub: Kube, hubCluster: ClusterSpec): Promise<void> {
  await claimClusterId(hub, hubCluster.name, await clusterUid(hub))
}
