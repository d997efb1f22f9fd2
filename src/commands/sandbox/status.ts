import {BaseCommand} from '../../base-command.js'
import {table} from '../../cli/cloud.js'
import {ExitCode} from '../../lib/errors.js'
import {findSandbox} from '../../sandbox/control.js'
import {sandboxDir} from '../../sandbox/state.js'

export default class SandboxStatus extends BaseCommand<typeof SandboxStatus> {
  static override summary = 'The local sandbox: whether it runs, its clusters and the telemetry processes it runs for them.'
  static override description = 'Exit code 0 when the sandbox runs, 1 when it does not (for scripts: fedobs sandbox status >/dev/null || fedobs sandbox start).'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json | jq ".processes[] | select(.running | not)"']

  async run(): Promise<void> {
    const running = findSandbox(sandboxDir())
    if (this.output.json) {
      this.output.document(
        running
          ? {
              running: true,
              pid: running.state.pid,
              startedAt: running.state.startedAt,
              linodeUrl: running.state.linodeUrl,
              clusters: running.status?.clusters ?? [],
              processes: running.status?.processes ?? [],
              errors: running.status?.errors ?? [],
            }
          : {running: false, clusters: [], processes: [], errors: []},
      )
      if (!running) process.exitCode = ExitCode.Failure
      return
    }
    if (!running) {
      this.output.info('no sandbox running (start one: eval "$(fedobs sandbox start)")')
      process.exitCode = ExitCode.Failure
      return
    }
    const {state, status} = running
    this.output.result(`sandbox running (pid ${state.pid}, since ${state.startedAt}); Linode API ${state.linodeUrl}; log ${state.logFile}`)
    const clusters = status?.clusters ?? []
    this.output.result(
      clusters.length === 0
        ? 'no clusters'
        : table([['LKE ID', 'LABEL', 'STATUS', 'NODES READY', 'API SERVER'], ...clusters.map((c) => [String(c.lkeId), c.label, c.status, String(c.nodes), c.server || '-'])]),
    )
    const processes = status?.processes ?? []
    if (processes.length > 0) this.output.result(table([['CLUSTER', 'PROCESS', 'STATE', 'STARTS'], ...processes.map((p) => [p.cluster, p.name, p.running ? 'running' : 'exited', String(p.starts)])]))
    for (const error of status?.errors ?? []) this.output.warn(error)
  }
}
