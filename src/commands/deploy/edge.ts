import {Args} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {addressFlags, applyFlags, applyOptions, deployWithProgress, edgeAddressResolver, kubeFor, kubeFlags, printDeploy} from '../../cli/kube.js'
import {clusterOverrides, clusterShapeFlags, federationFlags, federationOverrides, fileFlag} from '../../federation/flags.js'
import {fileArgument, refuseHubAsEdge} from '../../cli/select.js'
import {loadFederation} from '../../federation/load.js'
import type {Kube} from '../../kube/api.js'
import {renderEdge} from '../../render/render.js'
import {edgeEndpoint} from '../../services/connect.js'
import {deployEdge} from '../../services/hub.js'

export default class DeployEdge extends BaseCommand<typeof DeployEdge> {
  static override summary = 'Deploy an edge: OTel agent DaemonSet and scraper, kube-state-metrics, GPU stack.'
  static override description = `Server-side apply in dependency order, prune, GPU node labelling, and a wait for every workload. An edge that is already connected stays pointed at its hub, and (when the hub's context is at hand) its nodes' addresses in the gateway firewall and its client certificate are brought up to date (nodes come and go; certificates near their end are renewed). A new edge logs and drops telemetry until \`fedobs connect\`. An agent DaemonSet deployed by hand without K8S_NODE_IP gets it patched in (reported).`
  static override examples = ['<%= config.bin %> <%= command.id %> fed-observability-remote', '<%= config.bin %> <%= command.id %> edge-1 --context lke566951-ctx --dry-run']
  static override args = {name: Args.string({description: 'Edge cluster name.', required: true})}
  static override flags = {...fileFlag, ...kubeFlags, ...applyFlags, ...addressFlags, ...federationFlags, ...clusterShapeFlags}

  async run(): Promise<void> {
    const {name} = this.args
    const federation = loadFederation({file: this.flags.file, overrides: [...federationOverrides(this.flags), ...clusterOverrides(this.flags, {role: 'edge', name})], fallbackEdges: [name]})
    refuseHubAsEdge(federation, name, `fedobs deploy hub${fileArgument(this.flags)}`)
    const edge = renderEdge(federation, name).cluster
    const kube = await kubeFor(edge, this.flags)
    const hubEndpoint = await edgeEndpoint(federation, kube)
    if (!hubEndpoint) this.output.warn(`edge ${name} is not connected yet: run \`fedobs connect ${name} hub\` after this`)
    let hub: Kube | undefined
    if (hubEndpoint) {
      hub = await kubeFor(federation.hub, {kubeconfig: this.flags.kubeconfig}).catch((error: unknown) => {
        this.output.warn(`cannot reach the hub (${error instanceof Error ? error.message : String(error)}): the edge's certificate and its addresses in the gateway firewall are left as they are`)
        return undefined
      })
    }
    const addresses = hub ? (await edgeAddressResolver(this.flags, this.output, this.abort.signal, this.clock))(edge) : undefined
    const options = applyOptions(this.flags, this.abort.signal, this.clock)
    const result = await deployWithProgress(this.output, `edge ${name}`, (report) =>
      deployEdge(kube, federation, edge, {
        ...options,
        report,
        ...(hubEndpoint ? {endpoint: hubEndpoint} : {}),
        ...(hub ? {hub} : {}),
        ...(addresses ? {addresses} : {}),
      }),
    )
    printDeploy(this.output, result)
  }
}
