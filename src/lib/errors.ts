/**
 * The one exit-code table. Documented in the README; every command exits with one of these.
 */
export const ExitCode = {
  /** Everything worked. */
  Ok: 0,
  /** An operation or a check failed (the cloud, the cluster, a verification). */
  Failure: 1,
  /** Bad usage or bad configuration; nothing was changed. */
  Usage: 2,
  /** Interrupted (SIGINT / Ctrl-C). */
  Interrupted: 130,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** One problem found in a configuration file, pointing at the exact place. */
export interface ConfigIssue {
  file: string
  line: number
  column: number
  /** JSON-pointer-like path of the field, e.g. `edges[0].pools[1].count`. */
  field: string
  message: string
  expected?: string
  validValues?: string[]
  suggestion?: string
}

export interface ErrorOptions {
  hint?: string
  cause?: unknown
  code?: string
}

/** Base of every error fedobs raises on purpose. */
export class FedobsError extends Error {
  readonly exitCode: ExitCode
  readonly hint?: string
  readonly code: string

  constructor(message: string, exitCode: ExitCode, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = new.target.name
    this.exitCode = exitCode
    this.hint = options.hint
    this.code = options.code ?? 'error'
  }

  toJSON(): Record<string, unknown> {
    return {code: this.code, message: this.message, exitCode: this.exitCode, ...(this.hint ? {hint: this.hint} : {})}
  }
}

/** The user asked for something invalid. Exit 2, nothing changed. */
export class UsageError extends FedobsError {
  readonly suggestions: string[]
  constructor(message: string, options: ErrorOptions & {suggestions?: string[]} = {}) {
    super(message, ExitCode.Usage, {code: 'usage', ...options})
    this.suggestions = options.suggestions ?? []
  }

  override toJSON(): Record<string, unknown> {
    return {...super.toJSON(), ...(this.suggestions.length > 0 ? {suggestions: this.suggestions} : {})}
  }
}

/** A configuration file is invalid. Exit 2, nothing changed. */
export class ConfigError extends FedobsError {
  readonly issues: ConfigIssue[]
  constructor(issues: ConfigIssue[], options: ErrorOptions = {}) {
    const first = issues[0]
    const summary =
      issues.length === 1 && first
        ? `${first.line > 0 ? `${first.file}:${first.line}:${first.column}` : first.file}: ${first.field ? `${first.field}: ` : ''}${first.message}`
        : `${issues.length} problems in ${first?.file ?? 'the configuration'}`
    super(summary, ExitCode.Usage, {code: 'invalid-config', ...options})
    this.issues = issues
  }

  override toJSON(): Record<string, unknown> {
    return {...super.toJSON(), issues: this.issues}
  }
}

/** Something outside fedobs failed (cloud API, cluster, file system). Exit 1. */
export class OperationError extends FedobsError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, ExitCode.Failure, {code: 'operation-failed', ...options})
  }
}

/** The user interrupted. Exit 130. */
export class CancelledError extends FedobsError {
  constructor(message = 'Interrupted', options: ErrorOptions = {}) {
    super(message, ExitCode.Interrupted, {code: 'cancelled', ...options})
  }
}

/** A bug in fedobs itself: an invariant broke. Exit 1 with a request to report it. */
export class InternalError extends FedobsError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, ExitCode.Failure, {
      code: 'internal',
      hint: 'This is a bug in fedobs; please report it with the command you ran and --verbose output.',
      ...options,
    })
  }
}

/** Format one config issue as a single human-readable block. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file
  const lines = [`${where}: ${issue.field ? `${issue.field}: ` : ''}${issue.message}`]
  if (issue.expected) lines.push(`  expected: ${issue.expected}`)
  if (issue.validValues && issue.validValues.length > 0) lines.push(`  valid values: ${issue.validValues.join(', ')}`)
  if (issue.suggestion) lines.push(`  did you mean: ${issue.suggestion}`)
  return lines.join('\n')
}
