import {BaseCommand} from '../../base-command.js'
import {certsFlags, hubKube} from '../../cli/certs.js'
import {table} from '../../cli/cloud.js'
import {kubeFor} from '../../cli/kube.js'
import {fileFlag} from '../../federation/flags.js'
import {loadFederation} from '../../federation/load.js'
import {allClusters} from '../../federation/model.js'
import {UsageError} from '../../lib/errors.js'
import {pkiReport} from '../../services/pki.js'

export default class CertsStatus extends BaseCommand<typeof CertsStatus> {
  static override summary = "The federation's certificates: expiry, state, and what each cluster has installed."
  static override description = `Reads the federation CA on the hub (Secret observability-hub/fedobs-pki) and, through each cluster's kubeconfig context, the client certificate the cluster holds (Secret observability/otel-gateway-client). One line per certificate: the root CA, the gateway's server certificate, each cluster's CA and client certificate, with the days left and a state: valid, expiring (within 14 days), expired, revoked, missing. For client certificates, INSTALLED says whether the cluster holds the one the CA issued last. No key is ever shown.`
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json | jq \'.certificates[] | select(.state != "valid")\'']
  static override flags = {...fileFlag, ...certsFlags}

  async run(): Promise<void> {
    const federation = loadFederation({file: this.flags.file})
    const hub = await hubKube(federation, this.flags)
    const clusters = await Promise.all(
      allClusters(federation).map(async (cluster) => ({name: cluster.name, kube: cluster.role === 'hub' ? hub : await kubeFor(cluster, {kubeconfig: this.flags.kubeconfig}).catch(() => undefined)})),
    )
    const report = await pkiReport(hub, federation, clusters)
    if (!report) {
      throw new UsageError(`the hub has no federation CA yet (Secret observability-hub/fedobs-pki)`, {hint: 'Run `fedobs deploy hub`: it creates the CA and the gateway certificate.', code: 'no-ca'})
    }
    if (this.output.json) {
      this.output.document({federation: federation.name, ...report})
      return
    }
    const installed = new Map(report.installed.map((i) => [i.cluster, i]))
    this.output.result(
      table([
        ['KIND', 'CLUSTER', 'NOT AFTER', 'DAYS', 'STATE', 'INSTALLED'],
        ...report.certificates.map((c) => [
          c.kind,
          c.cluster ?? '-',
          c.notAfter?.slice(0, 10) ?? '-',
          c.daysLeft === undefined ? '-' : String(c.daysLeft),
          c.state,
          c.kind === 'client' && c.cluster ? (installed.get(c.cluster)?.state ?? '-') : '-',
        ]),
      ]),
    )
    const problems = report.installed.filter((i) => i.state !== 'ok')
    for (const problem of problems) this.output.warn(`${problem.cluster}: ${problem.detail}`)
  }
}
