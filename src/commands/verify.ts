import {writeFileSync} from 'node:fs'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {backendUrlFlags, backendUrls} from '../cli/backends.js'
import {kubeFor} from '../cli/kube.js'
import {fileFlag} from '../federation/flags.js'
import {loadFederation} from '../federation/load.js'
import {allClusters} from '../federation/model.js'
import {ExitCode, UsageError} from '../lib/errors.js'
import {closest} from '../lib/suggest.js'
import {DURATION_HINT, parseDuration, realClock} from '../lib/time.js'
import type {Kube} from '../kube/api.js'
import {certificateFacts, verifyBackends, verifyUntilPassing} from '../services/verify.js'
import {formatReport, junitReport} from '../verify/report.js'

export default class Verify extends BaseCommand<typeof Verify> {
  static override summary = 'Prove that data flows: checks on the hub, exit code and --json for CI.'
  static override description = `Queries the hub's Prometheus (and Loki and Tempo) — through the hub API server's service proxy by default, or the URLs given — and checks: every cluster of the federation reports; no unknown or duplicate cluster ids; each cluster reports the role the file gives it; each expected job (kube-state-metrics, kubeletstats, dcgm-exporter on GPU clusters, bert-inference where deployed, and on the hub the gateway and Prometheus) is present and fresh; all data came through the gateway (hub_received_at); the gateway's queues and send failures; logs and traces per cluster. The number of queries is the same for 1 or 100 clusters. Exit 0 when nothing failed, 1 when a check failed, 2 on bad usage.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {description: 'A CI gate: wait up to 5 minutes for everything to pass', command: '<%= config.bin %> <%= command.id %> --wait 5m --json --junit verify.xml'},
    {
      description: 'Against port-forwarded backends',
      command: '<%= config.bin %> <%= command.id %> --prometheus-url http://localhost:9090 --loki-url http://localhost:3100 --tempo-url http://localhost:3200',
    },
  ]

  static override flags = {
    ...fileFlag,
    kubeconfig: Flags.string({description: 'kubeconfig file (else KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE', helpGroup: 'KUBERNETES'}),
    context: Flags.string({description: "The hub's kubeconfig context (default: its context: or fedobs-<hub>).", helpValue: 'NAME', helpGroup: 'KUBERNETES'}),
    ...backendUrlFlags,
    'skip-logs': Flags.boolean({description: 'Skip the log checks (no Loki).', helpGroup: 'BACKENDS'}),
    'skip-traces': Flags.boolean({description: 'Skip the trace checks (no Tempo).', helpGroup: 'BACKENDS'}),
    'skip-certificates': Flags.boolean({description: "Skip the certificate checks (they read the hub's CA and each cluster's client Secret).", helpGroup: 'BACKENDS'}),
    cluster: Flags.string({description: 'Check only this cluster (repeatable).', multiple: true, helpValue: 'NAME'}),
    wait: Flags.string({description: 'Poll until every check passes or this long has passed, e.g. 5m.', helpValue: 'DURATION'}),
    freshness: Flags.string({description: 'How old the newest sample of a job may be.', default: '3m', helpValue: 'DURATION'}),
    window: Flags.string({description: 'How far back to look for logs and traces.', default: '15m', helpValue: 'DURATION'}),
    junit: Flags.string({description: 'Also write the checks as JUnit XML to this file.', helpValue: 'FILE'}),
  }

  async run(): Promise<void> {
    const duration = (flag: string, value: string | undefined): number | undefined => {
      if (value === undefined) return undefined
      const ms = parseDuration(value)
      if (ms === undefined || ms <= 0) throw new UsageError(`--${flag} ${JSON.stringify(value)} is not a duration`, {hint: DURATION_HINT})
      return ms
    }
    const waitMs = duration('wait', this.flags.wait)
    const freshnessMs = duration('freshness', this.flags.freshness)!
    const windowMs = duration('window', this.flags.window)!
    const federation = loadFederation({file: this.flags.file})
    const names = allClusters(federation).map((c) => c.name)
    for (const name of this.flags.cluster ?? []) {
      if (!names.includes(name) && name !== 'hub') throw new UsageError(`no cluster named "${name}" in the federation`, {suggestions: closest(name, ['hub', ...names]), code: 'unknown-cluster'})
    }
    // "hub" names the hub here as on every cluster command.
    const selected = this.flags.cluster?.map((name) => (name === 'hub' ? federation.hub.name : name))
    const urls = backendUrls(this.flags)

    let hub: Kube | undefined
    const hubKube = async (): Promise<Kube> => (hub ??= await kubeFor(federation.hub, {kubeconfig: this.flags.kubeconfig, context: this.flags.context}))
    const backends = await verifyBackends({...urls, skipLogs: this.flags['skip-logs'], skipTraces: this.flags['skip-traces']}, hubKube)
    const certificates = this.flags['skip-certificates'] ? undefined : await certificateFacts(federation, hubKube, (cluster) => kubeFor(cluster, {kubeconfig: this.flags.kubeconfig}), selected)
    const {report, attempts} = await verifyUntilPassing(federation, backends, {
      ...(selected ? {clusters: selected} : {}),
      ...(certificates ? {certificates} : {}),
      freshnessMs,
      queueWarn: 0.8,
      signalWindowMs: windowMs,
      signal: this.abort.signal,
      ...(waitMs !== undefined ? {waitMs} : {}),
      // The data verify waits for arrives in real time, also against a simulated cloud (FEDOBS_TIME_SCALE).
      clock: realClock,
      onRetry: (failing, attempt) => this.output.info(`${failing.summary.fail} check(s) failing; checking again in 10s (attempt ${attempt})`),
    })
    if (this.flags.junit) writeFileSync(this.flags.junit, junitReport(report))
    if (this.output.json) this.output.document({...report, ...(waitMs !== undefined ? {attempts} : {})})
    else this.output.result(formatReport(report, this.output))
    if (!report.ok) process.exitCode = ExitCode.Failure
  }
}
