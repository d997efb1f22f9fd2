import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {expect} from 'vitest'
import {parse} from 'yaml'
import {createLinodeBridge, type LinodeBridge} from '../../src/sandbox/testbed/bridge.js'
import {startTestbed, type TestCluster, type Testbed} from '../../src/sandbox/testbed/testbed.js'
import {startCloud, type Cloud} from './cloud.js'
import {runCli, type CliResult} from './cli.js'
import {recheckFailureVerbose} from './verbose.js'

/** A kubeconfig file holding one test-bed cluster under the context fedobs expects (fedobs-<name>). */
export function kubeconfigFor(clusters: Array<{cluster: TestCluster; as: string}>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'fedobs-kube-'))
  const file = path.join(dir, 'config')
  const entries = clusters.map(({cluster, as}) => {
    const ca = /certificate-authority-data: (\S+)/.exec(cluster.kubeconfig)![1]!
    return {as, server: cluster.server, ca, token: cluster.token}
  })
  const text = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    ...entries.map((e) => `  - name: "${e.as}"\n    cluster: {server: "${e.server}", certificate-authority-data: "${e.ca}"}`),
    'users:',
    ...entries.map((e) => `  - name: "${e.as}-admin"\n    user: {token: "${e.token}"}`),
    'contexts:',
    ...entries.map((e) => `  - name: "fedobs-${e.as}"\n    context: {cluster: "${e.as}", user: "${e.as}-admin"}`),
  ].join('\n')
  writeFileSync(file, `${text}\n`, {mode: 0o600})
  return file
}

/**
 * Run the CLI with this kubeconfig; tokens of the clusters, PEM material and JWTs must never show in
 * its output (a failed run is checked again with --verbose after the test, see verbose.ts).
 */
export async function fedobs(kubeconfig: string, args: string[], tokens: string[] = []): Promise<CliResult> {
  const run = (argv: string[]) => runCli(argv, {env: {KUBECONFIG: kubeconfig, CI: 'true', FEDOBS_TIME_SCALE: '1'}})
  const secrets = [...tokens, ...kubeconfigSecrets(kubeconfig)]
  const check = (result: CliResult): void => {
    const all = result.stdout + result.stderr
    for (const token of secrets) expect(all.includes(token), 'a cluster token leaked into output').toBe(false)
    expect(all.match(/-----BEGIN [A-Z ]*-----/)?.[0], 'PEM material in output').toBeUndefined()
    expect(all.match(/eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}/)?.[0], 'a JWT in output').toBeUndefined()
  }
  const result = await run(args)
  check(result)
  recheckFailureVerbose(args, result, run, check)
  return result
}

/** The credentials a kubeconfig file holds (user tokens, client keys and certificates). */
function kubeconfigSecrets(file: string): string[] {
  const config = parse(readFileSync(file, 'utf8')) as {users?: Array<{user?: Record<string, unknown>}>}
  const fields = ['token', 'client-key-data', 'client-certificate-data', 'password']
  return (config.users ?? []).flatMap((u) => fields.map((f) => u.user?.[f]).filter((v): v is string => typeof v === 'string' && v.length >= 8))
}

/** A sandbox cloud: the fake Linode API whose LKE clusters are real test-bed API servers. */
export interface BridgedCloud {
  testbed: Testbed
  bridge: LinodeBridge
  cloud: Cloud
  stop(): Promise<void>
}

export async function startBridgedCloud(): Promise<BridgedCloud> {
  const testbed = await startTestbed()
  const bridge = createLinodeBridge(testbed)
  const cloud = await startCloud({kubeconfigFor: bridge.kubeconfigFor, timeScale: 0.02})
  bridge.connect(cloud.fake)
  return {
    testbed,
    bridge,
    cloud,
    async stop() {
      await bridge.stop()
      await cloud.close()
      await testbed.stop()
    },
  }
}
