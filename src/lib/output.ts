import chalk from 'chalk'

export interface OutputOptions {
  json: boolean
  verbose: boolean
  color: boolean
  stdout?: NodeJS.WritableStream
  stderr?: NodeJS.WritableStream
}

/**
 * stdout carries only the result; progress, logs and warnings go to stderr.
 * Under --json, everything but the one JSON document is silenced.
 */
export class Output {
  readonly json: boolean
  readonly verbose: boolean
  readonly color: boolean
  private readonly out: NodeJS.WritableStream
  private readonly err: NodeJS.WritableStream

  constructor(options: OutputOptions) {
    this.json = options.json
    this.verbose = options.verbose
    this.color = options.color
    this.out = options.stdout ?? process.stdout
    this.err = options.stderr ?? process.stderr
  }

  /** Write a result to stdout (human mode). */
  result(text: string): void {
    this.out.write(text.endsWith('\n') ? text : `${text}\n`)
  }

  /** Write the single JSON document to stdout. */
  document(value: unknown): void {
    this.out.write(`${JSON.stringify(value, null, 2)}\n`)
  }

  info(message: string): void {
    if (!this.json) this.err.write(`${message}\n`)
  }

  success(message: string): void {
    this.info(`${this.paint('green', '✔')} ${message}`)
  }

  warn(message: string): void {
    if (!this.json) this.err.write(`${this.paint('yellow', 'warning:')} ${message}\n`)
  }

  debug(message: string): void {
    if (this.verbose && !this.json) this.err.write(`${this.paint('gray', `debug: ${message}`)}\n`)
  }

  /** Errors are printed even in JSON mode is handled by the caller; this is the human form. */
  error(message: string): void {
    this.err.write(`${this.paint('red', 'error:')} ${message}\n`)
  }

  paint(style: 'green' | 'yellow' | 'red' | 'gray' | 'bold' | 'cyan', text: string): string {
    if (!this.color) return text
    return chalk[style](text)
  }
}

/**
 * Decide colour before chalk is used: NO_COLOR, --no-color, --json and TERM=dumb all turn it off.
 * bin/run.js applies the same rule to FORCE_COLOR before anything loads chalk.
 */
export function colorEnabled(argv: readonly string[], env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (argv.includes('--no-color') || argv.includes('--json')) return false
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.TERM === 'dumb') return false
  if (env.FORCE_COLOR === '0') return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true
  return isTTY
}
