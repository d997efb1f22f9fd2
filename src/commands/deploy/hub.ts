import {BaseCommand} from '../../base-command.js'
import {applyFlags, applyOptions, deployWithProgress, kubeFor, kubeFlags, printDeploy} from '../../cli/kube.js'
import {clusterOverrides, clusterShapeFlags, federationFlags, federationOverrides, fileFlag} from '../../federation/flags.js'
import {loadFederation} from '../../federation/load.js'
import {deployHub} from '../../services/hub.js'

export default class DeployHub extends BaseCommand<typeof DeployHub> {
  static override summary = 'Deploy the hub: Prometheus, Loki, Tempo, Grafana, the OTel gateway, agents.'
  static override description = `Server-side apply (field manager fedobs) in dependency order; prunes what fedobs applied before and no longer renders; labels GPU nodes nvidia.com/gpu.present=true; waits for every workload (on timeout, says what is not ready and why) and for the gateway's external address, which it prints. Before the workloads start it creates what is never rendered: the Grafana admin password and, with mTLS (the default), the federation CA, the gateway's certificate (re-issued when its address changes) and the hub's own client credentials. Safe to re-run: a second run changes nothing.`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {description: 'What would change, without changing anything', command: '<%= config.bin %> <%= command.id %> --dry-run'},
    {description: 'Print only the gateway address', command: 'GATEWAY=$(<%= config.bin %> <%= command.id %>)'},
  ]

  static override flags = {...fileFlag, ...kubeFlags, ...applyFlags, ...federationFlags, ...clusterShapeFlags}

  async run(): Promise<void> {
    const federation = loadFederation({file: this.flags.file, overrides: [...federationOverrides(this.flags), ...clusterOverrides(this.flags, {role: 'hub'})]})
    const options = applyOptions(this.flags, this.abort.signal, this.clock)
    const kube = await kubeFor(federation.hub, this.flags)
    const result = await deployWithProgress(this.output, `hub ${federation.hub.name}`, (report) =>
      deployHub(kube, federation, {
        ...options,
        report,
      }),
    )
    printDeploy(this.output, result)
  }
}
