import {BaseCommand} from '../../base-command.js'
import {applyFlags, kubeFor, kubeFlags, printDeploy, timeoutOf} from '../../cli/kube.js'
import {failTasks} from '../../cli/cloud.js'
import {federationFlags, federationOverrides, fileFlag} from '../../federation/flags.js'
import {loadFederation} from '../../federation/load.js'
import {runTasks} from '../../lib/progress.js'
import {renderEdge, renderHub} from '../../render/render.js'
import {currentEndpoint, registerHubIdentity} from '../../services/connect.js'
import {deployRendering, type DeployResult} from '../../services/deploy.js'

export default class DeployAll extends BaseCommand<typeof DeployAll> {
  static override summary = 'Deploy the hub and every edge of the federation, concurrently.'
  static override description = 'Like `deploy hub` and `deploy edge NAME` for each cluster, all at once in one process. Connected edges stay pointed at their hub; run `fedobs connect` for new ones.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --dry-run --json']
  static override flags = {...fileFlag, ...kubeFlags, ...applyFlags, ...federationFlags}

  async run(): Promise<void> {
    const federation = loadFederation({file: this.flags.file, overrides: federationOverrides(this.flags)})
    const timeoutMs = timeoutOf(this.flags.timeout)
    const options = {dryRun: this.flags['dry-run'], forceConflicts: this.flags['force-conflicts'], prune: this.flags.prune, wait: this.flags.wait, timeoutMs, signal: this.abort.signal}
    const outcomes = await runTasks<DeployResult>(
      this.output,
      [federation.hub, ...federation.edges].map((cluster) => ({
        title: `${cluster.role} ${cluster.name}`,
        run: async (report) => {
          const kube = await kubeFor(cluster, {kubeconfig: this.flags.kubeconfig})
          if (cluster.role === 'hub') {
            const result = await deployRendering(kube, renderHub(federation), {...options, report})
            if (!options.dryRun) await registerHubIdentity(kube, cluster)
            return result
          }
          const endpoint = federation.telemetry.gateway.endpoint ?? (await currentEndpoint(kube))
          const hubEndpoint = endpoint ? (/:\d+$/.test(endpoint) ? endpoint : `${endpoint}:4317`) : undefined
          if (!hubEndpoint) report(`not connected yet: run \`fedobs connect ${cluster.name} hub\``)
          return deployRendering(kube, renderEdge(federation, cluster.name, hubEndpoint ? {hubEndpoint} : {}), {...options, report})
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
