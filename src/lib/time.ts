import {CancelledError} from './errors.js'

/**
 * Every wait fedobs makes goes through here. FEDOBS_TIME_SCALE (a factor, default 1) shrinks them
 * for tests and benchmarks that run against a simulated cloud on the same scaled clock.
 */
export function timeScale(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.FEDOBS_TIME_SCALE
  if (raw === undefined || raw === '') return 1
  const value = Number(raw)
  return Number.isFinite(value) && value > 0 && value <= 1 ? value : 1
}

/** Sleep for `ms` simulated milliseconds (scaled), or until the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  const real = Math.max(0, ms * timeScale())
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new CancelledError())
      return
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, real)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal!.reason instanceof Error ? signal!.reason : new CancelledError())
    }
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}

/** Simulated milliseconds elapsed since `start` (a value of simulatedNow()). */
export function simulatedNow(): number {
  return performance.now() / timeScale()
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
