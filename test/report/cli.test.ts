import {existsSync, mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {expectDocument} from '../helpers/json-schemas.js'

/**
 * `fedobs report FILE` and `fedobs verify --html FILE` refuse a FILE they could not write with exit 2
 * before they send a single query: the backends are one HTTP server that counts what reaches it.
 */
describe('an unwritable report path: exit 2 before any query', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'fedobs-report-cli-'))
  let server: Server
  let url = ''
  let requests = 0

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests++
      res.writeHead(500).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
    rmSync(root, {recursive: true, force: true})
  })

  const backends = () => ['-f', 'examples/fedobs.yaml', '--skip-certificates', '--prometheus-url', url, '--loki-url', url, '--tempo-url', url]

  // Root writes through file modes, so a read-only place for root is one the kernel refuses: sysfs
  // creates no files. Anyone else gets a directory without write permission.
  const readOnly = (): {file: string; reason: RegExp} => {
    if (process.getuid?.() === 0) return {file: '/sys/fedobs-report.html', reason: /permission denied \(EACCES\)/}
    const dir = path.join(root, 'read-only')
    mkdirSync(dir, {mode: 0o500})
    return {file: path.join(dir, 'report.html'), reason: /permission denied \(EACCES\)/}
  }

  const cases: Array<[string, () => {file: string; reason: RegExp}]> = [
    ['a missing directory', () => ({file: path.join(root, 'no-such-dir', 'report.html'), reason: /no such file or directory \(ENOENT\)/})],
    ['a directory', () => ({file: root, reason: /it is a directory, where a file is needed \(EISDIR\)/})],
    ['a read-only place', readOnly],
  ]

  for (const [what, target] of cases) {
    it(`report FILE and verify --html FILE, FILE ${what}: exit 2 with the path and the reason, no request sent`, async () => {
      const {file, reason} = target()
      const before = requests
      const [report, verify, json] = await Promise.all([
        runCli(['report', file, ...backends()]),
        runCli(['verify', '--html', file, ...backends()]),
        runCli(['report', file, ...backends(), '-o', 'json']),
      ])
      for (const run of [report, verify]) {
        expect(run.code, run.stderr).toBe(2)
        expect(run.stdout).toBe('')
        expect(run.stderr).toContain(`cannot write the HTML report ${file}`)
        expect(run.stderr).toMatch(reason)
      }
      expect(report.stderr).toContain('the FILE argument')
      expect(verify.stderr).toContain('--html FILE')
      const error = expectDocument('error', json.stdout).error
      expect(error).toMatchObject({exitCode: 2, code: expect.stringMatching(/^fs-/)})
      expect(error.message).toMatch(reason)
      expect(json.code).toBe(2)
      expect(requests - before, 'requests that reached the backends').toBe(0)
    })
  }

  it('a writable FILE: the backends are asked, and when verify cannot finish no empty file is left behind', async () => {
    const file = path.join(root, 'report.html')
    const before = requests
    const run = await runCli(['report', file, ...backends()])
    expect(run.code, run.stderr).toBe(1)
    expect(run.stderr).toMatch(/Prometheus at .* answered 500/)
    expect(requests - before).toBeGreaterThan(0)
    expect(existsSync(file)).toBe(false)
  })
})
