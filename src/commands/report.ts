import {writeFileSync} from 'node:fs'
import {Args} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {formatBytes, runVerify, verifyFlags, verifyPlan} from '../cli/verify.js'
import {ExitCode} from '../lib/errors.js'
import {assertWritable, writeHtmlReport} from '../services/report.js'
import {junitReport} from '../verify/report.js'

export default class Report extends BaseCommand<typeof Report> {
  static override summary = 'Write a self-contained HTML health report: the verify checks and the last hour of every cluster.'
  static override description = `Runs the checks of \`fedobs verify\` (same flags, same backends: the hub API server's service proxy by default, or the URLs given), then asks the hub's Prometheus for the last hour of every cluster — data age, samples/s, exporter queue fill, scrape targets up: four range queries for 1 or 100 clusters — and writes one HTML page that needs no network to open (the charting library and the data are inside it). The check table reads without JavaScript; the charts need it. The file is written also when a check fails (exit 1); an unwritable FILE is exit 2 before any query.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {description: 'In CI: wait for the checks, keep the page as an artifact', command: '<%= config.bin %> <%= command.id %> artifacts/fedobs-report.html --wait 5m'},
    {description: 'The file written, its size and the verdict as JSON', command: '<%= config.bin %> <%= command.id %> report.html -o json'},
  ]

  static override args = {
    file: Args.string({description: 'Where to write the page.', default: 'fedobs-report.html'}),
  }

  static override flags = verifyFlags

  async run(): Promise<void> {
    const file = this.args.file
    const plan = verifyPlan(this.flags)
    assertWritable(file, 'the FILE argument')
    const {report, backends} = await runVerify(plan, this.flags, this.output, this.abort.signal)
    if (this.flags.junit) writeFileSync(this.flags.junit, junitReport(report))
    const written = await writeHtmlReport(
      file,
      plan.federation,
      report,
      backends.prometheus,
      {...(plan.selected ? {clusters: plan.selected} : {}), source: backends.prometheus.describe, now: Date.now(), signal: this.abort.signal},
      'the FILE argument',
    )
    const {ok, warn, fail} = report.summary
    if (this.output.json) this.output.document({file: written.file, bytes: written.bytes, ok: report.ok, summary: report.summary})
    else {
      this.output.info(`${this.output.paint(report.ok ? 'green' : 'red', report.ok ? '✔' : '✖')} ${ok} ok, ${warn} warning(s), ${fail} failed`)
      this.output.info(`HTML report: ${written.file} (${formatBytes(written.bytes)})`)
      this.output.result(written.file)
    }
    if (!report.ok) process.exitCode = ExitCode.Failure
  }
}
