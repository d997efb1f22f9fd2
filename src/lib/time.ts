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

/** Parse a duration flag like 90s, 15m, 1h or 1h30m into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(text.trim())
  if (!match || text.trim() === '') return undefined
  const [, h, m, s, ms] = match
  return ((Number(h ?? 0) * 60 + Number(m ?? 0)) * 60 + Number(s ?? 0)) * 1000 + Number(ms ?? 0)
}

const UNIT_MS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000}

/** A federation-file duration (Prometheus style: 90d, 2w, 1h30m, 500ms) in milliseconds. */
export function parseLongDuration(text: string): number | undefined {
  const trimmed = text.trim()
  if (!/^([0-9]+(ms|s|m|h|d|w|y))+$/.test(trimmed)) return undefined
  let total = 0
  for (const [, amount, unit] of trimmed.matchAll(/([0-9]+)(ms|s|m|h|d|w|y)/g)) total += Number(amount) * UNIT_MS[unit!]!
  return total
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000)
  if (seconds < 60) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`
}
