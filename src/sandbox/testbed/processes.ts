/**
 * Child processes of the test bed: each runs detached in its own process group with its output in
 * a log file, and none outlives this process. A normal exit or SIGINT/SIGTERM kills them from here;
 * a watchdog (`sh` reading a pipe from us) kills them when we die any other way, SIGKILL included,
 * because the pipe closes with our last file descriptor.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {closeSync, openSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

export interface Managed {
  readonly name: string
  readonly pid: number
  readonly logFile: string
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>
  isRunning(): boolean
  /** Resident memory now, MiB (0 once exited). */
  rssMiB(): number
  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once the leader is gone. */
  stop(graceMs?: number): Promise<void>
  /** The last lines of the log, for error messages. */
  logTail(lines?: number): string
}

const groups = new Set<number>()
const dirs = new Set<string>()
let registry: string | undefined

const WATCHDOG = `
cat >/dev/null
while read -r what arg; do [ "$what" = kill ] && kill -KILL "-$arg" 2>/dev/null; done < "$1"
sleep 0.3
while read -r what arg; do [ "$what" = rm ] && rm -rf -- "$arg"; done < "$1"
rm -f -- "$1"
`

function writeRegistry(): void {
  if (!registry) return
  const lines = [...[...groups].map((g) => `kill ${g}`), ...[...dirs].map((d) => `rm ${d}`)]
  writeFileSync(registry, lines.join('\n') + '\n')
}

function killAll(): void {
  for (const group of groups) {
    try {
      process.kill(-group, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  groups.clear()
  writeRegistry()
}

function onSignal(signal: NodeJS.Signals): void {
  // Another listener owns the signal (e.g. a graceful stop); the exit hook and the watchdog still
  // guarantee the kill. Alone, do what the default action would have done, after killing.
  if (process.listenerCount(signal) > 1) return
  killAll()
  process.removeListener(signal, onSignal)
  process.kill(process.pid, signal)
}

function install(): void {
  if (registry) return
  registry = path.join(tmpdir(), `fedobs-testbed-watchdog-${process.pid}-${Date.now()}`)
  writeRegistry()
  const watchdog = spawn('sh', ['-c', WATCHDOG, 'fedobs-testbed-watchdog', registry], {detached: true, stdio: ['pipe', 'ignore', 'ignore']})
  watchdog.unref()
  // The pipe must not keep our event loop alive; it only has to exist.
  ;(watchdog.stdin as unknown as {unref?: () => void}).unref?.()
  process.on('exit', () => {
    killAll()
    // A clean exit: the watchdog sees EOF and removes the directories still registered.
  })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal)
}

/** A directory the watchdog removes if we die before removing it ourselves. */
export function registerDir(dir: string): void {
  install()
  dirs.add(dir)
  writeRegistry()
}

/** Remove a registered directory now, or with keep: true leave it for good. */
export function releaseDir(dir: string, options: {keep?: boolean} = {}): void {
  if (!options.keep) rmSync(dir, {recursive: true, force: true})
  dirs.delete(dir)
  writeRegistry()
}

function rssMiB(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb ? Number(kb) / 1024 : 0
  } catch {
    return 0
  }
}

export function startProcess(name: string, command: string, args: string[], options: {logFile: string; env?: NodeJS.ProcessEnv; cwd?: string}): Managed {
  install()
  const fd = openSync(options.logFile, 'a')
  let child: ChildProcess
  try {
    child = spawn(command, args, {detached: true, stdio: ['ignore', fd, fd], env: options.env ?? process.env, ...(options.cwd ? {cwd: options.cwd} : {})})
  } finally {
    closeSync(fd)
  }
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`)
  const pid = child.pid
  groups.add(pid)
  writeRegistry()
  let running = true
  const exited = new Promise<number | string>((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      running = false
      groups.delete(pid)
      writeRegistry()
      resolve(code ?? signal ?? 'unknown')
    }
    child.once('exit', done)
    child.once('error', () => done(null, null))
  })
  child.unref()

  const logTail = (lines = 15): string => {
    try {
      return readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    } catch {
      return ''
    }
  }

  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-pid, signal)
    } catch {
      // the group is gone
    }
  }

  return {
    name,
    pid,
    logFile: options.logFile,
    exited,
    isRunning: () => running,
    rssMiB: () => (running ? rssMiB(pid) : 0),
    logTail,
    async stop(graceMs = 5000) {
      if (!running) return
      signalGroup('SIGTERM')
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
      // Leftover members of the group (none expected) go too.
      signalGroup('SIGKILL')
    },
  }
}
