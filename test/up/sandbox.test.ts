/**
 * `fedobs up`, `status` and `down` as a user runs them, on the sandbox: the fake Linode API whose
 * LKE clusters are real API servers (test/testbed). One hub and two edges (test/up/federation.yaml).
 * The telemetry that makes verify green on real data is not part of this sandbox yet: these tests
 * use --skip-verify, and one test points verify at a Prometheus stand-in that has no data.
 */
import {createServer, type Server} from 'node:http'
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {Ajv} from 'ajv'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import type {Cloud} from '../helpers/cloud.js'
import type {CliResult} from '../helpers/cli.js'
import {startBridgedCloud, type BridgedCloud} from '../helpers/deploy.js'
import {requireBinaries} from '../helpers/testbed.js'
import type {LinodeBridge} from '../../src/sandbox/testbed/bridge.js'
import {waitFor} from '../../src/sandbox/testbed/net.js'
import {TESTBED_BINARIES, type Testbed} from '../../src/sandbox/testbed/testbed.js'
import {statusSchema} from '../../src/services/status-schema.js'
import {upSchema} from '../../src/services/up-schema.js'

const binaries = requireBinaries(TESTBED_BINARIES)
const FILE = 'test/up/federation.yaml'
const NAMES = ['up-hub', 'up-edge-1', 'up-edge-2']
const ajv = new Ajv({allErrors: true, strict: false, validateFormats: false})
const validUp = ajv.compile(upSchema)
const validStatus = ajv.compile(statusSchema)

interface UpDocument {
  ok: boolean
  interrupted: boolean
  steps: Array<{step: string; status: string}>
  clusters: Array<{name: string; role: string; id?: number; created: boolean; deployed: boolean; connected?: boolean; context?: string}>
  gateway: {address?: string; endpoint?: string}
  grafana: {portForward: string; passwordCommand: string}
  verify?: {ok: boolean; summary: {fail: number}; queries: number}
  failures: unknown[]
  resume?: string
}

interface StatusDocument {
  clusters: Array<{
    name: string
    exists: boolean
    status: string
    nodesReady: number
    nodesTotal: number
    drift: Array<{field: string; file: string; cloud: string}>
    pools: Array<{ready: number; count: number}>
  }>
  gateway: {addresses: string[]}
  data: {queries: number}
  summary: {existing: number; ready: number; drifted: number}
}

function json(result: CliResult, validate: (doc: unknown) => boolean): unknown {
  const doc: unknown = JSON.parse(result.stdout)
  expect(validate(doc), JSON.stringify((validate as unknown as {errors: unknown}).errors)).toBe(true)
  return doc
}

describe.skipIf(!binaries.ok)('up, status and down on the sandbox (1 hub + 2 edges)', () => {
  let testbed: Testbed
  let bridge: LinodeBridge
  let cloud: Cloud
  /** How long a whole `up --skip-verify` from nothing took: the interruptions are spread over it. */
  let fullRunMs = 0

  const contexts = (): string[] => {
    try {
      return (parse(readFileSync(cloud.kubeconfig, 'utf8')) as {contexts?: Array<{name: string}> | null}).contexts?.map((c) => c.name) ?? []
    } catch {
      return []
    }
  }

  /** What `down` must leave: nothing in the cloud, no test-bed API server, no context of ours. */
  async function expectNothingLeft(): Promise<void> {
    const view = cloud.fake.view()
    expect(view.clusters).toEqual([])
    expect(view.nodeBalancers).toEqual([])
    expect(view.volumes).toEqual([])
    expect(view.firewalls).toEqual([])
    expect(contexts().filter((c) => NAMES.some((n) => c === `fedobs-${n}`))).toEqual([])
    await waitFor(() => testbed.clusters.size === 0, {timeoutMs: 60_000, what: 'the sandbox to stop every API server'})
  }

  let bridged: BridgedCloud | undefined
  beforeAll(async () => {
    // LKE's minutes become seconds (time scale 0.02), for the fake and the CLI alike.
    bridged = await startBridgedCloud()
    ;({testbed, bridge, cloud} = bridged)
  })

  afterAll(async () => {
    await bridged?.stop()
  })

  it('status before up: every cluster "not created", no gateway, exit 0', async () => {
    const result = await cloud.run(['status', '-f', FILE, '--json'])
    expect(result.code, result.stderr).toBe(0)
    const doc = json(result, validStatus) as StatusDocument
    expect(doc.clusters.map((c) => [c.name, c.exists, c.status])).toEqual(NAMES.map((n) => [n, false, 'not created']))
    expect(doc.gateway.addresses).toEqual([])
    expect(doc.data.queries).toBe(0)
    expect(doc.summary).toEqual({clusters: 3, existing: 0, ready: 0, drifted: 0})
  }, 300_000)

  it('up --skip-verify from nothing creates, deploys and connects all three clusters', async () => {
    const started = Date.now()
    const result = await cloud.run(['up', '-f', FILE, '--skip-verify', '--json'])
    fullRunMs = Date.now() - started
    expect(result.code, result.stderr).toBe(0)
    const doc = json(result, validUp) as UpDocument
    expect(doc.ok).toBe(true)
    expect(doc.steps.map((s) => [s.step, s.status])).toEqual([
      ['create', 'done'],
      ['deploy-hub', 'done'],
      ['deploy-edges', 'done'],
      ['connect', 'done'],
      ['verify', 'skipped'],
    ])
    expect(doc.clusters.map((c) => [c.name, c.created, c.deployed, c.connected])).toEqual([
      ['up-hub', true, true, undefined],
      ['up-edge-1', true, true, true],
      ['up-edge-2', true, true, true],
    ])
    expect(doc.gateway.address).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
    expect(doc.gateway.endpoint).toBe(`${doc.gateway.address}:4317`)
    // How to open Grafana, never the password itself.
    expect(doc.grafana.portForward).toBe('kubectl --context fedobs-up-hub -n monitoring port-forward service/grafana 3000:3000')
    expect(doc.grafana.passwordCommand).toContain('get secret grafana-admin')
    expect(
      cloud.fake
        .view()
        .clusters.map((c) => c.label)
        .sort(),
    ).toEqual([...NAMES].sort())
    expect(cloud.posts()).toBe(3)
    expect(contexts()).toEqual(expect.arrayContaining(NAMES.map((n) => `fedobs-${n}`)))
  }, 600_000)

  it('status after up: all nodes ready, no drift, the gateway address', async () => {
    const result = await cloud.run(['status', '-f', FILE, '--json'])
    expect(result.code, result.stderr).toBe(0)
    const doc = json(result, validStatus) as StatusDocument
    expect(doc.clusters.map((c) => [c.name, c.exists, c.status, `${c.nodesReady}/${c.nodesTotal}`])).toEqual([
      ['up-hub', true, 'ready', '3/3'],
      ['up-edge-1', true, 'ready', '2/2'],
      ['up-edge-2', true, 'ready', '2/2'],
    ])
    for (const c of doc.clusters) for (const pool of c.pools) expect(pool.ready).toBe(pool.count)
    expect(doc.clusters.flatMap((c) => c.drift)).toEqual([])
    expect(doc.gateway.addresses).toHaveLength(1)
    // One query for the newest data of every cluster, whatever their number (here it finds no Prometheus endpoint).
    expect(doc.data.queries).toBe(1)
    expect(doc.summary).toEqual({clusters: 3, existing: 3, ready: 3, drifted: 0})

    const human = await cloud.run(['status', '-f', FILE])
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toMatch(/^up-edge-2\s+edge\s+ready\s+\d+\s+1\.33\s+2\/2\s+fedobs-up-edge-2\s+none\s/m)
    expect(human.stdout).toContain(`Gateway: ${doc.gateway.addresses[0]}:4317 (OTLP/gRPC)`)
  }, 300_000)

  it('status with drift: a pool count changed in the file is reported for that cluster only', async () => {
    const drifted = path.join(cloud.home, 'drifted.yaml')
    // up-edge-1's pool (no autoscaler) from 2 to 3 nodes.
    writeFileSync(drifted, readFileSync(FILE, 'utf8').replace(/(name: up-edge-1\n(?:.*\n)*?\s+count: )2/, '$13'))
    const result = await cloud.run(['status', '-f', drifted, '--json'])
    expect(result.code, result.stderr).toBe(0)
    const doc = json(result, validStatus) as StatusDocument
    expect(doc.clusters.map((c) => [c.name, c.drift.map((d) => [d.field, d.file, d.cloud])])).toEqual([
      ['up-hub', []],
      ['up-edge-1', [['pools[g6-standard-2].count', '3', '2']]],
      ['up-edge-2', []],
    ])
    expect(doc.summary.drifted).toBe(1)
  }, 300_000)

  it('up without --skip-verify runs verify and reports its result: failing checks are exit 1 with the report', async () => {
    // A Prometheus that answers every query with no data (the sandbox's telemetry is not running here).
    let queries = 0
    const prometheus: Server = createServer((request, response) => {
      if (request.url?.startsWith('/api/v1/query')) queries++
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify({status: 'success', data: {resultType: 'vector', result: []}}))
    })
    await new Promise<void>((resolve) => prometheus.listen(0, '127.0.0.1', resolve))
    const {port} = prometheus.address() as {port: number}
    try {
      const result = await cloud.run(['up', '-f', FILE, '--json', '--verify-wait', '1s', '--skip-logs', '--skip-traces', '--skip-certificates'], {
        env: {FEDOBS_PROMETHEUS_URL: `http://127.0.0.1:${port}`},
      })
      expect(result.code, result.stderr).toBe(1)
      const doc = json(result, validUp) as UpDocument
      expect(doc.ok).toBe(false)
      expect(doc.failures).toEqual([])
      expect(doc.steps.map((s) => s.status)).toEqual(['done', 'done', 'done', 'done', 'done'])
      expect(doc.verify?.ok).toBe(false)
      expect(doc.verify!.summary.fail).toBeGreaterThan(0)
      // FEDOBS_PROMETHEUS_URL was used: verify's queries reached the stand-in.
      expect(queries).toBeGreaterThanOrEqual(doc.verify!.queries)
      expect(doc.resume).toBe(`fedobs up -f ${FILE} --json --verify-wait 1s --skip-logs --skip-traces --skip-certificates`)
      // Still one cluster each: a second up reuses them.
      expect(cloud.posts()).toBe(3)

      const human = await cloud.run(['up', '-f', FILE, '--verify-wait', '1s', '--skip-logs', '--skip-traces', '--skip-certificates'], {env: {FEDOBS_PROMETHEUS_URL: `http://127.0.0.1:${port}`}})
      expect(human.code).toBe(1)
      expect(human.stdout).toMatch(/✖ every cluster reports: 3 of 3 silent/)
      expect(human.stdout).toMatch(/Status check results are ✖/)
      expect(human.stdout).toContain('Grafana: fedobs open grafana (or kubectl --context fedobs-up-hub -n monitoring port-forward service/grafana 3000:3000)')
    } finally {
      await new Promise((resolve) => prometheus.close(resolve))
    }
  }, 600_000)

  it('down without --yes and without a terminal deletes nothing (exit 2); down --yes leaves nothing', async () => {
    const refused = await cloud.run(['down', '-f', FILE])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('Pass --yes')
    expect(cloud.fake.view().clusters).toHaveLength(3)

    const result = await cloud.run(['down', '-f', FILE, '--yes', '--json'])
    expect(result.code, result.stderr).toBe(0)
    const {deleted, failed} = JSON.parse(result.stdout) as {deleted: Array<{name: string; leftBehind: string[]}>; failed: unknown[]}
    expect(failed).toEqual([])
    expect(deleted.map((d) => [d.name, d.leftBehind])).toEqual(NAMES.map((n) => [n, []]))
    await expectNothingLeft()
  }, 300_000)

  it('up killed at five points (SIGINT and SIGKILL) and run again converges: no duplicate cluster, and down leaves nothing', async () => {
    expect(fullRunMs).toBeGreaterThan(0)
    const postsBefore = cloud.posts()
    // Five points spread over a whole run (from 5 % to 85 % of it, each with jitter); each run
    // resumes what the one before left, so later runs reach later steps.
    const kills: Array<{signal: NodeJS.Signals; atMs: number}> = [0.05, 0.25, 0.45, 0.65, 0.85].map((f, i) => ({
      signal: i % 2 === 0 ? 'SIGINT' : 'SIGKILL',
      atMs: Math.round(fullRunMs * (f + Math.random() * 0.1)),
    }))
    const args = ['up', '-f', FILE, '--skip-verify']
    let previous = 0
    const stoppedBy: string[] = []
    const interruptedDuring = new Set<string>()
    for (const kill of kills) {
      const started = Date.now()
      const {child, done} = cloud.spawn(args)
      // The run's share of the kill point, counted from its start; a SIGINT only once the CLI is past
      // start-up (its first progress line), where Ctrl-C is its to handle.
      const waitMs = Math.max(500, kill.atMs - previous)
      let timer: NodeJS.Timeout | undefined
      const arm = (): void => {
        timer ??= setTimeout(() => child.kill(kill.signal), Math.max(0, started + waitMs - Date.now()))
      }
      if (kill.signal === 'SIGKILL') arm()
      else child.stderr!.on('data', (chunk: Buffer | string) => String(chunk).includes('Create clusters') && arm())
      const result = await done
      clearTimeout(timer)
      previous = kill.atMs
      if (result.code === 0) continue // this run finished before its kill point
      stoppedBy.push(kill.signal)
      if (kill.signal === 'SIGINT') {
        expect(result.code, result.stderr).toBe(130)
        interruptedDuring.add(/interrupted during "([^"]+)"/.exec(result.stderr)?.[1] ?? 'start-up')
        expect(result.stderr).toMatch(/interrupted( during "[^"]+")?\. What exists:/)
        expect(result.stderr).toContain(`To continue where it stopped, run:\n  fedobs up -f ${FILE} --skip-verify`)
        for (const name of NAMES) expect(result.stderr).toContain(name)
      } else {
        expect(result.code).toBeNull()
      }
      // Never two LKE clusters with one label, at any point.
      const labels = cloud.fake.view().clusters.map((c) => c.label)
      expect(new Set(labels).size).toBe(labels.length)
    }

    // The kill points did stop runs, and the Ctrl-Cs landed in different steps.
    expect(stoppedBy.length, stoppedBy.join(' ')).toBeGreaterThanOrEqual(3)
    expect(interruptedDuring.size, [...interruptedDuring].join(', ')).toBeGreaterThanOrEqual(2)

    const final = await cloud.run([...args, '--json'])
    expect(final.code, final.stderr).toBe(0)
    const doc = json(final, validUp) as UpDocument
    expect(doc.ok).toBe(true)
    expect(doc.clusters.every((c) => c.created && c.deployed && (c.role === 'hub' || c.connected))).toBe(true)
    expect(
      cloud.fake
        .view()
        .clusters.map((c) => c.label)
        .sort(),
    ).toEqual([...NAMES].sort())
    expect(cloud.posts() - postsBefore).toBe(3)

    const down = await cloud.run(['down', '-f', FILE, '--yes'])
    expect(down.code, down.stderr).toBe(0)
    await expectNothingLeft()
    expect(cloud.fake.state.violations).toEqual([])
    expect(bridge.errors()).toEqual([])
  }, 1_200_000)
})
