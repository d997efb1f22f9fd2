import {Flags} from '@oclif/core'
import {fileFlag} from '../federation/flags.js'
import {loadFederation} from '../federation/load.js'
import {allClusters, type Federation} from '../federation/model.js'
import type {Kube} from '../kube/api.js'
import {UsageError} from '../lib/errors.js'
import type {Output} from '../lib/output.js'
import {closest} from '../lib/suggest.js'
import {DURATION_HINT, parseDuration, realClock} from '../lib/time.js'
import {certificateFacts, verifyBackends, verifyUntilPassing, type VerifyRun} from '../services/verify.js'
import type {VerifyBackends} from '../verify/checks.js'
import {backendUrlFlags, backendUrls} from './backends.js'
import {kubeFor} from './kube.js'

/** The flags of `fedobs verify`, shared with `fedobs report` (which runs the same checks). */
export const verifyFlags = {
  ...fileFlag,
  kubeconfig: Flags.string({description: 'kubeconfig file (else KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE', helpGroup: 'KUBERNETES'}),
  context: Flags.string({description: "The hub's kubeconfig context (default: its context: or fedobs-<hub>).", helpValue: 'NAME', helpGroup: 'KUBERNETES'}),
  ...backendUrlFlags,
  'skip-logs': Flags.boolean({description: 'Skip the log checks (no Loki).', helpGroup: 'BACKENDS'}),
  'skip-traces': Flags.boolean({description: 'Skip the trace checks (no Tempo).', helpGroup: 'BACKENDS'}),
  'skip-certificates': Flags.boolean({description: "Skip the certificate checks (they read the hub's CA and each cluster's client Secret).", helpGroup: 'BACKENDS'}),
  cluster: Flags.string({description: 'Check only this cluster (repeatable).', multiple: true, helpValue: 'NAME'}),
  wait: Flags.string({description: 'Poll until every check passes or this long has passed, e.g. 5m.', helpValue: 'DURATION'}),
  freshness: Flags.string({description: 'How old the newest sample of a job may be.', default: '3m', helpValue: 'DURATION'}),
  window: Flags.string({description: 'How far back to look for logs and traces.', default: '15m', helpValue: 'DURATION'}),
  junit: Flags.string({description: 'Also write the checks as JUnit XML to this file.', helpValue: 'FILE'}),
}

export interface VerifyFlagValues {
  file?: string
  kubeconfig?: string
  context?: string
  'prometheus-url'?: string
  'loki-url'?: string
  'tempo-url'?: string
  'skip-logs': boolean
  'skip-traces': boolean
  'skip-certificates': boolean
  cluster?: string[]
  wait?: string
  freshness: string
  window: string
}

/** What verify will do, worked out from the flags and the file alone: no connection, no query. */
export interface VerifyPlan {
  federation: Federation
  /** The clusters asked for with --cluster ("hub" as the hub's name), else undefined: all. */
  selected?: string[]
  urls: ReturnType<typeof backendUrls>
  waitMs?: number
  freshnessMs: number
  windowMs: number
}

export function verifyPlan(flags: VerifyFlagValues): VerifyPlan {
  const duration = (flag: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined
    const ms = parseDuration(value)
    if (ms === undefined || ms <= 0) throw new UsageError(`--${flag} ${JSON.stringify(value)} is not a duration`, {hint: DURATION_HINT})
    return ms
  }
  const waitMs = duration('wait', flags.wait)
  const freshnessMs = duration('freshness', flags.freshness)!
  const windowMs = duration('window', flags.window)!
  const federation = loadFederation({file: flags.file})
  const names = allClusters(federation).map((c) => c.name)
  for (const name of flags.cluster ?? []) {
    if (!names.includes(name) && name !== 'hub') throw new UsageError(`no cluster named "${name}" in the federation`, {suggestions: closest(name, ['hub', ...names]), code: 'unknown-cluster'})
  }
  // "hub" names the hub here as on every cluster command.
  const selected = flags.cluster?.map((name) => (name === 'hub' ? federation.hub.name : name))
  const urls = backendUrls(flags)
  return {federation, urls, freshnessMs, windowMs, ...(selected ? {selected} : {}), ...(waitMs !== undefined ? {waitMs} : {})}
}

/** Connect (only as far as needed) and run the checks, polling with --wait. */
export async function runVerify(plan: VerifyPlan, flags: VerifyFlagValues, output: Output, signal: AbortSignal): Promise<VerifyRun & {backends: VerifyBackends}> {
  const {federation, selected} = plan
  let hub: Kube | undefined
  const hubKube = async (): Promise<Kube> => (hub ??= await kubeFor(federation.hub, {kubeconfig: flags.kubeconfig, context: flags.context}))
  const backends = await verifyBackends({...plan.urls, skipLogs: flags['skip-logs'], skipTraces: flags['skip-traces']}, hubKube)
  const certificates = flags['skip-certificates'] ? undefined : await certificateFacts(federation, hubKube, (cluster) => kubeFor(cluster, {kubeconfig: flags.kubeconfig}), selected)
  const run = await verifyUntilPassing(federation, backends, {
    ...(selected ? {clusters: selected} : {}),
    ...(certificates ? {certificates} : {}),
    freshnessMs: plan.freshnessMs,
    queueWarn: 0.8,
    signalWindowMs: plan.windowMs,
    signal,
    ...(plan.waitMs !== undefined ? {waitMs: plan.waitMs} : {}),
    // The data verify waits for arrives in real time, also against a simulated cloud (FEDOBS_TIME_SCALE).
    clock: realClock,
    onRetry: (failing, attempt) => output.info(`${failing.summary.fail} check(s) failing; checking again in 10s (attempt ${attempt})`),
    onBackendRetry: (error, attempt) => output.info(`${error.message}; checking again in 10s (attempt ${attempt})`),
  })
  return {...run, backends}
}

/** "123.4 kB" for a message. */
export function formatBytes(bytes: number): string {
  return bytes < 1000 ? `${bytes} B` : bytes < 1_000_000 ? `${(bytes / 1000).toFixed(1)} kB` : `${(bytes / 1_000_000).toFixed(2)} MB`
}
