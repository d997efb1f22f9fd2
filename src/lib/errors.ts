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

// ---------------------------------------------------------------- file-system errors

/** What fedobs was doing with a path, for the message: "write the kubeconfig", "create the lock". */
export interface FsOperation {
  /** e.g. "write", "read", "create the directory", "lock" */
  operation: string
  /** What the path is to the user, e.g. "kubeconfig", "output directory". */
  what?: string
  /** The path fedobs was working on (else the error's own). */
  path?: string
  /** A flag that picks another place for it, e.g. "--kubeconfig FILE". */
  elsewhere?: string
}

const FS_PROBLEMS: Record<string, {problem: string; exitCode: ExitCode; fix: (path: string, elsewhere?: string) => string}> = {
  EACCES: {
    problem: 'permission denied',
    exitCode: ExitCode.Usage,
    fix: (p, e) => `Make it writable for you (\`chmod u+w ${p}\`, or fix the owner of its directory)${e ? `, or choose another place with ${e}` : ''}.`,
  },
  EPERM: {problem: 'operation not permitted', exitCode: ExitCode.Usage, fix: (p, e) => `Check the file's owner and attributes (\`ls -l ${p}\`)${e ? `, or choose another place with ${e}` : ''}.`},
  EROFS: {problem: 'the file system is read-only', exitCode: ExitCode.Usage, fix: (_, e) => `Use a path on a writable file system${e ? ` (${e})` : ''}.`},
  ENOSPC: {problem: 'no space left on the device', exitCode: ExitCode.Failure, fix: (_, e) => `Free some space and run again${e ? `, or choose another place with ${e}` : ''}; nothing was replaced.`},
  EDQUOT: {problem: 'disk quota exceeded', exitCode: ExitCode.Failure, fix: (_, e) => `Free some space and run again${e ? `, or choose another place with ${e}` : ''}.`},
  ENOTDIR: {
    problem: 'a part of the path is a file, not a directory',
    exitCode: ExitCode.Usage,
    fix: (_, e) => `Check the path: every part before the last must be a directory${e ? `, or choose another place with ${e}` : ''}.`,
  },
  EISDIR: {problem: 'it is a directory, where a file is needed', exitCode: ExitCode.Usage, fix: (_, e) => `Name a file, not a directory${e ? ` (${e})` : ''}.`},
  EEXIST: {problem: 'it already exists', exitCode: ExitCode.Usage, fix: (p) => `Remove or rename ${p} if nothing else uses it, then run again.`},
  ENOENT: {problem: 'no such file or directory', exitCode: ExitCode.Usage, fix: () => 'Check the path.'},
  ENAMETOOLONG: {problem: 'the name is too long', exitCode: ExitCode.Usage, fix: () => 'Use a shorter path.'},
  EMFILE: {problem: 'too many open files', exitCode: ExitCode.Failure, fix: () => 'Raise the open-file limit (`ulimit -n`) and run again.'},
  EBUSY: {problem: 'the file is busy', exitCode: ExitCode.Failure, fix: () => 'Run again once whatever holds it is done.'},
}

const SYSCALL_VERBS: Record<string, string> = {
  open: 'open',
  read: 'read',
  write: 'write',
  rename: 'replace',
  mkdir: 'create the directory',
  rmdir: 'remove the directory',
  unlink: 'remove',
  link: 'create',
  copyfile: 'copy',
  chmod: 'change the mode of',
  scandir: 'list',
  stat: 'inspect',
  lstat: 'inspect',
  access: 'access',
}

/** A Node.js file-system error (it carries a code and usually a syscall and a path). */
export function isFsError(error: unknown): error is NodeJS.ErrnoException & {code: string} {
  const e = error as NodeJS.ErrnoException | undefined
  return e instanceof Error && typeof e.code === 'string' && e.code in FS_PROBLEMS && (typeof e.syscall === 'string' || typeof e.path === 'string')
}

/**
 * The one mapping of file-system errors: the path, what fedobs was doing, the problem in words and
 * what to do, with an exit code from the table (2 when the path or its permissions must change, 1
 * when the machine ran out of something). Never the raw `EACCES: permission denied, open '…'`.
 */
export function fsError(error: NodeJS.ErrnoException, context: FsOperation = {operation: ''}): FedobsError {
  const known = FS_PROBLEMS[error.code ?? ''] ?? {problem: error.code ?? 'file-system error', exitCode: ExitCode.Failure, fix: () => 'Check the path and run again.'}
  const where = context.path ?? error.path ?? (error as {dest?: string}).dest ?? '(unknown path)'
  const operation = context.operation || SYSCALL_VERBS[error.syscall ?? ''] || 'use'
  const message = `cannot ${operation} ${context.what ? `the ${context.what} ` : ''}${where}: ${known.problem} (${error.code})`
  return new FedobsError(message, known.exitCode, {code: `fs-${(error.code ?? 'error').toLowerCase()}`, hint: known.fix(where, context.elsewhere), cause: error})
}

/** Run a file-system step, turning its errors into fsError(...) with this context. */
export function onFs<T>(context: FsOperation, fn: () => T): T {
  try {
    return fn()
  } catch (error) {
    if (isFsError(error)) throw fsError(error, context)
    throw error
  }
}
