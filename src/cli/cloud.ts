import {Flags} from '@oclif/core'
import {resolveKubeconfigTarget} from '../kube/kubeconfig.js'
import {ExitCode, FedobsError, OperationError} from '../lib/errors.js'
import type {Output} from '../lib/output.js'
import type {Clock} from '../lib/time.js'
import {createLinodeClient} from '../linode/client.js'
import {resolveToken} from '../linode/token.js'
import type {ClusterContext} from '../services/clusters.js'

export const cloudFlags = {
  'token-file': Flags.string({
    description: 'File holding the Linode API token (else LINODE_TOKEN, LINODE_CLI_TOKEN, the linode-cli config).',
    helpValue: 'FILE',
    helpGroup: 'LINODE',
  }),
  kubeconfig: Flags.string({
    description: 'kubeconfig to merge into (else the first file of KUBECONFIG, else ~/.kube/config).',
    helpValue: 'FILE',
    helpGroup: 'LINODE',
  }),
}

/** The Linode client and kubeconfig target a cluster command works with. */
export async function clusterContext(flags: {'token-file'?: string; kubeconfig?: string}, output: Output, signal: AbortSignal, clock: Clock): Promise<ClusterContext> {
  const {token, source} = resolveToken({...(flags['token-file'] ? {tokenFile: flags['token-file']} : {})})
  output.debug(`Linode token from ${source}`)
  const api = await createLinodeClient({token, baseUrl: process.env.LINODE_URL, signal, clock, log: (message) => output.debug(message)})
  return {api, kubeconfig: resolveKubeconfigTarget(flags.kubeconfig), signal, clock}
}

export {table} from '../lib/output.js'

/** Ask on the terminal; only called when there is one. */
export async function confirm(question: string): Promise<boolean> {
  const {createInterface} = await import('node:readline/promises')
  const rl = createInterface({input: process.stdin, output: process.stderr})
  try {
    const answer = await rl.question(`${question} [y/N] `)
    return /^y(es)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}

export function errorJson(error: unknown): unknown {
  const e = error as {toJSON?: () => unknown; message?: string}
  return typeof e?.toJSON === 'function' ? e.toJSON() : {message: String(e?.message ?? error)}
}

/**
 * After concurrent tasks: with --json the document (already printed) lists the failures and only
 * the exit code is set; otherwise the failure is thrown and reported like any error.
 */
export function failTasks(output: Output, failed: Array<{title: string; error: unknown}>, total: number): void {
  if (failed.length === 0) return
  const code = Math.max(...failed.map((f) => (f.error instanceof FedobsError ? f.error.exitCode : ExitCode.Failure)))
  if (output.json) {
    process.exitCode = code
    return
  }
  const first = failed[0]!.error
  if (failed.length === 1 && first instanceof Error) throw first
  throw new OperationError(`${failed.length} of ${total} clusters failed: ${failed.map((f) => `${f.title}: ${(f.error as Error).message}`).join('; ')}`)
}
