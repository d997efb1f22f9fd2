import {spawn, type ChildProcess} from 'node:child_process'
import {closeSync, existsSync, openSync, readFileSync, statSync} from 'node:fs'
import {waitFor} from './net.js'

export interface ProcessSpec {
  /** Short name for messages and the log file, e.g. "gateway" or "edge-agent". */
  name: string
  command: string
  args: string[]
  env?: Record<string, string>
  cwd?: string
  /** stdout and stderr of every run are appended here. */
  logFile: string
  /** Resolves true once the process serves (health check, /-/ready ...). */
  ready: (process: ManagedProcess) => Promise<boolean>
  readyTimeoutMs?: number
}

/** Every process group started here and still alive: killed when this Node process exits. */
const live = new Set<number>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // 'exit' handlers must be synchronous: SIGKILL every group we started that is still there.
  process.once('exit', () => {
    for (const pgid of live) {
      try {
        process.kill(-pgid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  })
}

/**
 * A real process under test, in its own process group (detached: setsid), so that stop and
 * kill reach everything it spawned and a test can SIGKILL it like an OOM-killed pod.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined
  private exited: Promise<void> = Promise.resolve()
  /** How each run ended, oldest first: "code 0", "signal SIGKILL" ... */
  readonly exits: string[] = []
  starts = 0
  /** Where the current run's output starts in the log file. */
  private logOffset = 0

  constructor(readonly spec: ProcessSpec) {}

  get name(): string {
    return this.spec.name
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`)
    installExitHook()
    this.logOffset = existsSync(this.spec.logFile) ? statSync(this.spec.logFile).size : 0
    const fd = openSync(this.spec.logFile, 'a')
    const child = spawn(this.spec.command, this.spec.args, {
      cwd: this.spec.cwd,
      env: {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...this.spec.env},
      stdio: ['ignore', fd, fd],
      detached: true,
    })
    closeSync(fd)
    this.child = child
    this.starts++
    const pgid = child.pid!
    live.add(pgid)
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(pgid)
        this.exits.push(signal ? `signal ${signal}` : `code ${code}`)
        resolve()
      })
    })
    let spawnError: Error | undefined
    child.once('error', (error) => (spawnError = error)) // e.g. ENOENT: no 'exit' follows
    try {
      await waitFor(
        `${this.name} to be ready`,
        async () => {
          if (spawnError) throw new Error(`${this.name} could not start: ${spawnError.message}`)
          if (!this.running) throw new Error(`${this.name} exited (${this.exits.at(-1)})`)
          return this.spec.ready(this)
        },
        {timeoutMs: this.spec.readyTimeoutMs ?? 30_000, intervalMs: 100},
      )
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- ${this.spec.logFile} (last lines):\n${this.tail()}`, {cause: error})
    }
  }

  /** SIGTERM to the group (graceful: a collector drains and closes its queue), SIGKILL after the grace period. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return
    this.signal('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const done = await Promise.race([this.exited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(resolve, graceMs, false)))])
    clearTimeout(timer)
    if (!done) await this.kill()
  }

  /** SIGKILL to the group: nothing is flushed, like a node failure or an OOM kill. */
  async kill(): Promise<void> {
    if (!this.running) return
    this.signal('SIGKILL')
    await this.exited
  }

  async restart(): Promise<void> {
    await this.stop()
    await this.start()
  }

  /** The last lines of the log file (for error messages). */
  tail(lines = 20): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    } catch {
      return ''
    }
  }

  /** Everything every run wrote. */
  log(): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8')
    } catch {
      return ''
    }
  }

  /** What the current (or last) run wrote. */
  logSinceStart(): string {
    return Buffer.from(this.log()).subarray(this.logOffset).toString('utf8')
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.child!.pid!, signal)
    } catch {
      // the group is already gone
    }
  }
}
