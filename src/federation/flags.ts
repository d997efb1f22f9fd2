import {Flags} from '@oclif/core'
import {UsageError} from '../lib/errors.js'

/** A path into the federation file, e.g. ['edges', 0, 'pools']. */
export type FieldPath = Array<string | number>

/** A value set from the command line; validated like the file, and errors name the flag. */
export interface Override {
  path: FieldPath
  value: unknown
  flag: string
}

/**
 * Flags that describe the federation. Every value lands on a path of the federation file and is
 * validated exactly like the file, so a bad flag value gets the same message (naming the flag).
 */
export const fileFlag = {
  file: Flags.string({
    char: 'f',
    description: 'Federation file. Default: ./fedobs.yaml when it exists; without one, flags alone describe the federation.',
    helpValue: 'FILE',
  }),
}

export const federationFlags = {
  federation: Flags.string({description: 'Federation name (overrides name:).', helpValue: 'NAME', helpGroup: 'FEDERATION'}),
  retention: Flags.string({description: 'Prometheus/Loki/Tempo retention, e.g. 15d.', helpValue: 'DURATION', helpGroup: 'FEDERATION'}),
  'scrape-interval': Flags.string({description: 'Scrape and collection interval, e.g. 30s.', helpValue: 'DURATION', helpGroup: 'FEDERATION'}),
  'storage-class': Flags.string({description: 'StorageClass for every PVC.', helpValue: 'NAME', helpGroup: 'FEDERATION'}),
  'queue-size': Flags.integer({description: 'Batches each exporter queue holds.', helpValue: 'N', helpGroup: 'FEDERATION'}),
  'gateway-replicas': Flags.integer({description: 'Gateway replicas (without autoscaling).', helpValue: 'N', helpGroup: 'FEDERATION'}),
  'gateway-autoscaling': Flags.boolean({description: 'Autoscale the gateway with an HPA.', allowNo: true, helpGroup: 'FEDERATION'}),
  inference: Flags.boolean({description: 'Deploy the BERT inference demo on GPU clusters.', allowNo: true, helpGroup: 'FEDERATION'}),
  'inference-image': Flags.string({description: 'Image of the BERT inference demo (turns it on).', helpValue: 'IMAGE', helpGroup: 'FEDERATION'}),
  mtls: Flags.boolean({description: 'Mutual TLS between the collectors and the hub gateway (default). --no-mtls sends plaintext: trials only.', allowNo: true, helpGroup: 'FEDERATION'}),
  pii: Flags.boolean({description: 'Scrub PII at the agents before data leaves a cluster (default).', allowNo: true, helpGroup: 'FEDERATION'}),
}

export const clusterShapeFlags = {
  pool: Flags.string({
    description: 'Node pool TYPE:COUNT[:MIN-MAX] (repeatable; replaces the pools of the file).',
    multiple: true,
    helpValue: 'TYPE:COUNT[:MIN-MAX]',
    helpGroup: 'CLUSTER',
  }),
  gpu: Flags.boolean({description: 'Treat the cluster as having GPUs (default: from its pool types).', allowNo: true, helpGroup: 'CLUSTER'}),
}

/** What an LKE cluster is made of, for `fedobs cluster create`. */
export const clusterCloudFlags = {
  region: Flags.string({description: 'Linode region, e.g. us-ord.', helpValue: 'REGION', helpGroup: 'CLUSTER'}),
  'k8s-version': Flags.string({description: 'Kubernetes version, e.g. 1.33.', helpValue: 'VERSION', helpGroup: 'CLUSTER'}),
  tag: Flags.string({description: 'Extra Linode tag (repeatable).', multiple: true, helpValue: 'TAG', helpGroup: 'CLUSTER'}),
  ha: Flags.boolean({description: 'High-availability control plane (irreversible).', allowNo: true, helpGroup: 'CLUSTER'}),
  acl: Flags.string({description: 'Allow this address/CIDR to reach the control plane (repeatable; enables the ACL).', multiple: true, helpValue: 'CIDR', helpGroup: 'CLUSTER'}),
}

export const hubEndpointFlag = {
  'hub-endpoint': Flags.string({
    description: 'Hub gateway address HOST:PORT the edge ships to (default port 4317).',
    helpValue: 'HOST:PORT',
  }),
}

type FlagValues = Record<string, unknown>

/** A path segment that selects the list item with this name (an edge). */
export interface ByName {
  name: string
}
export type OverridePath = Array<string | number | ByName>

export interface PendingOverride {
  path: OverridePath
  value: unknown
  flag: string
}

export function federationOverrides(flags: FlagValues): PendingOverride[] {
  const out: PendingOverride[] = []
  const set = (flag: string, path: OverridePath, value: unknown): void => {
    if (value !== undefined) out.push({path, value, flag: `--${flag}`})
  }
  set('federation', ['name'], flags.federation)
  set('retention', ['telemetry', 'retention'], flags.retention)
  set('scrape-interval', ['telemetry', 'scrapeInterval'], flags['scrape-interval'])
  set('storage-class', ['telemetry', 'storageClass'], flags['storage-class'])
  set('queue-size', ['telemetry', 'queue', 'size'], flags['queue-size'])
  set('gateway-replicas', ['telemetry', 'gateway', 'replicas'], flags['gateway-replicas'])
  set('gateway-autoscaling', ['telemetry', 'gateway', 'autoscaling', 'enabled'], flags['gateway-autoscaling'])
  set('inference', ['inference', 'enabled'], flags.inference)
  if (flags['inference-image'] !== undefined) {
    set('inference-image', ['inference', 'image'], flags['inference-image'])
    if (flags.inference === undefined) set('inference-image', ['inference', 'enabled'], true)
  }
  set('hub-endpoint', ['telemetry', 'gateway', 'endpoint'], flags['hub-endpoint'])
  set(flags.mtls === false ? 'no-mtls' : 'mtls', ['security', 'mtls'], flags.mtls)
  set(flags.pii === false ? 'no-pii' : 'pii', ['security', 'pii', 'enabled'], flags.pii)
  return out
}

/** Overrides for one cluster, addressed as the hub or as the edge with that name. */
export function clusterOverrides(flags: FlagValues, target: {role: 'hub'} | {role: 'edge'; name: string}): PendingOverride[] {
  const base: OverridePath = target.role === 'hub' ? ['hub'] : ['edges', {name: target.name}]
  const out: PendingOverride[] = []
  const pools = flags.pool as string[] | undefined
  if (pools && pools.length > 0) out.push({path: [...base, 'pools'], value: pools.map(parsePoolFlag), flag: '--pool'})
  if (flags.gpu !== undefined) out.push({path: [...base, 'gpu'], value: flags.gpu, flag: flags.gpu ? '--gpu' : '--no-gpu'})
  if (flags.region !== undefined) out.push({path: [...base, 'region'], value: flags.region, flag: '--region'})
  if (flags['k8s-version'] !== undefined) out.push({path: [...base, 'k8sVersion'], value: flags['k8s-version'], flag: '--k8s-version'})
  const tags = flags.tag as string[] | undefined
  if (tags && tags.length > 0) out.push({path: [...base, 'tags'], value: tags, flag: '--tag'})
  if (flags.ha !== undefined) out.push({path: [...base, 'highAvailability'], value: flags.ha, flag: flags.ha ? '--ha' : '--no-ha'})
  const acl = flags.acl as string[] | undefined
  if (acl && acl.length > 0) out.push({path: [...base, 'controlPlaneAcl'], value: acl, flag: '--acl'})
  return out
}

/** TYPE:COUNT[:MIN-MAX] → a pool of the federation file. */
export function parsePoolFlag(text: string): {type: string; count: number; autoscaler?: {min: number; max: number}} {
  const match = /^([^:\s]+):(\d+)(?::(\d+)-(\d+))?$/.exec(text)
  if (!match) {
    throw new UsageError(`--pool ${JSON.stringify(text)} is not TYPE:COUNT[:MIN-MAX]`, {
      hint: 'For example --pool g6-standard-4:3 or --pool g2-gpu-rtx4000a1-s:1:1-2',
      code: 'bad-flag',
    })
  }
  const [, type, count, min, max] = match
  return {type: type!, count: Number(count), ...(min !== undefined ? {autoscaler: {min: Number(min), max: Number(max)}} : {})}
}

/**
 * Resolve by-name segments against the raw document. An edge that the document does not have is
 * not invented (a typo must not render a new edge); its override is dropped and the command reports
 * the unknown edge.
 */
export function resolveOverrides(raw: unknown, pending: PendingOverride[]): Override[] {
  const out: Override[] = []
  for (const override of pending) {
    const path: FieldPath = []
    let node: unknown = raw
    let ok = true
    for (const segment of override.path) {
      if (typeof segment === 'object') {
        const list = Array.isArray(node) ? node : []
        const index = list.findIndex((item) => (item as {name?: unknown} | null)?.name === segment.name)
        if (index === -1) {
          ok = false
          break
        }
        path.push(index)
        node = list[index]
      } else {
        path.push(segment)
        node = (node as Record<string | number, unknown> | undefined)?.[segment]
      }
    }
    if (ok) out.push({path, value: override.value, flag: override.flag})
  }
  return out
}
