import {createHash, randomBytes} from 'node:crypto'
import {chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync} from 'node:fs'
import {homedir, hostname} from 'node:os'
import path from 'node:path'
import {mkdirs} from '../lib/fs.js'
import {parseDocument} from 'yaml'
import {emitYaml} from '../lib/emit-yaml.js'
import {OperationError, UsageError, fsError, isFsError, onFs} from '../lib/errors.js'

/**
 * kubeconfig files hold credentials: they are written 0600, atomically (temp file + rename),
 * under a lock (two fedobs processes merging at once both land), with a backup of the previous
 * version, and a malformed file is never touched.
 */

export interface NamedEntry {
  name: string
  [key: string]: unknown
}

export interface Kubeconfig {
  apiVersion?: string
  kind?: string
  clusters: NamedEntry[]
  users: NamedEntry[]
  contexts: Array<NamedEntry & {context?: {cluster?: string; user?: string; namespace?: string}}>
  'current-context'?: string
  [key: string]: unknown
}

export const BACKUP_SUFFIX = '.fedobs-backup'

/** Where merges go: --kubeconfig, else the first file of KUBECONFIG, else ~/.kube/config. */
export function resolveKubeconfigTarget(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return path.resolve(flag)
  const first = env.KUBECONFIG?.split(path.delimiter).find((p) => p.trim() !== '')
  if (first) return path.resolve(first)
  return path.join(env.HOME || homedir(), '.kube', 'config')
}

/** The per-cluster kubeconfig file fedobs keeps beside the merged one. */
export function clusterKubeconfigPath(target: string, cluster: string): string {
  return path.join(path.dirname(target), 'fedobs', `${cluster}.yaml`)
}

export function contextAlias(cluster: string): string {
  return `fedobs-${cluster}`
}

/** Parse kubeconfig text; throws UsageError naming the file and line when it is not one. */
export function parseKubeconfig(text: string, file: string): Kubeconfig {
  if (text.trim() === '') return {apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: []}
  const doc = parseDocument(text, {prettyErrors: false})
  const problem = doc.errors[0]
  if (problem) {
    const line = text.slice(0, problem.pos[0]).split('\n').length
    throw new UsageError(`${file}:${line}: not a valid kubeconfig (YAML: ${problem.message.split('\n')[0]}); fedobs left it untouched`, {
      hint: `Fix or move ${file}, or pass --kubeconfig to merge elsewhere.`,
      code: 'bad-kubeconfig',
    })
  }
  const value = doc.toJS() as Record<string, unknown> | null
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${file}: not a valid kubeconfig (the top level is not a mapping); fedobs left it untouched`, {code: 'bad-kubeconfig'})
  }
  for (const key of ['clusters', 'users', 'contexts'] as const) {
    const list = value[key]
    if (list === undefined || list === null) {
      value[key] = []
      continue
    }
    if (!Array.isArray(list) || list.some((e) => typeof e !== 'object' || e === null || typeof (e as NamedEntry).name !== 'string')) {
      throw new UsageError(`${file}: not a valid kubeconfig (${key} must be a list of named entries); fedobs left it untouched`, {code: 'bad-kubeconfig'})
    }
  }
  return value as Kubeconfig
}

function upsert(list: NamedEntry[], entry: NamedEntry): void {
  const index = list.findIndex((e) => e.name === entry.name)
  if (index === -1) list.push(entry)
  else list[index] = entry
}

export interface MergeResult {
  target: string
  /** The context LKE named (lke<ID>-ctx) and fedobs's readable alias. */
  context: string
  alias: string
  currentContext?: string
  backup?: string
}

/**
 * Merge an LKE kubeconfig into `target`, adding the alias context `fedobs-<cluster>` beside LKE's
 * own. `setCurrent` switches current-context to the alias.
 */
export async function mergeKubeconfig(target: string, incomingText: string, options: {cluster: string; setCurrent?: boolean}): Promise<MergeResult> {
  const incoming = parseKubeconfig(incomingText, `kubeconfig of ${options.cluster}`)
  const lkeContext = incoming.contexts[0]
  if (!lkeContext) throw new OperationError(`the kubeconfig of ${options.cluster} has no context`)
  const alias = contextAlias(options.cluster)
  assertWritableKubeconfig(target)
  return withFileLock(target, () => {
    const existingText = existsSync(target) ? readFileSync(target, 'utf8') : ''
    const config = parseKubeconfig(existingText, target)
    config.apiVersion ??= 'v1'
    config.kind ??= 'Config'
    for (const entry of incoming.clusters) upsert(config.clusters, entry)
    for (const entry of incoming.users) upsert(config.users, entry)
    for (const entry of incoming.contexts) upsert(config.contexts, entry)
    upsert(config.contexts, {...structuredClone(lkeContext), name: alias})
    if (options.setCurrent || !config['current-context']) config['current-context'] = alias
    const backup = existingText ? backupOf(target) : undefined
    atomicWrite(target, emitYaml(config), backup)
    return {target, context: lkeContext.name, alias, ...(config['current-context'] ? {currentContext: config['current-context']} : {}), ...(backup ? {backup} : {})}
  })
}

export interface RemovalResult {
  removed: {clusters: string[]; users: string[]; contexts: string[]}
  backup?: string
}

/** Remove the entries fedobs added for a cluster: its alias context and what that context points at. */
export async function removeClusterEntries(target: string, cluster: string, extraContexts: string[] = []): Promise<RemovalResult> {
  if (!existsSync(target)) return {removed: {clusters: [], users: [], contexts: []}}
  assertWritableKubeconfig(target)
  return withFileLock(target, () => {
    const text = readFileSync(target, 'utf8')
    const config = parseKubeconfig(text, target)
    const alias = contextAlias(cluster)
    const contextNames = new Set([alias, ...extraContexts])
    const doomed = config.contexts.filter((c) => contextNames.has(c.name))
    // The LKE context that shares the alias's cluster goes too (lke<ID>-ctx).
    const clusterNames = new Set(doomed.map((c) => c.context?.cluster).filter((n): n is string => Boolean(n)))
    const userNames = new Set(doomed.map((c) => c.context?.user).filter((n): n is string => Boolean(n)))
    for (const context of config.contexts) if (context.context?.cluster && clusterNames.has(context.context.cluster) && /^lke\d+-ctx$/.test(context.name)) contextNames.add(context.name)
    // Never remove a cluster or user another remaining context still uses.
    const remaining = config.contexts.filter((c) => !contextNames.has(c.name))
    for (const context of remaining) {
      if (context.context?.cluster) clusterNames.delete(context.context.cluster)
      if (context.context?.user) userNames.delete(context.context.user)
    }
    const removed = {
      clusters: config.clusters.filter((c) => clusterNames.has(c.name)).map((c) => c.name),
      users: config.users.filter((u) => userNames.has(u.name)).map((u) => u.name),
      contexts: config.contexts.filter((c) => contextNames.has(c.name)).map((c) => c.name),
    }
    if (removed.clusters.length + removed.users.length + removed.contexts.length === 0) return {removed}
    config.clusters = config.clusters.filter((c) => !clusterNames.has(c.name))
    config.users = config.users.filter((u) => !userNames.has(u.name))
    config.contexts = remaining
    if (config['current-context'] && contextNames.has(config['current-context'])) delete config['current-context']
    const backup = backupOf(target)
    atomicWrite(target, emitYaml(config), backup)
    return {removed, backup}
  })
}

/** Read which LKE cluster id a fedobs alias points at (lke<ID>), if the kubeconfig has it. */
export function lkeIdFromKubeconfig(target: string, cluster: string): number | undefined {
  if (!existsSync(target)) return undefined
  try {
    const config = parseKubeconfig(readFileSync(target, 'utf8'), target)
    const alias = config.contexts.find((c) => c.name === contextAlias(cluster))
    const match = /^lke(\d+)$/.exec(alias?.context?.cluster ?? '')
    return match ? Number(match[1]) : undefined
  } catch {
    return undefined
  }
}

export function contextExists(target: string, context: string): boolean {
  if (!existsSync(target)) return false
  try {
    return parseKubeconfig(readFileSync(target, 'utf8'), target).contexts.some((c) => c.name === context)
  } catch {
    return false
  }
}

/** Write the per-cluster kubeconfig (0600, directory 0700). */
export function writeClusterKubeconfig(file: string, text: string): void {
  mkdirs(path.dirname(file), 0o700)
  atomicWrite(file, text)
}

function backupOf(target: string): string {
  return `${target}${BACKUP_SUFFIX}`
}

const ELSEWHERE = '--kubeconfig FILE (or KUBECONFIG)'

/**
 * Refuse, before anything changes, to replace a kubeconfig its owner made read-only (a rename would
 * silently replace a 0444 file, and root ignores the mode), or a path that cannot be a file.
 */
export function assertWritableKubeconfig(file: string): void {
  let mode: number
  try {
    const stat = statSync(file)
    if (stat.isDirectory()) throw Object.assign(new Error('EISDIR'), {code: 'EISDIR', path: file, syscall: 'open'})
    mode = stat.mode
  } catch (error) {
    if (isFsError(error) && error.code === 'ENOENT') return
    if (isFsError(error)) throw fsError(error, {operation: 'write', what: 'kubeconfig', path: file, elsewhere: ELSEWHERE})
    throw error
  }
  if ((mode & 0o200) === 0) {
    throw new UsageError(`the kubeconfig ${file} is read-only (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); fedobs will not replace it, and changed nothing`, {
      hint: `Make it writable (\`chmod u+w ${file}\`) and run again, or merge into another file with ${ELSEWHERE}.`,
      code: 'read-only-kubeconfig',
    })
  }
}

function atomicWrite(file: string, text: string, backup?: string): void {
  assertWritableKubeconfig(file)
  onFs({operation: 'write', what: 'kubeconfig', path: file, elsewhere: ELSEWHERE}, () => atomicWriteRaw(file, text, backup))
}

function atomicWriteRaw(file: string, text: string, backup?: string): void {
  mkdirs(path.dirname(file), 0o700)
  if (backup && existsSync(file)) {
    copyFileSync(file, backup)
    chmodSync(backup, 0o600)
  }
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  const fd = openSync(temporary, 'w', 0o600)
  try {
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  chmodSync(temporary, 0o600)
  renameSync(temporary, file)
}

const LOCK_STALE_MS = 30_000
const LOCK_TIMEOUT_MS = 60_000

/** Test seams of withFileLock: where a waiter is about to take over a stale lock, and where it waits. */
export interface LockHooks {
  /** A stale lock held by `owner` was found; called (and awaited) before taking it over. */
  beforeTakeover?: (owner: string) => void | Promise<void>
  /** The lock is held by a live `owner`; called before each wait. */
  onBusy?: (owner: string) => void
}

/**
 * An exclusive lock file beside `target` while `fn` runs.
 *
 * The lock file is created complete (its owner token written to a temporary file, then hard-linked
 * into place: link(2) fails if the lock exists), so nobody ever reads a half-written owner. The token
 * (pid, host, random) is unique per acquisition. A lock whose process is gone (same host) or that is
 * older than 30 s is stale and may be taken over; and the lock file holding token T is only ever
 * unlinked by whoever holds `<lock>.takeover-<hash of T>` (created O_EXCL) and has re-read T under it.
 * So two waiters that both saw the same stale lock cannot both remove something: the second one finds
 * either the takeover file taken or a lock with another token, which it leaves alone. Releasing takes
 * the same path, so a holder never unlinks a successor's lock either.
 */
export async function withFileLock<T>(target: string, fn: () => T | Promise<T>, hooks: LockHooks = {}): Promise<T> {
  const lock = `${target}.lock`
  onFs({operation: 'create the directory of', path: target}, () => mkdirs(path.dirname(target), 0o700))
  const token = `${process.pid} ${hostname()} ${randomBytes(8).toString('hex')}`
  const started = Date.now()
  for (;;) {
    if (onFs({operation: 'create the lock file', path: lock}, () => createLock(lock, token))) break
    const owner = readOwner(lock)
    if (owner === undefined) continue // released meanwhile: try again at once
    if (isStale(lock, owner)) {
      await hooks.beforeTakeover?.(owner)
      // 'busy': another process is removing this lock right now (or died doing so): wait like on a live lock.
      if (removeLockOf(lock, owner) !== 'busy') continue
    }
    hooks.onBusy?.(owner)
    if (Date.now() - started > LOCK_TIMEOUT_MS) {
      throw new OperationError(`timed out waiting for the lock ${lock}`, {hint: `If no other fedobs or kubectl is running, remove ${lock} (and any ${path.basename(lock)}.takeover-* beside it).`})
    }
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30))
  }
  try {
    return await fn()
  } finally {
    removeLockOf(lock, token)
  }
}

/** Create the lock holding `token`, atomically and complete; false when it exists. */
function createLock(lock: string, token: string): boolean {
  const temporary = `${lock}.${randomBytes(6).toString('hex')}.tmp`
  writeFileSync(temporary, token, {mode: 0o600, flag: 'wx'})
  try {
    linkSync(temporary, lock)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    unlinkSync(temporary)
  }
}

/** The lock's owner token, or undefined when there is no lock. */
function readOwner(lock: string): string | undefined {
  try {
    return readFileSync(lock, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/**
 * Unlink the lock if, and only if, it still holds `owner`'s token. Serialised per token by an
 * O_EXCL takeover file; if another process holds that file ('busy'), it is removing this very lock.
 */
function removeLockOf(lock: string, owner: string): 'removed' | 'not-theirs' | 'busy' {
  const takeover = `${lock}.takeover-${createHash('sha256').update(owner).digest('hex').slice(0, 16)}`
  try {
    closeSync(openSync(takeover, 'wx', 0o600))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return 'busy'
    throw error
  }
  try {
    if (readOwner(lock) !== owner) return 'not-theirs'
    unlinkSync(lock)
    return 'removed'
  } finally {
    unlinkSync(takeover)
  }
}

/** Stale: its process is gone (same host, or a lock from an older fedobs that wrote only the pid), or it is older than 30 s. */
function isStale(lock: string, owner: string): boolean {
  const [pidText, host] = owner.trim().split(' ')
  const pid = Number(pidText)
  if ((host === undefined || host === hostname()) && Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 0)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true
    }
  }
  try {
    return Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS
  } catch {
    return false
  }
}
