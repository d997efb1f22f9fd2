import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {expect} from 'vitest'
import type {TestCluster} from '../testbed/testbed.js'
import {runCli, type CliResult} from './cli.js'

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

/** Run the CLI with this kubeconfig; tokens of the clusters must never show in its output. */
export async function fedobs(kubeconfig: string, args: string[], tokens: string[] = []): Promise<CliResult> {
  const result = await runCli(args, {env: {KUBECONFIG: kubeconfig, CI: 'true', FEDOBS_TIME_SCALE: '1'}})
  for (const token of tokens) expect(result.stdout + result.stderr).not.toContain(token)
  return result
}
