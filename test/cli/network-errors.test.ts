import {mkdtempSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {createServer as createNetServer, type AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {startCloud} from '../helpers/cloud.js'

const EXAMPLE = 'examples/fedobs.yaml'
const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
})

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createNetServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

function kubeconfigFor(server: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-net-'))
  const file = path.join(dir, 'config')
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: lke1, cluster: {server: "${server}"}}]`,
      'users: [{name: lke1-admin, user: {token: not-a-real-token}}]',
      'contexts: [{name: fedobs-fed-observability-test, context: {cluster: lke1, user: lke1-admin}}]',
      'current-context: fedobs-fed-observability-test',
      '',
    ].join('\n'),
    {mode: 0o600},
  )
  return file
}

describe('an unreachable Linode API fails fast and says where it looked', () => {
  it('connection refused: one retry, then the host:port and a hint, well under the old ~35 s', async () => {
    const port = await closedPort()
    const started = performance.now()
    // Real time (no FEDOBS_TIME_SCALE): the retry budget is what a user waits.
    const result = await runCli(['cluster', 'list'], {env: {LINODE_URL: `http://127.0.0.1:${port}`, LINODE_TOKEN: 'test-token', FEDOBS_TIME_SCALE: undefined, CI: 'true', HOME: tmpdir()}})
    const seconds = (performance.now() - started) / 1000
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`cannot reach the Linode API at 127.0.0.1:${port} (connection refused`)
    expect(result.stderr).toContain(`Is LINODE_URL right? It is http://127.0.0.1:${port}`)
    expect(result.stderr).toContain('fedobs sandbox start')
    expect(result.stderr).not.toContain('ECONNREFUSED 127')
    expect(seconds).toBeLessThan(15)
  })

  it('a name that does not resolve names the host and port too', async () => {
    const result = await runCli(['cluster', 'list'], {
      env: {LINODE_URL: 'http://fedobs-no-such-host.invalid:8080', LINODE_TOKEN: 'test-token', FEDOBS_TIME_SCALE: undefined, CI: 'true', HOME: tmpdir()},
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/cannot reach the Linode API at fedobs-no-such-host\.invalid:8080 \(the host name (does not resolve|could not be resolved)/)
  })

  it('503 and 429 keep their retries with backoff (the call succeeds)', async () => {
    const cloud = await startCloud()
    try {
      cloud.fake.injectFaults([
        {match: {method: 'GET', pathPattern: '/lke/clusters'}, times: 2, status: 503},
        {match: {method: 'GET', pathPattern: '/lke/clusters'}, times: 2, status: 429, headers: {'Retry-After': '3'}},
      ])
      const result = await cloud.run(['cluster', 'list', '--json'])
      expect(result.code, result.stderr).toBe(0)
      expect(cloud.fake.pendingFaults()).toBe(0)
      const lists = cloud.fake.state.requests.filter((r) => r.method === 'GET' && /\/lke\/clusters(\?|$)/.test(r.path))
      expect(lists.map((r) => r.status)).toEqual([503, 503, 429, 429, 200])
    } finally {
      await cloud.close()
    }
  })
})

describe('Kubernetes API errors name the cluster, the context and the server', () => {
  it('deploy hub against a dead server: no bare "fetch failed"', async () => {
    const port = await closedPort()
    const kubeconfig = kubeconfigFor(`https://127.0.0.1:${port}`)
    const result = await runCli(['deploy', 'hub', '-f', EXAMPLE, '--kubeconfig', kubeconfig, '--timeout', '1m'], {env: {CI: 'true', LINODE_TOKEN: undefined}})
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`cannot reach the Kubernetes API of cluster fed-observability-test, context fedobs-fed-observability-test, server https://127.0.0.1:${port}: connection refused`)
    expect(result.stderr).toContain('fedobs cluster kubeconfig fed-observability-test')
    expect(result.stderr).not.toMatch(/error: [^\n]*fetch failed/)
  })

  it('a plain-HTTP server on this machine is talked to like kubectl does (no skipTLSVerify refusal); its answer names where', async () => {
    // A plain-HTTP API server that refuses the credentials: what matters is that the request was sent.
    const server = createServer((request, response) => {
      response.writeHead(401, {'content-type': 'application/json'})
      response.end(JSON.stringify({kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401}))
    })
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as AddressInfo
    const result = await runCli(['deploy', 'hub', '-f', EXAMPLE, '--kubeconfig', kubeconfigFor(`http://127.0.0.1:${port}`), '--timeout', '1m'], {env: {CI: 'true', LINODE_TOKEN: undefined}})
    expect(result.code).toBe(1)
    expect(result.stderr).not.toContain('HTTP protocol is not allowed')
    expect(result.stderr).toContain(`Unauthorized (cluster fed-observability-test, context fedobs-fed-observability-test, server http://127.0.0.1:${port})`)
    expect(result.stderr).toContain('fetch them again with `fedobs cluster kubeconfig fed-observability-test`')
  })

  it('plain HTTP to another machine is refused before any credential is sent, naming the context and server', async () => {
    const result = await runCli(['deploy', 'hub', '-f', EXAMPLE, '--kubeconfig', kubeconfigFor('http://192.0.2.10:6443'), '--timeout', '1m'], {env: {CI: 'true', LINODE_TOKEN: undefined}})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('context fedobs-fed-observability-test of')
    expect(result.stderr).toContain('points at http://192.0.2.10:6443: plain HTTP to another machine')
  })
})
