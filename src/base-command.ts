import {Command, Flags, type Interfaces} from '@oclif/core'
import {CancelledError, ConfigError, ExitCode, FedobsError, UsageError, formatIssue, fsError, isFsError} from './lib/errors.js'
import {Output, colorEnabled} from './lib/output.js'
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
      description: 'Print one JSON document on stdout and nothing else.',
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
    this.output = new Output({
      json: this.argv.includes('--json'),
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
    this.output = new Output({
      json: this.flags.json,
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
    const normalized = normalizeError(error, this.abort.signal.aborted)
    process.exitCode = normalized.exitCode
    const output = this.output ?? new Output({json: this.argv.includes('--json'), verbose: false, color: false})
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
