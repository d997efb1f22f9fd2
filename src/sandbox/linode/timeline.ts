/**
 * The simulated clock and what happens when after a cluster is created. Durations are simulated
 * seconds; the clock runs `1 / timeScale` simulated seconds per real second (the CLI scales its own
 * waits by the same FEDOBS_TIME_SCALE), and `advance()` jumps it forward. A manual clock never moves by
 * itself: only `advance()` moves it, so a test decides exactly what the cloud has done when.
 */

export interface Timeline {
  /** Cluster `status` goes not_ready → ready. */
  clusterReadySeconds: number
  /** Until then GET kubeconfig (and api-endpoints) answer 503; a [min, max] range is drawn per cluster. */
  kubeconfigReadySeconds: number | [number, number]
  /** The Retry-After of those 503s. */
  kubeconfigRetryAfterSeconds: number
  /** Standard pools: nodes get an `instance_id`, then become `ready`. */
  nodeInstanceSeconds: number
  nodeReadySeconds: number
  /** Pools whose type contains "gpu". */
  gpuNodeInstanceSeconds: number
  gpuNodeReadySeconds: number
}

export type ResolvedTimeline = Omit<Timeline, 'kubeconfigReadySeconds'> & {kubeconfigReadySeconds: number}

export const DEFAULT_TIMELINE: Timeline = {
  clusterReadySeconds: 30,
  kubeconfigReadySeconds: [60, 255],
  kubeconfigRetryAfterSeconds: 20,
  nodeInstanceSeconds: 40,
  nodeReadySeconds: 90,
  gpuNodeInstanceSeconds: 60,
  gpuNodeReadySeconds: 150,
}

export class Clock {
  private readonly startReal = performance.now()
  private offsetSeconds = 0

  constructor(
    readonly timeScale: number,
    readonly manual = false,
  ) {
    if (!(timeScale > 0)) throw new Error(`timeScale must be > 0, not ${timeScale}`)
  }

  /** Simulated seconds since the fake started. */
  now(): number {
    if (this.manual) return this.offsetSeconds
    return (performance.now() - this.startReal) / 1000 / this.timeScale + this.offsetSeconds
  }

  advance(seconds: number): void {
    this.offsetSeconds += seconds
  }

  /** Real milliseconds that `seconds` simulated seconds take. */
  realMs(seconds: number): number {
    return seconds * 1000 * this.timeScale
  }

  /**
   * The API's timestamp format (UTC, no zone) for the wall clock now, or `agoSeconds` before it.
   * Wall clock, not simulated time: a scaled clock would put timestamps in the future.
   */
  timestamp(agoSeconds = 0): string {
    return new Date(Date.now() - agoSeconds * 1000).toISOString().slice(0, 19)
  }
}

/** A small seeded generator, so "random" kubeconfig delays are the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function resolveTimeline(timeline: Timeline, random: () => number): ResolvedTimeline {
  const k = timeline.kubeconfigReadySeconds
  const kubeconfigReadySeconds = Array.isArray(k) ? Math.round(k[0] + (k[1] - k[0]) * random()) : k
  return {...timeline, kubeconfigReadySeconds}
}

export interface NodeState {
  instanceAssigned: boolean
  ready: boolean
}

export function nodeState(timeline: ResolvedTimeline, ageSeconds: number, gpu: boolean): NodeState {
  const instanceAt = gpu ? timeline.gpuNodeInstanceSeconds : timeline.nodeInstanceSeconds
  const readyAt = gpu ? timeline.gpuNodeReadySeconds : timeline.nodeReadySeconds
  return {instanceAssigned: ageSeconds >= instanceAt, ready: ageSeconds >= readyAt}
}
