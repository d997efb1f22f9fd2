import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {clusterOverrides, clusterShapeFlags, federationFlags, federationOverrides, fileFlag, hubEndpointFlag} from '../../federation/flags.js'
import {normalizeEndpoint} from '../../federation/endpoint.js'
import {loadFederation} from '../../federation/load.js'
import {renderEdge} from '../../render/render.js'
import {emitRendering} from '../../services/render.js'

export default class RenderEdge extends BaseCommand<typeof RenderEdge> {
  static override summary = 'Render the Kubernetes manifests of one edge.'
  static override description = `The OTel agent DaemonSet (OTLP, kubelet stats via the node IP, pod logs) and scraper, kube-state-metrics and, on GPU clusters, dcgm-exporter, the NVIDIA device plugin and the optional BERT inference demo. Every signal carries cluster.id and cluster.role and goes to the hub gateway at --hub-endpoint (or telemetry.gateway.endpoint).

Without --out-dir, prints one multi-document YAML stream (a Kubernetes List with -o json, a table of the objects with -o table). With --out-dir (-d), writes a kustomize-ready directory.`

  static override examples = [
    {
      description: 'Render an edge of ./fedobs.yaml, shipping to a known gateway',
      command: '<%= config.bin %> <%= command.id %> fed-observability-remote --hub-endpoint 172.238.181.107:4317 -d out/edge',
    },
    {description: 'From flags alone, a GPU edge', command: '<%= config.bin %> <%= command.id %> edge-1 --pool g2-gpu-rtx4000a1-s:1 --hub-endpoint otel.example.com:4317'},
  ]

  static override args = {
    name: Args.string({description: 'Edge cluster name.', required: true}),
  }

  static override flags = {
    ...fileFlag,
    'out-dir': Flags.string({char: 'd', description: 'Write a kustomize directory here instead of printing (-o is the output format).', helpValue: 'DIR'}),
    ...hubEndpointFlag,
    ...federationFlags,
    ...clusterShapeFlags,
  }

  async run(): Promise<void> {
    const {name} = this.args
    const overrides = [...federationOverrides(this.flags), ...clusterOverrides(this.flags, {role: 'edge', name})]
    const federation = loadFederation({file: this.flags.file, overrides, fallbackEdges: [name]})
    const endpoint = federation.telemetry.gateway.endpoint
    const rendering = renderEdge(federation, name, endpoint ? {hubEndpoint: normalizeEndpoint(endpoint)} : {})
    emitRendering(this.output, rendering, this.flags['out-dir'], this.requestedFormat)
  }
}
