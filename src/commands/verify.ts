import {writeFileSync} from 'node:fs'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {formatBytes, runVerify, verifyFlags, verifyPlan} from '../cli/verify.js'
import {ExitCode} from '../lib/errors.js'
import {assertWritable, writeHtmlReport} from '../services/report.js'
import {formatReport, junitReport} from '../verify/report.js'

export default class Verify extends BaseCommand<typeof Verify> {
  static override summary = 'Prove that data flows: checks on the hub, exit code and --json for CI.'
  static override description = `Queries the hub's Prometheus (and Loki and Tempo) — through the hub API server's service proxy by default, or the URLs given — and checks: every cluster of the federation reports; no unknown or duplicate cluster ids; each cluster reports the role the file gives it; each expected job (kube-state-metrics, kubeletstats, dcgm-exporter on GPU clusters, bert-inference where deployed, and on the hub the gateway and Prometheus) is present and fresh; all data came through the gateway (hub_received_at); the gateway's queues and send failures; logs and traces per cluster. The number of queries is the same for 1 or 100 clusters. Exit 0 when nothing failed, 1 when a check failed, 2 on bad usage.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {description: 'A CI gate: wait up to 5 minutes for everything to pass', command: '<%= config.bin %> <%= command.id %> --wait 5m --json --junit verify.xml'},
    {description: 'Also write the HTML report a CI job attaches as an artifact', command: '<%= config.bin %> <%= command.id %> --html fedobs-report.html'},
    {
      description: 'Against port-forwarded backends',
      command: '<%= config.bin %> <%= command.id %> --prometheus-url http://localhost:9090 --loki-url http://localhost:3100 --tempo-url http://localhost:3200',
    },
  ]

  static override flags = {
    ...verifyFlags,
    html: Flags.string({description: 'Also write a self-contained HTML report (the checks and the last hour per cluster) to this file; checked before any query.', helpValue: 'FILE'}),
  }

  async run(): Promise<void> {
    const plan = verifyPlan(this.flags)
    if (this.flags.html) assertWritable(this.flags.html, '--html FILE')
    const {report, attempts, backends} = await runVerify(plan, this.flags, this.output, this.abort.signal)
    if (this.flags.junit) writeFileSync(this.flags.junit, junitReport(report))
    if (this.flags.html) {
      const written = await writeHtmlReport(
        this.flags.html,
        plan.federation,
        report,
        backends.prometheus,
        {
          ...(plan.selected ? {clusters: plan.selected} : {}),
          source: backends.prometheus.describe,
          now: Date.now(),
          signal: this.abort.signal,
        },
        '--html FILE',
      )
      this.output.info(`HTML report: ${written.file} (${formatBytes(written.bytes)})`)
    }
    if (this.output.json) this.output.document({...report, ...(plan.waitMs !== undefined ? {attempts} : {})})
    else this.output.result(formatReport(report, this.output))
    if (!report.ok) process.exitCode = ExitCode.Failure
  }
}
