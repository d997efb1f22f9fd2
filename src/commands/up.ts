import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {backendUrlFlags, backendUrls} from '../cli/backends.js'
import {clusterContext, cloudFlags, confirm, errorJson} from '../cli/cloud.js'
import {edgeAddressResolver, kubeFor, timeoutOf} from '../cli/kube.js'
import {realClock} from '../lib/time.js'
import {hubAccess, printUpSummary, upDocument} from '../cli/up.js'
import {federationFlags, federationOverrides, fileFlag} from '../federation/flags.js'
import {loadFederation} from '../federation/load.js'
import {ExitCode, FedobsError} from '../lib/errors.js'
import {runPhases} from '../lib/progress.js'
import {checkAgainstApi} from '../services/clusters.js'
import {certificateFacts, verifyBackends} from '../services/verify.js'
import {initialState, resumeCommand, up, type UpResult} from '../services/up.js'

export default class Up extends BaseCommand<typeof Up> {
  static override summary = 'From nothing to proven data flow: create, deploy, connect, verify.'
  static override description = `Creates every cluster of the federation concurrently (found and reused when it exists), deploys the hub, deploys the edges concurrently, connects each edge to the hub, then runs \`verify\` until every check passes (--verify-wait). One progress tree on stderr; the verify table, the gateway address and how to open Grafana on stdout. Every step is idempotent: after a failure or Ctrl-C, run the same command again and it continues where it stopped (Ctrl-C prints what exists and that command). Exit 0 when everything is up and verify passed, 1 when a step failed or a verify check failed, 2 on bad usage, 130 when interrupted.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {description: 'Another file; stop before verify', command: '<%= config.bin %> <%= command.id %> -f fedobs.yaml --skip-verify'},
    {description: 'A CI job: one JSON document, remove the seed edge-local stacks without asking', command: '<%= config.bin %> <%= command.id %> --json --yes --timeout 45m'},
  ]

  static override flags = {
    ...fileFlag,
    ...cloudFlags,
    timeout: Flags.string({description: 'Budget of the whole run (clusters, deploys, connects, verify), e.g. 45m.', default: '60m', helpValue: 'DURATION'}),
    'skip-verify': Flags.boolean({description: 'Stop after connecting the edges; do not run verify.'}),
    'verify-wait': Flags.string({description: 'How long verify polls until every check passes.', default: '5m', helpValue: 'DURATION', helpGroup: 'BACKENDS'}),
    freshness: Flags.string({description: "verify: how old a job's newest sample may be.", default: '3m', helpValue: 'DURATION', helpGroup: 'BACKENDS'}),
    window: Flags.string({description: 'verify: how far back to look for logs and traces.', default: '15m', helpValue: 'DURATION', helpGroup: 'BACKENDS'}),
    ...backendUrlFlags,
    'skip-logs': Flags.boolean({description: 'verify: skip the log checks (no Loki).', helpGroup: 'BACKENDS'}),
    'skip-traces': Flags.boolean({description: 'verify: skip the trace checks (no Tempo).', helpGroup: 'BACKENDS'}),
    'skip-certificates': Flags.boolean({description: 'verify: skip the certificate checks.', helpGroup: 'BACKENDS'}),
    'force-conflicts': Flags.boolean({description: 'Take over fields another manager owns.'}),
    ...federationFlags,
  }

  async run(): Promise<void> {
    const timeoutMs = timeoutOf(this.flags.timeout)
    const verifyWaitMs = timeoutOf(this.flags['verify-wait'])
    const freshnessMs = timeoutOf(this.flags.freshness)
    const windowMs = timeoutOf(this.flags.window)
    const urls = backendUrls(this.flags)
    const federation = loadFederation({file: this.flags.file, overrides: federationOverrides(this.flags)})
    const cloud = await clusterContext(this.flags, this.output, this.abort.signal, this.clock)
    // Nothing is created before region, version and plans are known to exist.
    await checkAgainstApi(cloud.api, federation, [federation.hub, ...federation.edges])
    const addresses = await edgeAddressResolver(this.flags, this.output, this.abort.signal, this.clock)
    const kube = {kubeconfig: this.flags.kubeconfig}
    const resume = resumeCommand(this.argv)
    const access = hubAccess(federation, this.flags.kubeconfig)

    const state = initialState(federation)
    let reported = false
    const reportInterrupted = (): void => {
      if (reported) return
      reported = true
      process.exitCode = ExitCode.Interrupted
      if (this.output.json) this.output.document(upDocument(federation, {state, interrupted: true, resume, access}))
      else printUpSummary(this.output, federation, {state, interrupted: true, resume, access})
    }
    // Ctrl-C and SIGTERM (the base command aborts on both): say what exists and how to resume, exit 130.
    // The progress tree settles first when it can; the summary comes before the base command's 5 s exit in any case.
    this.abort.signal.addEventListener('abort', () => setTimeout(reportInterrupted, 3000).unref())

    const result: UpResult = await up(
      federation,
      {
        cloud,
        kube: (cluster) => kubeFor(cluster, kube),
        addresses,
        backends: (hub) => verifyBackends({...urls, skipLogs: this.flags['skip-logs'], skipTraces: this.flags['skip-traces']}, hub),
        ...(this.flags['skip-certificates'] ? {} : {certificates: (hub) => certificateFacts(federation, hub, (cluster) => kubeFor(cluster, kube), undefined)}),
        runPhases: (phases, signal) => runPhases(this.output, phases, signal),
        confirm,
      },
      {
        timeoutMs,
        skipVerify: this.flags['skip-verify'],
        verifyWaitMs,
        verifyClock: realClock,
        freshnessMs,
        signalWindowMs: windowMs,
        forceConflicts: this.flags['force-conflicts'],
        // The progress tree owns the terminal: no question in the middle of it; --yes removes the seed's stack.
        removeLocalStack: this.flags.yes ? 'yes' : 'no',
      },
      state,
    )
    if (this.abort.signal.aborted) {
      reportInterrupted()
      return
    }
    const failed = result.failures.length > 0
    const verifyFailed = result.verify ? !result.verify.report.ok : false
    if (this.output.json) {
      this.output.document(upDocument(federation, {state, interrupted: false, resume, access, result}))
    } else {
      printUpSummary(this.output, federation, {state, interrupted: false, resume, access, result})
    }
    if (failed) {
      const first = result.failures[0]!.error
      process.exitCode = first instanceof FedobsError && first.exitCode === ExitCode.Usage ? ExitCode.Usage : ExitCode.Failure
      if (!this.output.json) for (const f of result.failures) this.output.debug(`${f.step}${f.cluster ? ` ${f.cluster}` : ''}: ${JSON.stringify(errorJson(f.error))}`)
    } else if (verifyFailed) {
      process.exitCode = ExitCode.Failure
    }
  }
}
