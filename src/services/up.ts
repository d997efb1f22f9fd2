/**
 * `fedobs up`: every cluster created concurrently, the hub deployed, the edges deployed
 * concurrently, each edge connected, then verify. Each step is an existing idempotent service
 * (createCluster, deployHub, deployEdge, connectEdge, verifyUntilPassing), so running it again after
 * a failure or an interruption continues where the last run stopped.
 */
import {allClusters, type ClusterSpec, type Federation} from '../federation/model.js'
import type {Kube} from '../kube/api.js'
import {CancelledError} from '../lib/errors.js'
import type {Clock} from '../lib/time.js'
import type {PhaseOutcome, PhaseSpec, Report, TaskOutcome} from '../lib/progress.js'
import type {CertificateFacts} from '../verify/certificates.js'
import type {VerifyBackends, VerifyReport} from '../verify/checks.js'
import {createCluster, type ClusterContext} from './clusters.js'
import {connectEdge, edgeEndpoint} from './connect.js'
import {deployEdge, deployHub, type EdgeAddresses} from './hub.js'
import {renderHub} from '../render/render.js'
import {readEdgeSources} from './gateway-firewall.js'
import {verifyUntilPassing} from './verify.js'

export type UpStep = 'create' | 'deploy-hub' | 'deploy-edges' | 'connect' | 'verify'

export const UP_STEPS: Record<UpStep, string> = {
  create: 'Create clusters',
  'deploy-hub': 'Deploy the hub',
  'deploy-edges': 'Deploy the edges',
  connect: 'Connect the edges to the hub',
  verify: 'Verify data flow',
}

/** Where one cluster stands; filled in as the run goes, so an interruption can say what exists. */
export interface UpCluster {
  name: string
  role: 'hub' | 'edge'
  /** The LKE cluster id, once created (or found). */
  id?: number
  /** Existed before this run. */
  reused?: boolean
  /** The cluster exists and its kubeconfig and nodes are ready. */
  created: boolean
  deployed: boolean
  /** Edges: ships to the hub gateway. */
  connected?: boolean
  context?: string
  /** The step that failed for this cluster, and why. */
  error?: {step: UpStep; message: string}
  /** The step that was running for this cluster when the run was interrupted. */
  interrupted?: UpStep
}

export interface UpState {
  federation: string
  /** The step running now (the last one started). */
  step?: UpStep
  clusters: UpCluster[]
  gatewayAddress?: string
  /** The OTLP/gRPC endpoint the edges ship to. */
  hubEndpoint?: string
}

export interface UpDependencies {
  /** The Linode API, the kubeconfig to merge into, the abort signal and the clock. */
  cloud: ClusterContext
  /** A client for a cluster through its kubeconfig context (called only once the cluster exists). */
  kube(cluster: ClusterSpec): Promise<Kube>
  /** Where an edge's public node addresses come from (for the gateway firewall). */
  addresses(cluster: ClusterSpec): (kube: Kube) => Promise<EdgeAddresses>
  /** verify's backends (given URLs, else the hub API server's service proxy). */
  backends(hub: () => Promise<Kube>): Promise<VerifyBackends>
  certificates?(hub: () => Promise<Kube>): Promise<CertificateFacts>
  /** Runs the steps as one progress tree. */
  runPhases(phases: PhaseSpec<unknown>[], signal: AbortSignal): Promise<PhaseOutcome<unknown>[]>
  /** Asked before the seed's edge-local stack is removed (never with removeLocalStack 'no'). */
  confirm: (question: string) => Promise<boolean>
}

export interface UpOptions {
  /** The whole run's budget: every wait gets what is left of it. */
  timeoutMs: number
  skipVerify: boolean
  /** How long verify polls until every check passes (bounded by what is left of timeoutMs). */
  verifyWaitMs: number
  /** The clock verify polls on: real time, as the data it waits for arrives in real time even against a simulated cloud (default: the cloud's clock). */
  verifyClock?: Clock
  freshnessMs: number
  signalWindowMs: number
  forceConflicts: boolean
  removeLocalStack: 'yes' | 'ask' | 'no'
  onVerifyRetry?: (report: VerifyReport, attempt: number) => void
}

export interface UpResult {
  state: UpState
  /** Every step, and whether it ran and finished. */
  steps: Array<{step: UpStep; title: string; status: 'done' | 'failed' | 'not-started' | 'skipped'}>
  verify?: {report: VerifyReport; attempts: number}
  /** What failed, per cluster or step. */
  failures: Array<{step: UpStep; cluster?: string; error: unknown}>
  /** Connect kept the seed's edge-local stacks (without --yes). */
  localStacksKept: Array<{edge: string; objects: string[]}>
  warnings: string[]
}

export function initialState(federation: Federation): UpState {
  return {federation: federation.name, clusters: allClusters(federation).map((c) => ({name: c.name, role: c.role, created: false, deployed: false, ...(c.role === 'edge' ? {connected: false} : {})}))}
}

/** Create → deploy hub → deploy edges → connect → verify, recording progress in `state` as it goes. */
export async function up(federation: Federation, deps: UpDependencies, options: UpOptions, state: UpState = initialState(federation)): Promise<UpResult> {
  const {signal, clock} = deps.cloud
  const deadline = clock.now() + options.timeoutMs
  const left = (): number => Math.max(1000, deadline - clock.now())
  const entry = (name: string): UpCluster => state.clusters.find((c) => c.name === name)!
  const kubes = new Map<string, Promise<Kube>>()
  const kubeOf = (cluster: ClusterSpec): Promise<Kube> => {
    let kube = kubes.get(cluster.name)
    if (!kube) {
      kube = deps.kube(cluster)
      kube.catch(() => kubes.delete(cluster.name))
      kubes.set(cluster.name, kube)
    }
    return kube
  }
  const hubKube = (): Promise<Kube> => kubeOf(federation.hub)
  const failures: UpResult['failures'] = []
  const localStacksKept: UpResult['localStacksKept'] = []
  // What a person should know, per cluster; a later step's word replaces an earlier one's.
  const warnings = new Map<string, string[]>()
  let verifyRun: UpResult['verify']

  const step =
    <T>(name: UpStep, cluster: ClusterSpec | undefined, run: (report: Report) => Promise<T>) =>
    async (report: Report): Promise<T> => {
      state.step = name
      try {
        return await run(report)
      } catch (error) {
        if (signal.aborted) {
          if (cluster) entry(cluster.name).interrupted = name
          throw new CancelledError()
        }
        failures.push({step: name, ...(cluster ? {cluster: cluster.name} : {}), error})
        if (cluster) entry(cluster.name).error = {step: name, message: error instanceof Error ? error.message : String(error)}
        throw error
      }
    }
  const applyOptions = (report: Report) => ({dryRun: false, forceConflicts: options.forceConflicts, prune: true, wait: true, timeoutMs: left(), signal, clock, report})

  const phases: Array<PhaseSpec<unknown> & {step: UpStep}> = [
    {
      step: 'create',
      title: UP_STEPS.create,
      concurrent: true,
      tasks: () =>
        allClusters(federation).map((cluster) => ({
          title: `${cluster.role} ${cluster.name}`,
          run: step('create', cluster, async (report) => {
            const created = await createCluster(deps.cloud, federation, cluster, {wait: true, timeoutMs: left(), setContext: false, report})
            Object.assign(entry(cluster.name), {id: created.id, reused: created.reused, created: true, ...(created.kubeconfig ? {context: created.kubeconfig.alias} : {})})
            return created
          }),
        })),
    },
    {
      step: 'deploy-hub',
      title: UP_STEPS['deploy-hub'],
      concurrent: false,
      tasks: () => [
        {
          title: `hub ${federation.hub.name}`,
          run: step('deploy-hub', federation.hub, async (report) => {
            const result = await deployHub(await hubKube(), federation, applyOptions(report))
            warnings.set(federation.hub.name, result.warnings)
            entry(federation.hub.name).deployed = true
            if (result.gatewayAddress) state.gatewayAddress = result.gatewayAddress
            return result
          }),
        },
      ],
    },
    {
      step: 'deploy-edges',
      title: UP_STEPS['deploy-edges'],
      concurrent: true,
      tasks: () =>
        federation.edges.map((edge) => ({
          title: `edge ${edge.name}`,
          run: step('deploy-edges', edge, async (report) => {
            const kube = await kubeOf(edge)
            // Like `deploy all`: an edge connected by an earlier run stays pointed at its hub.
            const endpoint = await edgeEndpoint(federation, kube)
            const result = await deployEdge(kube, federation, edge, {...applyOptions(report), ...(endpoint ? {endpoint, hub: await hubKube(), addresses: deps.addresses(edge)} : {})})
            warnings.set(edge.name, result.warnings)
            entry(edge.name).deployed = true
            return result
          }),
        })),
    },
    {
      step: 'connect',
      title: UP_STEPS.connect,
      concurrent: true,
      tasks: () =>
        federation.edges.map((edge) => ({
          title: `${edge.name} → ${federation.hub.name}`,
          run: step('connect', edge, async (report) => {
            const result = await connectEdge(federation, edge, await kubeOf(edge), await hubKube(), {
              timeoutMs: left(),
              removeLocalStack: options.removeLocalStack,
              confirm: deps.confirm,
              report,
              signal,
              clock,
              forceConflicts: options.forceConflicts,
              addresses: deps.addresses(edge),
            })
            entry(edge.name).connected = true
            state.hubEndpoint = result.hubEndpoint
            if (result.localStack.kept.length > 0) localStacksKept.push({edge: edge.name, objects: result.localStack.kept})
            // The firewall's warnings describe the hub at that moment (other edges still connecting): recomputed below.
            warnings.set(edge.name, result.deploy.warnings)
            return result
          }),
        })),
    },
  ]
  if (!options.skipVerify) {
    phases.push({
      step: 'verify',
      title: UP_STEPS.verify,
      concurrent: false,
      tasks: () => [
        {
          title: `data from ${allClusters(federation).length} cluster(s) at the hub`,
          run: step('verify', undefined, async (report) => {
            const backends = await deps.backends(hubKube)
            const certificates = deps.certificates ? await deps.certificates(hubKube) : undefined
            verifyRun = await verifyUntilPassing(federation, backends, {
              ...(certificates ? {certificates} : {}),
              freshnessMs: options.freshnessMs,
              queueWarn: 0.8,
              signalWindowMs: options.signalWindowMs,
              signal,
              waitMs: Math.min(options.verifyWaitMs, left()),
              clock: options.verifyClock ?? clock,
              onRetry: (failing, attempt) => {
                report(`${failing.summary.fail} check(s) failing; checking again in 10s (attempt ${attempt})`)
                options.onVerifyRetry?.(failing, attempt)
              },
              onBackendRetry: (error, attempt) => report(`${error.message}; checking again in 10s (attempt ${attempt})`),
            })
            const {ok, warn, fail} = verifyRun.report.summary
            report(`${ok} passed, ${warn} warning(s), ${fail} failed`)
            // A failing check is the verdict, not a crash of the step: the report says which.
            return verifyRun
          }),
        },
      ],
    })
  }

  const outcomes = await deps.runPhases(phases, signal)
  if (state.clusters.some((c) => c.connected) && !signal.aborted) {
    // The hub's warnings as they stand now that edges are connected (its firewall was updated by connect).
    try {
      warnings.set(federation.hub.name, renderHub(federation, {edgeSources: await readEdgeSources(await hubKube())}).warnings)
    } catch {
      // keep what the hub deploy said
    }
  }
  const steps: UpResult['steps'] = (Object.keys(UP_STEPS) as UpStep[]).map((name) => {
    const index = phases.findIndex((p) => p.step === name)
    if (index < 0) return {step: name, title: UP_STEPS[name], status: 'skipped' as const}
    const outcome = outcomes[index]
    const status = !outcome?.ran ? 'not-started' : outcome.outcomes.every((o: TaskOutcome<unknown>) => o.ok) ? 'done' : 'failed'
    return {step: name, title: UP_STEPS[name], status}
  })
  if (!state.gatewayAddress && state.hubEndpoint) state.gatewayAddress = state.hubEndpoint.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1')
  return {state, steps, ...(verifyRun ? {verify: verifyRun} : {}), failures, localStacksKept, warnings: [...new Set([...warnings.values()].flat())]}
}

/** The command that continues an interrupted or failed run: the same command, word for word. */
export function resumeCommand(argv: readonly string[]): string {
  return ['fedobs', 'up', ...argv].map(shellQuote).join(' ')
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}
