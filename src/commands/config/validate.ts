import {BaseCommand} from '../../base-command.js'
import {fileFlag} from '../../federation/flags.js'
import {loadFederation, resolveFederationFile} from '../../federation/load.js'
import {UsageError} from '../../lib/errors.js'

export default class ConfigValidate extends BaseCommand<typeof ConfigValidate> {
  static override summary = 'Check a federation file.'
  static override description = 'Reports every problem with its file:line:column, the field, what was expected and the valid values. Exit 0 when valid, 2 when not.'

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> -f examples/fedobs.yaml --json']

  static override flags = {...fileFlag}

  async run(): Promise<void> {
    const file = resolveFederationFile(this.flags.file)
    if (!file) {
      throw new UsageError('no federation file: ./fedobs.yaml does not exist', {hint: 'Pass one with -f FILE.', code: 'file-not-found'})
    }
    const federation = loadFederation({file})
    const summary = {
      valid: true,
      file,
      federation: federation.name,
      hub: federation.hub.name,
      edges: federation.edges.map((e) => e.name),
    }
    if (this.output.json) {
      this.output.document(summary)
      return
    }
    this.output.success(`${file} is valid: federation ${federation.name}, hub ${federation.hub.name}, ${federation.edges.length} edge(s)`)
  }
}
