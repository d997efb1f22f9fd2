import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {clusterContext, cloudFlags} from '../cli/cloud.js'
import {deleteClusters} from '../cli/delete.js'
import {fileFlag} from '../federation/flags.js'
import {federationTag} from '../federation/identity.js'
import {loadFederation, resolveFederationFile} from '../federation/load.js'
import {allClusters} from '../federation/model.js'
import {UsageError} from '../lib/errors.js'

export default class Teardown extends BaseCommand<typeof Teardown> {
  static override summary = 'Delete every cluster of the federation, and what LKE leaves behind.'
  static override description = `Like \`fedobs cluster delete\` for each cluster of the federation file (or, with --federation and no file, each cluster tagged with that federation), concurrently: LoadBalancers and volume claims released first, clusters deleted, NodeBalancers and tagged volumes swept, kubeconfig entries removed. Asks once on a terminal; needs --yes without one.`
  static override examples = ['<%= config.bin %> <%= command.id %> --dry-run', '<%= config.bin %> <%= command.id %> --yes', '<%= config.bin %> <%= command.id %> --federation fed-observability --yes']

  static override flags = {
    ...fileFlag,
    federation: Flags.string({description: 'Federation name, when there is no federation file.', helpValue: 'NAME'}),
    ...cloudFlags,
    'dry-run': Flags.boolean({description: 'List everything that would be deleted; delete nothing.'}),
    force: Flags.boolean({description: 'Delete even clusters fedobs did not create.'}),
  }

  async run(): Promise<void> {
    const file = resolveFederationFile(this.flags.file)
    const ctx = await clusterContext(this.flags, this.output, this.abort.signal, this.clock)
    let names: string[]
    if (file) {
      names = allClusters(loadFederation({file, overrides: []})).map((c) => c.name)
    } else if (this.flags.federation) {
      names = (await ctx.api.clustersByTag(federationTag(this.flags.federation))).map((c) => c.label)
    } else {
      throw new UsageError('which federation? There is no ./fedobs.yaml', {hint: 'Pass -f FILE or --federation NAME.', code: 'no-federation'})
    }
    if (names.length === 0) {
      if (this.output.json) this.output.document({deleted: [], failed: []})
      else this.output.info('nothing to tear down')
      return
    }
    // Every name comes from the file or the cloud: one that is gone is "already gone", never unknown.
    await deleteClusters(ctx, this.output, names, {...this.flags, known: names}, this.interactive)
  }
}
