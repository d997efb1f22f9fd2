import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {OperationError, UsageError} from '../../lib/errors.js'
import {buildBinaries, findSandbox, missingBinaries, startSandbox} from '../../sandbox/control.js'
import {sandboxDir, sandboxEnv, type SandboxState} from '../../sandbox/state.js'

/** `export K=V` lines, quoted for sh. */
export function exportLines(state: SandboxState): string {
  return Object.entries(sandboxEnv(state))
    .map(([k, v]) => `export ${k}='${v.replaceAll("'", "'\\''")}'`)
    .join('\n')
}

export default class SandboxStart extends BaseCommand<typeof SandboxStart> {
  static override summary = 'Start the local sandbox: a fake Linode API whose clusters are real API servers, with real telemetry.'
  static override description = `The sandbox stands in for Linode on this machine: the Linode API v4 (checked against the official OpenAPI spec) whose LKE clusters are real Kubernetes API servers (etcd, kube-apiserver, controller-manager, scheduler, kwok nodes), LoadBalancer and volume stand-ins, and the telemetry of what fedobs deploys into them running for real (the collectors with the deployed configs, Prometheus, kube-state-metrics, synthetic BERT, DCGM and kubelet sources, VictoriaLogs).

It runs in the background until \`fedobs sandbox stop\`. stdout is the environment that points fedobs at it: eval "$(fedobs sandbox start)". The first start builds its binaries with Go (about 28 minutes on two cores; cached by version, seconds afterwards).`

  static override examples = [
    'eval "$(<%= config.bin %> <%= command.id %>)"',
    '<%= config.bin %> <%= command.id %> --time-scale 1   # cloud waits in real time',
    '<%= config.bin %> <%= command.id %> --json | jq .env',
  ]

  static override flags = {
    'time-scale': Flags.string({description: 'Real seconds per simulated second of the fake cloud (provisioning waits).', default: '0.02', helpValue: 'FACTOR'}),
    port: Flags.integer({description: 'Port of the fake Linode API (0: any free port).', default: 0, min: 0, max: 65535}),
    telemetry: Flags.boolean({description: 'Run the telemetry of what is deployed (--no-telemetry: the cloud and API servers only, e.g. for benchmarks).', default: true, allowNo: true}),
    build: Flags.boolean({description: 'Build missing binaries (Go) before starting.', default: true, allowNo: true}),
    timeout: Flags.integer({description: 'Seconds to wait for the sandbox to serve.', default: 180, min: 1}),
  }

  async run(): Promise<void> {
    const timeScale = Number(this.flags['time-scale'])
    if (!(timeScale > 0 && timeScale <= 1)) {
      throw new UsageError(`--time-scale ${this.flags['time-scale']}: expected a number in (0, 1]`, {hint: '0.02 makes a 5-minute cluster creation take 6 s; 1 is real time.'})
    }
    const dir = sandboxDir()
    const existing = findSandbox(dir)
    let state: SandboxState
    if (existing) {
      state = existing.state
      this.output.info(`the sandbox already runs (pid ${state.pid}, since ${state.startedAt})`)
    } else {
      const missing = missingBinaries()
      if (missing.length > 0) {
        if (!this.flags.build) throw new UsageError(`the sandbox's binaries are not built: ${missing.join(', ')}`, {hint: 'Run without --no-build, or: npm run testbed:build'})
        this.output.info(`building the sandbox's binaries with Go (${missing.length} missing; about 28 minutes cold on two cores, cached by version afterwards)`)
        const started = Date.now()
        const code = await buildBinaries((line) => this.output.info(`  build: ${line}`))
        if (code !== 0) throw new OperationError(`building the sandbox's binaries failed (exit ${code})`, {hint: 'Run bash scripts/testbed/build.sh to see the whole output.'})
        this.output.info(`built in ${Math.round((Date.now() - started) / 1000)} s`)
      }
      this.output.info('starting the sandbox (fake Linode API, test-bed control planes, telemetry)')
      try {
        state = await startSandbox({dir, timeScale, port: this.flags.port, telemetry: this.flags.telemetry, timeoutMs: this.flags.timeout * 1000, signal: this.abort.signal})
      } catch (error) {
        throw new OperationError(`the sandbox did not start: ${(error as Error).message}`, {hint: `Its directory: ${dir}`})
      }
      this.output.success(`sandbox running (pid ${state.pid}); Linode API ${state.linodeUrl}, time scale ${state.timeScale}`)
    }
    if (this.output.json) {
      this.output.document({running: true, pid: state.pid, dir: state.dir, linodeUrl: state.linodeUrl, timeScale: state.timeScale, env: sandboxEnv(state)})
      return
    }
    this.output.result(exportLines(state))
    this.output.info('point fedobs at it: eval "$(fedobs sandbox start)" (or fedobs sandbox env); stop it with fedobs sandbox stop')
  }
}
