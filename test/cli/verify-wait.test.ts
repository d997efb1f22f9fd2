import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'

/**
 * `verify --wait` rides over a backend that cannot answer yet (Prometheus starting, its pod being
 * replaced): it looks again until the wait is over, then fails with the backend's error. Without
 * --wait the first such error ends verify at once.
 */
describe('verify --wait and a backend that is not there yet', () => {
  let server: Server
  let url = ''
  let requests = 0

  beforeAll(async () => {
    server = createServer((_req, res) => {
      requests++
      res.writeHead(503).end('starting')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  afterAll(() => new Promise((resolve) => server.close(resolve)))

  const args = (prometheus: string) => ['verify', '-f', 'examples/fedobs.yaml', '--skip-certificates', '--skip-logs', '--skip-traces', '--prometheus-url', prometheus]

  it('without --wait: the first error is the answer', async () => {
    const before = requests
    const result = await runCli(args(url))
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('answered 503')
    expect(result.stderr).not.toContain('checking again')
    expect(requests - before).toBeGreaterThan(0)
  })

  it('with --wait: an erroring backend is asked again until the wait is over', async () => {
    const before = requests
    const result = await runCli([...args(url), '--wait', '15s'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('checking again in 10s (attempt 1)')
    expect(result.stderr).toContain('answered 503')
    // Two rounds of queries at least: the first and the one after the pause.
    const perRound = await (async () => {
      const b = requests
      await runCli(args(url))
      return requests - b
    })()
    expect(requests - before - perRound).toBeGreaterThanOrEqual(2 * perRound)
  }, 60_000)

  it('with --wait: an unreachable backend (connection refused) is asked again too', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const result = await runCli([...args(`http://127.0.0.1:${port}`), '--wait', '12s'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('ECONNREFUSED; checking again in 10s (attempt 1)')
  }, 60_000)
})
