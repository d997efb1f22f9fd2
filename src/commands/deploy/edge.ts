import {Args} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {applyFlags, deployWithProgress, kubeFor, kubeFlags, printDeploy} from '../../cli/kube.js'
import {clusterOverrides, clusterShapeFlags, federationFlags, federationOverrides, fileFlag} from '../../federation/flags.js'
import {loadFederation} from '../../federation/load.js'
import {renderEdge} from '../../render/render.js'
import {currentEndpoint} from '../../services/connect.js'

export default class DeployEdge extends BaseCommand<typeof DeployEdge> {
  static override summary = 'Deploy an edge: OTel agent DaemonSet and scraper, kube-state-metrics, GPU stack.'
  static override description = `Server-side apply in dependency order, prune, GPU node labelling, and a wait for every workload. An edge that is already connected stays pointed at its hub; a new edge logs and drops telemetry until \`fedobs connect\`. An agent DaemonSet deployed by hand without K8S_NODE_IP gets it patched in (reported).`
  static override examples = ['<%= config.bin %> <%= command.id %> fed-observability-remote', '<%= config.bin %> <%= command.id %> edge-1 --context lke566951-ctx --dry-run']
  static override args = {name: Args.string({description: 'Edge cluster name.', required: true})}
  static override flags = {...fileFlag, ...kubeFlags, ...applyFlags, ...federationFlags, ...clusterShapeFlags}

  async run(): Promise<void> {
    const {name} = this.args
    const federation = loadFederation({file: this.flags.file, overrides: [...federationOverrides(this.flags), ...clusterOverrides(this.flags, {role: 'edge', name})], fallbackEdges: [name]})
    const rendered = renderEdge(federation, name)
    const kube = await kubeFor(rendered.cluster, this.flags)
    const endpoint = federation.telemetry.gateway.endpoint ?? (await currentEndpoint(kube))
    const rendering = endpoint ? renderEdge(federation, name, {hubEndpoint: /:\d+$/.test(endpoint) ? endpoint : `${endpoint}:4317`}) : rendered
    if (!endpoint) this.output.warn(`edge ${name} is not connected yet: run \`fedobs connect ${name} hub\` after this`)
    printDeploy(this.output, await deployWithProgress(this.output, kube, rendering, this.flags, this.abort.signal))
  }
}
