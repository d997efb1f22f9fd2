import {BaseCommand} from '../base-command.js'
import {backendUrlFlags, backendUrls} from '../cli/backends.js'
import {clusterContext, cloudFlags} from '../cli/cloud.js'
import {kubeFor, kubeFlags} from '../cli/kube.js'
import {formatStatus} from '../cli/status.js'
import {fileFlag} from '../federation/flags.js'
import {loadFederation} from '../federation/load.js'
import {federationStatus} from '../services/status.js'
import {verifyBackends} from '../services/verify.js'

export default class Status extends BaseCommand<typeof Status> {
  static override summary = 'Where the federation stands: clusters, nodes, drift from the file, gateway, data age.'
  static override description = `For every cluster of the federation file: whether it exists, its role, its nodes ready per pool (Linode API), and how it differs from the file (pools: type, count, autoscaler; Kubernetes version; region; tags). Then the hub gateway's address and, per cluster, the age of its newest data at the hub — one Prometheus query whatever the number of clusters, reached like \`verify\` (--prometheus-url or FEDOBS_PROMETHEUS_URL, else the hub API server's service proxy). Clusters that do not exist yet are shown as such. Reads only. Exit 0 unless the Linode API cannot be reached or refuses (1) or the usage is wrong (2); drift is shown, not an error.`

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> -f fedobs.yaml --json']

  static override flags = {
    ...fileFlag,
    ...cloudFlags,
    context: kubeFlags.context,
    'prometheus-url': backendUrlFlags['prometheus-url'],
  }

  async run(): Promise<void> {
    const urls = backendUrls(this.flags)
    const federation = loadFederation({file: this.flags.file})
    const cloud = await clusterContext(this.flags, this.output, this.abort.signal, this.clock)
    const report = await federationStatus(federation, {
      api: cloud.api,
      kubeconfig: cloud.kubeconfig,
      hub: () => kubeFor(federation.hub, {kubeconfig: this.flags.kubeconfig, context: this.flags.context}),
      prometheus: async (hub) => (await verifyBackends({...urls, skipLogs: true, skipTraces: true}, hub)).prometheus,
      now: () => Date.now(),
      signal: this.abort.signal,
    })
    if (this.output.json) this.output.document(report)
    else this.output.result(formatStatus(report, this.output))
  }
}
