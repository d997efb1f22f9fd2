import {Args} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {certsFlags, clusterNamed, hubKube} from '../../cli/certs.js'
import {confirm} from '../../cli/cloud.js'
import {fileFlag} from '../../federation/flags.js'
import {loadFederation} from '../../federation/load.js'
import {UsageError} from '../../lib/errors.js'
import {revokeClusterCredentials} from '../../services/pki.js'

export default class CertsRevoke extends BaseCommand<typeof CertsRevoke> {
  static override summary = "Revoke a cluster's credentials: the gateway refuses it from now on."
  static override description = `Removes the cluster's CA from the gateway's trust bundle (observability-hub/otel-gateway-trust). The gateway refuses new connections from the cluster within about a minute (the time the kubelet takes to update the Secret) and ends its open ones within 10 minutes (gRPC max connection age). Its data stops; everything else flows on. \`fedobs verify\` then fails for the cluster until it is re-admitted with \`fedobs certs rotate CLUSTER\` (new credentials under a new CA). Asks on a terminal; without one, --yes is required.`
  static override examples = ['<%= config.bin %> <%= command.id %> fed-observability-remote', '<%= config.bin %> <%= command.id %> edge-1 --yes --json']
  static override args = {cluster: Args.string({description: 'The cluster whose credentials to revoke (an edge, or "hub").', required: true})}
  static override flags = {...fileFlag, ...certsFlags}

  async run(): Promise<void> {
    const federation = loadFederation({file: this.flags.file})
    const cluster = clusterNamed(federation, this.args.cluster)
    if (!federation.security.mtls) throw new UsageError('security.mtls is off: there are no credentials to revoke')
    if (!this.flags.yes) {
      if (!this.interactive) throw new UsageError(`revoking ${cluster.name} stops its data at the hub: pass --yes to confirm without a terminal`, {code: 'needs-yes'})
      const what = cluster.role === 'hub' ? `the hub's own credentials (${cluster.name}): the hub's own telemetry stops` : `${cluster.name}: its telemetry is refused from now on`
      if (!(await confirm(`Revoke ${what}?`))) throw new UsageError('cancelled: nothing was revoked', {code: 'declined'})
    }
    const hub = await hubKube(federation, this.flags)
    const result = await revokeClusterCredentials(hub, federation, cluster.name, {report: (message) => this.output.debug(message)})
    if (this.output.json) {
      this.output.document({cluster: cluster.name, ...result})
      return
    }
    this.output.success(`${cluster.name} revoked (${result.at}): the gateway refuses it from its next connection`)
    this.output.info(`  re-admit it, once safe, with: fedobs certs rotate ${cluster.role === 'hub' ? 'hub' : cluster.name}`)
  }
}
