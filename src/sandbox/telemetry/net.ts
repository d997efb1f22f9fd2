import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {gunzipSync, inflateSync, zstdDecompressSync} from 'node:zlib'

/** Only loopback: this machine may send traffic to 127.0.0.0/8 and nowhere else. */
export const LOOPBACK = '127.0.0.1'

const handedOut = new Set<number>()

/**
 * A free TCP port on 127.0.0.1, below the kernel's ephemeral range (32768+): a port picked from
 * that range can be taken by an outgoing connection's local port before our process binds it.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000)
    if (handedOut.has(port)) continue
    const server = createServer()
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false))
      server.listen(port, LOOPBACK, () => resolve(true))
    })
    if (!bound) continue
    await new Promise((resolve) => server.close(resolve))
    handedOut.add(port)
    return port
  }
}

export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freePort())
  return [...ports]
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Poll until `probe` returns a value other than undefined/false, or throw after `timeoutMs` with
 * the last error or value seen (so a failing test says what it was waiting for).
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  {timeoutMs = 30_000, intervalMs = 250}: {timeoutMs?: number; intervalMs?: number} = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined && value !== false) return value
      last = value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${detail})`)
    }
    await sleep(intervalMs)
  }
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Undo Content-Encoding: the collector's otlp_http exporter compresses with gzip by default. */
export function decodeContent(body: Buffer, encoding: string | undefined): Buffer {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case '':
    case 'identity':
      return body
    case 'gzip':
      return gunzipSync(body)
    case 'deflate':
      return inflateSync(body)
    case 'zstd':
      return zstdDecompressSync(body)
    default:
      throw new HttpError(415, `unsupported Content-Encoding ${encoding}`)
  }
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text)})
  res.end(text)
}

export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, {'content-type': contentType, 'content-length': Buffer.byteLength(text)})
  res.end(text)
}

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void

/** Run a handler; an HttpError becomes its status with a text body, anything else a 500. */
export function guarded(handler: Handler): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? LOOPBACK}`)
    Promise.resolve()
      .then(() => handler(req, res, url))
      .catch((error: unknown) => {
        if (res.headersSent) return void res.destroy()
        if (error instanceof HttpError) sendText(res, error.status, `${error.message}\n`)
        else sendText(res, 500, `${error instanceof Error ? error.message : String(error)}\n`)
      })
  }
}

export async function listen(server: Server, port = 0, host = LOOPBACK): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return (server.address() as AddressInfo).port
}

/** Close a server and the keep-alive connections collectors hold open, so close never hangs. */
export async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeAllConnections()
  await closed
}

export async function getJson(url: string, init: RequestInit = {}): Promise<{status: number; body: any}> {
  const response = await fetch(url, {...init, signal: AbortSignal.timeout(10_000)})
  const text = await response.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON: keep the text (errors from Loki and Tempo are plain text)
  }
  return {status: response.status, body}
}

/** True when GET url answers 2xx (readiness probes). */
export async function httpOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, {signal: AbortSignal.timeout(2000)})
    await response.arrayBuffer()
    return response.ok
  } catch {
    return false
  }
}

/** What an OTLP ingest endpoint of a contract fake counts. */
export interface IngestStats {
  requests: number
  rejected: number
  bytes: number
  /** Requests by "content-type; content-encoding". */
  formats: Record<string, number>
}

/**
 * Read, decompress and parse one OTLP/HTTP push, counting it; an injected fault or a body that
 * does not parse is counted as rejected and answered with an HttpError. `refuse` (a backend's
 * limits, see pushback.ts) sees the decompressed size first: when it answers the push itself it
 * returns true, the push counts as rejected and receiveOtlp returns undefined.
 */
export async function receiveOtlp<T>(
  req: IncomingMessage,
  sink: {stats: IngestStats; fault?: number},
  signal: string,
  parse: (body: Buffer, contentType: string | undefined) => T,
  refuse?: (decodedBytes: number) => boolean,
): Promise<T | undefined> {
  const raw = await readBody(req)
  if (sink.fault !== undefined) {
    sink.stats.rejected++
    throw new HttpError(sink.fault, 'fault injected')
  }
  let request: T
  try {
    const decoded = decodeContent(raw, req.headers['content-encoding'])
    if (refuse?.(decoded.length)) {
      sink.stats.rejected++
      return undefined
    }
    request = parse(decoded, req.headers['content-type'])
  } catch (error) {
    sink.stats.rejected++
    throw error instanceof HttpError ? error : new HttpError(400, `failed to parse OTLP ${signal}: ${String(error)}`)
  }
  sink.stats.requests++
  sink.stats.bytes += raw.length
  const format = `${req.headers['content-type'] ?? ''}; ${req.headers['content-encoding'] ?? 'identity'}`
  sink.stats.formats[format] = (sink.stats.formats[format] ?? 0) + 1
  return request
}
