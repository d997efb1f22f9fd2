import {BaseCommand} from '../../base-command.js'
import {addressFlags, applyFlags, applyOptions, edgeAddressResolver, kubeFor, kubeFlags, printDeploy} from '../../cli/kube.js'
import {failTasks} from '../../cli/cloud.js'
import {federationFlags, federationOverrides, fileFlag} from '../../federation/flags.js'
import {loadFederation} from '../../federation/load.js'
import type {Kube} from '../../kube/api.js'
import {runTasks} from '../../lib/progress.js'
import {edgeEndpoint} from '../../services/connect.js'
import type {DeployResult} from '../../services/deploy.js'
import {deployEdge, deployHub} from '../../services/hub.js'

export default class DeployAll extends BaseCommand<typeof DeployAll> {
  static override summary = 'Deploy the hub and every edge of the federation, concurrently.'
  static override description =
    'Like `deploy hub` and `deploy edge NAME` for each cluster, all at once in one process. Connected edges stay pointed at their hub (their certificates renewed and their node addresses brought up to date in the gateway firewall); run `fedobs connect` for new ones.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --dry-run --json']
  static override flags = {...fileFlag, ...kubeFlags, ...applyFlags, ...addressFlags, ...federationFlags}

  async run(): Promise<void> {
    const federation = loadFederation({file: this.flags.file, overrides: federationOverrides(this.flags)})
    const options = applyOptions(this.flags, this.abort.signal, this.clock)
    let hubKube: Promise<Kube> | undefined
    const hub = (): Promise<Kube> => (hubKube ??= kubeFor(federation.hub, {kubeconfig: this.flags.kubeconfig}))
    const addresses = await edgeAddressResolver(this.flags, this.output, this.abort.signal, this.clock)
    const outcomes = await runTasks<DeployResult>(
      this.output,
      [federation.hub, ...federation.edges].map((cluster) => ({
        title: `${cluster.role} ${cluster.name}`,
        run: async (report) => {
          if (cluster.role === 'hub') return deployHub(await hub(), federation, {...options, report})
          const kube = await kubeFor(cluster, {kubeconfig: this.flags.kubeconfig})
          const hubEndpoint = await edgeEndpoint(federation, kube)
          if (!hubEndpoint) report(`not connected yet: run \`fedobs connect ${cluster.name} hub\``)
          return deployEdge(kube, federation, cluster, {...options, report, ...(hubEndpoint ? {endpoint: hubEndpoint, hub: await hub(), addresses: addresses(cluster)} : {})})
        },
      })),
      {concurrent: true},
    )
    const done = outcomes.filter((o) => o.ok).map((o) => (o as {value: DeployResult}).value)
    const failed = outcomes.filter((o) => !o.ok) as Array<{title: string; error: unknown}>
    if (this.output.json) this.output.document({clusters: done, failed: failed.map((f) => ({cluster: f.title, error: (f.error as Error).message}))})
    else for (const result of done) printDeploy(this.output, result)
    failTasks(this.output, failed, outcomes.length)
  }
}
