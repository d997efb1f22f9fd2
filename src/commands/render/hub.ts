import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {clusterOverrides, clusterShapeFlags, federationFlags, federationOverrides, fileFlag} from '../../federation/flags.js'
import {loadFederation} from '../../federation/load.js'
import {renderHub} from '../../render/render.js'
import {emitRendering} from '../../services/render.js'

export default class RenderHub extends BaseCommand<typeof RenderHub> {
  static override summary = 'Render the Kubernetes manifests of the hub.'
  static override description = `Prometheus, Loki, Tempo, Grafana with its dashboards, the OTel gateway (persistent queues, LoadBalancer), the hub's own agent and scraper, kube-state-metrics and, on GPU clusters, dcgm-exporter and the NVIDIA device plugin.

Without --out-dir, prints one multi-document YAML stream (a Kubernetes List with -o json, a table of the objects with -o table). With --out-dir (-d), writes a kustomize-ready directory: kubectl apply -k DIR.`

  static override examples = [
    {description: 'Render the hub of ./fedobs.yaml into a directory', command: '<%= config.bin %> <%= command.id %> -d out/hub'},
    {description: 'Apply it straight away', command: '<%= config.bin %> <%= command.id %> -f examples/fedobs.yaml | kubectl apply -f -'},
    {description: 'From flags alone', command: '<%= config.bin %> <%= command.id %> --federation demo --hub-name demo-hub --pool g6-standard-4:3 --retention 7d'},
  ]

  static override flags = {
    ...fileFlag,
    'out-dir': Flags.string({char: 'd', description: 'Write a kustomize directory here instead of printing (-o is the output format).', helpValue: 'DIR'}),
    'hub-name': Flags.string({description: 'Hub cluster name (overrides hub.name).', helpValue: 'NAME', helpGroup: 'CLUSTER'}),
    ...federationFlags,
    ...clusterShapeFlags,
  }

  async run(): Promise<void> {
    const overrides = [...federationOverrides(this.flags), ...clusterOverrides(this.flags, {role: 'hub'})]
    if (this.flags['hub-name'] !== undefined) overrides.push({path: ['hub', 'name'], value: this.flags['hub-name'], flag: '--hub-name'})
    const federation = loadFederation({file: this.flags.file, overrides})
    emitRendering(this.output, renderHub(federation), this.flags['out-dir'], this.requestedFormat)
  }
}
