import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {clusterContext, cloudFlags} from '../../cli/cloud.js'
import {deleteClusters} from '../../cli/delete.js'
import {resolveClusterName} from '../../cli/select.js'
import {fileFlag} from '../../federation/flags.js'

export default class ClusterDelete extends BaseCommand<typeof ClusterDelete> {
  static override summary = 'Delete an LKE cluster and what LKE leaves behind.'
  static override description = `While the cluster lives, deletes its LoadBalancer Services and PersistentVolumeClaims so that the cloud controller and CSI driver release NodeBalancers and volumes; deletes the cluster; sweeps NodeBalancers whose lke_cluster is this cluster and detached volumes tagged for it; removes the kubeconfig entries fedobs added. Asks on a terminal; needs --yes without one. Refuses a cluster without the fedobs tag unless --force. Already gone is success (a cluster of the federation file, or one whose kubeconfig entries or tagged volumes remain); a name nothing is known about is exit 2 unless --ignore-not-found.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> fed-observability-remote --dry-run',
    '<%= config.bin %> <%= command.id %> fed-observability-remote --yes',
    '<%= config.bin %> <%= command.id %> hub -f fedobs.yaml --yes',
    '<%= config.bin %> <%= command.id %> maybe-gone --ignore-not-found --yes',
  ]

  static override args = {name: Args.string({description: 'Cluster name: "hub", a cluster of the federation file, or an LKE label.', required: true})}
  static override flags = {
    ...fileFlag,
    ...cloudFlags,
    'dry-run': Flags.boolean({description: 'List everything that would be deleted; delete nothing.'}),
    force: Flags.boolean({description: 'Delete even a cluster fedobs did not create.'}),
    'ignore-not-found': Flags.boolean({description: 'A name nothing is known about is success (exit 0), not a usage error (exit 2).'}),
  }

  async run(): Promise<void> {
    const resolved = resolveClusterName(this.flags, this.args.name)
    const ctx = await clusterContext(this.flags, this.output, this.abort.signal, this.clock)
    await deleteClusters(
      ctx,
      this.output,
      [resolved.label],
      {...this.flags, known: resolved.spec ? [resolved.label] : [], ...(resolved.federation ? {fileFederation: resolved.federation} : {})},
      this.interactive,
    )
  }
}
