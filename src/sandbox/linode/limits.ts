/** Rate limiting and injected faults. */
import type {Clock} from './timeline.js'

export interface RateLimit {
  /** Requests allowed per window, per token. */
  limit: number
  /** Window length in simulated seconds. */
  windowSeconds: number
}

export interface RateDecision {
  allowed: boolean
  headers: Record<string, string>
}

/** A fixed window per token, on the simulated clock. */
export class RateLimiter {
  private windows = new Map<string, {start: number; used: number}>()

  constructor(
    private readonly clock: Clock,
    public config: RateLimit,
  ) {}

  take(key: string): RateDecision {
    const now = this.clock.now()
    let window = this.windows.get(key)
    if (!window || now >= window.start + this.config.windowSeconds) {
      window = {start: now, used: 0}
      this.windows.set(key, window)
    }
    const allowed = window.used < this.config.limit
    if (allowed) window.used++
    const remainingSeconds = window.start + this.config.windowSeconds - now
    // X-RateLimit-Reset is an epoch second (real wall clock); Retry-After is in simulated seconds,
    // which a client on the same FEDOBS_TIME_SCALE turns into the right real wait.
    const resetEpoch = Math.ceil((Date.now() + this.clock.realMs(remainingSeconds)) / 1000)
    const headers: Record<string, string> = {
      'X-RateLimit-Limit': String(this.config.limit),
      'X-RateLimit-Remaining': String(Math.max(0, this.config.limit - window.used)),
      'X-RateLimit-Reset': String(resetEpoch),
    }
    if (!allowed) headers['Retry-After'] = String(Math.max(1, Math.ceil(remainingSeconds)))
    return {allowed, headers}
  }

  reset(): void {
    this.windows.clear()
  }
}

export type FaultStatus = 408 | 429 | 500 | 502 | 503 | 504

export interface Fault {
  match: {
    /** Any method when left out. */
    method?: string
    /**
     * The path without /v4 or /v4beta: exact (`/lke/clusters/7`), with `*` or `{name}` standing for
     * one segment (`/lke/clusters/{clusterId}/kubeconfig`), or a RegExp. Any path when left out.
     */
    pathPattern?: string | RegExp
  }
  /** How many matching requests it hits (default 1). */
  times?: number
  status?: FaultStatus
  body?: unknown
  headers?: Record<string, string>
  /** Do the operation, then answer with the fault (only when the operation succeeded). */
  afterCommit?: boolean
  /** Destroy the socket instead of answering. */
  resetConnection?: boolean
}

const REASONS: Record<number, string> = {
  408: 'Request Timeout',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

export function errorReason(status: number): string {
  return REASONS[status] ?? 'Error'
}

export function patternToRegExp(pattern: string | RegExp): RegExp {
  if (pattern instanceof RegExp) return pattern
  const source = pattern
    .split(/(\*|\{[^}/]+\})/)
    .map((part) => (part === '*' || /^\{[^}/]+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('')
  return new RegExp(`^${source}$`)
}

interface ArmedFault {
  fault: Fault
  path: RegExp
  left: number
}

export class Faults {
  private armed: ArmedFault[] = []

  add(faults: Fault[]): void {
    for (const fault of faults) {
      if (!fault.resetConnection && fault.status === undefined) throw new Error('a fault needs a status or resetConnection')
      this.armed.push({fault, path: patternToRegExp(fault.match.pathPattern ?? /.*/), left: fault.times ?? 1})
    }
  }

  clear(): void {
    this.armed = []
  }

  pending(): number {
    return this.armed.reduce((sum, a) => sum + a.left, 0)
  }

  /** The first armed fault for this request and phase, consumed by one. */
  take(method: string, path: string, afterCommit: boolean): Fault | undefined {
    const hit = this.armed.find((a) => a.left > 0 && (a.fault.afterCommit ?? false) === afterCommit && (!a.fault.match.method || a.fault.match.method.toUpperCase() === method) && a.path.test(path))
    if (!hit) return undefined
    hit.left--
    this.armed = this.armed.filter((a) => a.left > 0)
    return hit.fault
  }
}
