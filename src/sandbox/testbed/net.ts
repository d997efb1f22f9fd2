/** Loopback ports and HTTP(S) probes for the test bed's processes. */
import {request as httpsRequest} from 'node:https'
import {request as httpRequest} from 'node:http'
import {createServer} from 'node:net'

const handedOut = new Set<number>()

/** A port free on 127.0.0.1 right now, never the same twice in this process. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer()
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => {
        const address = server.address()
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
      })
    })
    if (port > 0 && !handedOut.has(port)) {
      handedOut.add(port)
      return port
    }
  }
}

/** Free ports are picked before they are bound, and another process may take one in between. */
export async function retryOnPortClash<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start()
    } catch (error) {
      if (attempt >= attempts || !(error instanceof Error && error.message.includes('address already in use'))) throw error
    }
  }
}

export interface ProbeOptions {
  /** PEM to trust; without it, TLS certificates are not checked (components' self-signed serving certs). */
  ca?: string
  token?: string
  timeoutMs?: number
}

/** GET a URL on loopback: the status code and body, or undefined when nothing answered. */
export function probe(url: string, options: ProbeOptions = {}): Promise<{status: number; body: string} | undefined> {
  const target = new URL(url)
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve) => {
    const req = request(
      target,
      {
        method: 'GET',
        timeout: options.timeoutMs ?? 2000,
        headers: options.token ? {Authorization: `Bearer ${options.token}`} : {},
        ...(target.protocol === 'https:' ? (options.ca ? {ca: options.ca} : {rejectUnauthorized: false}) : {}),
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (d: string) => (body += d))
        res.on('end', () => resolve({status: res.statusCode ?? 0, body}))
        res.on('error', () => resolve(undefined))
      },
    )
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(undefined))
    req.end()
  })
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Thrown inside a waitFor check: stop waiting now (e.g. the process being waited for has exited). */
export class GiveUp extends Error {}

/**
 * Poll `check` until it returns a value other than undefined/false, or fail after `timeoutMs` with
 * `describe()` (what was waited for, and what was seen last).
 */
export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, options: {timeoutMs: number; intervalMs?: number; what: string | (() => string)}): Promise<T> {
  const deadline = Date.now() + options.timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (error) {
      if (error instanceof GiveUp) throw error
      lastError = error
    }
    if (Date.now() > deadline) {
      const what = typeof options.what === 'function' ? options.what() : options.what
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${cause}`)
    }
    await delay(options.intervalMs ?? 100)
  }
}
