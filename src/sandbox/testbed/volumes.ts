/**
 * A stand-in for the Linode block-storage CSI driver's provisioner: a PVC whose StorageClass uses
 * linodebs.csi.linode.com gets a volume in the fake Linode (tags from the class parameter, attached
 * to the Linode behind the node the scheduler picked) and a PersistentVolume pre-bound to it, which
 * kube-controller-manager then binds. For WaitForFirstConsumer classes it waits for the scheduler's
 * selected-node annotation, as the real provisioner does. A Released volume of a Delete class is
 * deleted; a Retain one stays (it detaches when the LKE cluster is deleted).
 */
import type {V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass} from '@kubernetes/client-node'
import type {ApiVolume} from '../linode/server.js'
import {ignoreStatus, reconcileLoop} from './kube.js'
import type {ControllerOptions} from './load-balancers.js'

export const CSI_DRIVER = 'linodebs.csi.linode.com'
export const VOLUME_TAGS_PARAMETER = 'linodebs.csi.linode.com/volumeTags'
export const SELECTED_NODE = 'volume.kubernetes.io/selected-node'
const PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by'
const DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class'
const MIN_SIZE_GB = 10

/** Linode labels are at most 32 characters: the claim UID without dashes, like the driver does. */
const volumeLabel = (claim: V1PersistentVolumeClaim): string => `pvc${claim.metadata!.uid!.replaceAll('-', '')}`.slice(0, 32)

/** A storage request in whole GB (Linode's unit), at least Linode's minimum. */
export function sizeInGb(quantity: string | undefined): number {
  const match = /^([0-9.]+)([KMGTPE]i?)?$/.exec(quantity ?? '')
  if (!match) return MIN_SIZE_GB
  const powers: Record<string, number> = {'': 0, K: 1, M: 2, G: 3, T: 4, P: 5, E: 6}
  const unit = match[2] ?? ''
  const bytes = Number(match[1]) * (unit.endsWith('i') ? 1024 : 1000) ** powers[unit.replace('i', '')]!
  return Math.max(MIN_SIZE_GB, Math.ceil(bytes / 1024 ** 3))
}

const instanceIdOf = (node: V1Node | undefined): number | null => {
  const id = /^linode:\/\/(\d+)$/.exec(node?.spec?.providerID ?? '')?.[1]
  return id ? Number(id) : null
}

export function startVolumeController(options: ControllerOptions): {stop(): Promise<void>; lastError(): unknown} {
  const {fake, lkeClusterId} = options
  const {core, storage} = options.cluster.clients()

  const findVolume = (label: string): ApiVolume | undefined => [...fake.state.volumes.values()].find((v) => v.label === label)

  async function provision(claim: V1PersistentVolumeClaim, storageClass: V1StorageClass, nodes: V1Node[]): Promise<void> {
    const {name, namespace, uid} = claim.metadata as {name: string; namespace: string; uid: string}
    const selected = claim.metadata?.annotations?.[SELECTED_NODE]
    const node = selected ? nodes.find((n) => n.metadata?.name === selected) : nodes.find((n) => instanceIdOf(n) !== null)
    const label = volumeLabel(claim)
    const size = sizeInGb(claim.spec?.resources?.requests?.storage)
    const volume =
      findVolume(label) ??
      fake.addVolume({
        label,
        size,
        linodeId: instanceIdOf(node),
        tags: (storageClass.parameters?.[VOLUME_TAGS_PARAMETER] ?? '')
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
        region: fake.state.clusters.get(lkeClusterId)?.region ?? 'us-ord',
      })
    const body: V1PersistentVolume = {
      metadata: {name: `pvc-${uid}`, annotations: {[PROVISIONED_BY]: CSI_DRIVER}},
      spec: {
        capacity: {storage: `${volume.size}Gi`},
        accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: storageClass.reclaimPolicy ?? 'Delete',
        storageClassName: storageClass.metadata!.name!,
        volumeMode: claim.spec?.volumeMode ?? 'Filesystem',
        claimRef: {apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name, uid},
        csi: {driver: CSI_DRIVER, volumeHandle: `${volume.id}-${volume.label}`, fsType: 'ext4'},
      },
    }
    await ignoreStatus(core.createPersistentVolume({body}), 409)
  }

  async function reclaim(pv: V1PersistentVolume): Promise<void> {
    const id = Number(pv.spec?.csi?.volumeHandle?.split('-')[0])
    // Deleting the volume detaches it first; the fake has no separate detach.
    if (fake.state.volumes.has(id)) fake.state.volumes.delete(id)
    await ignoreStatus(core.deletePersistentVolume({name: pv.metadata!.name!}), 404)
  }

  return reconcileLoop(async () => {
    const [claims, volumes, classes] = await Promise.all([core.listPersistentVolumeClaimForAllNamespaces(), core.listPersistentVolume(), storage.listStorageClass()])
    const classFor = (claim: V1PersistentVolumeClaim): V1StorageClass | undefined => {
      const name = claim.spec?.storageClassName
      return name === undefined || name === null ? classes.items.find((c) => c.metadata?.annotations?.[DEFAULT_CLASS] === 'true') : classes.items.find((c) => c.metadata?.name === name)
    }
    const existing = new Set(volumes.items.map((v) => v.metadata?.name))
    const pending = claims.items.filter((claim) => {
      const storageClass = classFor(claim)
      if (storageClass?.provisioner !== CSI_DRIVER || claim.spec?.volumeName || claim.metadata?.deletionTimestamp) return false
      if (existing.has(`pvc-${claim.metadata!.uid}`)) return false
      return storageClass.volumeBindingMode !== 'WaitForFirstConsumer' || Boolean(claim.metadata?.annotations?.[SELECTED_NODE])
    })
    const nodes = pending.length > 0 ? (await core.listNode()).items : []
    for (const claim of pending) await provision(claim, classFor(claim)!, nodes)
    for (const pv of volumes.items) {
      if (pv.spec?.csi?.driver === CSI_DRIVER && pv.status?.phase === 'Released' && pv.spec.persistentVolumeReclaimPolicy === 'Delete') await reclaim(pv)
    }
  }, options.intervalMs ?? 250)
}
