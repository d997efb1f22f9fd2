import {BaseCommand} from '../../base-command.js'
import {clusterContext, cloudFlags, table} from '../../cli/cloud.js'
import {fileFlag} from '../../federation/flags.js'
import {loadFederation, resolveFederationFile} from '../../federation/load.js'
import {listClusters} from '../../services/clusters.js'

export default class ClusterList extends BaseCommand<typeof ClusterList> {
  static override summary = 'List the LKE clusters fedobs manages.'
  static override description =
    'With a federation file: its clusters (also those not created yet). Without: every cluster tagged fedobs. Shows id, label, role, region, Kubernetes version, status, nodes ready/total and the kubeconfig context.'

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json | jq -r ".clusters[].label"']

  static override flags = {...fileFlag, ...cloudFlags}

  async run(): Promise<void> {
    const file = resolveFederationFile(this.flags.file)
    const federation = file ? loadFederation({file}) : undefined
    const ctx = await clusterContext(this.flags, this.output, this.abort.signal, this.clock)
    const rows = await listClusters(ctx, federation)
    if (this.output.json) {
      this.output.document({clusters: rows})
      return
    }
    if (rows.length === 0) {
      this.output.info('no clusters')
      return
    }
    this.output.result(
      table([
        ['ID', 'LABEL', 'ROLE', 'REGION', 'VERSION', 'STATUS', 'NODES', 'CONTEXT'],
        ...rows.map((r) => [String(r.id ?? '-'), r.label, r.role ?? '-', r.region ?? '-', r.version ?? '-', r.status, `${r.nodesReady}/${r.nodesTotal}`, r.context ?? '-']),
      ]),
    )
  }
}
