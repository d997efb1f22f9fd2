/**
 * Start, stop and look at the sandbox process from the CLI. The sandbox runs detached (it outlives
 * `fedobs sandbox start`); other commands find it through its state file.
 */
import {spawn, spawnSync} from 'node:child_process'
import {closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {PACKAGE_ROOT, testbedBinaries} from './binaries.js'
import {isAlive, readState, readStatus, stateFile, statusFile, type SandboxState, type SandboxStatus} from './state.js'

/** The binaries the sandbox runs (the test bed's, the collector, Prometheus, kube-state-metrics). */
export const SANDBOX_BINARIES = [
  'FEDOBS_ETCD',
  'FEDOBS_KUBE_APISERVER',
  'FEDOBS_KUBE_CONTROLLER_MANAGER',
  'FEDOBS_KUBE_SCHEDULER',
  'FEDOBS_KWOK',
  'FEDOBS_OTELCOL',
  'FEDOBS_PROMETHEUS',
  'FEDOBS_KUBE_STATE_METRICS',
  'FEDOBS_VICTORIALOGS',
]

export function missingBinaries(): string[] {
  const env = testbedBinaries()
  return SANDBOX_BINARIES.filter((n) => !env[n] || !existsSync(env[n]))
}

/** Build what is missing (Go; cached by version). Output goes to `log` line by line. */
export function buildBinaries(log: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('bash', [path.join(PACKAGE_ROOT, 'scripts/testbed/build.sh')], {stdio: ['ignore', 'pipe', 'pipe']})
    let tail = ''
    const take = (chunk: Buffer): void => {
      tail += chunk.toString('utf8')
      const lines = tail.split('\n')
      tail = lines.pop() ?? ''
      for (const line of lines) if (line.trim()) log(line)
    }
    child.stdout.on('data', take)
    child.stderr.on('data', take)
    child.on('close', (code) => resolve(code ?? 1))
  })
}

export interface Running {
  state: SandboxState
  status: SandboxStatus | undefined
}

/** The sandbox of `dir` if its process is alive; a stale state file (killed process) is removed. */
export function findSandbox(dir: string): Running | undefined {
  const state = readState(dir)
  if (!state) return undefined
  if (!isAlive(state.pid)) {
    rmSync(stateFile(dir), {force: true})
    return undefined
  }
  return {state, status: readStatus(dir)}
}

export interface StartOptions {
  dir: string
  timeScale: number
  port: number
  /** Run the telemetry of what is deployed (default true). */
  telemetry?: boolean
  timeoutMs: number
  signal?: AbortSignal
}

/** Start the sandbox process and wait until it serves; its log is <dir>/sandbox.log. */
export async function startSandbox(options: StartOptions): Promise<SandboxState> {
  mkdirSync(options.dir, {recursive: true, mode: 0o700})
  // A sandbox that was killed left its processes (ports, CPU): gone before a new one starts.
  sweepOrphans(options.dir)
  const logFile = path.join(options.dir, 'sandbox.log')
  const out = openSync(logFile, 'a', 0o600)
  const daemon = fileURLToPath(new URL('./daemon.js', import.meta.url))
  // From src/ (tsx, tests) the daemon is TypeScript; from dist/ plain JavaScript.
  const args = daemon.endsWith('.ts') || !existsSync(daemon) ? ['--import', 'tsx', daemon.replace(/\.js$/, '.ts'), options.dir] : [daemon, options.dir]
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: {...process.env, FEDOBS_SANDBOX_TIME_SCALE: String(options.timeScale), FEDOBS_SANDBOX_PORT: String(options.port), FEDOBS_SANDBOX_TELEMETRY: options.telemetry === false ? '0' : '1'},
  })
  closeSync(out)
  let exited: number | null | undefined
  child.on('exit', (code) => (exited = code))
  child.unref()
  const deadline = Date.now() + options.timeoutMs
  for (;;) {
    const state = readState(options.dir)
    if (state && state.pid === child.pid) return state
    if (exited !== undefined) throw new Error(`the sandbox process exited (code ${exited}); its log:\n${logTail(logFile)}`)
    if (options.signal?.aborted || Date.now() > deadline) {
      if (child.pid) killGroup(child.pid, 'SIGTERM')
      throw new Error(options.signal?.aborted ? 'interrupted while the sandbox started; it was stopped' : `the sandbox did not start in ${options.timeoutMs / 1000} s; its log:\n${logTail(logFile)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/**
 * Processes the sandbox of `dir` started that outlived it (its process was SIGKILLed: nothing could
 * stop its children). Every one of them has a path under `dir` on its command line (configs, data).
 */
export function orphans(dir: string): number[] {
  const marker = `${path.resolve(dir)}/`
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      if (
        readFileSync(`/proc/${entry}/cmdline`, 'utf8')
          .split('\0')
          .some((arg) => arg.includes(marker))
      )
        found.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return found
}

/** SIGKILL what a dead sandbox left running; how many. */
export function sweepOrphans(dir: string): number {
  const pids = orphans(dir)
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone meanwhile
    }
  }
  return pids.length
}

/** Stop the sandbox (SIGTERM, then SIGKILL after the grace time); true if one was running (or had left processes behind). */
export async function stopSandbox(dir: string, graceMs = 60_000): Promise<boolean> {
  const running = findSandbox(dir)
  if (!running) return sweepOrphans(dir) > 0
  const {pid} = running.state
  killGroup(pid, 'SIGTERM')
  const deadline = Date.now() + graceMs
  while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200))
  if (isAlive(pid)) killGroup(pid, 'SIGKILL')
  sweepOrphans(dir)
  rmSync(stateFile(dir), {force: true})
  rmSync(statusFile(dir), {force: true})
  return true
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // The sandbox leads its own process group (detached); only it is signalled: it stops its children.
    process.kill(pid, signal)
  } catch {
    // gone already
  }
  if (signal === 'SIGKILL') spawnSync('pkill', ['-KILL', '-g', String(pid)])
}

function logTail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}
