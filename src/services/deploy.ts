/**
 * Deploying one rendering to one cluster: GPU labels and the seed agent's patch first, then
 * server-side apply in dependency order (the Grafana secret and the caller's `prepare` once the
 * namespaces exist), prune, and the wait for readiness. Each step lives in src/services/deploy/.
 */
import type {Kube} from '../kube/api.js'
import type {Rendering} from '../render/render.js'
import {applyAll} from './deploy/apply.js'
import {gatewayAddresses} from './deploy/gateway.js'
import {GPU_LABEL, labelGpuNodes} from './deploy/gpu-nodes.js'
import {ensureGrafanaSecret} from './deploy/grafana-secret.js'
import {ownedObjects, prune} from './deploy/inventory.js'
import {waitReady} from './deploy/readiness.js'
import {patchSeedAgent} from './deploy/seed-agent.js'
import type {DeployOptions, DeployResult} from './deploy/types.js'

export type {AppliedObject, ApplyAction, DeployOptions, DeployResult} from './deploy/types.js'

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

  const pruneStarted = performance.now()
  const pruned = options.prune ? await prune(kube, inventory, rendering.objects, options) : []

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
