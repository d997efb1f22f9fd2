/**
 * Who may reach the hub gateway: the public addresses of every connected edge's nodes (recorded at
 * the hub by `connect` and `deploy edge`) plus telemetry.gateway.allowedSources, enforced by the
 * Cloud Firewall the Linode cloud controller attaches to the gateway's NodeBalancer.
 */
import {isIP} from 'node:net'
import type {Federation} from '../federation/model.js'
import {objectKey, type Kube, type KubeObject, type ObjectRef} from '../kube/api.js'
import type {Report} from '../lib/progress.js'
import {gatewaySources, LABELS, NAMESPACES, renderHub} from '../render/render.js'
import {applyOne} from './deploy/apply.js'

/** observability-hub/fedobs-gateway-sources: one key per edge, its nodes' CIDRs as a JSON list. */
export const SOURCES_REGISTRY = {name: 'fedobs-gateway-sources', namespace: NAMESPACES.hub}
export const GATEWAY_SERVICE = {name: 'otel-gateway-external', namespace: NAMESPACES.hub}
export const FIREWALL_ANNOTATION = 'service.beta.kubernetes.io/linode-loadbalancer-firewall-acl'

/** The sources every edge recorded, by edge name. */
export async function readEdgeSources(hub: Kube): Promise<Record<string, string[]>> {
  const registry = await hub.read({apiVersion: 'v1', kind: 'ConfigMap', metadata: SOURCES_REGISTRY})
  const out: Record<string, string[]> = {}
  for (const [edge, text] of Object.entries(registry?.data ?? {})) {
    try {
      const list = JSON.parse(text) as unknown
      if (Array.isArray(list)) out[edge] = list.filter((x): x is string => typeof x === 'string')
    } catch {
      // a hand-edited entry: ignored (and replaced at the next connect of that edge)
    }
  }
  return out
}

/** A node's public addresses from its Kubernetes status (ExternalIP, as the Linode CCM sets them), as CIDRs. */
export async function nodeAddressesFromKube(kube: Kube): Promise<string[]> {
  const nodes = await kube.list({apiVersion: 'v1', kind: 'Node'}, {what: 'listing nodes'})
  const cidrs = new Set<string>()
  for (const node of nodes) {
    for (const address of (node.status as {addresses?: Array<{type: string; address: string}>} | undefined)?.addresses ?? []) {
      if (address.type !== 'ExternalIP') continue
      const family = isIP(address.address)
      if (family === 4) cidrs.add(`${address.address}/32`)
      else if (family === 6) cidrs.add(`${address.address}/128`)
    }
  }
  return [...cidrs].sort()
}

export interface FirewallUpdate {
  edge: string
  /** The edge's addresses as recorded now. */
  sources: string[]
  /** Whether the edge's entry changed. */
  changed: boolean
  /** Every source the gateway now admits. */
  allowList: string[]
  warnings: string[]
}

/**
 * Record an edge's node addresses at the hub and apply the gateway Service with the firewall that
 * follows from all of them (the same object `deploy hub` renders, so the two never fight).
 */
export async function recordEdgeSources(hub: Kube, federation: Federation, edge: string, sources: string[], options: {report: Report; dryRun?: boolean}): Promise<FirewallUpdate> {
  const before = await readEdgeSources(hub)
  const sorted = [...new Set(sources)].sort()
  const changed = JSON.stringify(before[edge] ?? []) !== JSON.stringify(sorted)
  if (changed && !options.dryRun) {
    const body: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {...SOURCES_REGISTRY, labels: {[LABELS.name]: 'fedobs', [LABELS.component]: 'registry', [LABELS.partOf]: 'fedobs'}},
      data: {[edge]: JSON.stringify(sorted)},
    }
    // A field manager per edge: concurrent connects each own their key.
    await hub.apply(body as typeof body & ObjectRef, {fieldManager: `fedobs-sources-${edge}`.slice(0, 128), force: true, what: `recording the addresses of ${edge} at the hub`})
  }
  // Other edges may record theirs at the same moment (`fedobs up` connects every edge at once): the
  // Service follows what is recorded when it is applied, and is applied again until a fresh read of the
  // sources shows nothing it missed, so the last writer always leaves every edge admitted.
  let all = options.dryRun ? {...before, [edge]: sorted} : {...(await readEdgeSources(hub)), [edge]: sorted}
  let admitted: ReturnType<typeof gatewaySources>
  for (let round = 1; ; round++) {
    admitted = gatewaySources(federation, all)
    // The Service as `deploy hub` renders it with these sources, so the two never fight over it.
    const service = renderHub(federation, {edgeSources: all}).objects.find((o) => o.kind === 'Service' && o.metadata.name === GATEWAY_SERVICE.name)!
    const live = await hub.read(service)
    if (live && live.metadata?.annotations?.[FIREWALL_ANNOTATION] !== service.metadata.annotations?.[FIREWALL_ANNOTATION]) {
      if (!options.dryRun) await applyOne(hub, service, {dryRun: false, forceConflicts: false})
      options.report(`${options.dryRun ? 'would update' : 'updated'} the gateway firewall: ${admitted.cidrs.length} source(s) admitted (${objectKey(service)})`)
    }
    if (options.dryRun || round >= 10) break
    const now = {...(await readEdgeSources(hub)), [edge]: sorted}
    if (JSON.stringify(now) === JSON.stringify(all)) break
    all = now
  }
  return {edge, sources: sorted, changed, allowList: admitted.cidrs, warnings: admitted.warnings}
}
