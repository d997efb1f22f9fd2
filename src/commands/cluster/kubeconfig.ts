import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {clusterContext, cloudFlags} from '../../cli/cloud.js'
import {requireExisting, resolveClusterName} from '../../cli/select.js'
import {fileFlag} from '../../federation/flags.js'
import {assertWritableKubeconfig} from '../../kube/kubeconfig.js'
import {UsageError} from '../../lib/errors.js'
import {DURATION_HINT, parseDuration} from '../../lib/time.js'
import {refreshKubeconfig} from '../../services/clusters.js'

export default class ClusterKubeconfig extends BaseCommand<typeof ClusterKubeconfig> {
  static override summary = "Fetch a cluster's kubeconfig again and merge it."
  static override description = 'Waits while LKE says it is not available yet. Writes the per-cluster file (0600) and merges under a lock with a backup; prints the context name.'
  static override examples = ['<%= config.bin %> <%= command.id %> fed-observability-remote --set-context']
  static override args = {name: Args.string({description: 'Cluster name: "hub", a cluster of the federation file, or an LKE label.', required: true})}
  static override flags = {
    ...fileFlag,
    ...cloudFlags,
    'set-context': Flags.boolean({description: 'Switch current-context to this cluster.'}),
    timeout: Flags.string({description: 'How long to wait for LKE, e.g. 10m.', default: '10m', helpValue: 'DURATION'}),
  }

  async run(): Promise<void> {
    const timeoutMs = parseDuration(this.flags.timeout)
    if (timeoutMs === undefined) throw new UsageError(`--timeout ${JSON.stringify(this.flags.timeout)} is not a duration`, {hint: DURATION_HINT})
    const resolved = resolveClusterName(this.flags, this.args.name)
    const ctx = await clusterContext(this.flags, this.output, this.abort.signal, this.clock)
    await requireExisting(ctx.api, this.flags, resolved)
    assertWritableKubeconfig(ctx.kubeconfig)
    const name = resolved.label
    const merged = await refreshKubeconfig(ctx, name, {timeoutMs, setContext: this.flags['set-context'], report: (m) => this.output.info(`${name}: ${m}`)})
    if (this.output.json) this.output.document({cluster: name, id: merged.id, context: merged.alias, lkeContext: merged.context, kubeconfig: merged.target, file: merged.file})
    else this.output.result(merged.alias)
  }
}
