import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {confirm} from '../cli/cloud.js'
import {addressFlags, edgeAddressResolver, kubeFor, timeoutOf} from '../cli/kube.js'
import {fileArgument, refuseHubAsEdge} from '../cli/select.js'
import {fileFlag} from '../federation/flags.js'
import {loadFederation} from '../federation/load.js'
import {findCluster} from '../federation/model.js'
import {UsageError} from '../lib/errors.js'
import {runTasks} from '../lib/progress.js'
import {closest} from '../lib/suggest.js'
import {connectEdge} from '../services/connect.js'

export default class Connect extends BaseCommand<typeof Connect> {
  static override summary = 'Point an edge at the hub gateway and drop its edge-local stack.'
  static override description = `Waits for the hub gateway's address, renders the edge's exporters to it with cluster.id/cluster.role, applies, and waits while the agent and scraper roll (they restart only when their configuration changed, so a second run is a no-op). Refuses a cluster.id another cluster already uses. Finds the seed's edge-local Prometheus/Loki/Tempo/Grafana in namespace monitoring and removes it after confirmation (or --yes), never touching objects it cannot attribute to that stack. Re-run after the hub address changed to re-point the edge.`
  static override examples = ['<%= config.bin %> <%= command.id %> fed-observability-remote hub', '<%= config.bin %> <%= command.id %> edge-1 hub --yes --json']
  static override args = {
    edge: Args.string({description: 'Edge cluster name.', required: true}),
    hub: Args.string({description: 'Hub cluster name (or "hub").', required: true}),
  }

  static override flags = {
    ...fileFlag,
    kubeconfig: Flags.string({description: 'kubeconfig file (else KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE'}),
    'edge-context': Flags.string({description: "The edge's kubeconfig context (default: its context: or fedobs-<name>).", helpValue: 'NAME'}),
    'hub-context': Flags.string({description: "The hub's kubeconfig context.", helpValue: 'NAME'}),
    'force-conflicts': Flags.boolean({description: 'Take over fields another manager owns.'}),
    timeout: Flags.string({description: 'How long to wait, e.g. 10m.', default: '10m', helpValue: 'DURATION'}),
    ...addressFlags,
  }

  async run(): Promise<void> {
    const federation = loadFederation({file: this.flags.file, fallbackEdges: [this.args.edge]})
    refuseHubAsEdge(federation, this.args.edge, `fedobs deploy hub${fileArgument(this.flags)}`)
    const edge = federation.edges.find((e) => e.name === this.args.edge)
    if (!edge) {
      throw new UsageError(`no edge named "${this.args.edge}"`, {
        suggestions: closest(
          this.args.edge,
          federation.edges.map((e) => e.name),
        ),
        code: 'unknown-cluster',
      })
    }
    const hub = findCluster(federation, this.args.hub)
    if (!hub || hub.role !== 'hub') {
      throw new UsageError(`"${this.args.hub}" is not the hub of this federation (the hub is ${federation.hub.name})`, {
        suggestions: ['hub', federation.hub.name],
        hint: `\`fedobs connect ${this.args.edge} hub${fileArgument(this.flags)}\``,
        code: 'unknown-cluster',
      })
    }
    const [edgeKube, hubKube] = await Promise.all([
      kubeFor(edge, {kubeconfig: this.flags.kubeconfig, context: this.flags['edge-context']}),
      kubeFor(hub, {kubeconfig: this.flags.kubeconfig, context: this.flags['hub-context']}),
    ])
    const removeLocalStack = this.flags.yes ? 'yes' : this.interactive ? 'ask' : 'no'
    const addresses = (await edgeAddressResolver(this.flags, this.output, this.abort.signal, this.clock))(edge)
    const [outcome] = await runTasks(
      this.output,
      [
        {
          title: `connect ${edge.name} → ${hub.name}`,
          run: (report) =>
            connectEdge(federation, edge, edgeKube, hubKube, {
              timeoutMs: timeoutOf(this.flags.timeout),
              removeLocalStack,
              confirm,
              report,
              signal: this.abort.signal,
              clock: this.clock,
              forceConflicts: this.flags['force-conflicts'],
              addresses,
            }),
        },
      ],
      {concurrent: false},
    )
    if (!outcome!.ok) throw outcome!.error
    const result = outcome!.value
    if (this.output.json) {
      this.output.document({...result, deploy: {counts: result.deploy.counts, pruned: result.deploy.pruned, gpuNodesLabelled: result.deploy.gpuNodesLabelled}})
      return
    }
    this.output.success(
      result.changed
        ? `${result.edge} ships to ${result.hubEndpoint}${result.previousEndpoint ? ` (was ${result.previousEndpoint})` : ''}`
        : `${result.edge} already ships to ${result.hubEndpoint}: nothing changed`,
    )
    if (result.credentials?.issued) this.output.info(`  issued its client certificate and identity token (${result.credentials.reason}; until ${result.credentials.notAfter.slice(0, 10)})`)
    if (result.firewall.changed) this.output.info(`  gateway firewall: admits its ${result.firewall.sources.length} node address(es)`)
    for (const warning of [...result.deploy.warnings, ...result.firewall.warnings]) this.output.warn(warning)
    for (const removed of result.localStack.removed) this.output.info(`  removed ${removed}`)
    if (result.localStack.kept.length > 0) {
      this.output.warn(`the edge-local monitoring stack is still there (${result.localStack.kept.length} objects); re-run with --yes to remove it:\n  ${result.localStack.kept.join('\n  ')}`)
    }
    this.output.result(result.hubEndpoint)
  }
}
