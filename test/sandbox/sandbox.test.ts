import {mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {orphans, SANDBOX_BINARIES} from '../../src/sandbox/control.js'
import {runCli, type CliResult} from '../helpers/cli.js'
import {requireBinaries} from '../helpers/testbed.js'

/**
 * `fedobs sandbox` as a user runs it: start it, point fedobs at it with the environment it prints,
 * build a federation of the example file (hub + edge), and `fedobs verify` goes green on the data the
 * sandbox's real collectors, Prometheus and kube-state-metrics produce from what fedobs deployed.
 * Then tear down and stop: nothing of it is left.
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
  let token = ''
  const fedobs = (args: string[]): Promise<CliResult> => runCli(args, {env})
  const pidsOf = (pattern: string): string[] =>
    readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(pattern)
        } catch {
          return false
        }
      })

  beforeAll(async () => {
    // --no-build: the binaries are built by `npm run testbed:build` (CI) and a missing one fails here.
    const started = await runCli(['sandbox', 'start', '--no-build'], {env: base})
    expect(started.code, started.stderr).toBe(0)
    const exported = Object.fromEntries([...started.stdout.matchAll(/^export (\w+)='([^']*)'$/gm)].map((m) => [m[1]!, m[2]!]))
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
  }, 60_000)

  it('deploys the example federation into it, and verify is green on real data; every command says it runs against the sandbox', async () => {
    const steps: string[][] = [
      ['cluster', 'create', '--all', '-f', 'examples/fedobs.yaml'],
      ['deploy', 'hub', '-f', 'examples/fedobs.yaml'],
      ['deploy', 'edge', 'fed-observability-remote', '-f', 'examples/fedobs.yaml'],
      ['connect', 'fed-observability-remote', 'hub', '-f', 'examples/fedobs.yaml', '--yes'],
    ]
    for (const step of steps) {
      const result = await fedobs(step)
      expect(result.code, `${step.join(' ')}: ${result.stderr}`).toBe(0)
      expect(result.stderr).toMatch(/^sandbox: LINODE_URL \S+ is the local sandbox/m)
      expect(result.stdout + result.stderr).not.toContain(token)
    }
    const verify = await fedobs([
      'verify',
      '-f',
      'examples/fedobs.yaml',
      '--prometheus-url',
      env.FEDOBS_PROMETHEUS_URL!,
      '--loki-url',
      env.FEDOBS_LOKI_URL!,
      '--tempo-url',
      env.FEDOBS_TEMPO_URL!,
      '--wait',
      '3m',
      '--json',
    ])
    expect(verify.code, verify.stdout + verify.stderr).toBe(0)
    const report = JSON.parse(verify.stdout)
    expect(report.ok).toBe(true)
    const checks = report.groups.flatMap((g: {checks: Array<{id: string; status: string; cluster?: string}>}) => g.checks)
    // Real data from both clusters: each job of each cluster, logs and traces.
    for (const cluster of ['fed-observability-test', 'fed-observability-remote']) {
      for (const id of ['job:kube-state-metrics', 'job:dcgm-exporter', 'job:bert-inference', 'logs', 'traces']) {
        expect(checks.find((c: {id: string; cluster?: string}) => c.id === id && c.cluster === cluster)?.status, `${cluster} ${id}`).toBe('ok')
      }
    }

    const status = await fedobs(['sandbox', 'status', '--json'])
    expect(status.code).toBe(0)
    const doc = JSON.parse(status.stdout)
    expect(doc.clusters.map((c: {label: string}) => c.label).sort()).toEqual(['fed-observability-remote', 'fed-observability-test'])
    const running = doc.processes.filter((p: {running: boolean}) => p.running).map((p: {cluster: string; name: string}) => `${p.cluster}/${p.name}`)
    expect(running.sort()).toEqual(
      [
        'fed-observability-test/prometheus',
        'fed-observability-test/otel-gateway',
        'fed-observability-test/otel-agent',
        'fed-observability-test/otel-scraper',
        'fed-observability-test/kube-state-metrics',
        'fed-observability-remote/otel-agent',
        'fed-observability-remote/otel-scraper',
        'fed-observability-remote/kube-state-metrics',
      ].sort(),
    )
  }, 600_000)

  it('teardown, then stop: no cluster in the fake, no process of the sandbox left, its state gone', async () => {
    const down = await fedobs(['teardown', '-f', 'examples/fedobs.yaml', '--yes'])
    expect(down.code, down.stderr).toBe(0)
    const status = await fedobs(['sandbox', 'status', '--json'])
    // The status file is rewritten every 2 s; the clusters are gone from the fake at once.
    await new Promise((resolve) => setTimeout(resolve, 2500))
    const after = JSON.parse((await fedobs(['sandbox', 'status', '--json'])).stdout)
    expect(status.code).toBe(0)
    expect(after.clusters).toEqual([])
    const stop = await fedobs(['sandbox', 'stop'])
    expect(stop.code, stop.stderr).toBe(0)
    expect(pidsOf(sandboxDir)).toEqual([])
    const gone = await fedobs(['sandbox', 'status', '--json'])
    expect(gone.code).toBe(1)
    expect(JSON.parse(gone.stdout).running).toBe(false)
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
    const {pid} = JSON.parse(started.stdout)
    expect(orphans(env.FEDOBS_SANDBOX_DIR).length).toBeGreaterThan(0) // etcd, the log store: its children
    process.kill(pid, 'SIGKILL')
    await new Promise((resolve) => setTimeout(resolve, 500))
    const status = await runCli(['sandbox', 'status', '--json'], {env})
    expect(status.code).toBe(1)
    expect(JSON.parse(status.stdout).running).toBe(false)
    expect(orphans(env.FEDOBS_SANDBOX_DIR).length).toBeGreaterThan(0)
    const stop = await runCli(['sandbox', 'stop', '--json'], {env})
    expect(JSON.parse(stop.stdout).stopped).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(orphans(env.FEDOBS_SANDBOX_DIR)).toEqual([])
    const again = await runCli(['sandbox', 'start', '--no-build', '--json'], {env})
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout).pid).not.toBe(pid)
  }, 120_000)
})
