/**
 * `up` and `status` against the fake Linode API alone (no API servers behind its clusters): what
 * happens before anything is created, and how a failing step is reported.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import path from 'node:path'
import {Ajv} from 'ajv'
import {describe, expect, it} from 'vitest'
import {cloudPerTest} from '../helpers/cloud.js'
import {runCli} from '../helpers/cli.js'
import {upSchema} from '../../src/services/up-schema.js'

const FILE = 'test/up/federation.yaml'
const start = cloudPerTest()
const validUp = new Ajv({allErrors: true, strict: false, validateFormats: false}).compile(upSchema)

interface UpDocument {
  ok: boolean
  steps: Array<{step: string; status: string}>
  clusters: Array<{name: string; created: boolean; deployed: boolean; error?: {step: string; message: string}}>
  failures: Array<{step: string; cluster?: string; error: {message: string}}>
  resume: string
}

describe('fedobs up, before and when a step fails', () => {
  it('refuses a bad backend URL from the environment before contacting anything, naming the variable (up and verify)', async () => {
    for (const command of [
      ['up', '-f', FILE],
      ['verify', '-f', FILE],
    ]) {
      const result = await runCli(command, {env: {FEDOBS_PROMETHEUS_URL: 'localhost:9090', LINODE_URL: 'http://127.0.0.1:1', LINODE_TOKEN: 'x'}})
      expect(result.code, result.stderr).toBe(2)
      expect(result.stderr).toContain('--prometheus-url "localhost:9090" is not an http(s) URL')
      expect(result.stderr).toContain('FEDOBS_PROMETHEUS_URL')
    }
  })

  it('checks regions and plans against the API before creating anything (exit 2, nothing created)', async () => {
    const cloud = await start()
    const file = path.join(cloud.home, 'bad-region.yaml')
    writeFileSync(file, readFileSync(FILE, 'utf8').replace('name: up-edge-2\n    region: us-ord', 'name: up-edge-2\n    region: us-nowhere'))
    const result = await cloud.run(['up', '-f', file, '--skip-verify'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('us-nowhere')
    expect(cloud.fake.view().clusters).toEqual([])
  })

  it('a failing step stops the run: what exists, the failure, and the command to continue (exit 1)', async () => {
    // The fake's kubeconfigs point at the fake itself, which is no Kubernetes API server: the hub deploy fails.
    const cloud = await start()
    const result = await cloud.run(['up', '-f', FILE, '--skip-verify', '--json', '--timeout', '5m'])
    expect(result.code).toBe(1)
    const doc = JSON.parse(result.stdout) as UpDocument
    expect(validUp(doc), JSON.stringify(validUp.errors)).toBe(true)
    expect(doc.ok).toBe(false)
    expect(doc.steps.map((s) => [s.step, s.status])).toEqual([
      ['create', 'done'],
      ['deploy-hub', 'failed'],
      ['deploy-edges', 'not-started'],
      ['connect', 'not-started'],
      ['verify', 'skipped'],
    ])
    expect(doc.clusters.map((c) => [c.name, c.created, c.deployed, c.error?.step])).toEqual([
      ['up-hub', true, false, 'deploy-hub'],
      ['up-edge-1', true, false, undefined],
      ['up-edge-2', true, false, undefined],
    ])
    expect(doc.failures.map((f) => [f.step, f.cluster])).toEqual([['deploy-hub', 'up-hub']])
    expect(doc.resume).toBe(`fedobs up -f ${FILE} --skip-verify --json --timeout 5m`)

    const human = await cloud.run(['up', '-f', FILE, '--skip-verify'])
    expect(human.code).toBe(1)
    expect(human.stderr).toMatch(/error: Deploy the hub \(up-hub\): /)
    expect(human.stderr).toMatch(/up-hub\s+created \(id \d+, existed\)\s+not deployed\s+failed in "Deploy the hub"/)
    expect(human.stderr).toContain(`continues where it stopped:\n  fedobs up -f ${FILE} --skip-verify`)
    // The second run reused the three clusters.
    expect(cloud.posts()).toBe(3)
  }, 120_000)
})

describe('fedobs up interrupted', () => {
  /** Start up on a slow fake (kubeconfigs take seconds) and send `signal` once the clusters are being created. */
  async function interrupt(signal: NodeJS.Signals, extra: string[]): Promise<{code: number | null; stdout: string; stderr: string; posts: number; clusters: number}> {
    const cloud = await start({timeScale: 0.05})
    const {child, done} = cloud.spawn(['up', '-f', FILE, '--skip-verify', ...extra])
    let sent = false
    const seen = (): void => {
      if (sent || cloud.fake.view().clusters.length < 3) return
      sent = true
      child.kill(signal)
    }
    const poll = setInterval(seen, 100)
    const result = await done
    clearInterval(poll)
    expect(sent, result.stderr).toBe(true)
    return {...result, posts: cloud.posts(), clusters: cloud.fake.view().clusters.length}
  }

  it('Ctrl-C with --json: one document saying what exists and how to resume, exit 130', async () => {
    const result = await interrupt('SIGINT', ['--json'])
    expect(result.code, result.stderr).toBe(130)
    const doc = JSON.parse(result.stdout) as UpDocument & {interrupted: boolean; interruptedAt: string}
    expect(validUp(doc), JSON.stringify(validUp.errors)).toBe(true)
    expect(doc).toMatchObject({ok: false, interrupted: true, interruptedAt: 'create', resume: `fedobs up -f ${FILE} --skip-verify --json`})
    expect(doc.clusters.map((c) => [c.name, c.created, c.deployed])).toEqual([
      ['up-hub', false, false],
      ['up-edge-1', false, false],
      ['up-edge-2', false, false],
    ])
    expect(result.posts).toBe(3)
  }, 120_000)

  it('SIGTERM: the same summary on stderr, exit 130', async () => {
    const result = await interrupt('SIGTERM', [])
    expect(result.code, result.stderr).toBe(130)
    expect(result.stderr).toContain('interrupted during "Create clusters". What exists:')
    expect(result.stderr).toMatch(/up-edge-2\s+not created\s+interrupted in "Create clusters"/)
    expect(result.stderr).toContain(`To continue where it stopped, run:\n  fedobs up -f ${FILE} --skip-verify`)
    expect(result.stdout).toBe('')
  }, 120_000)
})

describe('fedobs status when the Linode API cannot be reached', () => {
  it('exits 1 (the only thing status cannot do without)', async () => {
    // A port nobody listens on: taken, then released.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const {port: taken} = server.address() as {port: number}
        server.close(() => resolve(taken))
      })
    })
    const result = await runCli(['status', '-f', FILE], {env: {LINODE_URL: `http://127.0.0.1:${port}`, LINODE_TOKEN: 'x', FEDOBS_TIME_SCALE: '0.002', CI: 'true'}})
    expect(result.code, result.stderr).toBe(1)
    expect(result.stdout).toBe('')
  }, 120_000)
})
