import {randomBytes} from 'node:crypto'
import {chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync} from 'node:fs'
import {homedir} from 'node:os'
import path from 'node:path'
import {parseDocument} from 'yaml'
import {emitYaml} from '../lib/emit-yaml.js'
import {OperationError, UsageError} from '../lib/errors.js'

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
  return withLock(target, () => {
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
  return withLock(target, () => {
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
  mkdirSync(path.dirname(file), {recursive: true, mode: 0o700})
  atomicWrite(file, text)
}

function backupOf(target: string): string {
  return `${target}${BACKUP_SUFFIX}`
}

function atomicWrite(file: string, text: string, backup?: string): void {
  mkdirSync(path.dirname(file), {recursive: true, mode: 0o700})
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

/** An exclusive lock file beside the target (O_EXCL create); stale locks of dead processes are taken over. */
async function withLock<T>(target: string, fn: () => T): Promise<T> {
  mkdirSync(path.dirname(target), {recursive: true, mode: 0o700})
  const lock = `${target}.lock`
  const started = Date.now()
  for (;;) {
    try {
      const fd = openSync(lock, 'wx', 0o600)
      writeSync(fd, String(process.pid))
      closeSync(fd)
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      if (isStale(lock)) {
        try {
          unlinkSync(lock)
        } catch {
          // another process took it over first
        }
        continue
      }
      if (Date.now() - started > LOCK_TIMEOUT_MS) {
        throw new OperationError(`timed out waiting for the lock ${lock}`, {hint: 'If no other fedobs or kubectl is running, remove the lock file.'})
      }
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30))
    }
  }
  try {
    return fn()
  } finally {
    try {
      unlinkSync(lock)
    } catch {
      // already gone
    }
  }
}

function isStale(lock: string): boolean {
  try {
    const pid = Number(readFileSync(lock, 'utf8'))
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 0)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true
      }
    }
    return Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS
  } catch {
    return false
  }
}
