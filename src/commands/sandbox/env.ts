import {BaseCommand} from '../../base-command.js'
import {ExitCode} from '../../lib/errors.js'
import {findSandbox} from '../../sandbox/control.js'
import {sandboxDir, sandboxEnv} from '../../sandbox/state.js'
import {exportLines} from './start.js'

export default class SandboxEnv extends BaseCommand<typeof SandboxEnv> {
  static override summary = 'Print the environment that points fedobs at the running sandbox.'
  static override description = 'The same lines `fedobs sandbox start` prints, for another shell. The Linode token is in a file (LINODE_TOKEN_FILE), never printed. Exit 1 when no sandbox runs.'
  static override examples = ['eval "$(<%= config.bin %> <%= command.id %>)"']

  async run(): Promise<void> {
    const running = findSandbox(sandboxDir())
    if (!running) {
      this.output.info('no sandbox running (start one: eval "$(fedobs sandbox start)")')
      process.exitCode = ExitCode.Failure
      return
    }
    if (this.output.json) this.output.document({env: sandboxEnv(running.state)})
    else this.output.result(exportLines(running.state))
  }
}
