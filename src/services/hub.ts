/**
 * Deploying the hub, and what an edge needs from it (credentials, a way through the firewall):
 * the parts of `deploy hub`, `deploy edge`, `deploy all` and `connect` that touch both.
 */
import {parseEndpoint} from '../federation/endpoint.js'
import type {ClusterSpec, Federation} from '../federation/model.js'
import type {Kube} from '../kube/api.js'
import type {Report} from '../lib/progress.js'
import {renderEdge, renderHub} from '../render/render.js'
import {registerHubIdentity} from './registry.js'
import {deployRendering, type DeployOptions, type DeployResult} from './deploy.js'
import {gatewayAddresses} from './deploy/gateway.js'
import {readEdgeSources, recordEdgeSources, type FirewallUpdate} from './gateway-firewall.js'
import {ensureClusterCredentials, ensureHubPki, rotateGateway, type CredentialsResult, type HubPkiResult} from './pki.js'

export interface HubDeployResult extends DeployResult {
  pki?: HubPkiResult
  /** What a person should know (an open gateway, edges not yet let in, plaintext). */
  warnings: string[]
}

/**
 * Deploy the hub: its manifests (the gateway firewall from the edges recorded so far), the Grafana
 * password and, with mTLS, the CA, the gateway certificate and the hub's own credentials, all
 * before the workloads that mount them start. Once the gateway has its external address, its
 * certificate is re-issued if it does not cover that address yet.
 */
export async function deployHub(kube: Kube, federation: Federation, options: DeployOptions): Promise<HubDeployResult> {
  const rendering = renderHub(federation, {edgeSources: await readEdgeSources(kube)})
  const known = options.dryRun ? [] : await gatewayAddresses(kube)
  let pki: HubPkiResult | undefined
  const merge = (next: HubPkiResult): HubPkiResult => ({caCreated: Boolean(pki?.caCreated) || next.caCreated, issued: [...(pki?.issued ?? []), ...next.issued]})
  const result = await deployRendering(kube, rendering, {
    ...options,
    prepare: async () => {
      await options.prepare?.()
      if (federation.security.mtls) pki = merge(await ensureHubPki(kube, federation, known, {report: options.report, dryRun: options.dryRun}))
    },
  })
  if (federation.security.mtls && !options.dryRun && (result.gatewayAddresses ?? []).some((a) => !known.includes(a))) {
    pki = merge(await ensureHubPki(kube, federation, result.gatewayAddresses!, {report: options.report}))
  }
  if (!options.dryRun) await registerHubIdentity(kube, federation.hub)
  return {...result, ...(pki ? {pki} : {}), warnings: rendering.warnings}
}

/** Where an edge's node addresses came from, for messages. */
export interface EdgeAddresses {
  addresses: string[]
  source: string
}

export interface EdgeAccess {
  credentials?: CredentialsResult
  firewall: FirewallUpdate
}

/**
 * What the hub must know about an edge before it ships: its node addresses in the gateway firewall,
 * and (with mTLS) the gateway certificate covering the address the edge dials. The edge's own
 * credentials are installed by `deployEdge` once its namespace exists.
 */
export async function admitEdge(
  hub: Kube,
  federation: Federation,
  edge: ClusterSpec,
  options: {endpoint: string; addresses: EdgeAddresses; report: Report; dryRun?: boolean},
): Promise<FirewallUpdate> {
  if (federation.security.mtls && !options.dryRun) {
    const {host} = parseEndpoint(options.endpoint)
    await rotateGateway(hub, federation, [...(await gatewayAddresses(hub)), host], {force: false, report: options.report})
  }
  if (options.addresses.addresses.length === 0) {
    options.report(`warning: no public address found for the nodes of ${edge.name} (${options.addresses.source}): the gateway firewall cannot let it in yet`)
  }
  const firewall = await recordEdgeSources(hub, federation, edge.name, options.addresses.addresses, {report: options.report, ...(options.dryRun ? {dryRun: true} : {})})
  if (firewall.changed) options.report(`recorded ${firewall.sources.length} address(es) of ${edge.name} for the gateway firewall (from ${options.addresses.source})`)
  return firewall
}

export interface EdgeDeployResult extends DeployResult {
  warnings: string[]
  credentials?: CredentialsResult
  firewall?: FirewallUpdate
}

/**
 * Deploy an edge. Connected (an endpoint) and with the hub at hand, it also renews what the edge
 * needs from the hub: its node addresses in the gateway firewall (nodes come and go) and its client
 * certificate and token when they are missing, stale or due for renewal.
 */
export async function deployEdge(
  kube: Kube,
  federation: Federation,
  edge: ClusterSpec,
  options: DeployOptions & {endpoint?: string; hub?: Kube; addresses?: (kube: Kube) => Promise<EdgeAddresses>},
): Promise<EdgeDeployResult> {
  const rendering = renderEdge(federation, edge.name, options.endpoint ? {hubEndpoint: options.endpoint} : {})
  const withHub = Boolean(options.hub && options.endpoint)
  let firewall: FirewallUpdate | undefined
  if (withHub && options.addresses) {
    firewall = await admitEdge(options.hub!, federation, edge, {
      endpoint: options.endpoint!,
      addresses: await options.addresses(kube),
      report: options.report,
      ...(options.dryRun ? {dryRun: true} : {}),
    })
  }
  let credentials: CredentialsResult | undefined
  const result = await deployRendering(kube, rendering, {
    ...options,
    // The client certificate and token exist before the agent and scraper that mount them.
    prepare: async () => {
      await options.prepare?.()
      if (withHub && federation.security.mtls && !options.dryRun) credentials = await ensureClusterCredentials(options.hub!, kube, federation, edge, {report: options.report})
    },
  })
  return {...result, warnings: rendering.warnings, ...(credentials ? {credentials} : {}), ...(firewall ? {firewall} : {})}
}
