/** What a deployment takes and returns (shared by src/services/deploy.ts and its parts). */
import type {Report} from '../../lib/progress.js'
import type {Clock} from '../../lib/time.js'

export type ApplyAction = 'created' | 'configured' | 'unchanged'

export interface AppliedObject {
  key: string
  action: ApplyAction
  /** Set when the server could not check it (dry run into a namespace that does not exist yet). */
  note?: string
}

export interface DeployOptions {
  dryRun: boolean
  forceConflicts: boolean
  prune: boolean
  wait: boolean
  timeoutMs: number
  report: Report
  signal: AbortSignal
  /** Every wait runs on this clock. */
  clock: Clock
  /**
   * Runs once the namespaces exist and before anything else is applied: creates what the
   * workloads need that is never rendered (Secrets with keys and passwords).
   */
  prepare?: () => Promise<void>
}

export interface DeployResult {
  cluster: string
  role: string
  context: string
  dryRun: boolean
  applied: AppliedObject[]
  counts: Record<ApplyAction, number>
  pruned: string[]
  gpuNodesLabelled: string[]
  patchedAgents: string[]
  replaced: string[]
  ready: boolean
  gatewayAddress?: string
  /** Every external address of the gateway LoadBalancer (IPv4, IPv6, hostname). */
  gatewayAddresses?: string[]
  grafanaSecretCreated?: boolean
  /** Real milliseconds: fedobs's own work (apply, prune) vs waiting for the cluster. */
  timings: {applyMs: number; pruneMs: number; waitMs: number}
}
