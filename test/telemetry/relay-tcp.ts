/**
 * A TCP relay on 127.0.0.1 in front of one upstream (e.g. the gateway's OTLP/gRPC port), which a
 * test can cut to partition the clients from the upstream for a while and then heal:
 *
 *   - 'blackhole' (a partition that drops packets): every relayed connection stops moving bytes
 *     in both directions (the relay stops reading, so the kernel's windows close and the senders
 *     stall, as on a link that lost every packet); new connections are accepted but get no
 *     upstream until the cut heals (like SYNs that are never answered). RPCs time out on the client;
 *     nothing is reset. On heal, the stalled bytes flow again and held connections are connected.
 *   - 'reset' (a partition with a firewall that rejects): every relayed connection is reset, and
 *     every new one is reset as soon as it is accepted, until the cut heals.
 *
 * Outside a cut it relays bytes unchanged, with backpressure, and follows the upstream's fate: when
 * the upstream closes or cannot be reached (a killed gateway), the client connection ends too.
 */
import {createServer, connect, type AddressInfo, type Server, type Socket} from 'node:net'
import {LOOPBACK} from '../../src/sandbox/telemetry/net.js'

export type CutMode = 'blackhole' | 'reset'

export interface TcpRelayStats {
  /** Client connections accepted. */
  connections: number
  /** Connections reset because of a 'reset' cut. */
  reset: number
  /** Connections accepted during a 'blackhole' cut and held without an upstream. */
  held: number
  /** Bytes relayed client → upstream and upstream → client. */
  bytesUp: number
  bytesDown: number
  /** Upstream connection attempts that failed (upstream down). */
  upstreamErrors: number
}

interface Pair {
  client: Socket
  upstream: Socket | undefined
}

export class TcpRelay {
  private server: Server | undefined
  private readonly pairs = new Set<Pair>()
  private cutMode: CutMode | undefined
  port = 0
  readonly stats: TcpRelayStats = {connections: 0, reset: 0, held: 0, bytesUp: 0, bytesDown: 0, upstreamErrors: 0}
  /** [start, end] of every cut (ms since epoch; end undefined while cut). */
  readonly cuts: Array<{mode: CutMode; from: number; to?: number}> = []

  constructor(readonly upstream: string) {}

  /** host:port to give the clients instead of the upstream. */
  get address(): string {
    return `${LOOPBACK}:${this.port}`
  }

  get isCut(): boolean {
    return this.cutMode !== undefined
  }

  async start(port = this.port): Promise<this> {
    const server = createServer({pauseOnConnect: true}, (client) => this.accept(client))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, LOOPBACK, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.server = server
    this.port = (server.address() as AddressInfo).port
    return this
  }

  /** Partition the clients from the upstream until heal(). */
  cut(mode: CutMode = 'blackhole'): void {
    if (this.cutMode) throw new Error(`relay already cut (${this.cutMode})`)
    this.cutMode = mode
    this.cuts.push({mode, from: Date.now()})
    for (const pair of [...this.pairs]) {
      if (mode === 'reset') this.resetPair(pair)
      else {
        pair.client.pause()
        pair.upstream?.pause()
      }
    }
  }

  heal(): void {
    if (!this.cutMode) return
    this.cutMode = undefined
    this.cuts.at(-1)!.to = Date.now()
    for (const pair of [...this.pairs]) {
      if (pair.upstream) {
        pair.client.resume()
        pair.upstream.resume()
      } else this.connectUpstream(pair)
    }
  }

  /** Connections currently relayed (or held). */
  get open(): number {
    return this.pairs.size
  }

  async close(): Promise<void> {
    for (const pair of [...this.pairs]) this.destroyPair(pair)
    const server = this.server
    if (server?.listening) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  private accept(client: Socket): void {
    this.stats.connections++
    client.setNoDelay(true)
    if (this.cutMode === 'reset') {
      this.stats.reset++
      client.resetAndDestroy()
      return
    }
    const pair: Pair = {client, upstream: undefined}
    this.pairs.add(pair)
    client.on('error', () => this.destroyPair(pair))
    client.on('close', () => this.destroyPair(pair))
    if (this.cutMode === 'blackhole') {
      this.stats.held++
      return // stays paused (pauseOnConnect) with no upstream until heal()
    }
    this.connectUpstream(pair)
  }

  private connectUpstream(pair: Pair): void {
    const [host, port] = splitAddress(this.upstream)
    const upstream = connect({host, port})
    upstream.setNoDelay(true)
    pair.upstream = upstream
    upstream.on('error', () => {
      if (!upstream.remoteAddress) this.stats.upstreamErrors++
      this.destroyPair(pair)
    })
    upstream.on('close', () => this.destroyPair(pair))
    upstream.once('connect', () => {
      if (!this.pairs.has(pair)) return void upstream.destroy()
      this.pipe(pair.client, upstream, 'bytesUp')
      this.pipe(upstream, pair.client, 'bytesDown')
      if (this.cutMode === 'blackhole') {
        pair.client.pause()
        upstream.pause()
      } else pair.client.resume()
    })
  }

  /** from → to with backpressure; a blackhole cut pauses `from` and nothing resumes it but heal(). */
  private pipe(from: Socket, to: Socket, counter: 'bytesUp' | 'bytesDown'): void {
    from.on('data', (chunk: Buffer) => {
      this.stats[counter] += chunk.length
      if (!to.write(chunk)) from.pause()
    })
    to.on('drain', () => {
      if (!this.cutMode) from.resume()
    })
    from.on('end', () => to.end())
  }

  private resetPair(pair: Pair): void {
    this.stats.reset++
    this.pairs.delete(pair)
    pair.client.resetAndDestroy()
    pair.upstream?.resetAndDestroy()
  }

  private destroyPair(pair: Pair): void {
    if (!this.pairs.delete(pair)) return
    pair.client.destroy()
    pair.upstream?.destroy()
  }
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':')
  return [address.slice(0, i), Number(address.slice(i + 1))]
}

/** Start a relay to `upstream` (host:port) on a free loopback port. */
export async function startTcpRelay(upstream: string): Promise<TcpRelay> {
  return new TcpRelay(upstream).start()
}
