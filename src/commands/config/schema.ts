import {BaseCommand} from '../../base-command.js'
import {federationSchema} from '../../federation/schema.js'

export default class ConfigSchema extends BaseCommand<typeof ConfigSchema> {
  static override summary = 'Print the JSON Schema of the federation file.'
  static override description = 'Editors validate and complete fedobs.yaml with it, e.g. with the line\n# yaml-language-server: $schema=./schema/fedobs.schema.json'
  static override examples = ['<%= config.bin %> <%= command.id %> > fedobs.schema.json']

  async run(): Promise<void> {
    this.output.document(federationSchema)
  }
}
