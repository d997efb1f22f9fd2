import {readFileSync} from 'node:fs'
import path from 'node:path'
import {Args} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {fishCompletion} from '../cli/completion.js'
import {UsageError} from '../lib/errors.js'

export default class Completion extends BaseCommand<typeof Completion> {
  static override summary = 'Print the shell completion script for bash, zsh or fish.'
  static override description = `Commands, subcommands, flags and the values of flags that have a fixed set (like -o json|yaml|table) complete on TAB. The bash and zsh scripts are the ones @oclif/plugin-autocomplete builds (\`fedobs autocomplete\` installs them for you and prints the steps); the fish script comes from fedobs's command manifest. Load a script in the running shell, or save it where the shell looks for completions.`
  static override examples = [
    {description: 'bash, now', command: 'source <(<%= config.bin %> <%= command.id %> bash)'},
    {description: 'zsh, now (after compinit)', command: 'source <(<%= config.bin %> <%= command.id %> zsh)'},
    {description: 'fish, for good', command: '<%= config.bin %> <%= command.id %> fish > ~/.config/fish/completions/<%= config.bin %>.fish'},
  ]

  static override args = {shell: Args.string({description: 'The shell.', options: ['bash', 'zsh', 'fish'], required: true})}

  async run(): Promise<void> {
    const {shell} = this.args
    if (this.output.json) throw new UsageError(`completion prints a ${shell} script: -o ${this.output.format} does not apply to it`, {code: 'usage'})
    if (shell === 'fish') {
      this.output.result(fishCompletion(this.config.bin, this.config.commands, this.config.topics, this.config.topicSeparator))
      return
    }
    // The plugin writes its scripts into the cache directory; print the completion function itself.
    await this.config.runCommand('autocomplete:create', [])
    const functions = path.join(this.config.cacheDir, 'autocomplete', 'functions')
    if (shell === 'bash') {
      this.output.result(readFileSync(path.join(functions, 'bash', `${this.config.bin}.bash`), 'utf8'))
      return
    }
    // The zsh file is written for fpath (it ends by calling itself); sourced, it must register instead.
    const zsh = readFileSync(path.join(functions, 'zsh', `_${this.config.bin}`), 'utf8')
    const fn = `_${this.config.bin}`
    this.output.result(zsh.replace(new RegExp(`\\n${fn}\\s*$`), `\nif [ "$funcstack[1]" = "${fn}" ]; then\n  ${fn} "$@"\nelse\n  compdef ${fn} ${this.config.bin}\nfi\n`))
  }
}
