/** Node objects shaped like LKE's, for kwok to keep alive. */
import {randomBytes} from 'node:crypto'
import type {V1Node} from '@kubernetes/client-node'
import {LINODE_TYPES} from '../linode/fixtures.js'

export const KWOK_ANNOTATION = 'kwok.x-k8s.io/node'
export const LABEL = {
  instanceType: 'node.kubernetes.io/instance-type',
  poolId: 'lke.linode.com/pool-id',
  region: 'topology.kubernetes.io/region',
  hostname: 'kubernetes.io/hostname',
  os: 'kubernetes.io/os',
  arch: 'kubernetes.io/arch',
} as const
export const GPU_RESOURCE = 'nvidia.com/gpu'

export interface NodeSpec {
  /** A Linode plan of the fake's catalogue, e.g. g6-standard-4 or g2-gpu-rtx4000a1-s. */
  plan: string
  poolId: number
  /** The Linode behind the node: providerID linode://<instanceId>. */
  instanceId: number
  region?: string
  /** The 8 hex digits ending the name (lke<ID>-<poolID>-<hex>); random when left out. */
  suffix?: string
  labels?: Record<string, string>
  /** Effects: NoSchedule, PreferNoSchedule or NoExecute. */
  taints?: {key: string; value?: string; effect: string}[]
  /**
   * Its Linode's public IPv4, which the CCM lists as ExternalIP. One only: the CCM would add the
   * IPv6 as a second ExternalIP, but kwok patches node status with a strategic merge keyed on the
   * address type, and two of a type make that patch invalid (the node would never become Ready).
   */
  externalIP?: string
}

export interface PlanResources {
  capacity: Record<string, string>
  allocatable: Record<string, string>
}

/** Capacity from the plan's vCPUs, memory, disk and GPUs, as the kubelet would report them. */
export function planResources(plan: string): PlanResources {
  const type = LINODE_TYPES.find((t) => t.id === plan)
  if (!type) throw new Error(`unknown Linode plan ${plan} (known: ${LINODE_TYPES.map((t) => t.id).join(', ')})`)
  const gpu: Record<string, string> = type.gpus > 0 ? {[GPU_RESOURCE]: String(type.gpus)} : {}
  const capacity: Record<string, string> = {cpu: String(type.vcpus), memory: `${type.memory}Mi`, 'ephemeral-storage': `${type.disk}Mi`, pods: '110', ...gpu}
  // Allocatable is capacity minus the kubelet's default hard-eviction thresholds (memory 100Mi, nodefs 10%).
  const allocatable = {...capacity, memory: `${type.memory - 100}Mi`, 'ephemeral-storage': `${Math.floor(type.disk * 0.9)}Mi`}
  return {capacity, allocatable}
}

export function nodeName(prefix: string, poolId: number, suffix?: string): string {
  const hex = suffix ?? randomBytes(4).toString('hex')
  if (!/^[0-9a-f]{8}$/.test(hex)) throw new Error(`node name suffix must be 8 hex digits, not ${JSON.stringify(hex)}`)
  return `${prefix}-${poolId}-${hex}`
}

export function lkeNode(spec: NodeSpec, options: {name: string; internalIP: string; region: string; kubeletVersion: string}): V1Node {
  const {name} = options
  const resources = planResources(spec.plan)
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: {[KWOK_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0'},
      labels: {
        [LABEL.instanceType]: spec.plan,
        [LABEL.poolId]: String(spec.poolId),
        [LABEL.region]: options.region,
        [LABEL.hostname]: name,
        [LABEL.os]: 'linux',
        [LABEL.arch]: 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/instance-type': spec.plan,
        ...spec.labels,
      },
    },
    spec: {providerID: `linode://${spec.instanceId}`, ...(spec.taints?.length ? {taints: spec.taints} : {})},
    status: {
      ...resources,
      // In the CCM's order: Hostname, the public IPv4, then the internal address.
      addresses: [{type: 'Hostname', address: name}, ...(spec.externalIP ? [{type: 'ExternalIP', address: spec.externalIP}] : []), {type: 'InternalIP', address: options.internalIP}],
      nodeInfo: {
        architecture: 'amd64',
        operatingSystem: 'linux',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        kernelVersion: '6.1.0-28-cloud-amd64',
        containerRuntimeVersion: 'containerd://1.7.24',
        kubeletVersion: options.kubeletVersion,
        kubeProxyVersion: options.kubeletVersion,
        machineID: '',
        systemUUID: '',
        bootID: '',
      },
    },
  }
}
