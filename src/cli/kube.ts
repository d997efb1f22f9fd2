import {Flags} from '@oclif/core'
import {contextAlias, resolveKubeconfigTarget} from '../kube/kubeconfig.js'
import type {Kube} from '../kube/api.js'
import {connectKube} from '../kube/client.js'
import type {ClusterSpec} from '../federation/model.js'
import type {Output} from '../lib/output.js'
import {UsageError} from '../lib/errors.js'
import {DURATION_HINT, parseDuration, type Clock} from '../lib/time.js'
import {runTasks} from '../lib/progress.js'
import type {DeployOptions, DeployResult} from '../services/deploy.js'
import type {EdgeAddresses, EdgeDeployResult, HubDeployResult} from '../services/hub.js'
import type {LinodeApi} from '../linode/client.js'
import {resolveToken} from '../linode/token.js'
import {FEDOBS_TAG} from '../federation/identity.js'
import {formatEndpoint} from '../federation/endpoint.js'

export const kubeFlags = {
  kubeconfig: Flags.string({description: 'kubeconfig file (else the first file of KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE', helpGroup: 'KUBERNETES'}),
  context: Flags.string({description: "kubeconfig context (else the cluster's context: in the federation file, else fedobs-<name>).", helpValue: 'NAME', helpGroup: 'KUBERNETES'}),
}

export const applyFlags = {
  // default false, not undefined: the --json document always states dryRun (schema/deploy-*.schema.json).
  'dry-run': Flags.boolean({description: 'Server-side dry run: show what would change, change nothing.', default: false}),
  'force-conflicts': Flags.boolean({description: 'Take over fields another manager owns (and replace workloads whose selector differs).', default: false}),
  prune: Flags.boolean({description: 'Delete objects fedobs applied earlier and no longer renders.', allowNo: true, default: true}),
  wait: Flags.boolean({description: 'Wait until every workload is ready.', allowNo: true, default: true}),
  timeout: Flags.string({description: 'How long to wait, e.g. 10m.', default: '10m', helpValue: 'DURATION'}),
}

/** The applyFlags as deploy options (all but the progress report, which each deploy gets from its task). */
export function applyOptions(
  flags: {'dry-run': boolean; 'force-conflicts': boolean; prune: boolean; wait: boolean; timeout: string},
  signal: AbortSignal,
  clock: Clock,
): Pick<DeployOptions, 'dryRun' | 'forceConflicts' | 'prune' | 'wait' | 'timeoutMs' | 'signal' | 'clock'> {
  return {dryRun: flags['dry-run'], forceConflicts: flags['force-conflicts'], prune: flags.prune, wait: flags.wait, timeoutMs: timeoutOf(flags.timeout), signal, clock}
}

export function timeoutOf(text: string): number {
  const ms = parseDuration(text)
  if (ms === undefined) throw new UsageError(`--timeout ${JSON.stringify(text)} is not a duration`, {hint: DURATION_HINT})
  return ms
}

/** Connect to a cluster of the federation through its kubeconfig context. */
export function kubeFor(cluster: ClusterSpec, flags: {kubeconfig?: string; context?: string}): Promise<Kube> {
  return connectKube(resolveKubeconfigTarget(flags.kubeconfig), flags.context ?? cluster.context ?? contextAlias(cluster.name), cluster.name)
}

export interface ApplyFlags {
  'dry-run': boolean
  'force-conflicts': boolean
  prune: boolean
  wait: boolean
  timeout: string
}

/** Run one deployment with progress. */
export async function deployWithProgress<T extends DeployResult>(output: Output, title: string, run: (report: (message: string) => void) => Promise<T>): Promise<T> {
  const [outcome] = await runTasks(output, [{title, run}], {concurrent: false})
  if (!outcome!.ok) throw outcome!.error
  return outcome!.value
}

/** The Linode token, for looking up node addresses: optional (without one, the nodes' ExternalIPs). */
export const addressFlags = {
  'token-file': Flags.string({
    description:
      "File holding the Linode API token, to read the edges' node addresses for the gateway firewall (else LINODE_TOKEN, LINODE_CLI_TOKEN, the linode-cli config; without any, the nodes' ExternalIP addresses).",
    helpValue: 'FILE',
    helpGroup: 'LINODE',
  }),
}

/**
 * Where an edge's public node addresses come from: the Linode API when a token is at hand (the
 * LKE cluster with the edge's label and the fedobs tag, its pools, one instance list), else the
 * ExternalIP addresses the Linode cloud controller writes on the Kubernetes nodes.
 */
export async function edgeAddressResolver(
  flags: {'token-file'?: string},
  output: Output,
  signal: AbortSignal,
  clock: Clock,
): Promise<(cluster: ClusterSpec) => (kube: Kube) => Promise<EdgeAddresses>> {
  let api: LinodeApi | undefined
  try {
    const {token, source} = resolveToken({...(flags['token-file'] ? {tokenFile: flags['token-file']} : {})})
    output.debug(`node addresses from the Linode API (token from ${source})`)
    const {createLinodeClient} = await import('../linode/client.js')
    api = await createLinodeClient({token, baseUrl: process.env.LINODE_URL, signal, clock, log: (message) => output.debug(message)})
  } catch (error) {
    if ((error as {code?: string}).code !== 'no-token' || flags['token-file']) throw error
    output.debug("no Linode token: node addresses from the nodes' ExternalIP addresses")
  }
  return (cluster) => async (kube) => {
    if (api) {
      const found = (await api.clustersByLabel(cluster.name)).find((c) => (c.tags ?? []).includes(FEDOBS_TAG))
      if (found) return {addresses: await api.nodeAddresses(found.id), source: `the Linode API (LKE cluster ${found.id})`}
    }
    const {nodeAddressesFromKube} = await import('../services/gateway-firewall.js')
    return {addresses: await nodeAddressesFromKube(kube), source: "the nodes' ExternalIP addresses"}
  }
}

export function printDeploy(output: Output, result: DeployResult & Partial<Pick<HubDeployResult, 'pki'> & Pick<EdgeDeployResult, 'credentials' | 'firewall'>> & {warnings?: string[]}): void {
  if (output.json) {
    output.document(result)
    return
  }
  for (const warning of result.warnings ?? []) output.warn(warning)
  const {counts} = result
  const verb = result.dryRun ? 'would apply' : 'applied'
  output.success(
    `${result.role} ${result.cluster} (${result.context}): ${verb} ${result.applied.length} objects — ${counts.created} created, ${counts.configured} changed, ${counts.unchanged} unchanged${result.pruned.length > 0 ? `; pruned ${result.pruned.length}` : ''}`,
  )
  if (result.dryRun) for (const a of result.applied.filter((x) => x.action !== 'unchanged')) output.result(`${a.action.padEnd(10)} ${a.key}`)
  for (const p of result.pruned) if (result.dryRun) output.result(`pruned     ${p}`)
  for (const node of result.gpuNodesLabelled) output.info(`  GPU node ${node} labelled nvidia.com/gpu.present=true`)
  for (const agent of result.patchedAgents) output.info(`  patched K8S_NODE_IP into ${agent}`)
  for (const replaced of result.replaced) output.info(`  replaced ${replaced}`)
  if (result.pki?.caCreated) output.info('  federation CA created in Secret observability-hub/fedobs-pki (its keys never leave the hub)')
  for (const issued of result.pki?.issued ?? []) output.info(`  issued the ${issued}`)
  if (result.credentials?.issued) output.info(`  issued the client certificate of ${result.credentials.cluster} (${result.credentials.reason}; until ${result.credentials.notAfter.slice(0, 10)})`)
  if (result.firewall?.changed) output.info(`  gateway firewall: ${result.firewall.sources.length} address(es) of ${result.firewall.edge} admitted`)
  if (result.grafanaSecretCreated)
    output.info('  Grafana admin password created in Secret monitoring/grafana-admin (kubectl -n monitoring get secret grafana-admin -o jsonpath={.data.admin-password} | base64 -d)')
  if (result.gatewayAddress) {
    const grpc = formatEndpoint({host: result.gatewayAddress, port: 4317})
    output.info(`  gateway: ${grpc} (OTLP/gRPC), ${formatEndpoint({host: result.gatewayAddress, port: 4318})} (OTLP/HTTP)`)
    output.result(grpc)
  }
}
