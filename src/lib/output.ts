import chalk from 'chalk'
import {emitYaml} from './emit-yaml.js'

/** What -o/--output takes. `table` is the human form (a table where the result is one, else lines). */
export const OUTPUT_FORMATS = ['json', 'yaml', 'table'] as const
export type OutputFormat = (typeof OUTPUT_FORMATS)[number]

export function isOutputFormat(value: string | undefined): value is OutputFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(value ?? '')
}

/**
 * The format a command line asks for (--json, -o X, -oX, --output X, --output=X), read before
 * oclif parses it (bin/run.js, and catch() when parsing fails). The last one given wins, like
 * oclif's own parsing; a value that is no format (e.g. a directory) counts as none.
 */
export function outputFormatFromArgv(argv: readonly string[]): OutputFormat | undefined {
  let format: OutputFormat | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') break
    let value: string | undefined
    if (arg === '--json') value = 'json'
    else if (arg === '-o' || arg === '--output') value = argv[++i]
    else if (arg.startsWith('--output=')) value = arg.slice('--output='.length)
    else if (/^-o[^-]/.test(arg)) value = arg.slice(2).replace(/^=/, '')
    if (value !== undefined && isOutputFormat(value)) format = value
  }
  return format
}

export interface OutputOptions {
  /** A document is the result (json or yaml): everything but that document is silenced. */
  json: boolean
  /** The document's format when `json` is set (default json). */
  format?: OutputFormat
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
  /** True when the result is one document (-o json, -o yaml, --json): nothing else is printed. */
  readonly json: boolean
  /** json, yaml, or table (the human form). */
  readonly format: OutputFormat
  readonly verbose: boolean
  readonly color: boolean
  private readonly out: NodeJS.WritableStream
  private readonly err: NodeJS.WritableStream

  constructor(options: OutputOptions) {
    this.json = options.json
    this.format = options.json ? (options.format === 'yaml' ? 'yaml' : 'json') : 'table'
    this.verbose = options.verbose
    this.color = options.color
    this.out = options.stdout ?? process.stdout
    this.err = options.stderr ?? process.stderr
  }

  /** Write a result to stdout (human mode). */
  result(text: string): void {
    this.out.write(text.endsWith('\n') ? text : `${text}\n`)
  }

  /** Write the single document to stdout: JSON, or YAML under -o yaml (the same data). */
  document(value: unknown): void {
    if (this.format === 'yaml') this.out.write(emitYaml(JSON.parse(JSON.stringify(value ?? null))))
    else this.out.write(`${JSON.stringify(value, null, 2)}\n`)
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
  if (argv.includes('--no-color') || outputFormatFromArgv(argv) === 'json' || outputFormatFromArgv(argv) === 'yaml') return false
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.TERM === 'dumb') return false
  if (env.FORCE_COLOR === '0') return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true
  return isTTY
}

/** Rows as aligned columns, the first row the header (the human form of a list). */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}
