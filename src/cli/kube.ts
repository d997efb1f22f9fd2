import {Flags} from '@oclif/core'
import {contextAlias, resolveKubeconfigTarget} from '../kube/kubeconfig.js'
import {connectKube, type Kube} from '../kube/client.js'
import type {ClusterSpec} from '../federation/model.js'
import type {Output} from '../lib/output.js'
import {UsageError} from '../lib/errors.js'
import {parseDuration} from '../lib/time.js'
import {runTasks} from '../lib/progress.js'
import {deployRendering, type DeployResult} from '../services/deploy.js'
import type {Rendering} from '../render/render.js'

export const kubeFlags = {
  kubeconfig: Flags.string({description: 'kubeconfig file (else the first file of KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE', helpGroup: 'KUBERNETES'}),
  context: Flags.string({description: 'kubeconfig context (else the cluster\'s context: in the federation file, else fedobs-<name>).', helpValue: 'NAME', helpGroup: 'KUBERNETES'}),
}

export const applyFlags = {
  'dry-run': Flags.boolean({description: 'Server-side dry run: show what would change, change nothing.'}),
  'force-conflicts': Flags.boolean({description: 'Take over fields another manager owns (and replace workloads whose selector differs).'}),
  prune: Flags.boolean({description: 'Delete objects fedobs applied earlier and no longer renders.', allowNo: true, default: true}),
  wait: Flags.boolean({description: 'Wait until every workload is ready.', allowNo: true, default: true}),
  timeout: Flags.string({description: 'How long to wait, e.g. 10m.', default: '10m', helpValue: 'DURATION'}),
}

export function timeoutOf(text: string): number {
  const ms = parseDuration(text)
  if (ms === undefined) throw new UsageError(`--timeout ${JSON.stringify(text)} is not a duration`, {hint: 'For example 90s, 10m or 1h.'})
  return ms
}

/** Connect to a cluster of the federation through its kubeconfig context. */
export function kubeFor(cluster: ClusterSpec, flags: {kubeconfig?: string; context?: string}): Promise<Kube> {
  return connectKube(resolveKubeconfigTarget(flags.kubeconfig), flags.context ?? cluster.context ?? contextAlias(cluster.name))
}

/** Deploy one rendering with progress, and print the result. */
export async function deployWithProgress(output: Output, kube: Kube, rendering: Rendering, flags: {'dry-run': boolean; 'force-conflicts': boolean; prune: boolean; wait: boolean; timeout: string}, signal: AbortSignal): Promise<DeployResult> {
  const timeoutMs = timeoutOf(flags.timeout)
  const [outcome] = await runTasks(
    output,
    [
      {
        title: `${rendering.cluster.role} ${rendering.cluster.name}`,
        run: (report) =>
          deployRendering(kube, rendering, {dryRun: flags['dry-run'], forceConflicts: flags['force-conflicts'], prune: flags.prune, wait: flags.wait, timeoutMs, report, signal}),
      },
    ],
    {concurrent: false},
  )
  if (!outcome!.ok) throw outcome!.error
  return outcome!.value
}

export function printDeploy(output: Output, result: DeployResult): void {
  if (output.json) {
    output.document(result)
    return
  }
  const {counts} = result
  const verb = result.dryRun ? 'would apply' : 'applied'
  output.success(`${result.role} ${result.cluster} (${result.context}): ${verb} ${result.applied.length} objects — ${counts.created} created, ${counts.configured} changed, ${counts.unchanged} unchanged${result.pruned.length > 0 ? `; pruned ${result.pruned.length}` : ''}`)
  if (result.dryRun) for (const a of result.applied.filter((x) => x.action !== 'unchanged')) output.result(`${a.action.padEnd(10)} ${a.key}`)
  for (const p of result.pruned) if (result.dryRun) output.result(`pruned     ${p}`)
  for (const node of result.gpuNodesLabelled) output.info(`  GPU node ${node} labelled nvidia.com/gpu.present=true`)
  for (const agent of result.patchedAgents) output.info(`  patched K8S_NODE_IP into ${agent}`)
  for (const replaced of result.replaced) output.info(`  replaced ${replaced}`)
  if (result.grafanaSecretCreated) output.info('  Grafana admin password created in Secret monitoring/grafana-admin (kubectl -n monitoring get secret grafana-admin -o jsonpath={.data.admin-password} | base64 -d)')
  if (result.gatewayAddress) {
    output.info(`  gateway: ${result.gatewayAddress}:4317 (OTLP/gRPC), ${result.gatewayAddress}:4318 (OTLP/HTTP)`)
    output.result(`${result.gatewayAddress}:4317`)
  }
}
