/**
 * Push-back of the Loki and Tempo contract fakes, as the real backends answer when a limit is hit:
 *
 *   * 429 Too Many Requests with a Retry-After header while "throttled" — Loki's distributor
 *     answers 429 when a tenant's ingestion rate limit (limits_config.ingestion_rate_mb /
 *     ingestion_burst_size_mb) or a stream's rate limit is exceeded, Tempo's distributor when its
 *     ingestion rate limit is; the OTLP/HTTP exporter must retry (honouring Retry-After) and lose
 *     nothing;
 *   * 413 Request Entity Too Large for a push whose decompressed body exceeds `maxBytes` — Loki's
 *     push handler answers 413 when a request is larger than distributor.max_recv_msg_size
 *     (100 MiB by default); past the ingester's gRPC limit (lokiPushLimit) it answers 500. The
 *     OTLP exporter retries neither: that data is dropped and counted in
 *     otelcol_exporter_send_failed_log_records.
 *
 * Checked before a push is parsed or stored, so a refused push stores nothing.
 */
import type {ServerResponse} from 'node:http'

/** Loki's default distributor.max_recv_msg_size: the largest (decompressed) push it accepts. */
export const LOKI_DEFAULT_MAX_RECV_MSG_SIZE = 100 << 20
/**
 * Loki's default server.grpc_server_max_recv_msg_size. The distributor sends a push's entries to
 * the ingester over gRPC, inside the single binary too, so a push larger than this fails there
 * (Loki answers 500 "grpc: received message larger than max", grafana/loki issues #2271, #8154).
 */
export const LOKI_DEFAULT_GRPC_MAX_RECV_MSG_SIZE = 4 << 20

/**
 * The largest push a Loki with this configuration stores: the smaller of the distributor's and
 * the gRPC server's receive limits (each its default unless the config sets it). Compared with
 * the decompressed OTLP body, an approximation of the size of Loki's own push message.
 */
export function lokiPushLimit(lokiConfig: any): number {
  const grpc = Number(lokiConfig?.server?.grpc_server_max_recv_msg_size ?? LOKI_DEFAULT_GRPC_MAX_RECV_MSG_SIZE)
  const distributor = Number(lokiConfig?.distributor?.max_recv_msg_size ?? LOKI_DEFAULT_MAX_RECV_MSG_SIZE)
  return Math.min(grpc, distributor)
}

export interface PushBackStats {
  /** Pushes answered 429. */
  throttled: number
  /** Pushes answered 413. */
  tooLarge: number
  /** The largest decompressed push accepted, in bytes. */
  largestAccepted: number
}

export class PushBack {
  private throttledUntil = 0
  private retryAfterS = 1
  /** Pushes whose decompressed body is larger than this get 413 (undefined: no limit). */
  maxBytes: number | undefined
  readonly stats: PushBackStats = {throttled: 0, tooLarge: 0, largestAccepted: 0}

  constructor(private readonly limitMessage: (bytes: number, max: number) => string = (bytes, max) => `request of ${bytes} bytes is larger than the limit (${max})`) {}

  /** Answer every push with 429 and `Retry-After: retryAfterS` for the next `ms` milliseconds. */
  throttle(ms: number, retryAfterS = 1): void {
    this.throttledUntil = Date.now() + ms
    this.retryAfterS = retryAfterS
  }

  get throttling(): boolean {
    return Date.now() < this.throttledUntil
  }

  /**
   * Whether to refuse a push of `decodedBytes` (decompressed): answers it and returns true, or
   * returns false (and notes the size) when the push may be stored.
   */
  refuse(res: ServerResponse, decodedBytes: number, throttleMessage: string): boolean {
    if (this.throttling) {
      this.stats.throttled++
      const text = `${throttleMessage}\n`
      res.writeHead(429, {'content-type': 'text/plain; charset=utf-8', 'retry-after': String(this.retryAfterS), 'content-length': Buffer.byteLength(text)})
      res.end(text)
      return true
    }
    if (this.maxBytes !== undefined && decodedBytes > this.maxBytes) {
      this.stats.tooLarge++
      const text = `${this.limitMessage(decodedBytes, this.maxBytes)}\n`
      res.writeHead(413, {'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text)})
      res.end(text)
      return true
    }
    this.stats.largestAccepted = Math.max(this.stats.largestAccepted, decodedBytes)
    return false
  }
}
