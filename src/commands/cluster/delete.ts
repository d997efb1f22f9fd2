import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {clusterContext, cloudFlags} from '../../cli/cloud.js'
import {deleteClusters} from '../../cli/delete.js'

export default class ClusterDelete extends BaseCommand<typeof ClusterDelete> {
  static override summary = 'Delete an LKE cluster and what LKE leaves behind.'
  static override description = `While the cluster lives, deletes its LoadBalancer Services and PersistentVolumeClaims so that the cloud controller and CSI driver release NodeBalancers and volumes; deletes the cluster; sweeps NodeBalancers whose lke_cluster is this cluster and detached volumes tagged for it; removes the kubeconfig entries fedobs added. Asks on a terminal; needs --yes without one. Refuses a cluster without the fedobs tag unless --force. Already gone is success.`
  static override examples = ['<%= config.bin %> <%= command.id %> fed-observability-remote --dry-run', '<%= config.bin %> <%= command.id %> fed-observability-remote --yes']

  static override args = {name: Args.string({description: 'Cluster name (the LKE label).', required: true})}
  static override flags = {
    ...cloudFlags,
    'dry-run': Flags.boolean({description: 'List everything that would be deleted; delete nothing.'}),
    force: Flags.boolean({description: 'Delete even a cluster fedobs did not create.'}),
  }

  async run(): Promise<void> {
    const ctx = await clusterContext(this.flags, this.output, this.abort.signal, this.clock)
    await deleteClusters(ctx, this.output, [this.args.name], this.flags, this.interactive)
  }
}
