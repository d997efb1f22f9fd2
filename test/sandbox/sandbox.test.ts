import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {orphans, SANDBOX_BINARIES} from '../../src/sandbox/control.js'
import {runCli, type CliResult} from '../helpers/cli.js'
import {expectDocument} from '../helpers/json-schemas.js'
import {requireBinaries} from '../helpers/testbed.js'
import {parseExportLines} from '../../src/sandbox/state.js'

/**
 * `fedobs sandbox` as a user runs it: start it, point fedobs at it with the environment it prints,
 * `fedobs up` a federation of 1 hub + 2 GPU edges (the example file and a second edge) from nothing,
 * and the verify that ends `up` goes green on the data the sandbox's real collectors, Prometheus and
 * kube-state-metrics produce from what fedobs deployed. Then `fedobs down` and stop: nothing is left.
 */
const binaries = requireBinaries(SANDBOX_BINARIES)

describe.skipIf(!binaries.ok)('fedobs sandbox: a local cloud with real telemetry', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'fedobs-sandbox-test-'))
  const sandboxDir = path.join(root, 'sandbox')
  const home = path.join(root, 'home')
  // A home of its own (kubeconfig, config files), the machine's cache of built binaries.
  const testbedDir = process.env.FEDOBS_TESTBED_DIR ?? path.join(homedir(), '.cache/fedobs/testbed')
  const base = {HOME: home, FEDOBS_TESTBED_DIR: testbedDir, FEDOBS_SANDBOX_DIR: sandboxDir, LINODE_TOKEN: undefined, LINODE_URL: undefined, KUBECONFIG: undefined}
  let env: Record<string, string | undefined> = base
  const file = path.join(root, 'fedobs.yaml')
  const EDGES = ['fed-observability-remote', 'fed-observability-remote-2']
  {
    const example = readFileSync('examples/fedobs.yaml', 'utf8')
    const edge = /^edges:\n([\s\S]*?)(?=^telemetry:)/m.exec(example)![1]!
    writeFileSync(file, example.replace(/^telemetry:/m, `${edge.replace('name: fed-observability-remote', `name: ${EDGES[1]}`)}telemetry:`))
  }
  let token = ''
  const fedobs = (args: string[]): Promise<CliResult> => runCli(args, {env})

  beforeAll(async () => {
    // --no-build: the binaries are built by `npm run testbed:build` (CI) and a missing one fails here.
    const started = await runCli(['sandbox', 'start', '--no-build'], {env: base})
    expect(started.code, started.stderr).toBe(0)
    const exported = parseExportLines(started.stdout)
    expect(Object.keys(exported).sort()).toEqual([
      'FEDOBS_LOKI_URL',
      'FEDOBS_PROMETHEUS_URL',
      'FEDOBS_SANDBOX',
      'FEDOBS_TEMPO_URL',
      'FEDOBS_TIME_SCALE',
      'KUBECONFIG',
      'LINODE_TOKEN_FILE',
      'LINODE_URL',
    ])
    token = readFileSync(exported.LINODE_TOKEN_FILE!, 'utf8').trim()
    expect(statSync(exported.LINODE_TOKEN_FILE!).mode & 0o777).toBe(0o600)
    // The token is never printed: it is in a file the environment names.
    expect(started.stdout + started.stderr).not.toContain(token)
    env = {...base, ...exported}
  }, 300_000)

  afterAll(async () => {
    await runCli(['sandbox', 'stop'], {env: base})
    rmSync(root, {recursive: true, force: true})
  })

  it('a second start finds the running sandbox and prints the same environment', async () => {
    const again = await runCli(['sandbox', 'start'], {env: base})
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toContain('already runs')
    expect(again.stdout).toContain(`export LINODE_URL='${env.LINODE_URL}'`)
    const printed = await runCli(['sandbox', 'env', '--json'], {env: base})
    expect(printed.code).toBe(0)
    expect(expectDocument('sandbox-env', printed.stdout).env.LINODE_URL).toBe(env.LINODE_URL)
  }, 60_000)

  it('up: from nothing to verify green on real data from every cluster; every command says it runs against the sandbox', async () => {
    const up = await fedobs(['up', '-f', file, '--yes', '--verify-wait', '5m', '--json'])
    expect(up.stderr).toMatch(/^sandbox: LINODE_URL \S+ is the local sandbox/m)
    expect(up.stdout + up.stderr).not.toContain(token)
    expect(up.code, up.stdout.slice(-3000) + up.stderr.slice(-3000)).toBe(0)
    const result = expectDocument('up', up.stdout)
    expect(result.ok).toBe(true)
    const report = result.verify
    expect(report.ok).toBe(true)
    const checks = report.groups.flatMap((g: {checks: Array<{id: string; status: string; cluster?: string}>}) => g.checks)
    // Real data from every cluster: each job, logs and traces.
    for (const cluster of ['fed-observability-test', ...EDGES]) {
      for (const id of ['job:kube-state-metrics', 'job:dcgm-exporter', 'job:bert-inference', 'job:kubeletstats', 'logs', 'traces']) {
        expect(checks.find((c: {id: string; cluster?: string}) => c.id === id && c.cluster === cluster)?.status, `${cluster} ${id}`).toBe('ok')
      }
    }
    expect(checks.find((c: {id: string}) => c.id === 'via-gateway')?.status).toBe('ok')

    // status: every cluster, no drift, and the age of its newest data at the hub.
    const status = await fedobs(['status', '-f', file, '--json'])
    expect(status.code, status.stderr).toBe(0)
    const state = expectDocument('status', status.stdout)
    expect(state.clusters).toHaveLength(3)
    for (const cluster of state.clusters) {
      expect(cluster.drift, cluster.name).toEqual([])
      expect(cluster.newestData?.ageSeconds, JSON.stringify(cluster)).toBeLessThan(120)
    }

    const sandbox = await fedobs(['sandbox', 'status', '--json'])
    expect(sandbox.code).toBe(0)
    const doc = expectDocument('sandbox-status', sandbox.stdout)
    expect(doc.clusters.map((c: {label: string}) => c.label).sort()).toEqual([...EDGES, 'fed-observability-test'].sort())
    const running = doc.processes.filter((p: {running: boolean}) => p.running).map((p: {cluster: string; name: string}) => `${p.cluster}/${p.name}`)
    expect(running.sort()).toEqual(
      [
        'fed-observability-test/prometheus',
        'fed-observability-test/otel-gateway',
        'fed-observability-test/otel-agent',
        'fed-observability-test/otel-scraper',
        'fed-observability-test/kube-state-metrics',
        ...EDGES.flatMap((edge) => [`${edge}/otel-agent`, `${edge}/otel-scraper`, `${edge}/kube-state-metrics`]),
      ].sort(),
    )
  }, 600_000)

  it('down, then stop: no cluster in the fake, no process of the sandbox left, its state gone', async () => {
    const down = await fedobs(['down', '-f', file, '--yes'])
    expect(down.code, down.stderr).toBe(0)
    const status = await fedobs(['sandbox', 'status', '--json'])
    // The status file is rewritten every 2 s; the clusters are gone from the fake at once.
    await new Promise((resolve) => setTimeout(resolve, 2500))
    const after = JSON.parse((await fedobs(['sandbox', 'status', '--json'])).stdout)
    expect(status.code).toBe(0)
    expect(after.clusters).toEqual([])
    const stop = await fedobs(['sandbox', 'stop'])
    expect(stop.code, stop.stderr).toBe(0)
    expect(orphans(sandboxDir)).toEqual([])
    const gone = await fedobs(['sandbox', 'status', '--json'])
    expect(gone.code).toBe(1)
    expect(expectDocument('sandbox-status', gone.stdout).running).toBe(false)
  }, 300_000)
})

describe.skipIf(!binaries.ok)('fedobs sandbox after its process was SIGKILLed', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'fedobs-sandbox-kill-'))
  const testbedDir = process.env.FEDOBS_TESTBED_DIR ?? path.join(homedir(), '.cache/fedobs/testbed')
  const env = {HOME: path.join(root, 'home'), FEDOBS_TESTBED_DIR: testbedDir, FEDOBS_SANDBOX_DIR: path.join(root, 'sandbox')}
  afterAll(async () => {
    await runCli(['sandbox', 'stop'], {env})
    rmSync(root, {recursive: true, force: true})
  })

  it('status says it is gone; stop kills what it left running; a new start works', async () => {
    const started = await runCli(['sandbox', 'start', '--no-build', '--json'], {env})
    expect(started.code, started.stderr).toBe(0)
    const {pid} = expectDocument('sandbox-start', started.stdout)
    expect(orphans(env.FEDOBS_SANDBOX_DIR).length).toBeGreaterThan(0) // etcd, the log store: its children
    process.kill(pid, 'SIGKILL')
    await new Promise((resolve) => setTimeout(resolve, 500))
    const status = await runCli(['sandbox', 'status', '--json'], {env})
    expect(status.code).toBe(1)
    expect(JSON.parse(status.stdout).running).toBe(false)
    expect(orphans(env.FEDOBS_SANDBOX_DIR).length).toBeGreaterThan(0)
    const stop = await runCli(['sandbox', 'stop', '--json'], {env})
    expect(expectDocument('sandbox-stop', stop.stdout).stopped).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(orphans(env.FEDOBS_SANDBOX_DIR)).toEqual([])
    const again = await runCli(['sandbox', 'start', '--no-build', '--json'], {env})
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout).pid).not.toBe(pid)
  }, 120_000)
})
