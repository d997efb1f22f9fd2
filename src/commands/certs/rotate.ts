import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {certsFlags, clusterArg, clusterNamed, hubKube} from '../../cli/certs.js'
import {kubeFor} from '../../cli/kube.js'
import {fileFlag} from '../../federation/flags.js'
import {loadFederation} from '../../federation/load.js'
import {UsageError} from '../../lib/errors.js'
import {runTasks} from '../../lib/progress.js'
import {gatewayAddresses} from '../../services/deploy/gateway.js'
import {ensureClusterCredentials, rotateGateway} from '../../services/pki.js'

export default class CertsRotate extends BaseCommand<typeof CertsRotate> {
  static override summary = "Issue a cluster's client certificate and identity token again, or the gateway's certificate."
  static override description = `CLUSTER: a new key, client certificate and identity token, installed in the cluster (Secret observability/otel-gateway-client); its collectors pick them up without a restart (the token at once, the certificate within 5 minutes) and nothing is lost meanwhile. The previous certificate stays valid until it expires: to invalidate it, \`fedobs certs revoke\` first. A revoked cluster gets a new CA, so rotating after a revocation re-admits it.

--gateway: a new server certificate for the gateway, covering its Service names and its LoadBalancer addresses; the gateway reloads it within a minute, without a restart.`
  static override examples = ['<%= config.bin %> <%= command.id %> fed-observability-remote', '<%= config.bin %> <%= command.id %> hub', '<%= config.bin %> <%= command.id %> --gateway']
  static override args = clusterArg
  static override flags = {
    ...fileFlag,
    ...certsFlags,
    gateway: Flags.boolean({description: "Rotate the gateway's server certificate instead."}),
  }

  async run(): Promise<void> {
    const federation = loadFederation({file: this.flags.file})
    if (this.flags.gateway === Boolean(this.args.cluster)) {
      throw new UsageError(this.flags.gateway ? 'give a cluster or --gateway, not both' : 'which certificate? Give a cluster name (or "hub"), or --gateway', {code: 'usage'})
    }
    if (!federation.security.mtls)
      throw new UsageError('security.mtls is off: the federation has no certificates to rotate', {hint: 'Turn mTLS on (remove security.mtls: false) and re-run fedobs deploy hub.'})
    const hub = await hubKube(federation, this.flags)
    if (this.flags.gateway) {
      const [outcome] = await runTasks(this.output, [{title: 'gateway certificate', run: async (report) => rotateGateway(hub, federation, await gatewayAddresses(hub), {force: true, report})}], {
        concurrent: false,
      })
      if (!outcome!.ok) throw outcome!.error
      const result = outcome!.value
      if (this.output.json) this.output.document({gateway: result})
      else this.output.success(`new gateway certificate, valid until ${result.notAfter.slice(0, 10)}, for ${result.sans.join(', ')}`)
      return
    }
    const cluster = clusterNamed(federation, this.args.cluster!)
    const kube = cluster.role === 'hub' ? hub : await kubeFor(cluster, {kubeconfig: this.flags.kubeconfig})
    const [outcome] = await runTasks(
      this.output,
      [{title: `${cluster.name} client certificate`, run: (report) => ensureClusterCredentials(hub, kube, federation, cluster, {report, force: true, replaceRevoked: true})}],
      {concurrent: false},
    )
    if (!outcome!.ok) throw outcome!.error
    const result = outcome!.value
    if (this.output.json) this.output.document(result)
    else this.output.success(`${cluster.name}: new client certificate and identity token, valid until ${result.notAfter.slice(0, 10)}`)
  }
}
