/**
 * Where a sandbox keeps what other processes need to find it: `<dir>/state.json` (written by the
 * sandbox process once it serves, removed when it stops) and `<dir>/status.json` (rewritten every
 * few seconds). Default dir: $FEDOBS_SANDBOX_DIR, else ~/.fedobs/sandbox.
 */
import {mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import path from 'node:path'

export interface SandboxState {
  pid: number
  startedAt: string
  dir: string
  linodeUrl: string
  /** A file holding the sandbox's API token (0600); the token itself is never printed. */
  tokenFile: string
  kubeconfig: string
  timeScale: number
  prometheusUrl: string
  lokiUrl: string
  tempoUrl: string
  logFile: string
}

export interface SandboxStatus {
  at: string
  clusters: Array<{lkeId: number; label: string; status: string; nodes: number; server: string}>
  processes: Array<{cluster: string; name: string; running: boolean; starts: number}>
  errors: string[]
}

export function sandboxDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FEDOBS_SANDBOX_DIR?.trim() || path.join(homedir(), '.fedobs', 'sandbox')
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    return undefined
  }
}

export const readState = (dir: string): SandboxState | undefined => readJson(stateFile(dir)) as SandboxState | undefined
export const readStatus = (dir: string): SandboxStatus | undefined => readJson(statusFile(dir)) as SandboxStatus | undefined

export function writeJsonAtomic(file: string, value: unknown, mode = 0o600): void {
  mkdirSync(path.dirname(file), {recursive: true, mode: 0o700})
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, {mode})
  renameSync(tmp, file)
}

export const stateFile = (dir: string): string => path.join(dir, 'state.json')
export const statusFile = (dir: string): string => path.join(dir, 'status.json')

/** The environment that points fedobs (and kubectl) at the sandbox. */
export function sandboxEnv(state: SandboxState): Record<string, string> {
  return {
    FEDOBS_SANDBOX: state.dir,
    LINODE_URL: state.linodeUrl,
    LINODE_TOKEN_FILE: state.tokenFile,
    KUBECONFIG: state.kubeconfig,
    FEDOBS_TIME_SCALE: String(state.timeScale),
    FEDOBS_PROMETHEUS_URL: state.prometheusUrl,
    FEDOBS_LOKI_URL: state.lokiUrl,
    FEDOBS_TEMPO_URL: state.tempoUrl,
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
  // A killed process whose parent has not reaped it yet (the sandbox outlives the CLI that started
  // it, so its parent is whatever init the machine has) still answers signal 0: a zombie is dead.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return true
  }
}

/** The variables of `export K='V'` lines as `fedobs sandbox start` prints them (sh quoting, `'\''` for a quote). */
export function parseExportLines(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/^export (\w+)='((?:[^']|'\\'')*)'$/gm)].map((m) => [m[1]!, m[2]!.replaceAll("'\\''", "'")]))
}
