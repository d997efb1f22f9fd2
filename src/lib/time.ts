import {CancelledError} from './errors.js'

/**
 * Every wait fedobs makes goes through a Clock. Production code never reads the time scale: the
 * command layer builds one clock (from FEDOBS_TIME_SCALE, see BaseCommand) and passes it down, so
 * tests and benchmarks that run against a simulated cloud can shrink the waits, and unit tests can
 * hand in a clock of their own.
 */
export interface Clock {
  /** Simulated milliseconds on a monotonic clock (only differences mean anything). */
  now(): number
  /** Sleep for `ms` simulated milliseconds, or until the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

/** A clock whose simulated millisecond lasts `scale` real milliseconds (1: real time). */
export function scaledClock(scale = 1): Clock {
  if (!(Number.isFinite(scale) && scale > 0 && scale <= 1)) throw new RangeError(`a time scale is in (0, 1], not ${scale}`)
  return {
    now: () => performance.now() / scale,
    sleep: (ms, signal) => realSleep(Math.max(0, ms * scale), signal),
  }
}

/** Real time. */
export const realClock: Clock = scaledClock(1)

/**
 * FEDOBS_TIME_SCALE (a factor in (0, 1], default 1), read once where the command layer composes
 * its dependencies: tests and benchmarks against a simulated cloud run the CLI on its clock.
 */
export function timeScaleFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.FEDOBS_TIME_SCALE
  if (raw === undefined || raw === '') return 1
  const value = Number(raw)
  return Number.isFinite(value) && value > 0 && value <= 1 ? value : 1
}

function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new CancelledError())
      return
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal!.reason instanceof Error ? signal!.reason : new CancelledError())
    }
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}

const UNIT_MS = {y: 31_536_000_000, w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1} as const

/**
 * A Prometheus-style duration, as Prometheus itself accepts it (checked against Prometheus 3.16's
 * flag parser): whole numbers with units y (365 d), w (7 d), d (24 h), h, m, s, ms, largest first,
 * each at most once — 90s, 15m, 1h30m, 15d, 2w, 1y. Prometheus refuses "1m1h", "1h1h" and "1.5h",
 * and so does this (the federation file's durations go to Prometheus as they are written).
 */
export const DURATION_PATTERN = '^(?=[0-9])([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$'
const DURATION = new RegExp(DURATION_PATTERN)

/** The hint for a value that is not a duration. */
export const DURATION_HINT = 'A whole number and a unit (ms, s, m, h, d, w, y), largest first: e.g. 90s, 10m, 1h30m, 1d or 2w.'

/** Every duration fedobs reads (flags and the federation file): milliseconds, or undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim())
  if (!match) return undefined
  const amounts = match.slice(1).map((part) => (part === undefined ? 0 : Number.parseInt(part, 10)))
  return Object.values(UNIT_MS).reduce((total, unitMs, i) => total + amounts[i]! * unitMs, 0)
}

/**
 * A duration in the form both Prometheus/LogQL and Go accept (h, m, s, ms only — Go has no d):
 * 20000 → "20s", 90000 → "1m30s", 86400000 → "24h", 1500 → "1s500ms". Never "0m" for a short one.
 */
export function formatQueryDuration(ms: number): string {
  let rest = Math.max(1, Math.round(ms))
  let text = ''
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const amount = Math.floor(rest / size)
    rest -= amount * size
    if (amount > 0) text += `${amount}${unit}`
  }
  return text
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000)
  if (seconds < 60) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`
}
