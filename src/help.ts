import {Errors, Help} from '@oclif/core'

/**
 * oclif's help, with one change: `fedobs help clustr` (help on something that does not exist)
 * names the closest commands and exits 2, like `fedobs clustr` does.
 */
export default class FedobsHelp extends Help {
  override async showHelp(argv: string[]): Promise<void> {
    try {
      await super.showHelp(argv)
    } catch (error) {
      const unknown = error instanceof Error ? /^Command (.+) not found\.$/.exec(error.message) : null
      if (!unknown) throw error
      // Loaded only here: --help itself stays as light as oclif's own.
      const {reportUnknownCommand} = await import('./cli/not-found.js')
      Errors.exit(reportUnknownCommand(this.config, unknown[1]!, argv).exitCode)
    }
  }
}
