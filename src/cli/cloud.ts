import {Flags} from '@oclif/core'
import {resolveKubeconfigTarget} from '../kube/kubeconfig.js'
import {CancelledError, ExitCode, FedobsError, OperationError} from '../lib/errors.js'
import type {Output} from '../lib/output.js'
import type {Clock} from '../lib/time.js'
import {createLinodeClient, type LinodeApi} from '../linode/client.js'
import {resolveToken} from '../linode/token.js'
import type {ClusterContext, TrackedCluster} from '../services/clusters.js'

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

/**
 * A client for a last look after Ctrl-C: the command's own client is tied to the aborted signal.
 * Short timeouts, no long retries; undefined when none can be had.
 */
export async function lookupClient(flags: {'token-file'?: string}, clock: Clock): Promise<LinodeApi | undefined> {
  try {
    const {token} = resolveToken({...(flags['token-file'] ? {tokenFile: flags['token-file']} : {})})
    return await createLinodeClient({token, baseUrl: process.env.LINODE_URL, clock, requestTimeoutMs: 3000, retryDeadlineMs: 2000})
  } catch {
    return undefined
  }
}

/** Ctrl-C (or SIGTERM) during `cluster create`: what exists now, and the command that resumes. */
export class InterruptedCreateError extends CancelledError {
  constructor(
    readonly clusters: Array<TrackedCluster & {exists: boolean | 'unknown'}>,
    readonly resume: string,
  ) {
    const width = Math.max(...clusters.map((c) => c.name.length))
    const lines = clusters.map((c) => {
      const state =
        c.exists === true
          ? `id ${c.id}  ${c.status ?? 'status unknown'}  ${c.createdByThisRun ? 'created by this run' : 'existed before this run'}`
          : c.exists === 'unknown'
            ? 'may exist: its create request was in flight (the resume finds it; never a duplicate)'
            : 'not created'
      return `  ${c.name.padEnd(width)}  ${state}`
    })
    super(`interrupted; the clusters now:\n${lines.join('\n')}`, {hint: `Resume with (existing clusters are reused, never duplicated):\n  ${resume}`})
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      clusters: this.clusters.map((c) => ({
        name: c.name,
        exists: c.exists,
        ...(c.id !== undefined ? {id: c.id} : {}),
        ...(c.status ? {status: c.status} : {}),
        createdByThisRun: c.createdByThisRun,
      })),
      resume: this.resume,
    }
  }
}
