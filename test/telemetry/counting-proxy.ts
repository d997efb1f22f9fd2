/**
 * An HTTP proxy that forwards every request to one upstream (e.g. the real Prometheus) and records
 * it: what a client sent at the wire, counted by the proxy rather than by the client itself.
 */
import {createServer, request, type Server} from 'node:http'
import {closeServer, listen, LOOPBACK} from '../../src/sandbox/telemetry/net.js'

export interface RecordedRequest {
  method: string
  path: string
  params: URLSearchParams
  /** The upstream's status code (0 when the upstream could not be reached). */
  status: number
}

export interface CountingProxy {
  /** Base URL of the proxy, e.g. http://127.0.0.1:PORT: give it to the client instead of the upstream's. */
  url: string
  /** Every request forwarded, in arrival order. */
  requests: RecordedRequest[]
  close(): Promise<void>
}

export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const target = new URL(upstream)
  const requests: RecordedRequest[] = []
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}`)
    const record: RecordedRequest = {method: req.method ?? '', path: url.pathname, params: new URLSearchParams(url.searchParams), status: 0}
    requests.push(record)
    const forward = request({hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers: {...req.headers, host: target.host}}, (answer) => {
      record.status = answer.statusCode ?? 0
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    forward.on('error', (error) => {
      if (res.headersSent) res.destroy()
      else res.writeHead(502, {'content-type': 'text/plain'}).end(`proxy: ${error.message}\n`)
    })
    req.pipe(forward)
  })
  const port = await listen(server)
  return {url: `http://${LOOPBACK}:${port}`, requests, close: () => closeServer(server)}
}
