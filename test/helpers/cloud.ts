import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {expect, onTestFinished} from 'vitest'
import {startFakeLinode, type FakeLinode, type FakeLinodeOptions} from '../../src/sandbox/linode/server.js'
import {BIN, REPO, runCli, type CliResult} from './cli.js'
import {recheckFailureVerbose} from './verbose.js'

export const TIME_SCALE = 0.002

export interface Cloud {
  fake: FakeLinode
  home: string
  kubeconfig: string
  env: NodeJS.ProcessEnv
  /** Run the CLI against the fake; every run is checked for leaked secrets (a failed one also with --verbose, see verbose.ts). */
  run(args: string[], options?: {cwd?: string; env?: NodeJS.ProcessEnv}): Promise<CliResult>
  /** Start the CLI and hand back the child (for interrupting it). */
  spawn(args: string[]): {child: ChildProcess; done: Promise<CliResult>}
  posts(): number
  close(): Promise<void>
}

export async function startCloud(options: FakeLinodeOptions = {}): Promise<Cloud> {
  const fake = await startFakeLinode({timeScale: TIME_SCALE, token: `test-token-${Math.random().toString(36).slice(2)}`, ...options})
  const home = mkdtempSync(path.join(tmpdir(), 'fedobs-cloud-'))
  const kubeconfig = path.join(home, '.kube', 'config')
  const env: NodeJS.ProcessEnv = {
    HOME: home,
    LINODE_URL: fake.url,
    LINODE_TOKEN: fake.token,
    LINODE_CLI_TOKEN: undefined,
    KUBECONFIG: kubeconfig,
    FEDOBS_TIME_SCALE: String(fake.timeScale),
    CI: 'true',
  }
  const check = (result: CliResult): CliResult => {
    // Secrets never appear in any output: the Linode token and the clusters' kubeconfig tokens.
    const all = result.stdout + result.stderr
    expect(all.includes(fake.token), 'the Linode token leaked into output').toBe(false)
    for (const cluster of fake.state.clusters.values()) expect(all.includes(cluster.kubeToken), 'a kubeconfig token leaked into output').toBe(false)
    // Nor any key, certificate or identity token of the federation's PKI.
    expect(all.match(/-----BEGIN [A-Z ]*-----/)?.[0], 'PEM material in output').toBeUndefined()
    expect(all.match(/eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}/)?.[0], 'a JWT in output').toBeUndefined()
    return result
  }
  return {
    fake,
    home,
    kubeconfig,
    env,
    run: async (args, more = {}) => {
      const run = (argv: string[]) => runCli(argv, {cwd: more.cwd ?? REPO, env: {...env, ...more.env}})
      const result = check(await run(args))
      recheckFailureVerbose(args, result, run, check)
      return result
    },
    spawn: (args) => {
      const child = spawn(process.execPath, [BIN, ...args], {cwd: REPO, env: {...process.env, NO_COLOR: '1', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve(check({code, stdout, stderr}))))
      // Interrupted or failed runs re-run with --verbose after the test, like run() (not at once: the caller still owns the child).
      void done.then((result) => {
        if (result.code !== 130) recheckFailureVerbose(args, result, (argv) => runCli(argv, {cwd: REPO, env}), check)
      })
      return {child, done}
    },
    posts: () => fake.state.requests.filter((r) => r.method === 'POST' && /\/lke\/clusters$/.test(r.path)).length,
    close: () => fake.close(),
  }
}

/**
 * One fake cloud per test: `const start = cloudPerTest()` at the top of a file, then
 * `const cloud = await start()` in each test. After each test the fake must have answered only
 * within the spec, and it is closed.
 */
export function cloudPerTest(): (options?: FakeLinodeOptions) => Promise<Cloud> {
  return async (options) => {
    const cloud = await startCloud(options)
    // Registered first, so it runs last: after the --verbose re-runs of failed commands.
    onTestFinished(async () => {
      try {
        expect(cloud.fake.state.violations, 'the fake answered outside the spec').toEqual([])
      } finally {
        await cloud.close()
      }
    })
    return cloud
  }
}
