import {Command, Flags, type Interfaces} from '@oclif/core'
import {CancelledError, ConfigError, ExitCode, FedobsError, UsageError, formatIssue, fsError, isFsError} from './lib/errors.js'
import {OUTPUT_FORMATS, Output, colorEnabled, outputFormatFromArgv, type OutputFormat} from './lib/output.js'
import {closest} from './lib/suggest.js'
import {scaledClock, timeScaleFromEnv, type Clock} from './lib/time.js'

export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * The one base of every fedobs command: global flags, typed flags/args, the Output, an abort
 * signal for Ctrl-C, and a single catch() that turns every error into the same shape and exit code.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    json: Flags.boolean({
      description: 'Print one JSON document on stdout and nothing else (the same as -o json).',
      helpGroup: 'GLOBAL',
    }),
    output: Flags.string({
      char: 'o',
      description: 'Output format: json or yaml (one document on stdout, nothing else), or table (the human form, the default).',
      options: [...OUTPUT_FORMATS],
      helpValue: 'json|yaml|table',
      helpGroup: 'GLOBAL',
    }),
    color: Flags.boolean({
      description: 'Colour in human output (--no-color, NO_COLOR or TERM=dumb turn it off).',
      allowNo: true,
      default: true,
      helpGroup: 'GLOBAL',
    }),
    verbose: Flags.boolean({
      description: 'Print debug details on stderr.',
      helpGroup: 'GLOBAL',
    }),
    yes: Flags.boolean({
      char: 'y',
      description: 'Answer yes to confirmations (required without a TTY).',
      helpGroup: 'GLOBAL',
    }),
  }

  static override enableJsonFlag = false

  protected flags!: CommandFlags<T>
  protected args!: CommandArgs<T>
  protected output!: Output
  /** The format asked for with -o (or --json), undefined when none was: a command's default form. */
  protected requestedFormat?: OutputFormat
  /** Aborted on SIGINT; long-running services watch it. */
  protected readonly abort = new AbortController()
  /**
   * The one clock every wait of this command runs on: real time, or FEDOBS_TIME_SCALE's scaled time
   * (tests and benchmarks against a simulated cloud). Read here and nowhere else.
   */
  protected readonly clock: Clock = scaledClock(timeScaleFromEnv(process.env))
  private sigintHandler?: () => void

  public override async init(): Promise<void> {
    // An Output exists even if parsing fails, so that catch() can report in the right format.
    const asked = outputFormatFromArgv(this.argv)
    this.output = new Output({
      json: asked === 'json' || asked === 'yaml',
      format: asked,
      verbose: this.argv.includes('--verbose'),
      color: colorEnabled(this.argv, process.env, process.stderr.isTTY ?? false),
    })
    await super.init()
    const {args, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as CommandFlags<T>
    this.args = args as CommandArgs<T>
    this.requestedFormat = this.flags.json ? 'json' : (this.flags.output as OutputFormat | undefined)
    const format: OutputFormat = this.requestedFormat ?? 'table'
    if (this.flags.json && this.flags.output !== undefined && this.flags.output !== 'json') {
      throw new UsageError(`--json and -o ${this.flags.output} ask for different formats`, {hint: '--json is -o json: give one of them.'})
    }
    this.output = new Output({
      json: format !== 'table',
      format,
      verbose: this.flags.verbose,
      color: this.flags.color && colorEnabled(this.argv, process.env, process.stderr.isTTY ?? false),
    })
    // Pointed at the local sandbox (fedobs sandbox start): every command says so, on stderr.
    if (process.env.FEDOBS_SANDBOX && !this.id?.startsWith('sandbox')) {
      process.stderr.write(`${this.output.paint('cyan', 'sandbox:')} LINODE_URL ${process.env.LINODE_URL ?? '(unset)'} is the local sandbox (${process.env.FEDOBS_SANDBOX}), not Linode\n`)
    }
    this.sigintHandler = () => {
      if (this.abort.signal.aborted) process.exit(ExitCode.Interrupted)
      this.abort.abort(new CancelledError())
      // Give services a moment to stop cleanly, then leave with the documented code.
      setTimeout(() => process.exit(ExitCode.Interrupted), 5000).unref()
    }
    process.on('SIGINT', this.sigintHandler)
    // A terminal closing or a supervisor stopping fedobs: the same orderly stop as Ctrl-C.
    process.on('SIGTERM', this.sigintHandler)
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    if (this.sigintHandler) {
      process.off('SIGINT', this.sigintHandler)
      process.off('SIGTERM', this.sigintHandler)
    }
    await super.finally(error)
  }

  /** True when it is fine to ask the user a question. */
  protected get interactive(): boolean {
    return (process.stdin.isTTY ?? false) && (process.stderr.isTTY ?? false) && !this.flags?.json && !process.env.CI
  }

  protected override async catch(error: Error & {oclif?: {exit?: number}; exitCode?: number}): Promise<void> {
    const normalized = this.explainParseError(error) ?? normalizeError(error, this.abort.signal.aborted)
    // A refused command line is handled (reported below): not oclif's "did not parse its arguments".
    this.parsed = true
    process.exitCode = normalized.exitCode
    const asked = outputFormatFromArgv(this.argv)
    const output = this.output ?? new Output({json: asked === 'json' || asked === 'yaml', format: asked, verbose: false, color: false})
    if (output.json) {
      output.document({error: normalized.toJSON()})
      return
    }
    if (normalized instanceof ConfigError) {
      output.error(normalized.issues.length === 1 ? 'invalid configuration' : `${normalized.issues.length} problems in the configuration`)
      for (const issue of normalized.issues) process.stderr.write(`${formatIssue(issue)}\n`)
    } else {
      output.error(normalized.message)
    }
    if (normalized instanceof UsageError && normalized.suggestions.length > 0) {
      process.stderr.write(`  did you mean: ${normalized.suggestions.join(', ')}\n`)
    }
    if (normalized.hint) process.stderr.write(`  ${output.paint('cyan', 'hint:')} ${normalized.hint}\n`)
    if (output.verbose && error.stack && !(error instanceof FedobsError && error.exitCode === ExitCode.Usage)) {
      process.stderr.write(`${output.paint('gray', error.stack)}\n`)
    }
  }

  /**
   * oclif's parse errors, said the way the rest of fedobs says things: an unknown flag names the
   * closest flags this command has; an -o that is no format (a directory, say) lists the formats
   * and, where the command writes directories, names --out-dir.
   */
  private explainParseError(error: Error & {flags?: unknown}): UsageError | undefined {
    const flags = {...(this.ctor as typeof BaseCommand).baseFlags, ...this.ctor.flags} as Record<string, {char?: string; allowNo?: boolean; hidden?: boolean}>
    const unknown = /^Nonexistent flags?: (.*)$/m.exec(stripAnsi(error.message))
    if (unknown) {
      const given = Array.isArray(error.flags) ? (error.flags as string[]) : unknown[1]!.split(', ')
      const names = Object.entries(flags)
        .filter(([, flag]) => !flag.hidden)
        .flatMap(([name, flag]) => [`--${name}`, ...(flag.allowNo ? [`--no-${name}`] : [])])
      const suggestions = [...new Set(given.flatMap((flag) => closest(flag.replace(/=.*$/, ''), names, 2)))]
      return new UsageError(`unknown flag${given.length === 1 ? '' : 's'}: ${given.join(', ')}`, {
        suggestions,
        hint: `\`${[this.config.bin, ...(this.id ? this.id.split(':') : []), '--help'].join(' ')}\` lists every flag.`,
        code: 'usage',
      })
    }
    const badFormat = /^Expected --output=(.*) to be one of: /m.exec(stripAnsi(error.message))
    if (badFormat) {
      const writesDirectories = 'out-dir' in flags
      return new UsageError(`-o ${badFormat[1]}: not an output format (one of ${OUTPUT_FORMATS.join(', ')})`, {
        ...(writesDirectories ? {hint: `-o is the output format; to write a kustomize directory use --out-dir ${badFormat[1]} (-d ${badFormat[1]}).`} : {}),
        code: 'bad-output-format',
      })
    }
    return undefined
  }
}

/** Map anything thrown to a FedobsError with an exit code from the table. */
export function normalizeError(error: Error & {oclif?: {exit?: number}; exitCode?: number}, aborted = false): FedobsError {
  if (error instanceof FedobsError) return error
  if (aborted || error.name === 'AbortError') return new CancelledError()
  // oclif's own parse errors (unknown flag, missing argument, bad option) are usage errors.
  if (error.oclif?.exit === 2 || /^(Unexpected argument|Missing \d+ required arg|Expected --|Nonexistent flag|.*flag.* expects|Missing required flag)/m.test(error.message)) {
    return new UsageError(stripAnsi(error.message).split('\n')[0] ?? error.message, {hint: 'See --help for usage.'})
  }
  if (error.oclif?.exit === 0) return new FedobsError(error.message, ExitCode.Ok)
  // A file-system error that no step mapped with its own words: still the path, the problem and what to do.
  if (isFsError(error)) return fsError(error)
  return new FedobsError(error.message, ExitCode.Failure, {code: 'error', cause: error})
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001B\[[0-9;]*m/g, '')
}
