import {toKubeError, type Kube, type KubeObject} from '../kube/client.js'
import {UsageError} from '../lib/errors.js'
import type {ClusterSpec} from '../federation/model.js'
import {LABELS, NAMESPACES} from '../render/render.js'
import {readObject} from './deploy.js'

/** Where the hub remembers which Kubernetes cluster holds each cluster.id. */
const REGISTRY = {name: 'fedobs-cluster-ids', namespace: NAMESPACES.hub}

/** The kube-system namespace UID identifies a Kubernetes cluster, whatever its name. */
export async function clusterUid(kube: Kube): Promise<string> {
  try {
    const namespace = await kube.core.readNamespace({name: 'kube-system'})
    return namespace.metadata?.uid ?? ''
  } catch (error) {
    throw toKubeError(error, 'reading namespace kube-system')
  }
}

/** Refuse a cluster.id that a different Kubernetes cluster already uses; record ours. */
export async function claimClusterId(hub: Kube, clusterId: string, uid: string): Promise<void> {
  const registry = await readObject(hub, {apiVersion: 'v1', kind: 'ConfigMap', metadata: REGISTRY})
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
  try {
    // Field manager per cluster id: each edge owns its own key, so concurrent connects do not collide.
    await hub.objects.patch(body as never, undefined, undefined, `fedobs-id-${clusterId}`.slice(0, 128), false, hub.k8s.PatchStrategy.ServerSideApply)
  } catch (error) {
    throw toKubeError(error, 'recording the cluster id at the hub')
  }
}

export async function registerHubIdentity(hub: Kube, hubCluster: ClusterSpec): Promise<void> {
  await claimClusterId(hub, hubCluster.name, await clusterUid(hub))
}
