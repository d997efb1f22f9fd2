import {BaseCommand} from '../../base-command.js'
import {stopSandbox} from '../../sandbox/control.js'
import {sandboxDir} from '../../sandbox/state.js'

export default class SandboxStop extends BaseCommand<typeof SandboxStop> {
  static override summary = 'Stop the local sandbox and everything it runs.'
  static override description =
    'Stops the fake Linode API, every test-bed control plane and every telemetry process the sandbox runs; its clusters are gone with it (their kubeconfig contexts stay in the sandbox kubeconfig until `fedobs down` or `fedobs teardown`). Nothing running is not an error.'

  static override examples = ['<%= config.bin %> <%= command.id %>']

  async run(): Promise<void> {
    const stopped = await stopSandbox(sandboxDir())
    if (this.output.json) {
      this.output.document({stopped})
      return
    }
    if (stopped) this.output.success('sandbox stopped')
    else this.output.info('no sandbox running')
  }
}
